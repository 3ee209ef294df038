build/smtp/smtp-address.o: src/smtp/smtp-address.c \
 src/smtp/smtp-address.h src/core/buf.h src/core/mem.h
src/smtp/smtp-address.h:
src/core/buf.h:
src/core/mem.h:
