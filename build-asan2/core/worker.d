build-asan2/core/worker.o: src/core/worker.c src/core/worker.h \
 src/core/loop.h src/core/mem.h
src/core/worker.h:
src/core/loop.h:
src/core/mem.h:
