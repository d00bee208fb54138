build-clang/obj/serve/accept_reuseport.o: src/serve/accept_reuseport.c \
  src/serve/accept.h

src/serve/accept.h:
