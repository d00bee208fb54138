build-clang/obj/bench/bench.o: src/bench/bench.c src/bench/bench.h \
  src/bench/transport.h src/lib/hdr.h src/bench/engine.h src/bench/url.h \
  src/http/httpresp.h src/lib/util.h

src/bench/bench.h:

src/bench/transport.h:

src/lib/hdr.h:

src/bench/engine.h:

src/bench/url.h:

src/http/httpresp.h:

src/lib/util.h:
