build/store/store-name.o: src/store/store-name.c \
 src/store/store-private.h src/store/store.h src/core/buf.h \
 src/core/mem.h
src/store/store-private.h:
src/store/store.h:
src/core/buf.h:
src/core/mem.h:
