build-asan2/conf/fuzz-conf-load.o: src/conf/fuzz-conf-load.c \
 src/conf/conf.h src/core/buf.h src/core/mem.h
src/conf/conf.h:
src/core/buf.h:
src/core/mem.h:
