build/store/store-message.o: src/store/store-message.c \
 src/store/store-private.h src/store/store.h src/core/mem.h
src/store/store-private.h:
src/store/store.h:
src/core/mem.h:
