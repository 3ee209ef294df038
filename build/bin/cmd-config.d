build/bin/cmd-config.o: src/bin/cmd-config.c src/bin/cli.h \
 src/conf/conf.h src/core/buf.h src/core/mem.h
src/bin/cli.h:
src/conf/conf.h:
src/core/buf.h:
src/core/mem.h:
