build/smtp/smtp-server.o: src/smtp/smtp-server.c \
 src/smtp/smtp-server-private.h src/smtp/smtp-command.h src/core/buf.h \
 src/smtp/smtp-address.h src/smtp/smtp-data.h src/smtp/smtp-server.h \
 src/core/mem.h
src/smtp/smtp-server-private.h:
src/smtp/smtp-command.h:
src/core/buf.h:
src/smtp/smtp-address.h:
src/smtp/smtp-data.h:
src/smtp/smtp-server.h:
src/core/mem.h:
