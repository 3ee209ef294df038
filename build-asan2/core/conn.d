build-asan2/core/conn.o: src/core/conn.c src/core/conn.h src/core/buf.h \
 src/core/loop.h src/core/mem.h
src/core/conn.h:
src/core/buf.h:
src/core/loop.h:
src/core/mem.h:
