/*
 * check_report.c: `bin/sim report` (sim/report.c). A results database is built per test in a
 * temporary directory: the schema by store_open() (sim/store.c), the rows from
 * tests/data/report/fixture.sql (four runs: an older and a latest complete run of one scenario,
 * an incomplete one, and a run of another scenario whose arms saw different loads). The report
 * is made by calling report_main() and checked from the outside: every data file parsed back and
 * compared with the database rows, every plot present (PNG signature, SVG), the comparison table
 * of report.md with the right values in bold, the expectations, index.html self-contained (no
 * http URL, the PNGs embedded). Then the run selection (--run, --scenario, default), the errors
 * a user meets (unknown run or scenario, incomplete run, missing or foreign database, unwritable
 * directory, usage), the no-gnuplot path (PATH set to an empty directory), the built-in
 * templates against reports/<name>.gp, and the base64 encoder against RFC 4648. Last, sweeps
 * (--sweep): two small sweeps written through the store API, their data files and tables read
 * back for exact means, mins and maxes in the parameter's numeric order, the failed point with
 * its seed, the incomplete run, two varying keys, `latest`, unknown ids, and no gnuplot.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"
#include "store.h"
#include "schema_v4.h"

#define FIX_RUN "0123456789abcdef0123456789abcdef"
#define FIX_DIR "fixture-01234567"
#define OLD_RUN "aaaaaaaa000000000000000000000000"
#define OTHER_DIR "other-cccccccc"

/* ---- fixture: a directory with results.db and an output directory, per test --------------- */

static char g_dir[256];
static char g_db[300];
static char g_out[300];

/* A file of the source tree: relative to the current directory (make runs the suites from the
 * top), else found upward from the test binary. */
static void repo_file(const char *rel, char *out, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n;

	if (access(rel, R_OK) == 0) {
		snprintf(out, len, "%s", rel);
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	ck_assert_int_gt(n, 0);
	exe[n] = '\0';
	for (int up = 0; up < 5; up++) {
		char *slash = strrchr(exe, '/');

		ck_assert_ptr_nonnull(slash);
		*slash = '\0';
		snprintf(out, len, "%.3000s/%.900s", exe, rel);
		if (access(out, R_OK) == 0)
			return;
	}
	ck_abort_msg("%s not found", rel);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/*
 * The fixture inserts into series and timeline by run_id and arm, as into the tables they were
 * before schema version 5; they are views now (sim/store.h), and these triggers, on the fixture's
 * connection only, write its rows where the store writes them: into series_rows and
 * timeline_rows under the arm's arm_key, looked up by (run_id, arm), with seq the row's position
 * among its arm's rows (0, 1, ... in the order the fixture lists them). A row naming an arm the
 * fixture has not written is an error, not a row silently lost.
 */
static const char fixture_triggers[] =
	"CREATE TEMP TRIGGER fixture_series INSTEAD OF INSERT ON main.series BEGIN"
	" SELECT RAISE(ABORT, 'a series row of no arm') WHERE NOT EXISTS (SELECT 1 FROM arms"
	" WHERE run_id = NEW.run_id AND arm = NEW.arm);"
	" INSERT INTO series_rows (arm_key, seq, vcpu, t_ns, guest_ns, error_ns)"
	" SELECT a.arm_key, (SELECT count(*) FROM series_rows AS s WHERE s.arm_key = a.arm_key),"
	" NEW.vcpu, NEW.t_ns, NEW.guest_ns, NEW.error_ns FROM arms AS a"
	" WHERE a.run_id = NEW.run_id AND a.arm = NEW.arm;"
	" END;\n"
	"CREATE TEMP TRIGGER fixture_timeline INSTEAD OF INSERT ON main.timeline BEGIN"
	" SELECT RAISE(ABORT, 'a timeline row of no arm') WHERE NOT EXISTS (SELECT 1 FROM arms"
	" WHERE run_id = NEW.run_id AND arm = NEW.arm);"
	" INSERT INTO timeline_rows (arm_key, seq, kind, t_ns, length_ns, vcpu, from_cpu, to_cpu)"
	" SELECT a.arm_key, (SELECT count(*) FROM timeline_rows AS t WHERE t.arm_key = a.arm_key),"
	" NEW.kind, NEW.t_ns, NEW.length_ns, NEW.vcpu, NEW.from_cpu, NEW.to_cpu FROM arms AS a"
	" WHERE a.run_id = NEW.run_id AND a.arm = NEW.arm;"
	" END;\n";

/* The integer a query returns (one row, one column). */
static long long count_rows(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long n;

	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
		      sqlite3_errmsg(db));
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void setup(void)
{
	char sqlpath[PATH_MAX], err[256];
	struct store *st = NULL;
	sqlite3 *db = NULL;
	char *sql, *msg = NULL;

	snprintf(g_dir, sizeof(g_dir), "/tmp/vtsim-report-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(g_dir));
	snprintf(g_db, sizeof(g_db), "%s/results.db", g_dir);
	snprintf(g_out, sizeof(g_out), "%s/out", g_dir);
	/* The schema exactly as bin/sim makes it. */
	ck_assert_msg(store_open(&st, g_db, err, sizeof(err)) == VT_OK, "store_open: %s", err);
	store_close(st);
	repo_file("tests/data/report/fixture.sql", sqlpath, sizeof(sqlpath));
	sql = slurp(sqlpath);
	ck_assert_ptr_nonnull(sql);
	ck_assert_int_eq(sqlite3_open(g_db, &db), SQLITE_OK);
	ck_assert_msg(sqlite3_exec(db, fixture_triggers, NULL, NULL, &msg) == SQLITE_OK,
		      "fixture triggers: %s", msg);
	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK, "fixture: %s", msg);
	/* Every row of the fixture arrived: 18 series rows (4 samples of 2 vCPUs in each arm of
	 * the fixture run, 2 in the other run), 12 timeline rows, each arm's seq from 0. */
	ck_assert_int_eq(count_rows(db, "SELECT count(*) FROM series_rows"), 18);
	ck_assert_int_eq(count_rows(db, "SELECT count(*) FROM timeline_rows"), 12);
	ck_assert_int_eq(count_rows(db, "SELECT count(*) FROM (SELECT arm_key FROM series_rows"
				     " GROUP BY arm_key HAVING min(seq) <> 0"
				     " OR max(seq) <> count(*) - 1)"), 0);
	ck_assert_int_eq(count_rows(db, "SELECT count(*) FROM (SELECT arm_key FROM timeline_rows"
				     " GROUP BY arm_key HAVING min(seq) <> 0"
				     " OR max(seq) <> count(*) - 1)"), 0);
	sqlite3_close(db);
	free(sql);
}

static void rm_rf(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;

	if (!d) {
		unlink(path);
		return;
	}
	while ((e = readdir(d))) {
		char p[PATH_MAX];

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		rm_rf(p);
	}
	closedir(d);
	rmdir(path);
}

static void teardown(void)
{
	rm_rf(g_dir);
}

/* ---- running the command ---------------------------------------------------------------- */

struct cap {
	int rc;
	char *out, *err;
	size_t nout, nerr;
};

/* report_main with the given arguments (NULL-terminated), out and err captured. */
static void report(struct cap *c, ...)
{
	char *argv[16];
	int argc = 0;
	FILE *out, *err;
	va_list ap;

	argv[argc++] = (char *)"report";
	va_start(ap, c);
	for (char *a; (a = va_arg(ap, char *)) != NULL && argc < 15;)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	memset(c, 0, sizeof(*c));
	out = open_memstream(&c->out, &c->nout);
	err = open_memstream(&c->err, &c->nerr);
	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(err);
	c->rc = report_main(argc, argv, out, err);
	fclose(out);
	fclose(err);
}

static void cap_free(struct cap *c)
{
	free(c->out);
	free(c->err);
}

static char *out_path(const char *sub, const char *name)
{
	static char p[3][PATH_MAX];
	static int k;

	k = (k + 1) % 3;
	snprintf(p[k], sizeof(p[k]), "%s/%s%s%s", g_out, sub, name ? "/" : "", name ? name : "");
	return p[k];
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static off_t file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? sb.st_size : -1;
}

/* ---- reading the database and the data files back ------------------------------------------ */

#define MAXROWS 64
#define MAXCOLS 6

/* Numeric rows: each a fixed count of columns; NaN (missing) as `nan` flags. */
struct rows {
	unsigned n, ncols;
	long long v[MAXROWS][MAXCOLS];
	bool null[MAXROWS][MAXCOLS];
};

static sqlite3 *db_open_ro(void)
{
	sqlite3 *db = NULL;

	ck_assert_int_eq(sqlite3_open_v2(g_db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	return db;
}

/* The rows of a query with text parameters ?1, ?2 (NULL: unbound). */
static void db_rows(struct rows *r, const char *sql, const char *p1, const char *p2)
{
	sqlite3 *db = db_open_ro();
	sqlite3_stmt *st;
	int rc;

	memset(r, 0, sizeof(*r));
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (p1)
		sqlite3_bind_text(st, 1, p1, -1, SQLITE_STATIC);
	if (p2)
		sqlite3_bind_text(st, 2, p2, -1, SQLITE_STATIC);
	r->ncols = (unsigned)sqlite3_column_count(st);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ck_assert_uint_lt(r->n, MAXROWS);
		for (unsigned c = 0; c < r->ncols; c++) {
			r->null[r->n][c] = sqlite3_column_type(st, (int)c) == SQLITE_NULL;
			r->v[r->n][c] = sqlite3_column_int64(st, (int)c);
		}
		r->n++;
	}
	ck_assert_int_eq(rc, SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/*
 * The data set of a data file whose header comment is "# <label> (index ...)": its numeric rows
 * (a row of NaN only is the placeholder of an empty set and is not returned); label NULL reads
 * every row.
 */
static void dat_rows(struct rows *r, const char *path, const char *label, unsigned ncols)
{
	char *text = slurp(path), *save = NULL, want[128];
	bool in = label == NULL;

	ck_assert_msg(text != NULL, "%s missing", path);
	memset(r, 0, sizeof(*r));
	r->ncols = ncols;
	snprintf(want, sizeof(want), "# %s (index", label ? label : "");
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *p = line, *end;
		bool all_nan = true;

		if (line[0] == '#') {
			if (label)
				in = strncmp(line, want, strlen(want)) == 0;
			continue;
		}
		if (!in)
			continue;
		ck_assert_uint_lt(r->n, MAXROWS);
		for (unsigned c = 0; c < ncols; c++) {
			while (*p == ' ')
				p++;
			if (strncmp(p, "NaN", 3) == 0) {
				r->null[r->n][c] = true;
				p += 3;
				continue;
			}
			all_nan = false;
			errno = 0;
			r->v[r->n][c] = strtoll(p, &end, 10);
			ck_assert_msg(end != p && errno == 0, "%s: bad number in '%s'", path, line);
			p = end;
		}
		while (*p == ' ')
			p++;
		ck_assert_msg(*p == '\0', "%s: extra columns in '%s'", path, line);
		if (!all_nan)
			r->n++;
	}
	free(text);
}

static void rows_eq(const struct rows *got, const struct rows *want, const char *what)
{
	ck_assert_msg(got->n == want->n, "%s: %u rows in the file, %u in the database", what,
		      got->n, want->n);
	for (unsigned i = 0; i < want->n; i++)
		for (unsigned c = 0; c < want->ncols; c++) {
			ck_assert_msg(got->null[i][c] == want->null[i][c],
				      "%s row %u col %u: NULL differs", what, i, c);
			if (!want->null[i][c])
				ck_assert_msg(got->v[i][c] == want->v[i][c],
					      "%s row %u col %u: %lld in the file, %lld in the "
					      "database", what, i, c, got->v[i][c], want->v[i][c]);
		}
}

static void assert_contains(const char *hay, const char *needle, const char *what)
{
	ck_assert_msg(strstr(hay, needle) != NULL, "%s lacks \"%s\"", what, needle);
}

static unsigned count(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* The plots of the fixture run (both arms saw the same load: one timeline). */
static const char *const fix_plots[] = {
	"error", "divergence-ideal", "divergence-gtsc-resume", "warps", "cdf", "timeline",
};

/* The fixture run's report, made once per test that needs it. */
static void make_fixture_report(void)
{
	struct cap c;

	report(&c, g_db, "-o", g_out, "--run", FIX_RUN, NULL);
	ck_assert_msg(c.rc == 0, "report exit %d: %s", c.rc, c.err);
	/* Nothing to say when all went well (a gnuplot failure would be said here). */
	ck_assert_msg(c.nerr == 0, "stderr: %s", c.err);
	cap_free(&c);
}

/* ---- the data files ------------------------------------------------------------------------ */

START_TEST(test_series_data_match_db)
{
	static const char *const arms[] = { "ideal", "gtsc-resume" };
	struct rows db, dat;
	char label[64];

	make_fixture_report();
	for (size_t a = 0; a < 2; a++) {
		char file[64];

		db_rows(&db, "SELECT t_ns, vcpu, guest_ns, error_ns FROM series WHERE run_id = ?1 "
			     "AND arm = ?2 ORDER BY vcpu, t_ns", FIX_RUN, arms[a]);
		ck_assert_uint_eq(db.n, 8);
		snprintf(label, sizeof(label), "arm %s", arms[a]);
		dat_rows(&dat, out_path(FIX_DIR, "error.dat"), label, 4);
		rows_eq(&dat, &db, "error.dat");

		/* divergence: the same rows, one data set per vCPU. */
		snprintf(file, sizeof(file), "divergence-%s.dat", arms[a]);
		for (long long v = 0; v < 2; v++) {
			struct rows want;

			memset(&want, 0, sizeof(want));
			want.ncols = 4;
			for (unsigned i = 0; i < db.n; i++) {
				if (db.v[i][1] != v)
					continue;
				memcpy(want.v[want.n], db.v[i], sizeof(db.v[i]));
				memcpy(want.null[want.n], db.null[i], sizeof(db.null[i]));
				want.n++;
			}
			ck_assert_uint_eq(want.n, 4);
			snprintf(label, sizeof(label), "vcpu %lld", v);
			dat_rows(&dat, out_path(FIX_DIR, file), label, 4);
			rows_eq(&dat, &want, file);
		}

		/* cdf: the arm's |error_ns|, sorted, with fractions (k + 1) / n. */
		{
			char *text = slurp(out_path(FIX_DIR, "cdf.dat")), *save = NULL;
			long long want[MAXROWS];
			unsigned n = 0, k = 0;
			bool in = false;

			ck_assert_ptr_nonnull(text);
			for (unsigned i = 0; i < db.n; i++)
				want[n++] = llabs(db.v[i][3]);
			for (unsigned i = 1; i < n; i++)   /* insertion sort */
				for (unsigned j = i; j > 0 && want[j - 1] > want[j]; j--) {
					long long t = want[j];

					want[j] = want[j - 1];
					want[j - 1] = t;
				}
			snprintf(label, sizeof(label), "# arm %s (index", arms[a]);
			for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
				long long x;
				double frac;

				if (l[0] == '#') {
					in = strncmp(l, label, strlen(label)) == 0;
					continue;
				}
				if (!in)
					continue;
				ck_assert_int_eq(sscanf(l, "%lld %lf", &x, &frac), 2);
				ck_assert_uint_lt(k, n);
				ck_assert_int_eq(x, want[k]);
				ck_assert_double_eq_tol(frac, (double)(k + 1) / n, 1e-9);
				k++;
			}
			ck_assert_uint_eq(k, n);
			free(text);
		}
	}
}
END_TEST

START_TEST(test_warps_and_timeline_data_match_db)
{
	static const char *const kinds[] = { "migration", "stall", "pause" };
	struct rows db, dat;
	char *text;

	make_fixture_report();
	/* warps.dat: "arm warps stalls backsteps", the metrics as stored. */
	text = slurp(out_path(FIX_DIR, "warps.dat"));
	ck_assert_ptr_nonnull(text);
	assert_contains(text, "\nideal 0 0 0\n", "warps.dat");
	assert_contains(text, "\ngtsc-resume 5 2 0\n", "warps.dat");
	free(text);
	db_rows(&db, "SELECT (SELECT value FROM metrics WHERE run_id = ?1 AND arm = 'gtsc-resume' "
		     "AND metric = 'warps'), (SELECT value FROM metrics WHERE run_id = ?1 AND arm = "
		     "'gtsc-resume' AND metric = 'stalls')", FIX_RUN, NULL);
	ck_assert_int_eq(db.v[0][0], 5);
	ck_assert_int_eq(db.v[0][1], 2);

	/* timeline.dat: one data set per shown kind, rows as in the table. */
	for (size_t k = 0; k < 3; k++) {
		db_rows(&db, "SELECT t_ns, length_ns, vcpu, from_cpu, to_cpu FROM timeline WHERE "
			     "run_id = ?1 AND arm = 'ideal' AND kind = ?2 ORDER BY t_ns", FIX_RUN,
			kinds[k]);
		ck_assert_uint_gt(db.n, 0);
		dat_rows(&dat, out_path(FIX_DIR, "timeline.dat"), kinds[k], 5);
		/* A pause has no vCPU: the file says NaN; a row of data never reads as all NaN. */
		rows_eq(&dat, &db, kinds[k]);
	}
	/* The same load in both arms: one timeline, none per arm. */
	ck_assert(!exists(out_path(FIX_DIR, "timeline-ideal.dat")));
	/* io-exit events are not drawn and not in the file. */
	text = slurp(out_path(FIX_DIR, "timeline.dat"));
	ck_assert_ptr_null(strstr(text, "400000000 20000"));
	free(text);
}
END_TEST

/*
 * A database at schema 4 (series and timeline still tables, no seq) is reported as it is,
 * read-only: the same data files as from the same rows at schema 5, and the file unchanged.
 */
START_TEST(test_reads_schema_4)
{
	static const char *const files[] = { "error.dat", "timeline.dat", "warps.dat", "cdf.dat" };
	char out4[400], *want[4], *got;
	sqlite3 *db;
	struct cap c;

	make_fixture_report();
	for (size_t i = 0; i < 4; i++) {
		want[i] = slurp(out_path(FIX_DIR, files[i]));
		ck_assert_ptr_nonnull(want[i]);
	}
	ck_assert_int_eq(sqlite3_open(g_db, &db), SQLITE_OK);
	sv4_downgrade(db);
	sqlite3_close(db);
	snprintf(out4, sizeof(out4), "%s/out4", g_dir);
	report(&c, g_db, "-o", out4, "--run", FIX_RUN, NULL);
	ck_assert_msg(c.rc == 0, "report exit %d: %s", c.rc, c.err);
	cap_free(&c);
	for (size_t i = 0; i < 4; i++) {
		char path[600];

		snprintf(path, sizeof(path), "%s/%s/%s", out4, FIX_DIR, files[i]);
		got = slurp(path);
		ck_assert_msg(got && strcmp(got, want[i]) == 0, "%s differs at schema 4", files[i]);
		free(got);
		free(want[i]);
	}
	db = db_open_ro();
	ck_assert_int_eq(count_rows(db, "PRAGMA user_version"), 4);
	sqlite3_close(db);
}
END_TEST

/* ---- the plots ----------------------------------------------------------------------------- */

START_TEST(test_plots_drawn)
{
	static const unsigned char sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

	make_fixture_report();
	for (size_t i = 0; i < sizeof(fix_plots) / sizeof(fix_plots[0]); i++) {
		char name[96];
		unsigned char head[8];
		char *svg;
		FILE *f;

		snprintf(name, sizeof(name), "%s.gp", fix_plots[i]);
		ck_assert_msg(file_size(out_path(FIX_DIR, name)) > 0, "%s", name);
		snprintf(name, sizeof(name), "%s.dat", fix_plots[i]);
		ck_assert_msg(file_size(out_path(FIX_DIR, name)) > 0, "%s", name);
		snprintf(name, sizeof(name), "%s.png", fix_plots[i]);
		f = fopen(out_path(FIX_DIR, name), "rb");
		ck_assert_msg(f != NULL, "%s missing", name);
		ck_assert_uint_eq(fread(head, 1, 8, f), 8);
		fclose(f);
		ck_assert_msg(memcmp(head, sig, 8) == 0, "%s: not a PNG", name);
		ck_assert_int_gt(file_size(out_path(FIX_DIR, name)), 1000);
		snprintf(name, sizeof(name), "%s.svg", fix_plots[i]);
		svg = slurp(out_path(FIX_DIR, name));
		ck_assert_msg(svg != NULL, "%s missing", name);
		assert_contains(svg, "<svg", name);
		assert_contains(svg, "</svg>", name);
		free(svg);
	}
}
END_TEST

/* The scripts change to their own directory: gnuplot DIR/x.gp works from anywhere. */
START_TEST(test_scripts_run_from_elsewhere)
{
	char cmd[PATH_MAX + 64];

	make_fixture_report();
	ck_assert_int_eq(unlink(out_path(FIX_DIR, "error.png")), 0);
	snprintf(cmd, sizeof(cmd), "cd / && gnuplot '%s' 2>/dev/null",
		 out_path(FIX_DIR, "error.gp"));
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_gt(file_size(out_path(FIX_DIR, "error.png")), 1000);
}
END_TEST

/* ---- report.md and index.html ---------------------------------------------------------- */

START_TEST(test_markdown)
{
	char *md;

	make_fixture_report();
	md = slurp(out_path(FIX_DIR, "report.md"));
	ck_assert_ptr_nonnull(md);
	assert_contains(md, "fixture", "report.md");
	assert_contains(md, FIX_RUN, "report.md");
	assert_contains(md, "- seed: 42\n", "report.md");
	/* The comparison table: arms as columns, the best value per row in bold. */
	assert_contains(md, "| arm | ideal | gtsc-resume |\n", "report.md");
	assert_contains(md, "| policy | ideal | gtsc-resume |\n", "report.md");
	/* reads counts work, not quality: never bold. */
	assert_contains(md, "| reads | 1000 | 1200 |\n", "report.md");
	/* a tie: no bold. */
	assert_contains(md, "| fallbacks | 0 | 0 |\n", "report.md");
	assert_contains(md, "| warps | **0** | 5 |\n", "report.md");
	assert_contains(md, "| max_forward_jump_ns | 10 | **3** |\n", "report.md");
	assert_contains(md, "| max_abs_error_ns | **1** | 3000000 |\n", "report.md");
	/* signed: the smaller magnitude is better. */
	assert_contains(md, "| final_error_ns | **-1** | -2900000 |\n", "report.md");
	assert_contains(md, "| drift_ppm | **0.000** | -1450.125 |\n", "report.md");
	/* facts: shown, never bold. */
	assert_contains(md, "| masterclock | 1 | 0 |\n", "report.md");
	/* The expectations with their verdicts and operands. */
	assert_contains(md, "- held: `ideal.warps == 0` (0 vs 0)\n", "report.md");
	assert_contains(md, "- held: `gtsc-resume.warps > 0` (5 vs 0)\n", "report.md");
	assert_contains(md, "- **FAILED**: `gtsc-resume.lost_time_ns < 1ms` (2950000 vs 1000000)\n",
			"report.md");
	assert_contains(md, "2 of 3 expectations held.", "report.md");
	/* Violations: counts, dropped, the first rows. */
	assert_contains(md, "| warps | 0 | 2 |\n", "report.md");
	assert_contains(md, "| dropped past the cap | 0 | 3 |\n", "report.md");
	assert_contains(md, "lock chain after vCPU 0", "report.md");
	/* Links to every PNG. */
	for (size_t i = 0; i < sizeof(fix_plots) / sizeof(fix_plots[0]); i++) {
		char link[96];

		snprintf(link, sizeof(link), "](%s.png)", fix_plots[i]);
		assert_contains(md, link, "report.md");
	}
	/* The scenario text, verbatim in a code block. */
	assert_contains(md, "```text\n# the fixture: a < b & c | d\nduration = 2s\n", "report.md");
	free(md);
}
END_TEST

START_TEST(test_html_self_contained)
{
	char *html;

	make_fixture_report();
	html = slurp(out_path(FIX_DIR, "index.html"));
	ck_assert_ptr_nonnull(html);
	ck_assert_msg(strstr(html, "http:") == NULL && strstr(html, "https:") == NULL,
		      "index.html refers to the network");
	ck_assert_ptr_null(strstr(html, "<script"));
	ck_assert_ptr_null(strstr(html, "<link"));
	/* Every image is embedded, none loaded from a file. */
	ck_assert_uint_eq(count(html, "<img "), sizeof(fix_plots) / sizeof(fix_plots[0]));
	ck_assert_uint_eq(count(html, "src=\"data:image/png;base64,iVBORw0KGgo"),
			  sizeof(fix_plots) / sizeof(fix_plots[0]));
	ck_assert_uint_eq(count(html, "src=\""), count(html, "src=\"data:"));
	assert_contains(html, "<style>", "index.html");
	ck_assert_ptr_null(strstr(html, "<strong>1200</strong>"));
	assert_contains(html, "<strong>-1</strong>", "index.html");
	assert_contains(html, "<span class=\"failed\">FAILED</span> <code>gtsc-resume.lost_time_ns "
			      "&lt; 1ms</code>", "index.html");
	assert_contains(html, "<span class=\"held\">held</span> <code>ideal.warps == 0</code>",
			"index.html");
	/* The scenario text, escaped. */
	assert_contains(html, "# the fixture: a &lt; b &amp; c | d", "index.html");
	free(html);
}
END_TEST

/* ---- selecting runs -------------------------------------------------------------------------- */

START_TEST(test_default_selects_latest_complete)
{
	struct cap c;

	report(&c, g_db, "-o", g_out, NULL);
	ck_assert_msg(c.rc == 0, "exit %d: %s", c.rc, c.err);
	ck_assert_msg(c.nerr == 0, "stderr: %s", c.err);
	/* One line per report: its directory and its index.html, scenarios by name. */
	ck_assert_uint_eq(count(c.out, "\n"), 2);
	assert_contains(c.out, out_path(FIX_DIR, "index.html"), "output");
	assert_contains(c.out, out_path(OTHER_DIR, "index.html"), "output");
	ck_assert(strstr(c.out, FIX_DIR) < strstr(c.out, OTHER_DIR));
	ck_assert(exists(out_path(FIX_DIR, "index.html")));
	ck_assert(exists(out_path(OTHER_DIR, "index.html")));
	/* Not the older run, not the incomplete one. */
	ck_assert(!exists(out_path("fixture-aaaaaaaa", NULL)));
	ck_assert(!exists(out_path("fixture-bbbbbbbb", NULL)));
	/* The other run's arms saw different loads: one timeline each. */
	ck_assert(exists(out_path(OTHER_DIR, "timeline-a.png")));
	ck_assert(exists(out_path(OTHER_DIR, "timeline-b.png")));
	ck_assert(!exists(out_path(OTHER_DIR, "timeline.dat")));
	/* Arm b has no series rows: its data set is a placeholder, its plot still drawn. */
	ck_assert(exists(out_path(OTHER_DIR, "divergence-b.png")));
	cap_free(&c);
}
END_TEST

START_TEST(test_select_run)
{
	struct cap c;

	/* The whole id. */
	report(&c, g_db, "-o", g_out, "--run", FIX_RUN, NULL);
	ck_assert_int_eq(c.rc, 0);
	ck_assert_uint_eq(count(c.out, "\n"), 1);
	assert_contains(c.out, FIX_DIR, "output");
	cap_free(&c);
	/* A prefix, in capitals: the older run of the same scenario. */
	/* The database named by VTSIM_DB, as bin/sim writes it. */
	setenv("VTSIM_DB", g_db, 1);
	report(&c, "-o", g_out, "--run", "AAAAAAAA", NULL);
	unsetenv("VTSIM_DB");
	ck_assert_msg(c.rc == 0, "exit %d: %s", c.rc, c.err);
	ck_assert(exists(out_path("fixture-aaaaaaaa", "report.md")));
	ck_assert(!exists(out_path(OTHER_DIR, NULL)));
	cap_free(&c);
}
END_TEST

START_TEST(test_select_scenario)
{
	struct cap c;

	report(&c, g_db, "-o", g_out, "--scenario", "other", NULL);
	ck_assert_msg(c.rc == 0, "exit %d: %s", c.rc, c.err);
	ck_assert_uint_eq(count(c.out, "\n"), 1);
	ck_assert(exists(out_path(OTHER_DIR, "index.html")));
	ck_assert(!exists(out_path(FIX_DIR, NULL)));
	cap_free(&c);
	/* The latest complete one of fixture, skipping the later incomplete run. */
	report(&c, g_db, "-o", g_out, "--scenario", "fixture", NULL);
	ck_assert_int_eq(c.rc, 0);
	ck_assert(exists(out_path(FIX_DIR, "index.html")));
	ck_assert(!exists(out_path("fixture-bbbbbbbb", NULL)));
	cap_free(&c);
}
END_TEST

/* ---- errors ---------------------------------------------------------------------------------- */

START_TEST(test_unknown_run_or_scenario)
{
	struct cap c;

	report(&c, g_db, "-o", g_out, "--run", "deadbeef", NULL);
	ck_assert_int_eq(c.rc, 2);
	assert_contains(c.err, "no run with id deadbeef", "stderr");
	cap_free(&c);
	report(&c, g_db, "-o", g_out, "--run", "not-hex", NULL);
	ck_assert_int_eq(c.rc, 2);
	assert_contains(c.err, "not a run id", "stderr");
	cap_free(&c);
	report(&c, g_db, "-o", g_out, "--run", "bbbbbbbb", NULL);
	ck_assert_int_eq(c.rc, 2);
	assert_contains(c.err, "incomplete", "stderr");
	cap_free(&c);
	report(&c, g_db, "-o", g_out, "--scenario", "nosuch", NULL);
	ck_assert_int_eq(c.rc, 2);
	assert_contains(c.err, "no run of a scenario named nosuch", "stderr");
	cap_free(&c);
	/* Nothing was written for any of them. */
	ck_assert(!exists(out_path(FIX_DIR, NULL)));
}
END_TEST

START_TEST(test_missing_or_foreign_db)
{
	char path[PATH_MAX];
	struct cap c;
	sqlite3 *db;
	FILE *f;

	snprintf(path, sizeof(path), "%s/nosuch.db", g_dir);
	report(&c, path, "-o", g_out, NULL);
	ck_assert_int_eq(c.rc, 2);
	assert_contains(c.err, "nosuch.db", "stderr");
	cap_free(&c);
	/* Not SQLite at all. */
	snprintf(path, sizeof(path), "%s/text.db", g_dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	for (int i = 0; i < 100; i++)
		fputs("this is not a database, only some text to fill a page\n", f);
	fclose(f);
	report(&c, path, "-o", g_out, NULL);
	ck_assert_int_eq(c.rc, 2);
	assert_contains(c.err, "not a vtsim results database", "stderr");
	cap_free(&c);
	/* SQLite, but another program's. */
	snprintf(path, sizeof(path), "%s/other.db", g_dir);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "CREATE TABLE t (x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	report(&c, path, "-o", g_out, NULL);
	ck_assert_int_eq(c.rc, 2);
	assert_contains(c.err, "not a vtsim results database", "stderr");
	cap_free(&c);
	ck_assert(!exists(g_out));
}
END_TEST

START_TEST(test_unwritable_dir)
{
	char path[PATH_MAX];
	struct cap c;
	FILE *f;

	/* -o under a regular file: the directory cannot be made. */
	snprintf(path, sizeof(path), "%s/afile", g_dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	strcat(path, "/out");
	report(&c, g_db, "-o", path, NULL);
	ck_assert_int_eq(c.rc, 3);
	assert_contains(c.err, "cannot create", "stderr");
	cap_free(&c);
}
END_TEST

START_TEST(test_usage)
{
	struct cap c;

	report(&c, g_db, "--bogus", NULL);
	ck_assert_int_eq(c.rc, 2);
	assert_contains(c.err, "usage: bin/sim report", "stderr");
	cap_free(&c);
	report(&c, g_db, "-o", NULL);
	ck_assert_int_eq(c.rc, 2);
	cap_free(&c);
	report(&c, g_db, "--run", FIX_RUN, "--scenario", "fixture", NULL);
	ck_assert_int_eq(c.rc, 2);
	cap_free(&c);
	report(&c, g_db, g_db, NULL);
	ck_assert_int_eq(c.rc, 2);
	cap_free(&c);
	report(&c, "--help", NULL);
	ck_assert_int_eq(c.rc, 0);
	assert_contains(c.out, "usage: bin/sim report", "stdout");
	cap_free(&c);
}
END_TEST

/* ---- without gnuplot ------------------------------------------------------------------------ */

START_TEST(test_no_gnuplot)
{
	char empty[PATH_MAX], *saved = NULL, *md, *html;
	const char *path = getenv("PATH");
	struct cap c;

	if (path)
		saved = strdup(path);
	snprintf(empty, sizeof(empty), "%s/empty-bin", g_dir);
	ck_assert_int_eq(mkdir(empty, 0755), 0);
	setenv("PATH", empty, 1);
	report(&c, g_db, "-o", g_out, "--run", FIX_RUN, NULL);
	if (saved) {
		setenv("PATH", saved, 1);
		free(saved);
	} else {
		unsetenv("PATH");
	}
	ck_assert_msg(c.rc == 0, "exit %d: %s", c.rc, c.err);
	assert_contains(c.err, "gnuplot not found: the data files and .gp scripts are in", "stderr");
	assert_contains(c.err, FIX_DIR, "stderr");
	assert_contains(c.err, "run gnuplot on them later", "stderr");
	ck_assert_uint_eq(count(c.err, "gnuplot not found"), 1);
	for (size_t i = 0; i < sizeof(fix_plots) / sizeof(fix_plots[0]); i++) {
		char name[96];

		snprintf(name, sizeof(name), "%s.gp", fix_plots[i]);
		ck_assert_msg(file_size(out_path(FIX_DIR, name)) > 0, "%s", name);
		snprintf(name, sizeof(name), "%s.dat", fix_plots[i]);
		ck_assert_msg(file_size(out_path(FIX_DIR, name)) > 0, "%s", name);
		snprintf(name, sizeof(name), "%s.png", fix_plots[i]);
		ck_assert_msg(!exists(out_path(FIX_DIR, name)), "%s drawn without gnuplot", name);
		snprintf(name, sizeof(name), "%s.svg", fix_plots[i]);
		ck_assert_msg(!exists(out_path(FIX_DIR, name)), "%s drawn without gnuplot", name);
	}
	md = slurp(out_path(FIX_DIR, "report.md"));
	html = slurp(out_path(FIX_DIR, "index.html"));
	ck_assert_ptr_nonnull(md);
	ck_assert_ptr_nonnull(html);
	ck_assert_ptr_null(strstr(md, ".png)"));
	assert_contains(md, "Not drawn", "report.md");
	assert_contains(md, "| reads | 1000 | 1200 |\n", "report.md");
	ck_assert_ptr_null(strstr(html, "<img"));
	assert_contains(html, "gnuplot error.gp", "index.html");
	free(md);
	free(html);
	cap_free(&c);
}
END_TEST

/* ---- sweeps ---------------------------------------------------------------------------------- */

/*
 * Two sweeps, written through the store API as bin/sim sweep's runs would be, beside the
 * fixture's runs (which belong to no sweep):
 *
 *   sweep A: vm.vcpus=2 at every point, sched.quantum over 10ms, 2ms and 100ms (made in that
 *            order: neither their text's order nor their numbers' order), seeds 1 and 2, arms
 *            ideal and gtsc. The 10ms point's seed-2 run failed an expectation; a seed-3 run at
 *            100ms never finished (still 'running': listed, not counted).
 *   sweep B: made after A; sched.quantum over 2ms and 500us and vm.vcpus over 4 and 2 (both
 *            vary), seed 7.
 *
 * Metric values are known functions of the point (rank: the quantum's place by value):
 * max_abs_error_ns = 1000 (rank + 1) + 10 arm + 3 seed, drift_ppm = +-(rank + 1) + seed / 4
 * (negative in arm gtsc), every other metric 0, and one layer fact (never plotted).
 */
#define SWEEP_A "sweep-a1b2"
#define SWEEP_B "sweep-b3c4"
/* Their directories: the id alone, as it starts with "sweep-" (bin/sim sweep's ids do). */
#define SWEEP_A_DIR SWEEP_A
#define SWEEP_B_DIR SWEEP_B

static const struct layer_fact sw_facts[] = { { "masterclock", "a fact of the page" },
					      { NULL, NULL } };

/* One run of a sweep: begun, and finished unless `finish` is false. */
static void sweep_run(struct store *st, const char *sweep, const char *point, uint64_t seed,
		      int64_t max_abs[2], int64_t drift_ppb[2], unsigned failed, bool finish)
{
	struct arm_cfg arms[2] = { { .name = "ideal" }, { .name = "gtsc" } };
	struct arm_result ar[2];
	struct results res;
	struct run_info ri = { .scenario = "swept", .path = "scenarios/swept.scn",
			       .scenario_text = "duration = 1s\n", .seed = seed, .overrides = "",
			       .plugin_hashes = "", .duration_ns = 1000000000, .sweep_id = sweep,
			       .sweep_point = point };
	char id[33], err[512] = "";

	memset(ar, 0, sizeof(ar));
	for (unsigned i = 0; i < 2; i++) {
		ar[i].arm = &arms[i];
		ar[i].m[M_MAX_ABS_ERROR_NS] = max_abs[i];
		ar[i].m[M_DRIFT_PPM] = drift_ppb[i];
		ar[i].nfacts = 1;
		ar[i].fact = sw_facts;
		ar[i].fact_value[0] = 1;
	}
	res = (struct results){ .narms = 2, .arms = ar, .failed = failed };
	ck_assert_msg(store_begin_run(st, &ri, id, err, sizeof(err)) == VT_OK, "begin: %s", err);
	if (finish)
		ck_assert_msg(store_finish_run(st, id, &res, NULL, err, sizeof(err)) == VT_OK,
			      "finish: %s", err);
}

static int64_t sw_max_abs(int rank, unsigned arm, unsigned seed)
{
	return 1000 * (rank + 1) + 10 * (int64_t)arm + 3 * (int64_t)seed;
}

static int64_t sw_drift_ppb(int rank, unsigned arm, unsigned seed)
{
	return (arm ? -1000 : 1000) * (int64_t)(rank + 1) + 250 * (int64_t)seed;
}

static void make_sweeps(void)
{
	static const char *const quantum[] = { "10ms", "2ms", "100ms" };
	static const int rank[] = { 1, 0, 2 };
	static const struct { const char *quantum, *vcpus; int64_t base; } b[] = {
		{ "2ms", "4", 4100 }, { "500us", "4", 4000 }, { "2ms", "2", 2100 },
		{ "500us", "2", 2000 },
	};
	struct store *st = NULL;
	char err[512] = "", point[128];

	ck_assert_msg(store_open(&st, g_db, err, sizeof(err)) == VT_OK, "store_open: %s", err);
	for (unsigned q = 0; q < 3; q++)
		for (unsigned seed = 1; seed <= 2; seed++) {
			int64_t m[2], d[2];

			for (unsigned a = 0; a < 2; a++) {
				m[a] = sw_max_abs(rank[q], a, seed);
				d[a] = sw_drift_ppb(rank[q], a, seed);
			}
			snprintf(point, sizeof(point), "vm.vcpus=2 sched.quantum=%s seed=%u",
				 quantum[q], seed);
			sweep_run(st, SWEEP_A, point, seed, m, d, q == 0 && seed == 2, true);
		}
	{
		int64_t m[2] = { 999999, 999999 }, d[2] = { 0, 0 };

		sweep_run(st, SWEEP_A, "vm.vcpus=2 sched.quantum=100ms seed=3", 3, m, d, 0, false);
	}
	for (unsigned i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
		int64_t m[2] = { b[i].base, b[i].base + 1 }, d[2] = { 0, 0 };

		snprintf(point, sizeof(point), "sched.quantum=%s vm.vcpus=%s seed=7", b[i].quantum,
			 b[i].vcpus);
		sweep_run(st, SWEEP_B, point, 7, m, d, 0, true);
	}
	store_close(st);
}

/* One row of a sweep's data file: "x mean min max runs "value"". */
struct swrow {
	double x, mean, min, max;
	unsigned n;
	char label[32];
};

/* The rows of the data set "# arm <title> (index ...)" of a sweep's data file. */
static unsigned sweep_rows(const char *path, const char *title, struct swrow *rows, unsigned max)
{
	char *text = slurp(path), *save = NULL, want[128];
	unsigned n = 0;
	bool in = false;

	ck_assert_msg(text != NULL, "%s missing", path);
	snprintf(want, sizeof(want), "# arm %s (index", title);
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#') {
			in = strncmp(line, want, strlen(want)) == 0;
			continue;
		}
		if (!in)
			continue;
		ck_assert_uint_lt(n, max);
		ck_assert_msg(sscanf(line, "%lf %lf %lf %lf %u \"%31[^\"]\"", &rows[n].x,
				     &rows[n].mean, &rows[n].min, &rows[n].max, &rows[n].n,
				     rows[n].label) == 6, "%s: bad row '%s'", path, line);
		n++;
	}
	free(text);
	return n;
}

/* The sweep report of `sweep`, which must succeed without a word on stderr. */
static void make_sweep_report(const char *sweep)
{
	struct cap c;

	report(&c, g_db, "-o", g_out, "--sweep", sweep, NULL);
	ck_assert_msg(c.rc == 0, "report exit %d: %s", c.rc, c.err);
	ck_assert_msg(c.nerr == 0, "stderr: %s", c.err);
	ck_assert_uint_eq(count(c.out, "\n"), 1);
	assert_contains(c.out, out_path(SWEEP_A_DIR, "index.html"), "output");
	cap_free(&c);
}

START_TEST(test_sweep_data)
{
	static const char *const arms[] = { "ideal", "gtsc" };
	static const char *const labels[] = { "2ms", "10ms", "100ms" };
	struct swrow rows[8];
	char *text;

	make_sweeps();
	make_sweep_report(SWEEP_A);
	for (unsigned a = 0; a < 2; a++) {
		/* The points in the order of their numbers, at their values in ns; per point the
		 * mean, min and max over seeds 1 and 2 (seed 3 at 100ms did not complete). */
		ck_assert_uint_eq(sweep_rows(out_path(SWEEP_A_DIR, "max_abs_error_ns.dat"), arms[a],
					     rows, 8), 3);
		for (int r = 0; r < 3; r++) {
			ck_assert_str_eq(rows[r].label, labels[r]);
			ck_assert_double_eq(rows[r].x, r == 0 ? 2e6 : r == 1 ? 1e7 : 1e8);
			ck_assert_double_eq(rows[r].min, (double)sw_max_abs(r, a, 1));
			ck_assert_double_eq(rows[r].max, (double)sw_max_abs(r, a, 2));
			ck_assert_double_eq(rows[r].mean, (double)sw_max_abs(r, a, 1) + 1.5);
			ck_assert_uint_eq(rows[r].n, 2);
		}
		/* drift_ppm is REAL: seed / 4 apart, exact in binary. */
		ck_assert_uint_eq(sweep_rows(out_path(SWEEP_A_DIR, "drift_ppm.dat"), arms[a], rows,
					     8), 3);
		for (int r = 0; r < 3; r++) {
			double base = (a ? -1.0 : 1.0) * (r + 1);

			ck_assert_str_eq(rows[r].label, labels[r]);
			ck_assert_double_eq(rows[r].min, base + 0.25);
			ck_assert_double_eq(rows[r].max, base + 0.5);
			ck_assert_double_eq(rows[r].mean, base + 0.375);
		}
	}
	/* Every metric has its data and script; a layer fact has neither. */
	for (int m = 0; m < M_COUNT; m++) {
		char name[96];

		snprintf(name, sizeof(name), "%s.dat", metric_info[m].name);
		ck_assert_msg(file_size(out_path(SWEEP_A_DIR, name)) > 0, "%s", name);
		snprintf(name, sizeof(name), "%s.gp", metric_info[m].name);
		ck_assert_msg(file_size(out_path(SWEEP_A_DIR, name)) > 0, "%s", name);
	}
	ck_assert(!exists(out_path(SWEEP_A_DIR, "masterclock.dat")));
	/* One line per arm, titled by the arm. */
	text = slurp(out_path(SWEEP_A_DIR, "max_abs_error_ns.gp"));
	ck_assert_ptr_nonnull(text);
	assert_contains(text, "array titles[2] = ['ideal', 'gtsc']\n", "max_abs_error_ns.gp");
	assert_contains(text, "xlog = 0\n", "max_abs_error_ns.gp");
	free(text);
	/* Nothing for a run that is no sweep's. */
	ck_assert(!exists(out_path(FIX_DIR, NULL)));
}
END_TEST

START_TEST(test_sweep_tables)
{
	char *md, *html;
	const char *p2, *p10, *p100;

	make_sweeps();
	make_sweep_report(SWEEP_A);
	md = slurp(out_path(SWEEP_A_DIR, "report.md"));
	ck_assert_ptr_nonnull(md);
	assert_contains(md, "- swept parameter: `sched.quantum`, 3 values in order: 2ms, 10ms, "
			    "100ms", "report.md");
	assert_contains(md, "- the same at every point: `vm.vcpus=2`\n", "report.md");
	assert_contains(md, "- runs: 6 complete at 3 points (1 with failed expectations), 1 "
			    "incomplete (not counted)\n", "report.md");
	assert_contains(md, "| sched.quantum | ideal mean | ideal min | ideal max | gtsc mean | "
			    "gtsc min | gtsc max | runs |\n", "report.md");
	/* Per metric, the points in numeric order with mean, min and max per arm. */
	assert_contains(md, "| *max_abs_error_ns (ns)* |", "report.md");
	p2 = strstr(md, "| 2ms | 1004.5 | 1003 | 1006 | 1014.5 | 1013 | 1016 | 2 |\n");
	p10 = strstr(md, "| 10ms | 2004.5 | 2003 | 2006 | 2014.5 | 2013 | 2016 | 2 |\n");
	p100 = strstr(md, "| 100ms | 3004.5 | 3003 | 3006 | 3014.5 | 3013 | 3016 | 2 |\n");
	ck_assert_msg(p2 && p10 && p100, "report.md lacks the max_abs_error_ns rows:\n%s", md);
	ck_assert(p2 < p10 && p10 < p100);
	assert_contains(md, "| 2ms | 1.375 | 1.250 | 1.500 | -0.625 | -0.750 | -0.500 | 2 |\n",
			"report.md");
	assert_contains(md, "| 100ms | 3.375 | 3.250 | 3.500 | -2.625 | -2.750 | -2.500 | 2 |\n",
			"report.md");
	ck_assert_ptr_null(strstr(md, "masterclock"));
	/* The failed point with its seed; the incomplete run listed as such. */
	assert_contains(md, "| point | seed | expectations failed | run |\n", "report.md");
	assert_contains(md, "| sched.quantum=10ms | 2 | 1 | ", "report.md");
	ck_assert_uint_eq(count(md, "| sched.quantum=10ms |"), 1);
	assert_contains(md, "## Incomplete runs", "report.md");
	assert_contains(md, "| sched.quantum=100ms | 3 | running | ", "report.md");
	assert_contains(md, "](max_abs_error_ns.png)", "report.md");
	free(md);

	html = slurp(out_path(SWEEP_A_DIR, "index.html"));
	ck_assert_ptr_nonnull(html);
	ck_assert_msg(strstr(html, "http:") == NULL && strstr(html, "https:") == NULL,
		      "index.html refers to the network");
	ck_assert_uint_eq(count(html, "<img "), M_COUNT);
	ck_assert_uint_eq(count(html, "src=\"data:image/png;base64,iVBORw0KGgo"), M_COUNT);
	assert_contains(html, "<td class=\"name\">2ms</td><td>1004.5</td><td>1003</td><td>1006"
			      "</td>", "index.html");
	assert_contains(html, "<td class=\"name\">sched.quantum=10ms</td><td>2</td><td>1</td>",
			"index.html");
	assert_contains(html, "<td class=\"name\">sched.quantum=100ms</td><td>3</td><td class="
			      "\"name\">running</td>", "index.html");
	free(html);
}
END_TEST

START_TEST(test_sweep_plots_drawn)
{
	static const unsigned char sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

	make_sweeps();
	make_sweep_report(SWEEP_A);
	for (int m = 0; m < M_COUNT; m++) {
		char name[96];
		unsigned char head[8];
		char *svg;
		FILE *f;

		snprintf(name, sizeof(name), "%s.png", metric_info[m].name);
		f = fopen(out_path(SWEEP_A_DIR, name), "rb");
		ck_assert_msg(f != NULL, "%s missing", name);
		ck_assert_uint_eq(fread(head, 1, 8, f), 8);
		fclose(f);
		ck_assert_msg(memcmp(head, sig, 8) == 0, "%s: not a PNG", name);
		snprintf(name, sizeof(name), "%s.svg", metric_info[m].name);
		svg = slurp(out_path(SWEEP_A_DIR, name));
		ck_assert_msg(svg != NULL, "%s missing", name);
		assert_contains(svg, "</svg>", name);
		free(svg);
	}
}
END_TEST

/* --sweep latest: sweep B, where two keys vary: against the first, a line per arm and value of
 * the second; 500us before 2ms (the values' times, not their text or their digits). */
START_TEST(test_sweep_latest_two_keys)
{
	static const char *const lines[] = { "ideal, vm.vcpus=2", "ideal, vm.vcpus=4",
					     "gtsc, vm.vcpus=2", "gtsc, vm.vcpus=4" };
	struct swrow rows[8];
	struct cap c;
	char *text;

	make_sweeps();
	report(&c, g_db, "-o", g_out, "--sweep", "latest", NULL);
	ck_assert_msg(c.rc == 0, "exit %d: %s", c.rc, c.err);
	ck_assert_msg(c.nerr == 0, "stderr: %s", c.err);
	assert_contains(c.out, out_path(SWEEP_B_DIR, "index.html"), "output");
	ck_assert(!exists(out_path(SWEEP_A_DIR, NULL)));
	cap_free(&c);
	for (unsigned l = 0; l < 4; l++) {
		int64_t base = (l % 2 ? 4000 : 2000) + (l / 2);

		ck_assert_uint_eq(sweep_rows(out_path(SWEEP_B_DIR, "max_abs_error_ns.dat"),
					     lines[l], rows, 8), 2);
		ck_assert_str_eq(rows[0].label, "500us");
		ck_assert_str_eq(rows[1].label, "2ms");
		ck_assert_double_eq(rows[0].x, 5e5);
		ck_assert_double_eq(rows[1].x, 2e6);
		ck_assert_double_eq(rows[0].mean, (double)base);
		ck_assert_double_eq(rows[1].mean, (double)(base + 100));
		ck_assert_uint_eq(rows[0].n, 1);
	}
	text = slurp(out_path(SWEEP_B_DIR, "max_abs_error_ns.gp"));
	ck_assert_ptr_nonnull(text);
	assert_contains(text, "array titles[4] = ['ideal, vm.vcpus=2', 'ideal, vm.vcpus=4', "
			      "'gtsc, vm.vcpus=2', 'gtsc, vm.vcpus=4']", "max_abs_error_ns.gp");
	free(text);
	ck_assert_int_gt(file_size(out_path(SWEEP_B_DIR, "max_abs_error_ns.png")), 1000);
	text = slurp(out_path(SWEEP_B_DIR, "report.md"));
	ck_assert_ptr_nonnull(text);
	assert_contains(text, "- also varying: `vm.vcpus`: one line per arm and combination of "
			      "their values\n", "report.md");
	assert_contains(text, "| sched.quantum | vm.vcpus | ideal mean |", "report.md");
	assert_contains(text, "| 500us | vm.vcpus=2 | 2000 | 2000 | 2000 | 2001 | 2001 | 2001 | "
			      "1 |\n", "report.md");
	assert_contains(text, "No complete run failed an expectation.", "report.md");
	ck_assert_ptr_null(strstr(text, "## Incomplete runs"));
	free(text);
}
END_TEST

START_TEST(test_sweep_unknown)
{
	struct cap c;

	make_sweeps();
	report(&c, g_db, "-o", g_out, "--sweep", "nosuch", NULL);
	ck_assert_int_eq(c.rc, 2);
	assert_contains(c.err, "no sweep with id nosuch", "stderr");
	cap_free(&c);
	/* A prefix shared by both sweeps is ambiguous; one of either's is that sweep. */
	report(&c, g_db, "-o", g_out, "--sweep", "sweep-", NULL);
	ck_assert_int_eq(c.rc, 2);
	assert_contains(c.err, "2 sweeps have ids starting with sweep-", "stderr");
	cap_free(&c);
	ck_assert(!exists(g_out));
	report(&c, g_db, "-o", g_out, "--sweep", "sweep-a", NULL);
	ck_assert_msg(c.rc == 0, "exit %d: %s", c.rc, c.err);
	ck_assert(exists(out_path(SWEEP_A_DIR, "report.md")));
	cap_free(&c);
	/* --sweep with a selection of runs, or empty. */
	report(&c, g_db, "--sweep", SWEEP_A, "--run", FIX_RUN, NULL);
	ck_assert_int_eq(c.rc, 2);
	assert_contains(c.err, "usage: bin/sim report", "stderr");
	cap_free(&c);
	report(&c, g_db, "--sweep", "", NULL);
	ck_assert_int_eq(c.rc, 2);
	cap_free(&c);
}
END_TEST

/* No sweep at all (the fixture's runs belong to none): latest says so. */
START_TEST(test_sweep_latest_none)
{
	struct cap c;

	report(&c, g_db, "-o", g_out, "--sweep", "latest", NULL);
	ck_assert_int_eq(c.rc, 2);
	assert_contains(c.err, "no run belongs to a sweep", "stderr");
	ck_assert(!exists(g_out));
	cap_free(&c);
}
END_TEST

/* Without gnuplot: as for a run, the data and scripts, the tables, no image, one message. */
START_TEST(test_sweep_no_gnuplot)
{
	char empty[PATH_MAX], *saved = NULL, *md, *html;
	const char *path = getenv("PATH");
	struct cap c;

	make_sweeps();
	if (path)
		saved = strdup(path);
	snprintf(empty, sizeof(empty), "%s/empty-bin", g_dir);
	ck_assert_int_eq(mkdir(empty, 0755), 0);
	setenv("PATH", empty, 1);
	report(&c, g_db, "-o", g_out, "--sweep", SWEEP_A, NULL);
	if (saved) {
		setenv("PATH", saved, 1);
		free(saved);
	} else {
		unsetenv("PATH");
	}
	ck_assert_msg(c.rc == 0, "exit %d: %s", c.rc, c.err);
	assert_contains(c.err, "gnuplot not found: the data files and .gp scripts are in", "stderr");
	assert_contains(c.err, SWEEP_A_DIR, "stderr");
	assert_contains(c.err, "run gnuplot on them later", "stderr");
	ck_assert_uint_eq(count(c.err, "gnuplot not found"), 1);
	ck_assert_int_gt(file_size(out_path(SWEEP_A_DIR, "max_abs_error_ns.dat")), 0);
	ck_assert_int_gt(file_size(out_path(SWEEP_A_DIR, "max_abs_error_ns.gp")), 0);
	ck_assert(!exists(out_path(SWEEP_A_DIR, "max_abs_error_ns.png")));
	ck_assert(!exists(out_path(SWEEP_A_DIR, "max_abs_error_ns.svg")));
	md = slurp(out_path(SWEEP_A_DIR, "report.md"));
	html = slurp(out_path(SWEEP_A_DIR, "index.html"));
	ck_assert_ptr_nonnull(md);
	ck_assert_ptr_nonnull(html);
	ck_assert_ptr_null(strstr(md, ".png)"));
	assert_contains(md, "Not drawn", "report.md");
	assert_contains(md, "| 2ms | 1004.5 | 1003 | 1006 |", "report.md");
	ck_assert_ptr_null(strstr(html, "<img"));
	assert_contains(html, "gnuplot max_abs_error_ns.gp", "index.html");
	free(md);
	free(html);
	cap_free(&c);
	/* The scripts draw the plots later, from anywhere. */
	{
		char cmd[PATH_MAX + 64];

		snprintf(cmd, sizeof(cmd), "cd / && gnuplot '%s' 2>/dev/null",
			 out_path(SWEEP_A_DIR, "drift_ppm.gp"));
		ck_assert_int_eq(system(cmd), 0);
		ck_assert_int_gt(file_size(out_path(SWEEP_A_DIR, "drift_ppm.png")), 1000);
	}
}
END_TEST

/* ---- templates and base64 ---------------------------------------------------------------------- */

START_TEST(test_builtin_templates_match_files)
{
	static const char *const names[] = { "error", "divergence", "warps", "cdf", "timeline",
					     "sweep" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char rel[64], path[PATH_MAX];
		const char *builtin = report_template_builtin(names[i]);
		char *file;

		snprintf(rel, sizeof(rel), "reports/%s.gp", names[i]);
		repo_file(rel, path, sizeof(path));
		file = slurp(path);
		ck_assert_ptr_nonnull(file);
		ck_assert_ptr_nonnull(builtin);
		ck_assert_msg(strcmp(file, builtin) == 0, "%s differs from its built-in copy in "
			      "sim/report.c: change both", rel);
		free(file);
	}
	ck_assert_ptr_null(report_template_builtin("nosuch"));
}
END_TEST

/* With the templates out of reach the built-in copies make the same scripts. */
START_TEST(test_builtin_templates_used)
{
	char *from_files, *from_builtin, nodir[PATH_MAX];
	struct cap c;

	make_fixture_report();
	from_files = slurp(out_path(FIX_DIR, "timeline.gp"));
	ck_assert_ptr_nonnull(from_files);
	snprintf(nodir, sizeof(nodir), "%s/no-templates", g_dir);
	setenv("VTSIM_REPORTS", nodir, 1);
	report(&c, g_db, "-o", g_out, "--run", FIX_RUN, NULL);
	unsetenv("VTSIM_REPORTS");
	ck_assert_msg(c.rc == 0, "exit %d: %s", c.rc, c.err);
	assert_contains(c.err, "using the built-in templates", "stderr");
	from_builtin = slurp(out_path(FIX_DIR, "timeline.gp"));
	ck_assert_str_eq(from_files, from_builtin);
	ck_assert_int_gt(file_size(out_path(FIX_DIR, "timeline.png")), 1000);
	free(from_files);
	free(from_builtin);
	cap_free(&c);
}
END_TEST

START_TEST(test_base64)
{
	/* RFC 4648 section 10, plus bytes that use the last two letters of the alphabet. */
	static const struct {
		const char *in;
		size_t n;
		const char *out;
	} v[] = {
		{ "", 0, "" },
		{ "f", 1, "Zg==" },
		{ "fo", 2, "Zm8=" },
		{ "foo", 3, "Zm9v" },
		{ "foob", 4, "Zm9vYg==" },
		{ "fooba", 5, "Zm9vYmE=" },
		{ "foobar", 6, "Zm9vYmFy" },
		{ "\xff\xfe", 2, "//4=" },
		{ "\xfb\xff\xbf", 3, "+/+/" },
		{ "\x00\x00\x00\x00", 4, "AAAAAA==" },
	};
	char buf[64];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = report_base64(v[i].in, v[i].n, buf);

		ck_assert_str_eq(buf, v[i].out);
		ck_assert_uint_eq(n, strlen(v[i].out));
	}
}
END_TEST

Suite *report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("report");
	TCase *pure = tcase_create("templates");

	tcase_add_checked_fixture(tc, setup, teardown);
	/* gnuplot draws six plots twice (PNG and SVG) per report. */
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_series_data_match_db);
	tcase_add_test(tc, test_warps_and_timeline_data_match_db);
	tcase_add_test(tc, test_reads_schema_4);
	tcase_add_test(tc, test_plots_drawn);
	tcase_add_test(tc, test_scripts_run_from_elsewhere);
	tcase_add_test(tc, test_markdown);
	tcase_add_test(tc, test_html_self_contained);
	tcase_add_test(tc, test_default_selects_latest_complete);
	tcase_add_test(tc, test_select_run);
	tcase_add_test(tc, test_select_scenario);
	tcase_add_test(tc, test_unknown_run_or_scenario);
	tcase_add_test(tc, test_missing_or_foreign_db);
	tcase_add_test(tc, test_unwritable_dir);
	tcase_add_test(tc, test_usage);
	tcase_add_test(tc, test_no_gnuplot);
	tcase_add_test(tc, test_builtin_templates_used);
	tcase_add_test(tc, test_sweep_data);
	tcase_add_test(tc, test_sweep_tables);
	tcase_add_test(tc, test_sweep_plots_drawn);
	tcase_add_test(tc, test_sweep_latest_two_keys);
	tcase_add_test(tc, test_sweep_unknown);
	tcase_add_test(tc, test_sweep_latest_none);
	tcase_add_test(tc, test_sweep_no_gnuplot);
	suite_add_tcase(s, tc);
	tcase_add_test(pure, test_builtin_templates_match_files);
	tcase_add_test(pure, test_base64);
	suite_add_tcase(s, pure);
	return s;
}
