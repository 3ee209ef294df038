build/pop3/pop3-command.o: src/pop3/pop3-command.c \
 src/pop3/pop3-command.h src/core/buf.h src/core/mem.h
src/pop3/pop3-command.h:
src/core/buf.h:
src/core/mem.h:
