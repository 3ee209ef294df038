build-asan2/core/buf.o: src/core/buf.c src/core/buf.h src/core/mem.h
src/core/buf.h:
src/core/mem.h:
