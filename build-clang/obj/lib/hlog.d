build-clang/obj/lib/hlog.o: src/lib/hlog.c src/lib/hlog.h src/lib/hdr.h

src/lib/hlog.h:

src/lib/hdr.h:
