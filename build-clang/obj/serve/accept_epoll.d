build-clang/obj/serve/accept_epoll.o: src/serve/accept_epoll.c \
  src/serve/accept.h

src/serve/accept.h:
