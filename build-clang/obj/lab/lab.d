build-clang/obj/lab/lab.o: src/lab/lab.c src/lab/lab.h src/bench/bench.h \
  src/bench/transport.h src/lib/hdr.h src/lib/util.h

src/lab/lab.h:

src/bench/bench.h:

src/bench/transport.h:

src/lib/hdr.h:

src/lib/util.h:
