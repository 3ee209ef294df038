build/core/test-base64.o: src/core/test-base64.c src/core/base64.h \
 src/core/buf.h src/core/mem.h src/core/test.h
src/core/base64.h:
src/core/buf.h:
src/core/mem.h:
src/core/test.h:
