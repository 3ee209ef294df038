build-asan2/tools/fuzz-replay.o: tools/fuzz-replay.c
