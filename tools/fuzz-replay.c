/*
 * fuzz-replay.c - a main() for libFuzzer targets in ordinary builds.
 *
 * Each argument is a corpus file or a directory of them; every file is fed to
 * LLVMFuzzerTestOneInput once. Used by the test run (normal and ASan+UBSan
 * builds) so that every corpus entry, including every past crash, is replayed
 * without needing clang's libFuzzer. Last line: "fuzz-NAME: N passed, 0 failed"
 * (a crash aborts the program, which the runner counts as a failure).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_count;

static void
replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data;
	long size;

	if (f == NULL) {
		perror(path);
		exit(1);
	}
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = malloc(size > 0 ? (size_t)size : 1);
	if (data == NULL || fread(data, 1, (size_t)size, f) != (size_t)size) {
		fprintf(stderr, "%s: read failed\n", path);
		exit(1);
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, (size_t)size);
	free(data);
	replay_count++;
}

static void
replay_path(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	char sub[4096];

	if (stat(path, &st) < 0) {
		perror(path);
		exit(1);
	}
	if (!S_ISDIR(st.st_mode)) {
		replay_file(path);
		return;
	}
	d = opendir(path);
	if (d == NULL) {
		perror(path);
		exit(1);
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		replay_path(sub);
	}
	closedir(d);
}

int
main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/');

	name = name == NULL ? argv[0] : name + 1;
	for (int i = 1; i < argc; i++)
		replay_path(argv[i]);
	printf("%.*s: %d passed, 0 failed\n", (int)(strlen(name) - strlen("-replay")), name,
	       replay_count);
	return 0;
}
