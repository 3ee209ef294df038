build-asan2/conf/fuzz-conf-parser.o: src/conf/fuzz-conf-parser.c \
 src/conf/conf-parser.h src/core/mem.h
src/conf/conf-parser.h:
src/core/mem.h:
