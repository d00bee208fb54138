build-clang/obj/serve/accept_steer.o: src/serve/accept_steer.c \
  src/serve/accept.h src/serve/steer.h src/serve/../../bpf/steer.h

src/serve/accept.h:

src/serve/steer.h:

src/serve/../../bpf/steer.h:
