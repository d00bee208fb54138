build-clang/obj/lab/report.o: src/lab/report.c src/lab/report.h \
  src/lab/lab.h src/bench/bench.h src/bench/transport.h src/lib/hdr.h \
  src/hist/hist.h src/lib/json.h

src/lab/report.h:

src/lab/lab.h:

src/bench/bench.h:

src/bench/transport.h:

src/lib/hdr.h:

src/hist/hist.h:

src/lib/json.h:
