build/tools/fuzz-replay.o: tools/fuzz-replay.c
