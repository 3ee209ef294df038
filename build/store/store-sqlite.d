build/store/store-sqlite.o: src/store/store-sqlite.c \
 src/store/store-sqlite.h src/store/store-private.h src/store/store.h \
 src/core/mem.h
src/store/store-sqlite.h:
src/store/store-private.h:
src/store/store.h:
src/core/mem.h:
