build/core/test-loop.o: src/core/test-loop.c src/core/loop.h \
 src/core/mem.h src/core/test.h src/core/worker.h
src/core/loop.h:
src/core/mem.h:
src/core/test.h:
src/core/worker.h:
