build/store/store.o: src/store/store.c src/store/store-private.h \
 src/store/store.h src/core/mem.h
src/store/store-private.h:
src/store/store.h:
src/core/mem.h:
