build-clang/obj/lib/util.o: src/lib/util.c src/lib/util.h

src/lib/util.h:
