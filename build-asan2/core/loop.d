build-asan2/core/loop.o: src/core/loop.c src/core/loop.h src/core/mem.h
src/core/loop.h:
src/core/mem.h:
