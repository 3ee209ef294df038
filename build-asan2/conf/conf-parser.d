build-asan2/conf/conf-parser.o: src/conf/conf-parser.c \
 src/conf/conf-parser.h src/core/buf.h src/core/mem.h
src/conf/conf-parser.h:
src/core/buf.h:
src/core/mem.h:
