build/pop3/pop3-server-auth.o: src/pop3/pop3-server-auth.c \
 src/pop3/pop3-server-private.h src/pop3/pop3-command.h src/core/buf.h \
 src/pop3/pop3-server.h src/core/base64.h src/core/mem.h \
 src/sasl/sasl-plain.h
src/pop3/pop3-server-private.h:
src/pop3/pop3-command.h:
src/core/buf.h:
src/pop3/pop3-server.h:
src/core/base64.h:
src/core/mem.h:
src/sasl/sasl-plain.h:
