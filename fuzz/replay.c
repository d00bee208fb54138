/*
 * replay.c - runs a fuzz target's LLVMFuzzerTestOneInput over its seed
 * corpus without libFuzzer, so that `make test` (gcc, ASan + UBSan) checks
 * every seed against the target's invariants. Without it the targets only
 * ran under `make fuzz`, and their invariants went stale unseen when the
 * parser learnt new answers (413, the absolute form).
 *
 * Usage: replay [FILE|DIR]...; with no argument, fuzz/corpus/NAME/ where
 * NAME is this program's own name (build/replay/fuzz_http reads
 * fuzz/corpus/fuzz_http/). Prints one TAP line per input; a target that
 * finds a broken promise aborts, and the "# input" line before it names the
 * input.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned tests;

/* Reads path whole; NULL (errno set) on failure. */
static uint8_t *read_all(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len == cap) {
			cap = cap ? 2 * cap : 4096;
			uint8_t *b = realloc(buf, cap);
			if (!b) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return NULL;
			}
			buf = b;
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	int err = ferror(f) ? EIO : 0;
	fclose(f);
	if (err) {
		free(buf);
		errno = err;
		return NULL;
	}
	/* A buffer of exactly len bytes, as libFuzzer hands over, so ASan sees
	 * a read past the input's end. */
	uint8_t *exact = malloc(len ? len : 1);
	if (exact)
		memcpy(exact, buf, len);
	free(buf);
	*size = len;
	return exact;
}

static int replay_file(const char *path)
{
	size_t size = 0;
	uint8_t *data = read_all(path, &size);
	tests++;
	if (!data) {
		printf("not ok %u - %s: %s\n", tests, path, strerror(errno));
		return 1;
	}
	printf("# input %s (%zu bytes)\n", path, size);
	fflush(stdout);
	LLVMFuzzerTestOneInput(data, size);
	free(data);
	printf("ok %u - %s\n", tests, path);
	return 0;
}

/* Every regular file of dir, in name order (a stable run). */
static int replay_dir(const char *dir)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0) {
		printf("not ok %u - %s: %s\n", ++tests, dir, strerror(errno));
		return 1;
	}
	int failed = 0;
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct stat st;
		if (ents[i]->d_name[0] != '.' &&
		    snprintf(path, sizeof path, "%s/%s", dir, ents[i]->d_name) < (int)sizeof path &&
		    stat(path, &st) == 0 && S_ISREG(st.st_mode))
			failed |= replay_file(path);
		free(ents[i]);
	}
	free(ents);
	return failed;
}

static int replay(const char *path)
{
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return replay_dir(path);
	return replay_file(path);
}

int main(int argc, char **argv)
{
	int failed = 0;
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			failed |= replay(argv[i]);
	} else {
		const char *name = strrchr(argv[0], '/');
		char dir[4096];
		snprintf(dir, sizeof dir, "fuzz/corpus/%s", name ? name + 1 : argv[0]);
		failed = replay(dir);
	}
	if (tests == 0) {
		printf("not ok 1 - no input found\n");
		failed = 1;
	}
	printf("1..%u\n", tests ? tests : 1);
	return failed;
}
