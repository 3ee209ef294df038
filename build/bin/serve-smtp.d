build/bin/serve-smtp.o: src/bin/serve-smtp.c src/bin/serve.h \
 src/conf/conf.h src/core/net.h src/delivery/delivery.h src/store/store.h \
 src/core/buf.h src/core/conn.h src/core/log.h src/core/loop.h \
 src/core/mem.h src/core/worker.h src/smtp/smtp-server.h \
 src/smtp/smtp-address.h
src/bin/serve.h:
src/conf/conf.h:
src/core/net.h:
src/delivery/delivery.h:
src/store/store.h:
src/core/buf.h:
src/core/conn.h:
src/core/log.h:
src/core/loop.h:
src/core/mem.h:
src/core/worker.h:
src/smtp/smtp-server.h:
src/smtp/smtp-address.h:
