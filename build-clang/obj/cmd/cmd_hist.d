build-clang/obj/cmd/cmd_hist.o: src/cmd/cmd_hist.c src/cmd/cmd.h \
  src/lib/hdr.h src/hist/hist.h src/lib/hlog.h src/lib/util.h

src/cmd/cmd.h:

src/lib/hdr.h:

src/hist/hist.h:

src/lib/hlog.h:

src/lib/util.h:
