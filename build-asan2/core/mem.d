build-asan2/core/mem.o: src/core/mem.c src/core/mem.h
src/core/mem.h:
