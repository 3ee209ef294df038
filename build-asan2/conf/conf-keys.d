build-asan2/conf/conf-keys.o: src/conf/conf-keys.c \
 src/conf/conf-private.h src/conf/conf.h src/core/mem.h
src/conf/conf-private.h:
src/conf/conf.h:
src/core/mem.h:
