build-clang/obj/serve/routes.o: src/serve/routes.c src/serve/routes.h \
  src/http/http.h src/serve/stats.h

src/serve/routes.h:

src/http/http.h:

src/serve/stats.h:
