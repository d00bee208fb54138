build-clang/obj/bench/request.o: src/bench/request.c src/bench/engine.h \
  src/bench/bench.h src/bench/transport.h src/lib/hdr.h src/bench/url.h \
  src/http/httpresp.h

src/bench/engine.h:

src/bench/bench.h:

src/bench/transport.h:

src/lib/hdr.h:

src/bench/url.h:

src/http/httpresp.h:
