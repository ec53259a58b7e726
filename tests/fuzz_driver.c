/*
 * fuzz_driver.c: a stand-in for libFuzzer's main, for machines without it (gcc only): runs
 * LLVMFuzzerTestOneInput on every corpus file, then on random mutations of the corpus for a
 * given time.
 *
 *   fuzz_driver [-seconds=N] [-seed=N] [-max_len=N] [-artifact=FILE] DIR_OR_FILE...
 *
 * There is no coverage feedback: each round copies a random corpus entry, applies one to eight
 * random edits (flip a bit, set, insert or delete bytes, duplicate a range, insert a token of the
 * language, splice in a piece of another entry) and runs the result; now and then the result
 * joins the pool, so that edits accumulate (a random walk). Runs are reproducible from the seed,
 * which is printed. Before each run the input is written to the artifact file, so that when a
 * sanitizer aborts the process the input that did it is on disk.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
	unsigned char *data;
	size_t len;
};

/* Everything the driver keeps (no globals). */
struct fuzz {
	struct input *pool;
	size_t npool, cap;
	uint64_t rng;
	size_t max_len;
	int artifact_fd;            /* -1: no artifact file */
	unsigned long runs;
};

/* splitmix64: small, fast, good enough to choose edits. */
static uint64_t next_rand(struct fuzz *f)
{
	uint64_t z = (f->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A uniform-enough number in [0, n), n > 0. */
static size_t below(struct fuzz *f, size_t n)
{
	return (size_t)(next_rand(f) % n);
}

static void add_input(struct fuzz *f, const unsigned char *data, size_t len)
{
	unsigned char *copy;

	if (f->npool == f->cap) {
		size_t ncap = f->cap ? f->cap * 2 : 64;
		struct input *p = realloc(f->pool, ncap * sizeof *p);

		if (p == NULL) {
			perror("fuzz_driver");
			exit(3);
		}
		f->pool = p;
		f->cap = ncap;
	}
	copy = malloc(len ? len : 1);
	if (copy == NULL) {
		perror("fuzz_driver");
		exit(3);
	}
	if (len > 0)
		memcpy(copy, data, len);
	f->pool[f->npool].data = copy;
	f->pool[f->npool].len = len;
	f->npool++;
}

static void run_one(struct fuzz *f, const unsigned char *data, size_t len)
{
	if (f->artifact_fd >= 0) {
		if (ftruncate(f->artifact_fd, 0) != 0 ||
		    pwrite(f->artifact_fd, data, len, 0) != (ssize_t)len) {
			perror("fuzz_driver: artifact");
			exit(3);
		}
	}
	LLVMFuzzerTestOneInput(data, len);
	f->runs++;
}

static void load_file(struct fuzz *f, const char *path)
{
	FILE *fp = fopen(path, "rb");
	unsigned char *buf;
	size_t n;

	if (fp == NULL) {
		perror(path);
		exit(2);
	}
	buf = malloc(f->max_len + 1);
	if (buf == NULL) {
		perror("fuzz_driver");
		exit(3);
	}
	n = fread(buf, 1, f->max_len, fp);
	fclose(fp);
	run_one(f, buf, n);
	add_input(f, buf, n);
	free(buf);
}

/* Loads (and runs) a corpus file, or every regular file of a directory in name order. */
static void load(struct fuzz *f, const char *path)
{
	struct dirent **names;
	struct stat st;
	char full[4096];
	int n, i;

	if (stat(path, &st) != 0) {
		perror(path);
		exit(2);
	}
	if (!S_ISDIR(st.st_mode)) {
		load_file(f, path);
		return;
	}
	n = scandir(path, &names, NULL, alphasort);
	if (n < 0) {
		perror(path);
		exit(2);
	}
	for (i = 0; i < n; i++) {
		snprintf(full, sizeof full, "%s/%s", path, names[i]->d_name);
		if (names[i]->d_name[0] != '.' && stat(full, &st) == 0 && S_ISREG(st.st_mode))
			load_file(f, full);
		free(names[i]);
	}
	free(names);
}

/* Pieces of the language worth inserting whole: keywords, units, limits, brackets, escapes. */
static const char *const tokens[] = {
	"arm ", "expect ", "include ", "abs(", " = ", " { ", " }", "[", "]", "(", ")", ",",
	";", "\n", "\r\n", "#", "\"", "\\", "\\q", "-", " - ", ".", "..", "_", "%", "/s",
	"/min", "ns", "us", "ms", "min", "h", "GHz", "kHz", "ppm", "ppb", "cycles", "0x",
	"0xffffffffffffffff", "0x10000000000000000", "e30", "e-30", "e31", "1e-30ppb",
	"1267650600228229401496703205376", "1267650600228229401496703205377", "2.5",
	"86_000", "<", "<=", "==", "!=", ">=", "a.b", "x-y", "host.cpu[2]", "[4294967296]",
	"\xc3\xa9", "\xff", "\xed\xa0\x80", "\t", "\x01",
};

/* Bytes that matter to the lexer, for single-byte edits. */
static const char interesting[] = "{}[]()=;,.#\"\\-+*/<>!%_0123456789eExX \n\t\r";

/* Inserts n bytes at pos (pos <= len); returns the new length, capped at max. */
static size_t insert(unsigned char *buf, size_t len, size_t max, size_t pos,
		     const unsigned char *s, size_t n)
{
	if (len + n > max)
		n = max - len;
	memmove(buf + pos + n, buf + pos, len - pos);
	memmove(buf + pos, s, n);
	return len + n;
}

/* Applies one random edit to buf[0..len) (capacity max); returns the new length. */
static size_t mutate(struct fuzz *f, unsigned char *buf, size_t len, size_t max)
{
	size_t pos = below(f, len + 1), n;
	unsigned char c;

	switch (below(f, 8)) {
	case 0: /* flip a bit */
		if (len > 0)
			buf[below(f, len)] ^= (unsigned char)(1u << below(f, 8));
		return len;
	case 1: /* set a byte */
		if (len > 0)
			buf[below(f, len)] = below(f, 2) ? (unsigned char)interesting[
				below(f, sizeof interesting - 1)] : (unsigned char)below(f, 256);
		return len;
	case 2: /* insert a byte */
		c = (unsigned char)interesting[below(f, sizeof interesting - 1)];
		return insert(buf, len, max, pos, &c, 1);
	case 3: /* delete a range */
		if (pos >= len)
			return len;
		n = 1 + below(f, len - pos < 16 ? len - pos : 16);
		memmove(buf + pos, buf + pos + n, len - pos - n);
		return len - n;
	case 4: /* duplicate a range elsewhere */
		if (len == 0)
			return len;
		{
			size_t from = below(f, len);
			unsigned char tmp[64];

			n = 1 + below(f, len - from < sizeof tmp ? len - from : sizeof tmp);
			memcpy(tmp, buf + from, n);
			return insert(buf, len, max, pos, tmp, n);
		}
	case 5: /* insert a token */
	case 6: {
		const char *t = tokens[below(f, sizeof tokens / sizeof tokens[0])];

		return insert(buf, len, max, pos, (const unsigned char *)t, strlen(t));
	}
	default: { /* splice in a piece of another input */
		const struct input *o = &f->pool[below(f, f->npool)];
		size_t from;

		if (o->len == 0)
			return len;
		from = below(f, o->len);
		n = 1 + below(f, o->len - from);
		if (below(f, 2) && pos < len) {
			/* overwrite from pos on */
			if (n > len - pos)
				n = len - pos;
			memcpy(buf + pos, o->data + from, n);
			return len;
		}
		return insert(buf, len, max, pos, o->data + from, n);
	}
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct fuzz f;
	double seconds = 10, start, t;
	unsigned long long seed = (unsigned long long)time(NULL);
	const char *artifact = NULL;
	unsigned char *buf;
	size_t i, len, kept = 0;
	int a, k, edits;

	memset(&f, 0, sizeof f);
	f.max_len = 4096;
	f.artifact_fd = -1;
	for (a = 1; a < argc; a++) {
		if (strncmp(argv[a], "-seconds=", 9) == 0)
			seconds = atof(argv[a] + 9);
		else if (strncmp(argv[a], "-seed=", 6) == 0)
			seed = strtoull(argv[a] + 6, NULL, 0);
		else if (strncmp(argv[a], "-max_len=", 9) == 0)
			f.max_len = (size_t)strtoull(argv[a] + 9, NULL, 0);
		else if (strncmp(argv[a], "-artifact=", 10) == 0)
			artifact = argv[a] + 10;
		else if (argv[a][0] == '-') {
			fprintf(stderr, "usage: %s [-seconds=N] [-seed=N] [-max_len=N] "
				"[-artifact=FILE] DIR_OR_FILE...\n", argv[0]);
			return 2;
		}
	}
	if (f.max_len < 16)
		f.max_len = 16;
	f.rng = seed;
	if (artifact != NULL) {
		f.artifact_fd = open(artifact, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (f.artifact_fd < 0) {
			perror(artifact);
			return 3;
		}
	}
	printf("fuzz_driver: seed %llu, %.0f s, inputs up to %zu bytes\n", seed, seconds,
	       f.max_len);
	fflush(stdout);

	for (a = 1; a < argc; a++) {
		if (argv[a][0] != '-')
			load(&f, argv[a]);
	}
	if (f.npool == 0)
		add_input(&f, (const unsigned char *)"", 0);
	printf("fuzz_driver: %zu corpus inputs ran clean\n", f.npool);
	fflush(stdout);

	buf = malloc(f.max_len);
	if (buf == NULL) {
		perror("fuzz_driver");
		return 3;
	}
	start = now_s();
	for (t = start; t - start < seconds;) {
		for (k = 0; k < 64; k++) {
			const struct input *in = &f.pool[below(&f, f.npool)];

			len = in->len < f.max_len ? in->len : f.max_len;
			memcpy(buf, in->data, len);
			for (edits = 1 + (int)below(&f, 8); edits > 0; edits--)
				len = mutate(&f, buf, len, f.max_len);
			run_one(&f, buf, len);
			/* Keep one in 64 results (up to 4096 kept), so edits can build on edits. */
			if (below(&f, 64) == 0 && kept < 4096) {
				add_input(&f, buf, len);
				kept++;
			}
		}
		t = now_s();
	}
	printf("fuzz_driver: %lu runs in %.1f s, no crash (seed %llu)\n", f.runs, t - start, seed);

	free(buf);
	for (i = 0; i < f.npool; i++)
		free(f.pool[i].data);
	free(f.pool);
	if (f.artifact_fd >= 0) {
		close(f.artifact_fd);
		if (artifact != NULL)
			unlink(artifact); /* nothing crashed: no artifact to keep */
	}
	return 0;
}
