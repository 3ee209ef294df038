build/sasl/test-sasl-plain.o: src/sasl/test-sasl-plain.c \
 src/sasl/sasl-plain.h src/core/mem.h src/core/test.h
src/sasl/sasl-plain.h:
src/core/mem.h:
src/core/test.h:
