build-asan2/conf/test-conf-parser.o: src/conf/test-conf-parser.c \
 src/conf/conf-parser.h src/core/buf.h src/core/mem.h src/core/test.h
src/conf/conf-parser.h:
src/core/buf.h:
src/core/mem.h:
src/core/test.h:
