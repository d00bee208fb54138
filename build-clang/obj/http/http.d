build-clang/obj/http/http.o: src/http/http.c src/http/http.h

src/http/http.h:
