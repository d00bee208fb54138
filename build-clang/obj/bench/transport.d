build-clang/obj/bench/transport.o: src/bench/transport.c \
  src/bench/transport.h

src/bench/transport.h:
