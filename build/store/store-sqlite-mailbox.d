build/store/store-sqlite-mailbox.o: src/store/store-sqlite-mailbox.c \
 src/store/store-sqlite.h src/store/store-private.h src/store/store.h \
 src/core/mem.h
src/store/store-sqlite.h:
src/store/store-private.h:
src/store/store.h:
src/core/mem.h:
