build/pop3/pop3-server.o: src/pop3/pop3-server.c \
 src/pop3/pop3-server-private.h src/pop3/pop3-command.h src/core/buf.h \
 src/pop3/pop3-server.h src/core/mem.h
src/pop3/pop3-server-private.h:
src/pop3/pop3-command.h:
src/core/buf.h:
src/pop3/pop3-server.h:
src/core/mem.h:
