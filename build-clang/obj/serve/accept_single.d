build-clang/obj/serve/accept_single.o: src/serve/accept_single.c \
  src/serve/accept.h

src/serve/accept.h:
