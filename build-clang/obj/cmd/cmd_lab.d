build-clang/obj/cmd/cmd_lab.o: src/cmd/cmd_lab.c src/cmd/cmd.h \
  src/lab/lab.h src/bench/bench.h src/bench/transport.h src/lib/hdr.h \
  src/lab/report.h src/lib/util.h

src/cmd/cmd.h:

src/lab/lab.h:

src/bench/bench.h:

src/bench/transport.h:

src/lib/hdr.h:

src/lab/report.h:

src/lib/util.h:
