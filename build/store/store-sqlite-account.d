build/store/store-sqlite-account.o: src/store/store-sqlite-account.c \
 src/store/store-sqlite.h src/store/store-private.h src/store/store.h \
 src/core/mem.h
src/store/store-sqlite.h:
src/store/store-private.h:
src/store/store.h:
src/core/mem.h:
