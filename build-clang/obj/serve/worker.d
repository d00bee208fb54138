build-clang/obj/serve/worker.o: src/serve/worker.c src/serve/worker.h \
  src/serve/accept.h src/serve/stats.h src/serve/conn.h src/http/http.h \
  src/serve/routes.h src/lib/util.h

src/serve/worker.h:

src/serve/accept.h:

src/serve/stats.h:

src/serve/conn.h:

src/http/http.h:

src/serve/routes.h:

src/lib/util.h:
