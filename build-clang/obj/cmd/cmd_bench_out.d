build-clang/obj/cmd/cmd_bench_out.o: src/cmd/cmd_bench_out.c \
  src/cmd/cmd_bench.h src/bench/bench.h src/bench/transport.h \
  src/lib/hdr.h src/lib/hlog.h src/lib/json.h

src/cmd/cmd_bench.h:

src/bench/bench.h:

src/bench/transport.h:

src/lib/hdr.h:

src/lib/hlog.h:

src/lib/json.h:
