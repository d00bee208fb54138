build-clang/obj/hist/hist.o: src/hist/hist.c src/hist/hist.h

src/hist/hist.h:
