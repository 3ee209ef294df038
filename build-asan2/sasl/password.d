build-asan2/sasl/password.o: src/sasl/password.c src/sasl/password.h \
 src/core/mem.h
src/sasl/password.h:
src/core/mem.h:
