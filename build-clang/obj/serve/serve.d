build-clang/obj/serve/serve.o: src/serve/serve.c src/serve/serve.h \
  src/serve/accept.h src/serve/stats.h src/lib/util.h src/serve/worker.h

src/serve/serve.h:

src/serve/accept.h:

src/serve/stats.h:

src/lib/util.h:

src/serve/worker.h:
