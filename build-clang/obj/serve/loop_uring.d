build-clang/obj/serve/loop_uring.o: src/serve/loop_uring.c \
  src/serve/conn.h src/http/http.h src/serve/accept.h src/serve/routes.h \
  src/serve/stats.h src/serve/worker.h src/serve/uring.h src/lib/util.h

src/serve/conn.h:

src/http/http.h:

src/serve/accept.h:

src/serve/routes.h:

src/serve/stats.h:

src/serve/worker.h:

src/serve/uring.h:

src/lib/util.h:
