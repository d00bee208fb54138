build-clang/obj/bench/conn.o: src/bench/conn.c src/bench/engine.h \
  src/bench/bench.h src/bench/transport.h src/lib/hdr.h src/bench/url.h \
  src/http/httpresp.h src/lib/util.h

src/bench/engine.h:

src/bench/bench.h:

src/bench/transport.h:

src/lib/hdr.h:

src/bench/url.h:

src/http/httpresp.h:

src/lib/util.h:
