build-asan2/sasl/sasl-plain.o: src/sasl/sasl-plain.c \
 src/sasl/sasl-plain.h src/core/mem.h
src/sasl/sasl-plain.h:
src/core/mem.h:
