build-clang/obj/http/httpresp.o: src/http/httpresp.c src/http/httpresp.h

src/http/httpresp.h:
