build-asan2/conf/test-conf.o: src/conf/test-conf.c src/conf/conf.h \
 src/conf/conf-private.h src/core/buf.h src/core/mem.h src/core/test.h
src/conf/conf.h:
src/conf/conf-private.h:
src/core/buf.h:
src/core/mem.h:
src/core/test.h:
