build-clang/obj/serve/sysd.o: src/serve/sysd.c src/serve/sysd.h \
  src/lib/util.h

src/serve/sysd.h:

src/lib/util.h:
