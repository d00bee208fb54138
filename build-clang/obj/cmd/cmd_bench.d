build-clang/obj/cmd/cmd_bench.o: src/cmd/cmd_bench.c src/bench/bench.h \
  src/bench/transport.h src/lib/hdr.h src/cmd/cmd.h src/cmd/cmd_bench.h \
  src/lib/hlog.h src/lib/util.h

src/bench/bench.h:

src/bench/transport.h:

src/lib/hdr.h:

src/cmd/cmd.h:

src/cmd/cmd_bench.h:

src/lib/hlog.h:

src/lib/util.h:
