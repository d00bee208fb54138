build-clang/obj/serve/conn.o: src/serve/conn.c src/serve/conn.h \
  src/http/http.h src/serve/accept.h src/serve/routes.h \
  src/serve/stats.h src/serve/worker.h src/lib/util.h

src/serve/conn.h:

src/http/http.h:

src/serve/accept.h:

src/serve/routes.h:

src/serve/stats.h:

src/serve/worker.h:

src/lib/util.h:
