build-clang/obj/serve/addr.o: src/serve/addr.c src/serve/serve.h \
  src/serve/accept.h src/lib/util.h

src/serve/serve.h:

src/serve/accept.h:

src/lib/util.h:
