build-clang/obj/serve/accept.o: src/serve/accept.c src/serve/accept.h

src/serve/accept.h:
