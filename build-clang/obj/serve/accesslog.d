build-clang/obj/serve/accesslog.o: src/serve/accesslog.c \
  src/serve/accesslog.h src/http/http.h src/lib/util.h

src/serve/accesslog.h:

src/http/http.h:

src/lib/util.h:
