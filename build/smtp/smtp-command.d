build/smtp/smtp-command.o: src/smtp/smtp-command.c \
 src/smtp/smtp-command.h src/core/buf.h src/smtp/smtp-address.h \
 src/core/mem.h
src/smtp/smtp-command.h:
src/core/buf.h:
src/smtp/smtp-address.h:
src/core/mem.h:
