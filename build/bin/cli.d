build/bin/cli.o: src/bin/cli.c src/bin/cli.h src/conf/conf.h \
 src/core/mem.h
src/bin/cli.h:
src/conf/conf.h:
src/core/mem.h:
