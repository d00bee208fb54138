build-clang/obj/bench/url.o: src/bench/url.c src/bench/url.h \
  src/lib/util.h

src/bench/url.h:

src/lib/util.h:
