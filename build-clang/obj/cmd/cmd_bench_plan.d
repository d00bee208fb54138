build-clang/obj/cmd/cmd_bench_plan.o: src/cmd/cmd_bench_plan.c \
  src/bench/url.h src/cmd/cmd.h src/cmd/cmd_bench.h src/bench/bench.h \
  src/bench/transport.h src/lib/hdr.h src/lib/util.h

src/bench/url.h:

src/cmd/cmd.h:

src/cmd/cmd_bench.h:

src/bench/bench.h:

src/bench/transport.h:

src/lib/hdr.h:

src/lib/util.h:
