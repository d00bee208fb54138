build-clang/obj/serve/stats.o: src/serve/stats.c src/serve/stats.h

src/serve/stats.h:
