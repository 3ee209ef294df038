build-asan2/conf/conf.o: src/conf/conf.c src/conf/conf.h \
 src/conf/conf-private.h src/core/buf.h src/core/mem.h
src/conf/conf.h:
src/conf/conf-private.h:
src/core/buf.h:
src/core/mem.h:
