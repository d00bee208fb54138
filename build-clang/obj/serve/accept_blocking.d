build-clang/obj/serve/accept_blocking.o: src/serve/accept_blocking.c \
  src/serve/accept.h

src/serve/accept.h:
