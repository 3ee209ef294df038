build/delivery/delivery.o: src/delivery/delivery.c \
 src/delivery/delivery.h src/store/store.h src/core/mem.h
src/delivery/delivery.h:
src/store/store.h:
src/core/mem.h:
