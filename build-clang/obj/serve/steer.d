build-clang/obj/serve/steer.o: src/serve/steer.c src/serve/steer.h \
  src/serve/../../bpf/steer.h build-clang/gen/steer.skel.h

src/serve/steer.h:

src/serve/../../bpf/steer.h:

build-clang/gen/steer.skel.h:
