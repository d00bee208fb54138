build-clang/obj/lib/json.o: src/lib/json.c src/lib/json.h

src/lib/json.h:
