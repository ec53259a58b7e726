/*
 * sweep.c: bin/sim sweep. This file implements parameter sweeps (issue 8): a grid of scenario
 * overrides times seeds, every point one child run of this same executable, up to JOBS of them at
 * once, each worker writing its own shard database; at the end the shards are merged into one
 * results database (sim/merge.h) and every point that failed is listed with its parameters and
 * seed. The same grid can instead be written out as shell commands for GNU parallel or a Slurm
 * array (--emit-jobs), and a sweep stored in a database can be summarized again (--show).
 *
 *   bin/sim sweep SCENARIO --param PATH=VALUES... [--seeds SEEDS] [-j JOBS] [--db OUT]
 *                 [--set PATH=VALUE]... [--arm NAME]... [--quiet] [--json]
 *                 [--emit-jobs FILE|- [--format parallel|slurm] [--shard-dir DIR]]
 *   bin/sim sweep --show SWEEP_ID [--db DB] [--json]
 *
 * VALUES is a comma list taken verbatim ("kvmclock,none"), a range A..B[:STEP] in A's unit
 * ("0ppm..200ppm:50ppm" is 0ppm 50ppm 100ppm 150ppm 200ppm; STEP defaults to 1), or a mix of
 * both ("1..3,10"). A range's numbers are exact decimals (a mantissa and a count of decimal
 * places, never floating point), so 0.1..0.3:0.1 gives exactly 0.1 0.2 0.3. SEEDS is A..B or a
 * list (default: the scenario's own seed).
 *
 * The grid's order: point k is combination k / nseeds of the --param values (the last --param
 * varying fastest) with seed k % nseeds. Point k runs as
 *
 *   EXE run SCENARIO --quiet [--set USER]... [--set PATH=VALUE]... --seed S [--arm NAME]...
 *       --db SHARD --sweep-id ID --sweep-point "PATH=VALUE ... seed=S"
 *
 * so its run row records the sweep and the point (runs.sweep_id, runs.sweep_point). A sweep:
 *
 *   options -> the grid (every --param's values, the seeds)
 *     -> every combination validated in process (parse, overrides, config_build): a bad value is
 *        exit 2 before any child starts
 *     -> --emit-jobs: one command per point, each with its own database, and how to merge them
 *     -> else: a temporary directory next to OUT; up to JOBS children, worker slot j always
 *        writing shard j (reused for its next point), stdout discarded, stderr kept per point
 *     -> merge_databases(OUT, shards) -> the summary (or --json) -> the shards deleted (kept, and
 *        named, when the merge failed)
 *
 * A point's outcome is its child's exit: 0 held, 1 an expectation failed, anything else (2, 3,
 * 127: could not execute) or a signal is an error, never dropped. The sweep exits 0 when every
 * point held, 1 when some point failed an expectation, 3 when some point errored, the sweep was
 * interrupted or the merge failed (3 wins), 2 on bad input.
 *
 * Test hook: VTSIM_SWEEP_TEST_KILL=K[:MS] makes the sweep SIGKILL the K-th child it starts
 * (counting from 1) MS milliseconds after starting it (default 0), as the OOM killer or an
 * operator might: tests/sweep.sh checks that such a point is reported as errored (exit 3) and
 * that its 'running' run reaches the merged database as incomplete.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "merge.h"
#include "metrics.h"
#include "registry.h"
#include "scenario.h"
#include "store.h"
#include "sweep.h"
#include "util.h"

#define SWEEP_MAX_POINTS 1000000u /* a larger grid is refused (exit 2) */
#define SWEEP_MAX_DECIMALS 9      /* decimal places of a range's numbers */
#define SWEEP_MAX_JOBS 1024       /* the largest -j */
#define SWEEP_TICK_S 0.1          /* progress bar refresh period: at most 10 per second */
#define SWEEP_IDLE_S 1.0          /* the longest wait for a child without a bar (a backstop) */
#define SWEEP_BAR_WIDTH 24        /* characters of the progress bar */
#define SWEEP_ERR_BYTES 8192      /* how much of a point's stderr is read back */
#define SWEEP_MSG_LINES 4         /* how many of its lines the summary keeps */
#define SWEEP_MAX_FACTS 32        /* facts per arm read back from a database */
#define SWEEP_ID_SIZE 24          /* "sweep-" + 16 hex digits + NUL */

/* ---- small helpers ---------------------------------------------------------------------- */

/* A growable array of owned strings. */
struct strv {
	char **v;
	size_t n, cap;
};

/* Appends s (taking it; NULL is an allocation that failed). Returns VT_OK or VT_ENOMEM. */
static int strv_push(struct strv *sv, char *s)
{
	if (!s)
		return VT_ENOMEM;
	if (sv->n == sv->cap) {
		size_t cap = sv->cap ? 2 * sv->cap : 8;
		char **v = realloc(sv->v, cap * sizeof(*v));

		if (!v) {
			free(s);
			return VT_ENOMEM;
		}
		sv->v = v;
		sv->cap = cap;
	}
	sv->v[sv->n++] = s;
	return VT_OK;
}

static void strv_free(struct strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	memset(sv, 0, sizeof(*sv));
}

/* A copy of [s, end) without its leading and trailing blanks (malloc'd; NULL when out of memory). */
static char *dup_trimmed(const char *s, const char *end)
{
	char *d;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	d = malloc((size_t)(end - s) + 1);
	if (d) {
		memcpy(d, s, (size_t)(end - s));
		d[end - s] = '\0';
	}
	return d;
}

/* "a" + "=" + "b" (malloc'd). */
static char *join_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 2);

	if (s) {
		memcpy(s, a, la);
		s[la] = '=';
		memcpy(s + la + 1, b, lb + 1);
	}
	return s;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Wall-clock seconds on the monotonic clock (progress and the test hook only). */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Writes one word for a POSIX shell: as is when every character is one the shell takes
 * literally, else in single quotes, each ' written as '\'' (close, escaped quote, reopen).
 */
static void shell_word(FILE *f, const char *w)
{
	bool plain = *w != '\0' && *w != '=';

	for (const char *c = w; *c && plain; c++)
		plain = isalnum((unsigned char)*c) || strchr("_@%+=:,./-", *c) != NULL;
	if (plain) {
		fputs(w, f);
		return;
	}
	fputc('\'', f);
	for (const char *c = w; *c; c++) {
		if (*c == '\'')
			fputs("'\\''", f);
		else
			fputc(*c, f);
	}
	fputc('\'', f);
}

/* The words of av (NULL-terminated) as one shell command line, without the newline. */
static void shell_command(FILE *f, const char *const *av)
{
	for (size_t i = 0; av[i]; i++) {
		if (i)
			fputc(' ', f);
		shell_word(f, av[i]);
	}
}

/* A JSON string literal. */
static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* ---- options ------------------------------------------------------------------------------ */

struct sweep_opts {
	const char *scenario;
	const char *db;           /* --db OUT */
	const char *seeds;        /* --seeds SEEDS; NULL: the scenario's seed */
	const char *emit;         /* --emit-jobs FILE, "-" for stdout */
	const char *format;       /* --format parallel|slurm */
	const char *shard_dir;    /* --shard-dir DIR */
	const char *show;         /* --show SWEEP_ID */
	unsigned jobs;            /* -j JOBS; 0: the number of online CPUs */
	bool quiet, json;
	unsigned nparam, nset, narm;
	const char **param, **set, **arm; /* the arguments of --param, --set and --arm, in order */
};

static void sweep_usage(FILE *f)
{
	fputs("usage: bin/sim sweep SCENARIO --param PATH=VALUES... [--seeds SEEDS] [options]\n"
	      "       bin/sim sweep --show SWEEP_ID [--db DB] [--json]\n"
	      "Runs SCENARIO at every combination of the --param values, for every seed, in child\n"
	      "processes, and merges their results into one database.\n"
	      "  VALUES  A..B[:STEP] in A's unit (0ppm..200ppm:50ppm; STEP defaults to 1), or a list\n"
	      "          v1,v2,v3 taken as written, or both (1..3,10)\n"
	      "  SEEDS   A..B or s1,s2,... (default: the scenario's seed)\n"
	      "options:\n"
	      "  --param PATH=VALUES  one axis of the grid (repeatable)\n"
	      "  --seeds SEEDS        the seeds every combination runs with\n"
	      "  -j, --jobs N         child runs at once (default: the online CPUs)\n"
	      "  --db OUT             the merged database (default $VTSIM_DB, else results.db)\n"
	      "  --set PATH=VALUE     an override for every point (repeatable)\n"
	      "  --arm NAME           run only this arm (repeatable)\n"
	      "  --quiet              no progress bar\n"
	      "  --json               one JSON object per point (its metrics read back from OUT),\n"
	      "                       then one for the sweep, instead of the summary\n"
	      "  --emit-jobs FILE|-   do not run: write one shell command per point (GNU parallel)\n"
	      "  --format parallel|slurm   ... or a Slurm array script\n"
	      "  --shard-dir DIR      where the emitted commands write their databases (default shards)\n"
	      "  --show SWEEP_ID      summarize a sweep stored in DB (e.g. after bin/sim merge)\n"
	      "exit: 0 every point held, 1 a point failed an expectation, 2 bad input, 3 a point\n"
	      "      errored (exit 2/3 or a signal), the sweep was interrupted or the merge failed\n",
	      f);
}

static bool takes_value(const char *a)
{
	static const char *const with_value[] = { "--param", "--seeds", "-j", "--jobs", "--db",
						  "--set", "--arm", "--emit-jobs", "--format",
						  "--shard-dir", "--show", NULL };

	for (const char *const *w = with_value; *w; w++)
		if (strcmp(a, *w) == 0)
			return true;
	return false;
}

/* Returns an exit code for --help or a usage error, or -1 to go on. */
static int parse_opts(int argc, char **argv, struct sweep_opts *o, FILE *out, FILE *err)
{
	o->param = calloc((size_t)argc, sizeof(*o->param));
	o->set = calloc((size_t)argc, sizeof(*o->set));
	o->arm = calloc((size_t)argc, sizeof(*o->arm));
	if (!o->param || !o->set || !o->arm) {
		fprintf(err, "sim: out of memory\n");
		return EXIT_IOERR;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			sweep_usage(out);
			return EXIT_HELD;
		}
		if (strncmp(a, "-j", 2) == 0 && a[2] != '\0') {
			v = a + 2;
			a = "-j";
		} else if (takes_value(a)) {
			if (i + 1 >= argc) {
				fprintf(err, "sim: sweep: %s needs a value\n", a);
				return EXIT_BADINPUT;
			}
			v = argv[++i];
		}
		if (strcmp(a, "--quiet") == 0) {
			o->quiet = true;
		} else if (strcmp(a, "--json") == 0) {
			o->json = true;
		} else if (strcmp(a, "--param") == 0) {
			o->param[o->nparam++] = v;
		} else if (strcmp(a, "--set") == 0) {
			o->set[o->nset++] = v;
		} else if (strcmp(a, "--arm") == 0) {
			o->arm[o->narm++] = v;
		} else if (strcmp(a, "--seeds") == 0) {
			o->seeds = v;
		} else if (strcmp(a, "-j") == 0 || strcmp(a, "--jobs") == 0) {
			char *end;
			unsigned long n;

			errno = 0;
			n = strtoul(v, &end, 10);
			if (errno || end == v || *end || !isdigit((unsigned char)*v) || n == 0 ||
			    n > SWEEP_MAX_JOBS) {
				fprintf(err, "sim: sweep: %s '%s': expected a number of jobs from 1 to %u\n",
					a, v, SWEEP_MAX_JOBS);
				return EXIT_BADINPUT;
			}
			o->jobs = (unsigned)n;
		} else if (strcmp(a, "--db") == 0) {
			o->db = v;
		} else if (strcmp(a, "--emit-jobs") == 0) {
			o->emit = v;
		} else if (strcmp(a, "--format") == 0) {
			if (strcmp(v, "parallel") != 0 && strcmp(v, "slurm") != 0) {
				fprintf(err, "sim: sweep: --format '%s': expected parallel or slurm\n", v);
				return EXIT_BADINPUT;
			}
			o->format = v;
		} else if (strcmp(a, "--shard-dir") == 0) {
			o->shard_dir = v;
		} else if (strcmp(a, "--show") == 0) {
			o->show = v;
		} else if (strcmp(a, "--no-db") == 0) {
			fprintf(err, "sim: sweep: --no-db: a sweep always stores its results (--db OUT)\n");
			return EXIT_BADINPUT;
		} else if (a[0] == '-' && a[1] != '\0') {
			fprintf(err, "sim: sweep: unknown option '%s' (bin/sim sweep --help)\n", a);
			return EXIT_BADINPUT;
		} else if (!o->scenario) {
			o->scenario = a;
		} else {
			fprintf(err, "sim: sweep: unexpected argument '%s' (one scenario at a time)\n", a);
			return EXIT_BADINPUT;
		}
	}
	if (o->show) {
		if (o->scenario || o->nparam || o->seeds || o->emit || o->nset || o->narm) {
			fprintf(err, "sim: sweep: --show takes only --db and --json\n");
			return EXIT_BADINPUT;
		}
		return -1;
	}
	if (!o->scenario) {
		sweep_usage(err);
		return EXIT_BADINPUT;
	}
	if ((o->format || o->shard_dir) && !o->emit) {
		fprintf(err, "sim: sweep: --format and --shard-dir go with --emit-jobs\n");
		return EXIT_BADINPUT;
	}
	if (o->emit && o->json) {
		fprintf(err, "sim: sweep: --json and --emit-jobs exclude each other (nothing runs)\n");
		return EXIT_BADINPUT;
	}
	return -1;
}

/* ---- the grid ----------------------------------------------------------------------------- */

/* One --param: a path and its values, in order. */
struct sweep_param {
	char *path;
	struct strv val;
};

struct sweep {
	struct sweep_opts o;
	FILE *out, *err;
	struct sweep_param *param;
	unsigned nparam;
	uint64_t *seed;
	size_t nseed;
	size_t ncombo;            /* the product of the params' value counts */
	size_t npoints;           /* ncombo * nseed */
	char id[SWEEP_ID_SIZE];   /* "sweep-" + 16 hex digits */
	const char *db;           /* OUT */
	const char *run_exe;      /* what a worker executes: this very binary (/proc/self/exe) */
	char exe[PATH_MAX];       /* its path, absolute: a worker's argv[0] */
	const char *shown_exe;    /* how printed commands name it: relative to cwd when under it */
	char cwd[PATH_MAX];
};

/* A number of a range as written: mant / 10^decimals, followed by unit[0..unitlen). */
struct decnum {
	int64_t mant;
	unsigned decimals;
	const char *unit;
	size_t unitlen;
};

/*
 * Parses [s, end) as [+-]DIGITS[.DIGITS][UNIT] ('_' may separate digits, blanks around are
 * ignored; UNIT is letters, '/' or '%', checked by the scenario parser later). Returns NULL, or
 * why it is not such a number.
 */
static const char *dec_parse(const char *s, const char *end, struct decnum *d)
{
	bool neg = false, digits = false, point = false;
	uint64_t m = 0;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (s < end && (*s == '+' || *s == '-'))
		neg = *s++ == '-';
	d->decimals = 0;
	for (; s < end; s++) {
		if (*s >= '0' && *s <= '9') {
			unsigned digit = (unsigned)(*s - '0');

			if (m > ((uint64_t)INT64_MAX - digit) / 10)
				return "is too large";
			m = m * 10 + digit;
			digits = true;
			if (point && ++d->decimals > SWEEP_MAX_DECIMALS)
				return "has more than 9 decimal places";
		} else if (*s == '_' && digits) {
			continue;
		} else if (*s == '.' && digits && !point && s + 1 < end &&
			   isdigit((unsigned char)s[1])) {
			point = true;
		} else {
			break;
		}
	}
	if (!digits)
		return "is not a number with an optional unit (e.g. 50ppm, 1.5s, 4)";
	d->mant = neg ? -(int64_t)m : (int64_t)m;
	d->unit = s;
	d->unitlen = (size_t)(end - s);
	for (; s < end; s++)
		if (!isalpha((unsigned char)*s) && *s != '/' && *s != '%')
			return "is not a number with an optional unit (e.g. 50ppm, 1.5s, 4)";
	return NULL;
}

static uint64_t pow10u(unsigned n)
{
	uint64_t p = 1;

	while (n--)
		p *= 10;
	return p;
}

/* v / 10^dec as the shortest decimal, then the unit: "0.75ppm", "-50ppm", "3". */
static char *dec_format(s128 v, unsigned dec, const char *unit, size_t unitlen)
{
	uint64_t a = v < 0 ? (uint64_t)-v : (uint64_t)v, p = pow10u(dec);
	char num[64], frac[32] = "";
	size_t n;
	char *s;

	if (dec && a % p) {
		snprintf(frac, sizeof(frac), ".%0*llu", (int)dec, (unsigned long long)(a % p));
		for (n = strlen(frac); frac[n - 1] == '0'; n--)
			frac[n - 1] = '\0';
	}
	snprintf(num, sizeof(num), "%s%llu%s", v < 0 ? "-" : "", (unsigned long long)(a / p), frac);
	n = strlen(num);
	s = malloc(n + unitlen + 1);
	if (s) {
		memcpy(s, num, n);
		memcpy(s + n, unit, unitlen);
		s[n + unitlen] = '\0';
	}
	return s;
}

/*
 * Expands one range item A..B[:STEP] of --param `path` into `vals`. The three numbers share one
 * unit (each may omit it); they are brought to their largest number of decimal places, so that
 * A + k * STEP is exact integer arithmetic (128-bit; every value fits 64 bits as A and B do).
 */
static int range_expand(const char *path, const char *item, struct strv *vals, FILE *err)
{
	static const char *const what[3] = { "start", "end", "step" };
	const char *dots = strstr(item, ".."), *end = item + strlen(item);
	const char *colon = memchr(dots + 2, ':', (size_t)(end - (dots + 2)));
	const char *from[3] = { item, dots + 2, colon ? colon + 1 : NULL };
	const char *to[3] = { dots, colon ? colon : end, end };
	struct decnum n[3] = { { 0, 0, "", 0 }, { 0, 0, "", 0 }, { 1, 0, "", 0 } };
	const char *unit = "";
	size_t unitlen = 0;
	unsigned dec = 0;
	s128 v[3], count;

	for (int i = 0; i < 3; i++) {
		const char *why;

		if (!from[i])
			continue;
		why = dec_parse(from[i], to[i], &n[i]);
		if (why) {
			fprintf(err, "sim: sweep: --param %s: the range '%s': its %s '%.*s' %s\n", path,
				item, what[i], (int)(to[i] - from[i]), from[i], why);
			return EXIT_BADINPUT;
		}
		if (n[i].unitlen && !unitlen) {
			unit = n[i].unit;
			unitlen = n[i].unitlen;
		}
		if (n[i].decimals > dec)
			dec = n[i].decimals;
	}
	for (int i = 0; i < 3; i++) {
		if (n[i].unitlen && (n[i].unitlen != unitlen || memcmp(n[i].unit, unit, unitlen))) {
			fprintf(err, "sim: sweep: --param %s: the range '%s': its %s is in '%.*s', not "
				     "'%.*s' (start, end and step share one unit)\n",
				path, item, what[i], (int)n[i].unitlen, n[i].unit, (int)unitlen, unit);
			return EXIT_BADINPUT;
		}
		v[i] = (s128)n[i].mant * (s128)pow10u(dec - n[i].decimals);
		if (v[i] > INT64_MAX || v[i] < -(s128)INT64_MAX) {
			fprintf(err, "sim: sweep: --param %s: the range '%s': its %s is too large\n", path,
				item, what[i]);
			return EXIT_BADINPUT;
		}
	}
	if (v[2] <= 0) {
		fprintf(err, "sim: sweep: --param %s: the range '%s': the step must be positive\n", path,
			item);
		return EXIT_BADINPUT;
	}
	if (v[1] < v[0]) {
		fprintf(err, "sim: sweep: --param %s: the range '%s' is empty (its start is above its "
			     "end)\n", path, item);
		return EXIT_BADINPUT;
	}
	count = (v[1] - v[0]) / v[2] + 1;
	if (count > SWEEP_MAX_POINTS) {
		fprintf(err, "sim: sweep: --param %s: the range '%s' has more than %u values\n", path,
			item, SWEEP_MAX_POINTS);
		return EXIT_BADINPUT;
	}
	for (s128 k = 0; k < count; k++)
		if (strv_push(vals, dec_format(v[0] + k * v[2], dec, unit, unitlen)) != VT_OK)
			return EXIT_IOERR;
	return EXIT_HELD;
}

/* Splits at the commas outside "strings", [lists] and (calls), each item without blanks. */
static int split_items(const char *s, struct strv *items)
{
	const char *start = s;
	bool str = false;
	int depth = 0;

	for (const char *p = s;; p++) {
		if (*p == '\0' || (*p == ',' && !str && depth == 0)) {
			if (strv_push(items, dup_trimmed(start, p)) != VT_OK)
				return VT_ENOMEM;
			if (*p == '\0')
				return VT_OK;
			start = p + 1;
		} else if (str) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				str = false;
		} else if (*p == '"') {
			str = true;
		} else if (*p == '[' || *p == '(') {
			depth++;
		} else if ((*p == ']' || *p == ')') && depth > 0) {
			depth--;
		}
	}
}

/* The path of an override PATH=VALUE, compared without blanks: does it set `path`? */
static bool sets_path(const char *override, const char *path)
{
	const char *eq = strchr(override, '=');
	char *p;
	bool same;

	if (!eq)
		return false;
	p = dup_trimmed(override, eq);
	same = p && strcmp(p, path) == 0;
	free(p);
	return same;
}

/* Parses one --param PATH=VALUES into p. Returns an exit code. */
static int param_parse(const char *arg, struct sweep_param *p, FILE *err)
{
	const char *eq = strchr(arg, '=');
	struct strv items = { 0 };
	char **sorted = NULL;
	int code = EXIT_HELD;

	if (!eq || !(p->path = dup_trimmed(arg, eq)) || !p->path[0]) {
		if (eq && !p->path)
			return EXIT_IOERR;
		fprintf(err, "sim: sweep: --param '%s': expected PATH=VALUES (A..B[:STEP] or v1,v2)\n",
			arg);
		return EXIT_BADINPUT;
	}
	if (split_items(eq + 1, &items) != VT_OK) {
		code = EXIT_IOERR;
		goto out;
	}
	for (size_t i = 0; i < items.n && code == EXIT_HELD; i++) {
		const char *it = items.v[i];

		if (it[0] == '\0') {
			fprintf(err, "sim: sweep: --param %s: an empty value in '%s'\n", p->path, eq + 1);
			code = EXIT_BADINPUT;
		} else if (it[0] != '"' && strstr(it, "..")) {
			code = range_expand(p->path, it, &p->val, err);
		} else if (strv_push(&p->val, strdup(it)) != VT_OK) {
			code = EXIT_IOERR;
		}
		if (code == EXIT_HELD && p->val.n > SWEEP_MAX_POINTS) {
			fprintf(err, "sim: sweep: --param %s has more than %u values\n", p->path,
				SWEEP_MAX_POINTS);
			code = EXIT_BADINPUT;
		}
	}
	if (code != EXIT_HELD)
		goto out;
	/* Each value once: a point is named by its values, so two equal ones would be one point. */
	sorted = malloc(p->val.n * sizeof(*sorted));
	if (!sorted) {
		code = EXIT_IOERR;
		goto out;
	}
	memcpy(sorted, p->val.v, p->val.n * sizeof(*sorted));
	qsort(sorted, p->val.n, sizeof(*sorted), cmp_str);
	for (size_t i = 1; i < p->val.n; i++) {
		if (strcmp(sorted[i - 1], sorted[i]) == 0) {
			fprintf(err, "sim: sweep: --param %s: the value '%s' appears twice\n", p->path,
				sorted[i]);
			code = EXIT_BADINPUT;
			break;
		}
	}
out:
	free(sorted);
	strv_free(&items);
	return code;
}

/* A seed: decimal digits, 0 to 2^64 - 1. */
static bool parse_u64(const char *s, uint64_t *v)
{
	uint64_t x = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s) || x > (UINT64_MAX - (unsigned)(*s - '0')) / 10)
			return false;
		x = x * 10 + (unsigned)(*s - '0');
	}
	*v = x;
	return true;
}

/* Parses --seeds A..B or s1,s2 (or both: 1..5,9) into s->seed. Returns an exit code. */
static int seeds_parse(struct sweep *s, const char *arg)
{
	struct strv items = { 0 };
	uint64_t *sorted = NULL;
	int code = EXIT_HELD;

	if (split_items(arg, &items) != VT_OK)
		return EXIT_IOERR;
	for (size_t i = 0; i < items.n && code == EXIT_HELD; i++) {
		char *it = items.v[i], *dots = strstr(it, "..");
		uint64_t lo = 0, hi = 0;
		uint64_t *grown;

		if (dots)
			*dots = '\0';
		if (!parse_u64(it, &lo) || (dots ? !parse_u64(dots + 2, &hi) : (hi = lo, false))) {
			if (dots)
				*dots = '.';
			fprintf(s->err, "sim: sweep: --seeds '%s': '%s' is not a seed (0 to 2^64-1) or a "
					"range of seeds A..B\n", arg, it);
			code = EXIT_BADINPUT;
			break;
		}
		if (hi < lo || hi - lo >= SWEEP_MAX_POINTS ||
		    s->nseed + (size_t)(hi - lo) + 1 > SWEEP_MAX_POINTS) {
			fprintf(s->err, "sim: sweep: --seeds '%s': %s\n", arg,
				hi < lo ? "a range is empty (its start is above its end)"
					: "more seeds than a sweep takes (1000000)");
			code = EXIT_BADINPUT;
			break;
		}
		grown = realloc(s->seed, (s->nseed + (size_t)(hi - lo) + 1) * sizeof(*s->seed));
		if (!grown) {
			code = EXIT_IOERR;
			break;
		}
		s->seed = grown;
		for (uint64_t v = lo;; v++) {
			s->seed[s->nseed++] = v;
			if (v == hi)
				break;
		}
	}
	if (code == EXIT_HELD && s->nseed == 0) {
		fprintf(s->err, "sim: sweep: --seeds '%s': no seeds\n", arg);
		code = EXIT_BADINPUT;
	}
	if (code == EXIT_HELD) {
		sorted = malloc(s->nseed * sizeof(*sorted));
		if (!sorted) {
			code = EXIT_IOERR;
		} else {
			memcpy(sorted, s->seed, s->nseed * sizeof(*sorted));
			qsort(sorted, s->nseed, sizeof(*sorted), cmp_u64);
			for (size_t i = 1; i < s->nseed; i++) {
				if (sorted[i - 1] == sorted[i]) {
					fprintf(s->err, "sim: sweep: --seeds '%s': the seed %llu appears "
							"twice\n", arg, (unsigned long long)sorted[i]);
					code = EXIT_BADINPUT;
					break;
				}
			}
		}
	}
	free(sorted);
	strv_free(&items);
	return code;
}

/* Every --param's values and the seeds; the grid's size. Returns an exit code. */
static int grid_build(struct sweep *s)
{
	int code;

	s->param = calloc(s->o.nparam ? s->o.nparam : 1, sizeof(*s->param));
	if (!s->param)
		return EXIT_IOERR;
	for (unsigned i = 0; i < s->o.nparam; i++) {
		struct sweep_param *p = &s->param[s->nparam++];

		code = param_parse(s->o.param[i], p, s->err);
		if (code != EXIT_HELD)
			return code;
		if (strcmp(p->path, "seed") == 0) {
			fprintf(s->err, "sim: sweep: --param seed: the seeds go in --seeds\n");
			return EXIT_BADINPUT;
		}
		for (unsigned j = 0; j + 1 < s->nparam; j++) {
			if (strcmp(s->param[j].path, p->path) == 0) {
				fprintf(s->err, "sim: sweep: --param %s is given twice\n", p->path);
				return EXIT_BADINPUT;
			}
		}
		for (unsigned j = 0; j < s->o.nset; j++) {
			if (sets_path(s->o.set[j], p->path)) {
				fprintf(s->err, "sim: sweep: %s is both a --param and a --set\n", p->path);
				return EXIT_BADINPUT;
			}
		}
	}
	if (s->o.seeds) {
		for (unsigned j = 0; j < s->o.nset; j++) {
			if (sets_path(s->o.set[j], "seed")) {
				fprintf(s->err, "sim: sweep: --set %s and --seeds both set the seed\n",
					s->o.set[j]);
				return EXIT_BADINPUT;
			}
		}
		code = seeds_parse(s, s->o.seeds);
		if (code != EXIT_HELD)
			return code;
	} else {
		/* The scenario's own seed, read from its configuration by grid_validate. */
		s->seed = calloc(1, sizeof(*s->seed));
		if (!s->seed)
			return EXIT_IOERR;
		s->nseed = 1;
	}
	s->ncombo = 1;
	for (unsigned i = 0; i < s->nparam; i++) {
		s->ncombo *= s->param[i].val.n;
		if (s->ncombo > SWEEP_MAX_POINTS)
			break;
	}
	if (s->ncombo > SWEEP_MAX_POINTS || s->ncombo * s->nseed > SWEEP_MAX_POINTS) {
		fprintf(s->err, "sim: sweep: the grid has more than %u points\n", SWEEP_MAX_POINTS);
		return EXIT_BADINPUT;
	}
	s->npoints = s->ncombo * s->nseed;
	return EXIT_HELD;
}

/* The index of param i's value at combination c: the last --param varies fastest. */
static size_t combo_value(const struct sweep *s, size_t c, unsigned i)
{
	for (unsigned j = s->nparam; j-- > i + 1;)
		c /= s->param[j].val.n;
	return c % s->param[i].val.n;
}

/* One point of the grid, as its overrides and its name. */
struct point {
	char **set;               /* "PATH=VALUE" per --param */
	char seed[24];
	char *text;               /* "PATH=VALUE ... seed=S": runs.sweep_point */
};

static void point_free(struct point *p, unsigned nparam)
{
	if (p->set)
		for (unsigned i = 0; i < nparam; i++)
			free(p->set[i]);
	free(p->set);
	free(p->text);
	memset(p, 0, sizeof(*p));
}

/* Point k (see the top of the file). Returns VT_OK or VT_ENOMEM. */
static int point_make(const struct sweep *s, size_t k, struct point *p)
{
	size_t c = k / s->nseed, len = 0;
	char *t;

	memset(p, 0, sizeof(*p));
	snprintf(p->seed, sizeof(p->seed), "%llu", (unsigned long long)s->seed[k % s->nseed]);
	p->set = calloc(s->nparam ? s->nparam : 1, sizeof(*p->set));
	if (!p->set)
		return VT_ENOMEM;
	for (unsigned i = 0; i < s->nparam; i++) {
		p->set[i] = join_eq(s->param[i].path, s->param[i].val.v[combo_value(s, c, i)]);
		if (!p->set[i]) {
			point_free(p, s->nparam);
			return VT_ENOMEM;
		}
		len += strlen(p->set[i]) + 1;
	}
	p->text = t = malloc(len + strlen(p->seed) + 6);
	if (!t) {
		point_free(p, s->nparam);
		return VT_ENOMEM;
	}
	for (unsigned i = 0; i < s->nparam; i++)
		t += sprintf(t, "%s ", p->set[i]);
	sprintf(t, "seed=%s", p->seed);
	return VT_OK;
}

/* How a point's command line is used. */
enum argv_mode {
	ARGV_WORKER, /* a local child: --quiet, the shard, the sweep's identity */
	ARGV_JOB,    /* an emitted job: the same with the job's own database */
	ARGV_RERUN,  /* for a human to rerun the point: the overrides only */
};

/* The argument vector of point p (NULL-terminated, malloc'd; the strings are borrowed). */
static const char **point_argv(const struct sweep *s, const struct point *p, const char *exe,
			       enum argv_mode mode, const char *db)
{
	size_t n = 0;
	const char **av = calloc(16 + 2 * ((size_t)s->o.nset + s->nparam + s->o.narm), sizeof(*av));

	if (!av)
		return NULL;
	av[n++] = exe;
	av[n++] = "run";
	av[n++] = s->o.scenario;
	if (mode != ARGV_RERUN)
		av[n++] = "--quiet";
	for (unsigned i = 0; i < s->o.nset; i++) {
		av[n++] = "--set";
		av[n++] = s->o.set[i];
	}
	for (unsigned i = 0; i < s->nparam; i++) {
		av[n++] = "--set";
		av[n++] = p->set[i];
	}
	av[n++] = "--seed";
	av[n++] = p->seed;
	for (unsigned i = 0; i < s->o.narm; i++) {
		av[n++] = "--arm";
		av[n++] = s->o.arm[i];
	}
	if (mode != ARGV_RERUN) {
		av[n++] = "--db";
		av[n++] = db;
		av[n++] = "--sweep-id";
		av[n++] = s->id;
		av[n++] = "--sweep-point";
		av[n++] = p->text;
	}
	av[n] = NULL;
	return av;
}

/*
 * Reports why combination c is not a valid configuration. The overrides are numbered as a
 * child numbers its --set arguments (the user's, then the params', then the seed), so an error
 * in a param's value says "--set:N:COL:"; it is shown as that --param's value instead.
 */
static int validate_error(const struct sweep *s, size_t c, int rc, const struct scn_error *e)
{
	if (rc != VT_EINPUT) {
		fprintf(s->err, "sim: out of memory\n");
		return EXIT_IOERR;
	}
	for (unsigned i = 0; i < s->nparam; i++) {
		char prefix[64];
		size_t n = (size_t)snprintf(prefix, sizeof(prefix), "--set:%u:", s->o.nset + i + 1);
		const char *rest = e->msg + n;

		if (strncmp(e->msg, prefix, n) != 0)
			continue;
		rest += strspn(rest, "0123456789");
		if (*rest == ':')
			rest++;
		fprintf(s->err, "sim: sweep: --param %s, the value '%s':%s\n", s->param[i].path,
			s->param[i].val.v[combo_value(s, c, i)], rest);
		return EXIT_BADINPUT;
	}
	fprintf(s->err, "%s\n", e->msg);
	if (s->nparam) {
		fprintf(s->err, "sim: sweep: (at the grid point");
		for (unsigned i = 0; i < s->nparam; i++)
			fprintf(s->err, " %s=%s", s->param[i].path,
				s->param[i].val.v[combo_value(s, c, i)]);
		fprintf(s->err, ")\n");
	}
	return EXIT_BADINPUT;
}

/*
 * Builds the configuration of every combination of --param values in process, as a point's
 * child will (the same overrides in the same order), so that a bad value, an unknown key or
 * --arm is exit 2 before any child starts. Seeds cannot make a configuration invalid, so each
 * combination is built once, with the first seed; without --seeds that build also gives the
 * scenario's seed. Returns an exit code.
 */
static int grid_validate(struct sweep *s)
{
	int code = EXIT_HELD;

	for (size_t c = 0; c < s->ncombo && code == EXIT_HELD; c++) {
		struct scn_doc doc;
		struct scn_error e;
		struct config cfg;
		char seed[40];
		unsigned idx = 1;
		int rc;

		scn_doc_init(&doc);
		rc = scn_parse_file(&doc, s->o.scenario, &e);
		for (unsigned i = 0; rc == VT_OK && i < s->o.nset; i++)
			rc = scn_parse_override(&doc, s->o.set[i], idx++, &e);
		for (unsigned i = 0; rc == VT_OK && i < s->nparam; i++) {
			char *set = join_eq(s->param[i].path,
					    s->param[i].val.v[combo_value(s, c, i)]);

			rc = set ? scn_parse_override(&doc, set, idx++, &e) : VT_ENOMEM;
			free(set);
		}
		if (rc == VT_OK && s->o.seeds) {
			snprintf(seed, sizeof(seed), "seed=%llu", (unsigned long long)s->seed[0]);
			rc = scn_parse_override(&doc, seed, idx++, &e);
		}
		if (rc == VT_OK) {
			rc = config_build(&cfg, &doc, s->o.scenario, &e);
			if (rc == VT_OK) {
				for (unsigned i = 0; c == 0 && i < s->o.narm; i++) {
					bool found = false;

					for (unsigned j = 0; j < cfg.narms; j++)
						found |= strcmp(cfg.arms[j].name, s->o.arm[i]) == 0;
					if (!found) {
						fprintf(s->err, "sim: sweep: --arm %s: the scenario has no "
								"such arm\n", s->o.arm[i]);
						code = EXIT_BADINPUT;
					}
				}
				if (c == 0 && !s->o.seeds)
					s->seed[0] = cfg.seed;
				config_free(&cfg);
			}
		}
		if (rc != VT_OK)
			code = validate_error(s, c, rc, &e);
		scn_doc_free(&doc);
	}
	return code;
}

/* The sweep's ID: "sweep-" and 8 bytes of the OS's random source in hex. Returns an errno. */
static int make_id(char id[SWEEP_ID_SIZE])
{
	memcpy(id, "sweep-", 6);
	return util_random_hex(id + 6, 8);
}

/*
 * Finds this executable. A worker executes the link itself (/proc/self/exe), so every point
 * runs this very binary even when bin/sim is rebuilt during the sweep (the link then names the
 * old file with " (deleted)", which printed commands leave out). Returns an exit code.
 */
static int find_self(struct sweep *s)
{
	static const char *const links[] = { "/proc/self/exe", "/proc/curproc/exe",
					     "/proc/curproc/file" };
	static const char deleted[] = " (deleted)";
	ssize_t n = -1;
	size_t len;

	for (size_t i = 0; n <= 0 && i < VT_ARRAY_SIZE(links); i++) {
		n = readlink(links[i], s->exe, sizeof(s->exe) - 1);
		s->run_exe = links[i];
	}
	if (n <= 0 || !getcwd(s->cwd, sizeof(s->cwd))) {
		fprintf(s->err, "sim: sweep: cannot find this executable or the current directory "
				"(%s: %s)\n", links[0], strerror(errno));
		return EXIT_IOERR;
	}
	s->exe[n] = '\0';
	len = strlen(s->exe);
	if (len > sizeof(deleted) - 1 && strcmp(s->exe + len - (sizeof(deleted) - 1), deleted) == 0)
		s->exe[len - (sizeof(deleted) - 1)] = '\0';
	len = strlen(s->cwd);
	s->shown_exe = s->exe;
	if (strcmp(s->cwd, "/") == 0)
		s->shown_exe = s->exe + 1;
	else if (strncmp(s->exe, s->cwd, len) == 0 && s->exe[len] == '/')
		s->shown_exe = s->exe + len + 1;
	return EXIT_HELD;
}

/* ---- running the grid --------------------------------------------------------------------- */

/* What became of a point. */
enum point_state {
	PT_NOT_RUN, /* not started: the sweep was interrupted first */
	PT_HELD,    /* exit 0 */
	PT_FAILED,  /* exit 1: an expectation failed */
	PT_ERROR,   /* any other exit, a signal, or it could not start */
};

struct point_result {
	enum point_state state;
	int code;                 /* the exit status; -1 when killed, not started or not run */
	int sig;                  /* the signal that ended it; 0 if none */
	char *msg;                /* the lines of its stderr that matter (malloc'd), or NULL */
};

/* A worker: one child at a time, always writing the same shard. */
struct slot {
	pid_t pid;                /* 0: idle */
	size_t point;
	bool used;                /* a child was started on it: its shard may exist */
};

struct runner {
	struct slot *slot;
	unsigned nslot, running;
	struct point_result *res;
	size_t next;              /* the next point to start */
	size_t held, failed, errors;
	char *dir;                /* the shards' temporary directory */
	int devnull;
	sigset_t mask, old_mask;  /* the signals waited for; the mask before */
	struct sigaction old_chld;
	double start, last_draw;
	bool progress, drawn;
	int stop_sig;             /* the signal that interrupted the sweep; 0 if none */
	unsigned long kill_nth;   /* test hook: the child to SIGKILL (1-based); 0: none */
	double kill_delay_s, kill_at;
	pid_t kill_pid;
	unsigned long launched;
	bool merged;              /* every shard reached OUT */
	struct merge_stats ms;
	char merge_err[768];
};

/* The handler that lets SIGCHLD stay pending while blocked; sigtimedwait takes it. */
static void on_sigchld(int sig)
{
	(void)sig;
}

/* "m:ss" or "h:mm:ss". */
static void fmt_duration(double sec, char *buf, size_t len)
{
	unsigned long t = sec > 0 ? (unsigned long)(sec + 0.5) : 0;

	if (t >= 3600)
		snprintf(buf, len, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, len, "%lu:%02lu", t / 60, t % 60);
}

static void progress_draw(const struct sweep *s, struct runner *r, double now)
{
	size_t done = r->held + r->failed + r->errors;
	size_t fill = done * SWEEP_BAR_WIDTH / s->npoints;
	char bar[SWEEP_BAR_WIDTH + 1], el[24], eta[24] = "?";

	for (size_t i = 0; i < SWEEP_BAR_WIDTH; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[SWEEP_BAR_WIDTH] = '\0';
	fmt_duration(now - r->start, el, sizeof(el));
	if (done)
		fmt_duration((now - r->start) / (double)done * (double)(s->npoints - done), eta,
			     sizeof(eta));
	fprintf(s->err, "\r[%s] %zu/%zu  %zu failed  %zu errors  %s elapsed  ETA %s   ", bar, done,
		s->npoints, r->failed, r->errors, el, eta);
	fflush(s->err);
	r->drawn = true;
	r->last_draw = now;
}

/*
 * The lines of a point's stderr worth showing: its failed expectations (exit 1), or what it said
 * (an error), at most SWEEP_MSG_LINES of them. Malloc'd, lines separated by '\n'; NULL if none.
 */
static char *point_message(const char *path, enum point_state state)
{
	char buf[SWEEP_ERR_BYTES + 1], *msg, *m;
	unsigned kept = 0;
	size_t n;
	FILE *f = fopen(path, "r");

	if (!f)
		return NULL;
	n = fread(buf, 1, SWEEP_ERR_BYTES, f);
	fclose(f);
	buf[n] = '\0';
	msg = m = malloc(n + 8);
	if (!msg)
		return NULL;
	*m = '\0';
	for (char *line = buf, *nl; *line; line = nl) {
		size_t len;

		nl = strchr(line, '\n');
		nl = nl ? nl + 1 : line + strlen(line);
		len = (size_t)(nl - line) - (nl[-1] == '\n');
		if (len == 0 || (state == PT_FAILED && !strstr(line, "expectation failed")))
			continue;
		if (kept == SWEEP_MSG_LINES) {
			m += sprintf(m, "%s...", m == msg ? "" : "\n");
			break;
		}
		if (m != msg)
			*m++ = '\n';
		memcpy(m, line, len);
		m += len;
		*m = '\0';
		kept++;
	}
	if (m == msg) {
		free(msg);
		return NULL;
	}
	return msg;
}

/* Starts point r->next on slot k. Returns 0 or an errno (nothing started). */
static int launch(struct sweep *s, struct runner *r, unsigned k)
{
	struct point p;
	const char **av = NULL;
	char shard[PATH_MAX], errpath[PATH_MAX];
	int efd = -1, e = 0;
	pid_t pid;

	if (point_make(s, r->next, &p) != VT_OK)
		return ENOMEM;
	snprintf(shard, sizeof(shard), "%s/shard-%u.db", r->dir, k);
	snprintf(errpath, sizeof(errpath), "%s/point-%zu.err", r->dir, r->next);
	av = point_argv(s, &p, s->exe, ARGV_WORKER, shard);
	if (!av) {
		e = ENOMEM;
		goto out;
	}
	efd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (efd < 0) {
		e = errno;
		goto out;
	}
	pid = fork();
	if (pid == 0) {
		/* The child: the caller's signal state, no terminal input, stdout discarded (the
		 * results go to the shard), stderr kept for the summary. */
		sigaction(SIGCHLD, &r->old_chld, NULL);
		sigprocmask(SIG_SETMASK, &r->old_mask, NULL);
		if (dup2(r->devnull, STDIN_FILENO) < 0 || dup2(r->devnull, STDOUT_FILENO) < 0 ||
		    dup2(efd, STDERR_FILENO) < 0)
			_exit(127);
		execv(s->run_exe, (char *const *)av);
		dprintf(STDERR_FILENO, "sim: sweep: cannot execute %s: %s\n", s->exe, strerror(errno));
		_exit(127);
	}
	if (pid < 0) {
		e = errno;
		unlink(errpath);
		goto out;
	}
	r->slot[k].pid = pid;
	r->slot[k].point = r->next;
	r->slot[k].used = true;
	r->running++;
	r->next++;
	if (++r->launched == r->kill_nth) {
		r->kill_pid = pid;
		r->kill_at = now_s() + r->kill_delay_s;
	}
out:
	if (efd >= 0)
		close(efd);
	free(av);
	point_free(&p, s->nparam);
	return e;
}

/* Records how slot k's child ended (status from waitpid). */
static void reap(struct runner *r, unsigned k, int status)
{
	struct slot *sl = &r->slot[k];
	struct point_result *pr = &r->res[sl->point];
	char errpath[PATH_MAX];

	pr->code = -1;
	if (WIFEXITED(status)) {
		pr->code = WEXITSTATUS(status);
		pr->state = pr->code == EXIT_HELD ? PT_HELD
			  : pr->code == EXIT_FAILED ? PT_FAILED
						    : PT_ERROR;
	} else {
		pr->sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
		pr->state = PT_ERROR;
	}
	if (pr->state == PT_HELD)
		r->held++;
	else if (pr->state == PT_FAILED)
		r->failed++;
	else
		r->errors++;
	snprintf(errpath, sizeof(errpath), "%s/point-%zu.err", r->dir, sl->point);
	if (pr->state != PT_HELD)
		pr->msg = point_message(errpath, pr->state);
	unlink(errpath);
	if (r->kill_pid == sl->pid)
		r->kill_pid = 0;
	sl->pid = 0;
	r->running--;
}

/* Waits for a child to end, a signal, or the next progress tick. */
static void wait_event(struct runner *r, double now)
{
	double t = r->progress ? SWEEP_TICK_S : SWEEP_IDLE_S;
	struct timespec ts;
	int sig;

	if (r->kill_pid > 0 && r->kill_at - now < t)
		t = r->kill_at > now ? r->kill_at - now : 0;
	ts.tv_sec = (time_t)t;
	ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
	sig = sigtimedwait(&r->mask, NULL, &ts);
	if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
		/* Start nothing more; ask the running children to stop (the second time, make them);
		 * then merge what was done. */
		for (unsigned k = 0; k < r->nslot; k++)
			if (r->slot[k].pid > 0)
				kill(r->slot[k].pid, r->stop_sig ? SIGKILL : SIGTERM);
		if (!r->stop_sig)
			r->stop_sig = sig;
	}
}

/* Runs every point, up to r->nslot at once. */
static void run_loop(struct sweep *s, struct runner *r)
{
	for (;;) {
		bool reaped = false;
		double now;

		while (!r->stop_sig && r->next < s->npoints && r->running < r->nslot) {
			unsigned k = 0;
			int e;

			while (r->slot[k].pid)
				k++;
			e = launch(s, r, k);
			if (e == 0)
				continue;
			if (r->running > 0 && (e == EAGAIN || e == ENOMEM))
				break; /* out of processes for now: retry when a child has ended */
			r->res[r->next].state = PT_ERROR;
			r->res[r->next].code = -1;
			r->res[r->next].msg = strdup(strerror(e));
			r->errors++;
			r->next++;
		}
		if (r->running == 0 && (r->stop_sig || r->next >= s->npoints))
			break;
		for (unsigned k = 0; k < r->nslot; k++) {
			pid_t pid = r->slot[k].pid;
			int status;

			if (pid > 0 && waitpid(pid, &status, WNOHANG) == pid) {
				reap(r, k, status);
				reaped = true;
			}
		}
		now = now_s();
		if (r->kill_pid > 0 && now >= r->kill_at) {
			kill(r->kill_pid, SIGKILL); /* the test hook */
			r->kill_pid = 0;
		}
		if (r->progress && now - r->last_draw >= SWEEP_TICK_S)
			progress_draw(s, r, now);
		if (!reaped)
			wait_event(r, now);
	}
	if (r->drawn) {
		fprintf(s->err, "\r%*s\r", 79, "");
		fflush(s->err);
	}
}

/*
 * Does a shard hold anything to merge? A worker killed while it created the database (before
 * its schema was committed) leaves an empty file, perhaps with a hot journal, which merge would
 * refuse as "not a vtsim results database": opened read-write (the journal is rolled back), its
 * user_version is 0 and it holds no run. Anything else, even unreadable, goes to the merge,
 * which says what is wrong with it.
 */
static bool shard_has_schema(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	bool has = true;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
		sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
		if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW)
			has = sqlite3_column_int64(st, 0) != 0;
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return has;
}

/* Merges every shard that exists into OUT; sets r->merged (and r->merge_err when it failed). */
static void merge_shards(struct sweep *s, struct runner *r)
{
	char *paths = calloc(r->nslot, PATH_MAX);
	const char **in = calloc(r->nslot, sizeof(*in));
	unsigned n = 0;

	if (!paths || !in) {
		snprintf(r->merge_err, sizeof(r->merge_err), "out of memory");
	} else {
		for (unsigned k = 0; k < r->nslot; k++) {
			char *p = paths + (size_t)n * PATH_MAX;

			if (!r->slot[k].used)
				continue;
			snprintf(p, PATH_MAX, "%s/shard-%u.db", r->dir, k);
			if (access(p, F_OK) == 0 && shard_has_schema(p))
				in[n++] = p;
		}
		r->merged = n == 0 || merge_databases(s->db, in, n, &r->ms, r->merge_err,
						      sizeof(r->merge_err)) == VT_OK;
	}
	free(in);
	free(paths);
}

/* Removes the shards' directory and everything in it (only what this sweep wrote). */
static void remove_dir(const struct sweep *s, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[PATH_MAX];

	if (d) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
		}
		closedir(d);
	}
	if (rmdir(dir) != 0)
		fprintf(s->err, "sim: sweep: cannot remove %s: %s\n", dir, strerror(errno));
}

/* ---- reading results back ----------------------------------------------------------------- */

/* A results database opened read-only to print what the runs stored. */
struct readback {
	sqlite3 *db;
	sqlite3_stmt *find;       /* the run of (sweep_id, sweep_point) */
	sqlite3_stmt *arms;       /* a run's arms, in order */
	sqlite3_stmt *metrics;    /* an arm's metrics and facts */
	sqlite3_stmt *list;       /* every run of a sweep, by point */
};

static void rb_close(struct readback *rb)
{
	sqlite3_finalize(rb->find);
	sqlite3_finalize(rb->arms);
	sqlite3_finalize(rb->metrics);
	sqlite3_finalize(rb->list);
	sqlite3_close(rb->db);
	memset(rb, 0, sizeof(*rb));
}

static int rb_open(struct readback *rb, const char *path, char *err, size_t errlen)
{
	static const char *const sql[] = {
		"SELECT run_id, status, expectations_failed FROM runs "
		"WHERE sweep_id = ?1 AND sweep_point = ?2 ORDER BY rowid LIMIT 1",
		"SELECT arm, page FROM arms WHERE run_id = ?1 ORDER BY ord",
		"SELECT metric, value, unit FROM metrics WHERE run_id = ?1 AND arm = ?2 ORDER BY rowid",
		"SELECT run_id, sweep_point, status, expectations_failed, path, overrides FROM runs "
		"WHERE sweep_id = ?1 ORDER BY sweep_point, run_id",
	};
	sqlite3_stmt **st[] = { &rb->find, &rb->arms, &rb->metrics, &rb->list };

	memset(rb, 0, sizeof(*rb));
	if (sqlite3_open_v2(path, &rb->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(rb->db, STORE_BUSY_TIMEOUT_MS);
	for (size_t i = 0; i < VT_ARRAY_SIZE(sql); i++)
		if (sqlite3_prepare_v2(rb->db, sql[i], -1, st[i], NULL) != SQLITE_OK)
			goto fail;
	return VT_OK;
fail:
	snprintf(err, errlen, "%s: %s", path, rb->db ? sqlite3_errmsg(rb->db) : "out of memory");
	rb_close(rb);
	return VT_EIO;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? (const char *)t : "";
}

/* A metric as read back, in the stored-integer form of metric_info.scale (drift in ppb). */
static int64_t stored_value(sqlite3_stmt *st, int i, int id)
{
	int64_t scale = (int64_t)pow10u((unsigned)metric_info[id].scale);

	if (sqlite3_column_type(st, i) == SQLITE_FLOAT)
		return (int64_t)llround(sqlite3_column_double(st, i) * (double)scale);
	return sqlite3_column_int64(st, i) * scale;
}

/*
 * Prints `, "arms": [{"name": ..., "metrics": {...}, "facts": {...}}, ...]` for a run, each
 * metric and fact formatted and ordered as bin/sim run --json prints them (metric_info's order,
 * the page provider's facts in its order), so that the two can be compared as text.
 */
static void json_arms(FILE *f, struct readback *rb, const char *run_id)
{
	bool first = true;

	fputs(", \"arms\": [", f);
	sqlite3_reset(rb->arms);
	sqlite3_bind_text(rb->arms, 1, run_id, -1, SQLITE_TRANSIENT);
	while (sqlite3_step(rb->arms) == SQLITE_ROW) {
		const char *arm = col_text(rb->arms, 0);
		const struct page_ops *po = registry_page(col_text(rb->arms, 1));
		struct {
			char name[64];
			int64_t value;
			bool shown;
		} fact[SWEEP_MAX_FACTS];
		unsigned nfact = 0;
		int64_t m[M_COUNT];
		bool have[M_COUNT] = { false }, any = false;

		sqlite3_reset(rb->metrics);
		sqlite3_bind_text(rb->metrics, 1, run_id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(rb->metrics, 2, arm, -1, SQLITE_TRANSIENT);
		while (sqlite3_step(rb->metrics) == SQLITE_ROW) {
			const char *name = col_text(rb->metrics, 0);
			int id;

			if (strcmp(col_text(rb->metrics, 2), "fact") == 0) {
				if (nfact < SWEEP_MAX_FACTS) {
					snprintf(fact[nfact].name, sizeof(fact[nfact].name), "%s", name);
					fact[nfact].value = sqlite3_column_int64(rb->metrics, 1);
					fact[nfact++].shown = false;
				}
			} else if ((id = metric_lookup(name)) >= 0) {
				m[id] = stored_value(rb->metrics, 1, id);
				have[id] = true;
			}
		}
		fputs(first ? "{\"name\": " : ", {\"name\": ", f);
		first = false;
		json_str(f, arm);
		fputs(", \"metrics\": {", f);
		for (int id = 0; id < M_COUNT; id++) {
			char buf[40];

			if (!have[id])
				continue;
			metric_format((enum metric_id)id, m[id], buf, sizeof(buf));
			fprintf(f, "%s\"%s\": %s", any ? ", " : "", metric_info[id].name, buf);
			any = true;
		}
		fputs("}, \"facts\": {", f);
		any = false;
		for (const struct layer_fact *lf = po ? po->facts : NULL; lf && lf->name; lf++) {
			for (unsigned j = 0; j < nfact; j++) {
				if (!fact[j].shown && strcmp(fact[j].name, lf->name) == 0) {
					fprintf(f, "%s\"%s\": %lld", any ? ", " : "", fact[j].name,
						(long long)fact[j].value);
					fact[j].shown = any = true;
				}
			}
		}
		for (unsigned j = 0; j < nfact; j++) {
			if (!fact[j].shown) {
				fprintf(f, "%s\"%s\": %lld", any ? ", " : "", fact[j].name,
					(long long)fact[j].value);
				any = true;
			}
		}
		fputs("}}", f);
	}
	fputc(']', f);
}

/*
 * Prints a stored run's identity and arms: `, "run_id": ..., "complete": ..., "expectations_
 * failed": ..., "arms": [...]`; with run_id NULL (no such run) nulls and no arms.
 */
static void json_run(FILE *f, struct readback *rb, const char *run_id, bool complete,
		     bool has_failed, int64_t failed)
{
	if (!run_id) {
		fputs(", \"run_id\": null, \"complete\": null, \"expectations_failed\": null, "
		      "\"arms\": []", f);
		return;
	}
	fputs(", \"run_id\": ", f);
	json_str(f, run_id);
	fprintf(f, ", \"complete\": %s, \"expectations_failed\": ", complete ? "true" : "false");
	if (has_failed)
		fprintf(f, "%lld", (long long)failed);
	else
		fputs("null", f);
	json_arms(f, rb, run_id);
}

/* ---- output of a run ---------------------------------------------------------------------- */

static const char *state_name(enum point_state st)
{
	return st == PT_HELD ? "held" : st == PT_FAILED ? "failed" : st == PT_ERROR ? "error"
										: "not run";
}

/* How an errored point ended, in words. */
static void describe_error(const struct point_result *pr, char *buf, size_t len)
{
	if (pr->sig)
		snprintf(buf, len, "killed by signal %d (%s)", pr->sig, strsignal(pr->sig));
	else if (pr->code < 0)
		snprintf(buf, len, "could not start");
	else
		snprintf(buf, len, "exit status %d%s", pr->code,
			 pr->code == EXIT_BADINPUT ? " (bad input)"
			 : pr->code == EXIT_IOERR  ? " (an I/O or internal error)"
			 : pr->code == 127	   ? " (could not execute)"
						   : "");
}

/* A point of the summary: its parameters and seed (and why it errored), the lines of its
 * stderr that matter, and the command that reruns it alone. */
static void print_point(struct sweep *s, size_t k, const struct point_result *pr, const char *why)
{
	struct point p;
	const char **av;

	if (point_make(s, k, &p) != VT_OK)
		return;
	fprintf(s->out, "  %s%s%s\n", p.text, why ? ": " : "", why ? why : "");
	for (const char *m = pr->msg, *nl; m && *m; m = nl ? nl + 1 : m + strlen(m)) {
		nl = strchr(m, '\n');
		fprintf(s->out, "      %.*s\n", (int)(nl ? nl - m : (ptrdiff_t)strlen(m)), m);
	}
	av = point_argv(s, &p, s->shown_exe, ARGV_RERUN, NULL);
	if (av) {
		fputs("      rerun: ", s->out);
		shell_command(s->out, av);
		fputc('\n', s->out);
	}
	free(av);
	point_free(&p, s->nparam);
}

/*
 * The summary on stdout: the sweep's ID, the grid, how many points held, failed or errored,
 * where the results went; then every failed, errored and unrun point (as chrony's test suite
 * names failing seeds) with the command that reruns it, or one rerun command when all held.
 */
static void print_summary(struct sweep *s, struct runner *r, double elapsed)
{
	size_t notrun = s->npoints - r->held - r->failed - r->errors;

	fprintf(s->out, "sweep %s: %zu point%s (", s->id, s->npoints, s->npoints == 1 ? "" : "s");
	for (unsigned i = 0; i < s->nparam; i++)
		fprintf(s->out, "%s%zu value%s of %s", i ? " x " : "", s->param[i].val.n,
			s->param[i].val.n == 1 ? "" : "s", s->param[i].path);
	fprintf(s->out, "%s%zu seed%s) of %s, %u job%s, %.1fs\n", s->nparam ? " x " : "", s->nseed,
		s->nseed == 1 ? "" : "s", s->o.scenario, r->nslot, r->nslot == 1 ? "" : "s", elapsed);
	fprintf(s->out, "%zu held, %zu failed an expectation, %zu errored", r->held, r->failed,
		r->errors);
	if (r->stop_sig)
		fprintf(s->out, ", %zu not run (interrupted by signal %d, %s)", notrun, r->stop_sig,
			strsignal(r->stop_sig));
	fputc('\n', s->out);
	if (r->merged) {
		fprintf(s->out, "results: %llu run%s merged into %s", (unsigned long long)r->ms.runs_added,
			r->ms.runs_added == 1 ? "" : "s", s->db);
		if (r->ms.runs_incomplete)
			fprintf(s->out, " (%llu incomplete: killed while running)",
				(unsigned long long)r->ms.runs_incomplete);
		fputc('\n', s->out);
	} else {
		fprintf(s->out, "results: NOT merged into %s: %s\n", s->db, r->merge_err);
		fputs("  the shards are kept: ", s->out);
		shell_word(s->out, s->shown_exe);
		fputs(" merge ", s->out);
		shell_word(s->out, s->db);
		fputc(' ', s->out);
		shell_word(s->out, r->dir);
		fputs("/*.db\n", s->out);
	}
	if (r->failed) {
		fprintf(s->out, "failed an expectation (%zu):\n", r->failed);
		for (size_t k = 0; k < s->npoints; k++)
			if (r->res[k].state == PT_FAILED)
				print_point(s, k, &r->res[k], NULL);
	}
	if (r->errors) {
		fprintf(s->out, "errored (%zu):\n", r->errors);
		for (size_t k = 0; k < s->npoints; k++) {
			char why[128];

			if (r->res[k].state != PT_ERROR)
				continue;
			describe_error(&r->res[k], why, sizeof(why));
			print_point(s, k, &r->res[k], why);
		}
	}
	if (notrun) {
		fprintf(s->out, "not run (%zu):\n", notrun);
		for (size_t k = 0; k < s->npoints; k++)
			if (r->res[k].state == PT_NOT_RUN)
				print_point(s, k, &r->res[k], NULL);
	}
	if (!r->failed && !r->errors && r->held) {
		struct point p;
		const char **av = NULL;

		if (point_make(s, 0, &p) == VT_OK) {
			av = point_argv(s, &p, s->shown_exe, ARGV_RERUN, NULL);
			if (av) {
				fputs("rerun a point (the first): ", s->out);
				shell_command(s->out, av);
				fputc('\n', s->out);
			}
			free(av);
			point_free(&p, s->nparam);
		}
	}
}

/* --json: one object per point (its stored metrics read back from OUT), then the sweep's. */
static void print_json(struct sweep *s, struct runner *r)
{
	struct readback rb;
	char err[512];
	bool have_db = rb_open(&rb, s->db, err, sizeof(err)) == VT_OK;

	if (!have_db)
		fprintf(s->err, "sim: sweep: cannot read the results back: %s\n", err);
	for (size_t k = 0; k < s->npoints; k++) {
		const struct point_result *pr = &r->res[k];
		struct point p;
		bool found = false;

		if (point_make(s, k, &p) != VT_OK)
			continue;
		fprintf(s->out, "{\"sweep_id\": \"%s\", \"index\": %zu, \"point\": ", s->id, k);
		json_str(s->out, p.text);
		fputs(", \"params\": {", s->out);
		for (unsigned i = 0; i < s->nparam; i++) {
			fputs(i ? ", " : "", s->out);
			json_str(s->out, s->param[i].path);
			fputs(": ", s->out);
			json_str(s->out, p.set[i] + strlen(s->param[i].path) + 1);
		}
		fprintf(s->out, "}, \"seed\": %s, \"status\": \"%s\", \"exit\": ", p.seed,
			state_name(pr->state));
		if (pr->code >= 0)
			fprintf(s->out, "%d", pr->code);
		else
			fputs("null", s->out);
		fputs(", \"signal\": ", s->out);
		if (pr->sig)
			fprintf(s->out, "%d", pr->sig);
		else
			fputs("null", s->out);
		fputs(", \"message\": ", s->out);
		if (pr->msg)
			json_str(s->out, pr->msg);
		else
			fputs("null", s->out);
		if (have_db) {
			sqlite3_reset(rb.find);
			sqlite3_bind_text(rb.find, 1, s->id, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(rb.find, 2, p.text, -1, SQLITE_TRANSIENT);
			if (sqlite3_step(rb.find) == SQLITE_ROW) {
				char run_id[80];

				snprintf(run_id, sizeof(run_id), "%s", col_text(rb.find, 0));
				json_run(s->out, &rb, run_id,
					 strcmp(col_text(rb.find, 1), "complete") == 0,
					 sqlite3_column_type(rb.find, 2) != SQLITE_NULL,
					 sqlite3_column_int64(rb.find, 2));
				found = true;
			}
		}
		if (!found)
			json_run(s->out, NULL, NULL, false, false, 0);
		fputs("}\n", s->out);
		point_free(&p, s->nparam);
	}
	fprintf(s->out, "{\"sweep_id\": \"%s\", \"db\": ", s->id);
	json_str(s->out, s->db);
	fprintf(s->out, ", \"points\": %zu, \"held\": %zu, \"failed\": %zu, \"errors\": %zu, "
			"\"not_run\": %zu, \"merged\": %s, \"runs_added\": %llu, \"runs_incomplete\": "
			"%llu}\n",
		s->npoints, r->held, r->failed, r->errors, s->npoints - r->held - r->failed - r->errors,
		r->merged ? "true" : "false", (unsigned long long)r->ms.runs_added,
		(unsigned long long)r->ms.runs_incomplete);
	if (have_db)
		rb_close(&rb);
}

/* Runs the grid locally, merges, reports. Returns the exit code. */
static int sweep_run(struct sweep *s)
{
	struct runner r;
	struct sigaction sa;
	const char *hook = getenv("VTSIM_SWEEP_TEST_KILL");
	char *slash, *dir = NULL;
	int code;
	long ncpu;

	memset(&r, 0, sizeof(r));
	r.devnull = -1;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 1)
		ncpu = 1;
	else if (ncpu > SWEEP_MAX_JOBS)
		ncpu = SWEEP_MAX_JOBS;
	r.nslot = s->o.jobs ? s->o.jobs : (unsigned)ncpu;
	if (r.nslot > s->npoints)
		r.nslot = (unsigned)s->npoints;
	r.slot = calloc(r.nslot, sizeof(*r.slot));
	r.res = calloc(s->npoints, sizeof(*r.res));
	/* The shards' directory beside OUT (the same file system; it says whose it is). */
	dir = malloc(strlen(s->db) + SWEEP_ID_SIZE + 32);
	if (!r.slot || !r.res || !dir) {
		fprintf(s->err, "sim: out of memory\n");
		code = EXIT_IOERR;
		goto out;
	}
	slash = strrchr(s->db, '/');
	if (!slash)
		sprintf(dir, "./.vtsim-%s-XXXXXX", s->id);
	else
		sprintf(dir, "%.*s/.vtsim-%s-XXXXXX", (int)(slash - s->db), s->db, s->id);
	r.dir = mkdtemp(dir);
	if (!r.dir) {
		fprintf(s->err, "sim: sweep: cannot create a directory for the shards (%s): %s\n", dir,
			strerror(errno));
		code = EXIT_IOERR;
		goto out;
	}
	r.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (r.devnull < 0) {
		fprintf(s->err, "sim: sweep: /dev/null: %s\n", strerror(errno));
		code = EXIT_IOERR;
		remove_dir(s, r.dir);
		goto out;
	}
	if (hook && *hook) {
		char *end;

		r.kill_nth = strtoul(hook, &end, 10);
		if (*end == ':')
			r.kill_delay_s = strtod(end + 1, NULL) / 1000.0;
	}

	/* Children's ends, and the signals that stop a sweep, are taken by sigtimedwait. */
	sigemptyset(&r.mask);
	sigaddset(&r.mask, SIGCHLD);
	sigaddset(&r.mask, SIGINT);
	sigaddset(&r.mask, SIGTERM);
	sigaddset(&r.mask, SIGHUP);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigchld;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, &r.old_chld);
	sigprocmask(SIG_BLOCK, &r.mask, &r.old_mask);

	r.start = r.last_draw = now_s();
	r.progress = !s->o.quiet && isatty(fileno(s->err));
	run_loop(s, &r);
	merge_shards(s, &r);
	if (!r.merged)
		fprintf(s->err, "sim: sweep: merging the shards into %s failed: %s\n", s->db,
			r.merge_err);
	if (r.merged)
		remove_dir(s, r.dir); /* before the output: a closed pipe must not leave them behind */
	if (s->o.json)
		print_json(s, &r);
	else
		print_summary(s, &r, now_s() - r.start);

	code = r.failed ? EXIT_FAILED : EXIT_HELD;
	if (r.errors || r.stop_sig || !r.merged)
		code = EXIT_IOERR; /* 3 wins over 1 */
	if (fflush(s->out) != 0 || ferror(s->out)) {
		fprintf(s->err, "sim: writing the summary failed: %s\n", strerror(errno));
		code = EXIT_IOERR;
	}
	sigprocmask(SIG_SETMASK, &r.old_mask, NULL);
	sigaction(SIGCHLD, &r.old_chld, NULL);
out:
	if (r.devnull >= 0)
		close(r.devnull);
	if (r.res)
		for (size_t k = 0; k < s->npoints; k++)
			free(r.res[k].msg);
	free(r.res);
	free(r.slot);
	free(dir);
	return code;
}

/* ---- --emit-jobs -------------------------------------------------------------------------- */

/* mkdir -p. Returns 0 or an errno. */
static int make_dirs(const char *dir)
{
	char buf[PATH_MAX];
	struct stat st;
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(buf))
		return n ? ENAMETOOLONG : ENOENT;
	memcpy(buf, dir, n + 1);
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(buf, 0777) != 0 && errno != EEXIST)
				return errno;
			if (c == '\0')
				break;
			*p = c;
		}
	}
	if (stat(dir, &st) != 0)
		return errno;
	return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}

/*
 * Writes one shell command per point, each writing its own database DIR/point-NNNNN.db (GNU
 * parallel: one job per line), or a Slurm array script with one case per array index; then
 * says how to run them and merge the results. Returns the exit code.
 */
static int sweep_emit(struct sweep *s)
{
	const char *dir = s->o.shard_dir ? s->o.shard_dir : "shards";
	bool slurm = s->o.format && strcmp(s->o.format, "slurm") == 0;
	bool to_stdout = strcmp(s->o.emit, "-") == 0;
	FILE *f = to_stdout ? s->out : fopen(s->o.emit, "w");
	FILE *info = to_stdout ? s->err : s->out;
	int width = 5, e, code = EXIT_HELD;

	if (!f) {
		fprintf(s->err, "sim: sweep: cannot write %s: %s\n", s->o.emit, strerror(errno));
		return EXIT_IOERR;
	}
	e = make_dirs(dir);
	if (e) {
		fprintf(s->err, "sim: sweep: cannot create the shard directory %s: %s\n", dir,
			strerror(e));
		code = EXIT_IOERR;
		goto out;
	}
	for (size_t n = s->npoints - 1; n >= 100000; n /= 10)
		width++;
	if (slurm) {
		fprintf(f, "#!/bin/sh\n"
			   "# vtsim %s: %zu points of %s, one per array task (bin/sim sweep --emit-jobs).\n"
			   "# Submit with sbatch; when every task is done: ",
			s->id, s->npoints, s->o.scenario);
		shell_word(f, s->shown_exe);
		fputs(" merge ", f);
		shell_word(f, s->db);
		fputc(' ', f);
		shell_word(f, dir);
		fputs("/*.db\n", f);
		if (s->npoints > 1000)
			fprintf(f, "# More than 1000 tasks: the cluster's MaxArraySize may need to be "
				   "larger.\n");
		fprintf(f, "#SBATCH --job-name=vtsim-%s\n#SBATCH --array=0-%zu\ncd ", s->id,
			s->npoints - 1);
		shell_word(f, s->cwd);
		fputs(" || exit 3\ncase \"$SLURM_ARRAY_TASK_ID\" in\n", f);
	}
	for (size_t k = 0; k < s->npoints; k++) {
		struct point p;
		const char **av;
		char db[PATH_MAX];

		if (point_make(s, k, &p) != VT_OK) {
			code = EXIT_IOERR;
			break;
		}
		if (snprintf(db, sizeof(db), "%s/point-%0*zu.db", dir, width, k) >= (int)sizeof(db)) {
			fprintf(s->err, "sim: sweep: --shard-dir %s: the name is too long\n", dir);
			point_free(&p, s->nparam);
			code = EXIT_BADINPUT;
			break;
		}
		av = point_argv(s, &p, s->shown_exe, ARGV_JOB, db);
		if (av) {
			if (slurm) {
				fprintf(f, "%zu) exec ", k);
			} else {
				fputs("cd ", f);
				shell_word(f, s->cwd);
				fputs(" && ", f);
			}
			shell_command(f, av);
			fputs(slurm ? " ;;\n" : "\n", f);
		}
		free(av);
		point_free(&p, s->nparam);
		if (!av) {
			code = EXIT_IOERR;
			break;
		}
	}
	if (slurm)
		fprintf(f, "*) echo \"vtsim %s: no point $SLURM_ARRAY_TASK_ID (0-%zu)\" >&2; exit 2 ;;\n"
			   "esac\n", s->id, s->npoints - 1);
out:
	if (to_stdout ? fflush(f) != 0 || ferror(f) : fclose(f) != 0) {
		fprintf(s->err, "sim: sweep: writing %s failed: %s\n", to_stdout ? "the jobs" : s->o.emit,
			strerror(errno));
		code = EXIT_IOERR;
	}
	if (code != EXIT_HELD)
		return code;
	fprintf(info, "sweep %s: %zu job%s written to %s, each writing %s/point-NNNNN.db\n", s->id,
		s->npoints, s->npoints == 1 ? "" : "s", to_stdout ? "stdout" : s->o.emit, dir);
	if (slurm) {
		fputs("run them:   sbatch ", info);
		shell_word(info, to_stdout ? "JOBS.sh" : s->o.emit);
	} else {
		fputs("run them:   parallel < ", info);
		shell_word(info, to_stdout ? "JOBS" : s->o.emit);
		fputs("   (several hosts sharing this directory: parallel --sshlogin HOST1,HOST2 < ",
		      info);
		shell_word(info, to_stdout ? "JOBS" : s->o.emit);
		fputc(')', info);
	}
	fputs("\nthen merge: ", info);
	shell_word(info, s->shown_exe);
	fputs(" merge ", info);
	shell_word(info, s->db);
	fputc(' ', info);
	shell_word(info, dir);
	fputs("/*.db\nand look:   ", info);
	shell_word(info, s->shown_exe);
	fprintf(info, " sweep --show %s --db ", s->id);
	shell_word(info, s->db);
	fputc('\n', info);
	return code;
}

/* ---- --show ------------------------------------------------------------------------------- */

/* The rerun command of a stored run: its path and its overrides (one per line) as --set. */
static void print_stored_rerun(struct sweep *s, const char *path, const char *overrides)
{
	char *copy = strdup(overrides);
	const char **av = calloc(strlen(overrides) + 4, sizeof(*av));
	size_t n = 0;

	if (copy && av) {
		av[n++] = s->shown_exe;
		av[n++] = "run";
		av[n++] = path;
		for (char *line = copy, *nl; *line; line = nl) {
			nl = strchr(line, '\n');
			if (nl)
				*nl++ = '\0';
			else
				nl = line + strlen(line);
			if (*line) {
				av[n++] = "--set";
				av[n++] = line;
			}
		}
		av[n] = NULL;
		fputs("      rerun: ", s->out);
		shell_command(s->out, av);
		fputc('\n', s->out);
	}
	free(av);
	free(copy);
}

/* Which of a sweep's stored runs show_runs prints. */
enum show_which { SHOW_JSON, SHOW_FAILED, SHOW_INCOMPLETE };

/* One pass over the stored runs of the sweep: counts them, or prints some. */
static void show_runs(struct sweep *s, struct readback *rb, int which, size_t count[3])
{
	sqlite3_reset(rb->list);
	sqlite3_bind_text(rb->list, 1, s->o.show, -1, SQLITE_TRANSIENT);
	while (sqlite3_step(rb->list) == SQLITE_ROW) {
		char run_id[80];
		bool complete = strcmp(col_text(rb->list, 2), "complete") == 0;
		bool has_failed = sqlite3_column_type(rb->list, 3) != SQLITE_NULL;
		int64_t nfailed = sqlite3_column_int64(rb->list, 3);
		int state = !complete ? 2 : nfailed ? 1 : 0; /* held, failed, incomplete */

		if (count) {
			count[state]++;
			continue;
		}
		snprintf(run_id, sizeof(run_id), "%s", col_text(rb->list, 0));
		if (which == SHOW_JSON) {
			static const char *const name[] = { "held", "failed", "incomplete" };

			fprintf(s->out, "{\"sweep_id\": ");
			json_str(s->out, s->o.show);
			fputs(", \"point\": ", s->out);
			json_str(s->out, col_text(rb->list, 1));
			fprintf(s->out, ", \"status\": \"%s\"", name[state]);
			json_run(s->out, rb, run_id, complete, has_failed, nfailed);
			fputs("}\n", s->out);
		} else if ((which == SHOW_FAILED && state == 1) ||
			   (which == SHOW_INCOMPLETE && state == 2)) {
			fprintf(s->out, "  %s  (run %s)\n", col_text(rb->list, 1), run_id);
			print_stored_rerun(s, col_text(rb->list, 4), col_text(rb->list, 5));
		}
	}
}

/*
 * Summarizes the runs of sweep s->o.show stored in s->db: how many held, failed or are
 * incomplete, and each failed or incomplete one with its rerun command; with --json one object
 * per run as a sweep's --json prints them, then the counts. Returns 0 when every run held, 1
 * when one failed an expectation, 3 when one is incomplete, 2 when the database holds no run
 * of that sweep.
 */
static int sweep_show(struct sweep *s)
{
	struct readback rb;
	char err[512];
	size_t n[3] = { 0, 0, 0 }, runs; /* held, failed, incomplete */
	int code;

	if (access(s->db, F_OK) != 0) {
		fprintf(s->err, "sim: sweep: --show: %s: %s\n", s->db, strerror(errno));
		return EXIT_BADINPUT;
	}
	if (rb_open(&rb, s->db, err, sizeof(err)) != VT_OK) {
		fprintf(s->err, "sim: sweep: --show: %s\n", err);
		return EXIT_IOERR;
	}
	show_runs(s, &rb, SHOW_JSON, n);
	runs = n[0] + n[1] + n[2];
	if (runs == 0) {
		fprintf(s->err, "sim: sweep: --show: %s holds no run of %s\n", s->db, s->o.show);
		rb_close(&rb);
		return EXIT_BADINPUT;
	}
	if (s->o.json) {
		show_runs(s, &rb, SHOW_JSON, NULL);
		fprintf(s->out, "{\"sweep_id\": ");
		json_str(s->out, s->o.show);
		fprintf(s->out, ", \"runs\": %zu, \"held\": %zu, \"failed\": %zu, \"incomplete\": "
				"%zu}\n", runs, n[0], n[1], n[2]);
	} else {
		fprintf(s->out, "%s in %s: %zu run%s, %zu held, %zu failed an expectation, %zu "
				"incomplete\n", s->o.show, s->db, runs, runs == 1 ? "" : "s", n[0], n[1],
			n[2]);
		if (n[1]) {
			fprintf(s->out, "failed an expectation (%zu):\n", n[1]);
			show_runs(s, &rb, SHOW_FAILED, NULL);
		}
		if (n[2]) {
			fprintf(s->out, "incomplete: killed, or still running (%zu):\n", n[2]);
			show_runs(s, &rb, SHOW_INCOMPLETE, NULL);
		}
	}
	rb_close(&rb);
	code = n[2] ? EXIT_IOERR : n[1] ? EXIT_FAILED : EXIT_HELD;
	if (fflush(s->out) != 0 || ferror(s->out)) {
		fprintf(s->err, "sim: writing the summary failed: %s\n", strerror(errno));
		code = EXIT_IOERR;
	}
	return code;
}

/* ---- the command -------------------------------------------------------------------------- */

int sweep_main(int argc, char **argv, FILE *out, FILE *err)
{
	struct sweep s;
	const char *env_db = getenv("VTSIM_DB");
	int code, e;

	memset(&s, 0, sizeof(s));
	s.out = out;
	s.err = err;
	code = parse_opts(argc, argv, &s.o, out, err);
	if (code >= 0)
		goto out;
	s.db = s.o.db ? s.o.db : env_db && *env_db ? env_db : "results.db";
	code = find_self(&s);
	if (code != EXIT_HELD)
		goto out;
	if (s.o.show) {
		code = sweep_show(&s);
		goto out;
	}
	code = grid_build(&s);
	if (code == EXIT_HELD)
		code = grid_validate(&s);
	if (code != EXIT_HELD)
		goto out;
	e = make_id(s.id);
	if (e) {
		fprintf(err, "sim: sweep: no random source for the sweep's ID: %s\n", strerror(e));
		code = EXIT_IOERR;
		goto out;
	}
	code = s.o.emit ? sweep_emit(&s) : sweep_run(&s);
out:
	for (unsigned i = 0; i < s.nparam; i++) {
		free(s.param[i].path);
		strv_free(&s.param[i].val);
	}
	free(s.param);
	free(s.seed);
	free(s.o.param);
	free(s.o.set);
	free(s.o.arm);
	return code;
}
