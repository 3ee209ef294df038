build/bin/main.o: src/bin/main.c src/bin/cli.h src/conf/conf.h
src/bin/cli.h:
src/conf/conf.h:
