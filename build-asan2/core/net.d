build-asan2/core/net.o: src/core/net.c src/core/net.h
src/core/net.h:
