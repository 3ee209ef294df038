build/sasl/fuzz-sasl-plain.o: src/sasl/fuzz-sasl-plain.c \
 src/sasl/sasl-plain.h src/core/mem.h
src/sasl/sasl-plain.h:
src/core/mem.h:
