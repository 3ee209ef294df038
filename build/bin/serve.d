build/bin/serve.o: src/bin/serve.c src/bin/cli-store.h src/conf/conf.h \
 src/store/store.h src/bin/cli.h src/bin/serve.h src/core/net.h \
 src/delivery/delivery.h src/core/log.h src/core/loop.h src/core/mem.h \
 src/core/worker.h
src/bin/cli-store.h:
src/conf/conf.h:
src/store/store.h:
src/bin/cli.h:
src/bin/serve.h:
src/core/net.h:
src/delivery/delivery.h:
src/core/log.h:
src/core/loop.h:
src/core/mem.h:
src/core/worker.h:
