build-clang/obj/serve/accept_uring.o: src/serve/accept_uring.c \
  src/serve/accept.h src/serve/uring.h

src/serve/accept.h:

src/serve/uring.h:
