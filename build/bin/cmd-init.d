build/bin/cmd-init.o: src/bin/cmd-init.c src/bin/cli-store.h \
 src/conf/conf.h src/store/store.h src/bin/cli.h src/core/buf.h \
 src/core/mem.h src/sasl/password.h
src/bin/cli-store.h:
src/conf/conf.h:
src/store/store.h:
src/bin/cli.h:
src/core/buf.h:
src/core/mem.h:
src/sasl/password.h:
