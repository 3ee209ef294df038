build-asan2/sasl/test-password.o: src/sasl/test-password.c \
 src/sasl/password.h src/core/mem.h src/core/test.h
src/sasl/password.h:
src/core/mem.h:
src/core/test.h:
