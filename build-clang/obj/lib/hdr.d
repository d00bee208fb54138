build-clang/obj/lib/hdr.o: src/lib/hdr.c src/lib/hdr.h

src/lib/hdr.h:
