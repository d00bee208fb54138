build-clang/obj/cmd/cmd_serve.o: src/cmd/cmd_serve.c src/cmd/cmd.h \
  src/lib/util.h src/serve/accept.h src/serve/routes.h src/http/http.h \
  src/serve/stats.h src/serve/serve.h src/serve/sysd.h

src/cmd/cmd.h:

src/lib/util.h:

src/serve/accept.h:

src/serve/routes.h:

src/http/http.h:

src/serve/stats.h:

src/serve/serve.h:

src/serve/sysd.h:
