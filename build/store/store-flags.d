build/store/store-flags.o: src/store/store-flags.c \
 src/store/store-private.h src/store/store.h src/core/buf.h \
 src/core/mem.h
src/store/store-private.h:
src/store/store.h:
src/core/buf.h:
src/core/mem.h:
