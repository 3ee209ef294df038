build/smtp/smtp-command-reader.o: src/smtp/smtp-command-reader.c \
 src/smtp/smtp-command.h src/core/buf.h src/smtp/smtp-address.h \
 src/core/mem.h
src/smtp/smtp-command.h:
src/core/buf.h:
src/smtp/smtp-address.h:
src/core/mem.h:
