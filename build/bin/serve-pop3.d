build/bin/serve-pop3.o: src/bin/serve-pop3.c src/bin/serve.h \
 src/conf/conf.h src/core/net.h src/delivery/delivery.h src/store/store.h \
 src/core/conn.h src/core/log.h src/core/loop.h src/core/mem.h \
 src/core/worker.h src/pop3/pop3-server.h src/sasl/password.h
src/bin/serve.h:
src/conf/conf.h:
src/core/net.h:
src/delivery/delivery.h:
src/store/store.h:
src/core/conn.h:
src/core/log.h:
src/core/loop.h:
src/core/mem.h:
src/core/worker.h:
src/pop3/pop3-server.h:
src/sasl/password.h:
