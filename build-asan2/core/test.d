build-asan2/core/test.o: src/core/test.c src/core/test.h
src/core/test.h:
