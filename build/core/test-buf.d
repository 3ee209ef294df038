build/core/test-buf.o: src/core/test-buf.c src/core/buf.h src/core/mem.h \
 src/core/test.h
src/core/buf.h:
src/core/mem.h:
src/core/test.h:
