build-clang/obj/serve/uring.o: src/serve/uring.c src/serve/uring.h

src/serve/uring.h:
