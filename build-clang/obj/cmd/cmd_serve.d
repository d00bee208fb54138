build-clang/obj/cmd/cmd_serve.o: src/cmd/cmd_serve.c src/serve/accept.h \
  src/cmd/cmd.h src/serve/serve.h src/serve/uring.h src/lib/util.h

src/serve/accept.h:

src/cmd/cmd.h:

src/serve/serve.h:

src/serve/uring.h:

src/lib/util.h:
