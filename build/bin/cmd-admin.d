build/bin/cmd-admin.o: src/bin/cmd-admin.c src/bin/cli-store.h \
 src/conf/conf.h src/store/store.h src/bin/cli.h src/core/mem.h \
 src/sasl/password.h
src/bin/cli-store.h:
src/conf/conf.h:
src/store/store.h:
src/bin/cli.h:
src/core/mem.h:
src/sasl/password.h:
