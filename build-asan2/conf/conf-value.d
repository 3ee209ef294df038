build-asan2/conf/conf-value.o: src/conf/conf-value.c \
 src/conf/conf-private.h src/conf/conf.h src/core/buf.h src/core/mem.h
src/conf/conf-private.h:
src/conf/conf.h:
src/core/buf.h:
src/core/mem.h:
