build/bin/cli-store.o: src/bin/cli-store.c src/bin/cli-store.h \
 src/conf/conf.h src/store/store.h src/core/mem.h
src/bin/cli-store.h:
src/conf/conf.h:
src/store/store.h:
src/core/mem.h:
