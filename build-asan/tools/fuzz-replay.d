build-asan/tools/fuzz-replay.o: tools/fuzz-replay.c
