build-asan2/conf/conf-load.o: src/conf/conf-load.c src/conf/conf.h \
 src/conf/conf-parser.h src/conf/conf-private.h src/core/buf.h \
 src/core/mem.h
src/conf/conf.h:
src/conf/conf-parser.h:
src/conf/conf-private.h:
src/core/buf.h:
src/core/mem.h:
