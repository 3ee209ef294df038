build/smtp/smtp-data.o: src/smtp/smtp-data.c src/smtp/smtp-data.h \
 src/core/mem.h
src/smtp/smtp-data.h:
src/core/mem.h:
