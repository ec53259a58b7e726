/*
 * check_merge.c: combining results databases (sim/merge.c). Two databases written through the
 * store API (complete runs, a check run with its trails, a run left 'running') merged into a
 * third: every row of every table there exactly once, values equal; merging again adds nothing,
 * and merging the result into a fresh database reproduces it. Inputs whose arms have the same
 * keys (arm_key) keep their series and timeline apart. Inputs at older schemas (1 to 4) merge
 * through a migrated copy and stay byte-for-byte as they were; a killed writer's run is
 * copied and counted as incomplete; columns in another order copy by name. Bad inputs (missing,
 * not a database, a newer schema, the output itself) are refused with the output untouched; a
 * failure half-way keeps the inputs before it and nothing of the failing one; a locked output is
 * an I/O error. bin/sim merge's exit codes and messages through merge_main.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "merge.h"
#include "record.h"
#include "store.h"
#include "schema_v4.h"
#include "sqlutil.h"
#include "testutil.h"
#include "util.h"

/* ---- fixture: a fresh directory per test -------------------------------------------------- */

static char g_dir[256];
static char g_a[300], g_b[300], g_out[300], g_out2[300];

static void setup(void)
{
	snprintf(g_dir, sizeof(g_dir), "/tmp/vtsim-merge-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(g_dir));
	snprintf(g_a, sizeof(g_a), "%s/a.db", g_dir);
	snprintf(g_b, sizeof(g_b), "%s/b.db", g_dir);
	snprintf(g_out, sizeof(g_out), "%s/out.db", g_dir);
	snprintf(g_out2, sizeof(g_out2), "%s/out2.db", g_dir);
}

static void teardown(void)
{
	tu_remove_dir(g_dir);
	unsetenv("VTSIM_DB_BUSY_MS");
}

/* A path in the test directory. */
static const char *in_dir(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", g_dir, name);
	return buf;
}

/* ---- plain SQL -------------------------------------------------------------------------- */

static sqlite3 *raw_open(const char *path)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);

	ck_assert_msg(rc == SQLITE_OK, "open %s: %s", path, db ? sqlite3_errmsg(db) : "?");
	return db;
}


static void assert_integrity(const char *path)
{
	sqlite3 *db = raw_open(path);
	char buf[256];

	ck_assert_str_eq(qs(db, buf, sizeof(buf), "PRAGMA integrity_check"), "ok");
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
	sqlite3_close(db);
}

/* A whole file (malloc'd), for byte-for-byte comparisons. */
static char *slurp(const char *path, size_t *len)
{
	char *p = util_slurp(path, len);

	ck_assert_msg(p != NULL, "%s: %s", path, strerror(errno));
	return p;
}

/* The file at path has exactly these bytes. */
static void assert_bytes(const char *path, const char *want, size_t want_len)
{
	size_t len;
	char *have = slurp(path, &len);

	ck_assert_msg(len == want_len && memcmp(have, want, len) == 0,
		      "%s changed (%zu bytes, was %zu)", path, len, want_len);
	free(have);
}

static bool exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

/* No temporary copy ("OUT.merge-XXXXXX", with or without -wal/-shm) left in the directory. */
static void assert_no_copies(void)
{
	DIR *d = opendir(g_dir);
	struct dirent *e;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		ck_assert_msg(!strstr(e->d_name, ".merge-"), "left behind: %s", e->d_name);
	closedir(d);
}

/* ---- the runs ----------------------------------------------------------------------------- */

static const char MT_SCN[] =
	"name = \"merge-t\"\n"
	"duration = 1s\n"
	"host.cpus = 2\n"
	"vm.vcpus = 2\n"
	"arm a { policy = gtsc-resume; page = none; reader = tsc; reader.freq = 2.4GHz }\n"
	"arm b { policy = tsc-offset; page = hv-tsc-page; page.masterclock = on;"
	" reader = hyperv-tsc }\n"
	"expect a.warps == 0\n"
	"expect b.warps > 5\n";

#define MT_ARMS 2
#define MT_DRIFT_PPB (-16521115)

/* One measured run's results: two arms (b with its page's facts), arm a recorded (3 series rows,
 * 2 violations, 2 timeline events), two expectations of which one failed. */
struct mt {
	struct tu_run tu;
	struct arm_result ar[MT_ARMS];
	struct expect_result ex[2];
	struct results res;
	struct series_row series[3];
	struct violation viol[2];
	struct timeline_event tl[2];
	struct recording rec;
	const struct recording *recs[MT_ARMS];
	unsigned nfacts;
};

static struct mt *mt_new(void)
{
	struct mt *t = calloc(1, sizeof(*t));

	ck_assert_ptr_nonnull(t);
	ck_assert_msg(tu_build(&t->tu, MT_SCN) == VT_OK, "%s", t->tu.err.msg);
	ck_assert_uint_eq(t->tu.cfg.narms, MT_ARMS);
	for (unsigned i = 0; i < MT_ARMS; i++) {
		struct arm_result *a = &t->ar[i];

		a->arm = &t->tu.cfg.arms[i];
		a->host.tsc_stable = i == 1;
		a->host.cs = i == 0 ? CS_HPET : CS_TSC;
		a->host.tsc_khz = 2400000 + i;
		for (int m = 0; m < M_COUNT; m++)
			a->m[m] = (int64_t)(i + 1) * 1000003 + m * 7;
		a->m[M_DRIFT_PPM] = i == 0 ? MT_DRIFT_PPB : 250;
	}
	t->ar[1].fact = t->tu.cfg.arms[1].page->facts;
	for (t->nfacts = 0; t->ar[1].fact[t->nfacts].name; t->nfacts++)
		t->ar[1].fact_value[t->nfacts] = 40 + t->nfacts;
	t->ar[1].nfacts = t->nfacts;
	ck_assert_uint_gt(t->nfacts, 0);

	t->ex[0] = (struct expect_result){ &t->tu.cfg.expect[0], 0, 0, true, false };
	t->ex[1] = (struct expect_result){ &t->tu.cfg.expect[1], 2, 5, false, false };
	/* Not in index order (vCPU 1 first): the merge must keep the order written. */
	t->series[0] = (struct series_row){ 1, 10000050, 9999000, -1050 };
	t->series[1] = (struct series_row){ 0, 10000000, 10000003, 3 };
	/* A guest clock above 2^63 ns: the same bits must come through. */
	t->series[2] = (struct series_row){ 1, 30000000, 0x8000000000000005ULL, INT64_MIN + 5 };
	t->viol[0] = (struct violation){ VIOL_WARP, 12000000, 0, 1, 1, 12000500, 12000100, "lock" };
	t->viol[1] = (struct violation){ VIOL_BACKSTEP, 15000000, 1, 1, -1, 15000200, 15000100,
					 NULL };
	t->tl[0] = (struct timeline_event){ TL_MIGRATION, 1000, 5000, 0, 0, 1 };
	t->tl[1] = (struct timeline_event){ TL_PAUSE, 500000000, 100000000, -1, -1, -1 };
	t->rec = (struct recording){ .series_interval = 10000000, .series = t->series,
				     .nseries = 3, .cap_series = 3, .viol = t->viol, .nviol = 2,
				     .viol_dropped = 7, .tl = t->tl, .ntl = 2, .tl_dropped = 3 };
	t->recs[0] = &t->rec;
	t->recs[1] = NULL;
	t->res = (struct results){ &t->tu.cfg, MT_ARMS, t->ar, 2, t->ex, 1 };
	return t;
}

static void mt_free(struct mt *t)
{
	tu_free(&t->tu);
	free(t);
}

/* The run row: a sweep's point, seed distinct per run. */
static struct run_info mt_info(uint64_t seed)
{
	return (struct run_info){ "merge-t", "scenarios/merge-t.scn", MT_SCN, seed, "", "",
				  1000000000, "sweep-7", "seed=1" };
}

/* A check run's row and its two verdicts (arm a violated with its trail, arm b holds). */
static const struct run_info CT_RUN = { "merge-chk", "scenarios/merge-chk.scn", "name = chk\n",
					11, "check.schedules=1000", "", 0, NULL, NULL };
static const char CT_TRAIL[] =
	"vtsim-trail 1\nscenario merge-chk\narm a\nseed 11\nstrategy dfs\nproperty monotonic\n"
	"choices 4 3 0 1 2\ntext\nname = chk\n";

static void ct_rows(struct trail_row rows[2])
{
	rows[0] = (struct trail_row){
		.arm = "a", .ord = 0, .policy = "tsc-offset", .page = "kvmclock",
		.reader = "kvmclock", .property = "monotonic", .violated = true,
		.expected_violation = true, .strategy = "dfs", .schedules = 5000000007ULL,
		.exhausted = true, .shrink_runs = 17, .message = "vCPU 1 read 5 ns early",
		.choices = "3 0 1 2", .trail = CT_TRAIL,
	};
	rows[1] = (struct trail_row){
		.arm = "b", .ord = 2, .policy = "gtsc-resume", .page = "none", .reader = "tsc",
		.violated = false, .expected_violation = true, .strategy = "pct",
		.schedules = 1000,
	};
}

static struct store *open_ok(const char *path)
{
	struct store *s = NULL;
	char err[512] = "";

	ck_assert_msg(store_open(&s, path, err, sizeof(err)) == VT_OK, "store_open: %s", err);
	return s;
}

static void begin_ok(struct store *s, const struct run_info *ri, char id[33])
{
	char err[512] = "";

	ck_assert_msg(store_begin_run(s, ri, id, err, sizeof(err)) == VT_OK, "begin: %s", err);
}

/* A complete measured run. */
static void put_run(struct store *s, const struct mt *t, uint64_t seed, char id[33])
{
	struct run_info ri = mt_info(seed);
	char err[512] = "";

	begin_ok(s, &ri, id);
	ck_assert_msg(store_finish_run(s, id, &t->res, t->recs, err, sizeof(err)) == VT_OK,
		      "finish: %s", err);
}

/* A complete check run. */
static void put_check(struct store *s, char id[33])
{
	struct trail_row rows[2];
	char err[512] = "";

	begin_ok(s, &CT_RUN, id);
	ct_rows(rows);
	ck_assert_msg(store_finish_check(s, id, rows, 2, 0, err, sizeof(err)) == VT_OK,
		      "finish_check: %s", err);
}

/* The run ids the two databases hold. */
struct ids {
	char run1[33], run2[33], check[33];   /* in A */
	char run3[33], running[33];           /* in B */
};

/* A: two complete runs and a check run. */
static void build_a(const char *path, const struct mt *t, struct ids *ids)
{
	struct store *s = open_ok(path);

	put_run(s, t, 1, ids->run1);
	put_run(s, t, 2, ids->run2);
	put_check(s, ids->check);
	store_close(s);
}

/* B: a complete run and a run begun and never finished. */
static void build_b(const char *path, const struct mt *t, struct ids *ids)
{
	struct store *s = open_ok(path);
	struct run_info ri = mt_info(3);

	put_run(s, t, 3, ids->run3);
	begin_ok(s, &ri, ids->running);
	store_close(s);
}

/* The tables holding rows of runs: series and timeline through their views (series_rows and
 * timeline_rows with run_id and arm in place of arm_key). */
static const char *const TABLES[] = { "runs", "arms", "metrics", "series", "violations",
				      "timeline", "expectations", "trails" };
#define NTABLES VT_ARRAY_SIZE(TABLES)

/* Rows per table of A + B: 3 measured runs (one per complete run of A and B), a check run, a
 * running run. */
static void expected_rows(const struct mt *t, int64_t want[NTABLES])
{
	const int64_t measured = 3;

	want[0] = 5;                                                  /* runs */
	want[1] = measured * MT_ARMS;                                 /* arms */
	want[2] = measured * (MT_ARMS * M_COUNT + t->nfacts);         /* metrics */
	want[3] = measured * 3;                                       /* series */
	want[4] = measured * (2 + 1);           /* violations: 2 + the failed expectation */
	want[5] = measured * 2;                                       /* timeline */
	want[6] = measured * 2;                                       /* expectations */
	want[7] = 2;                                                  /* trails */
}

static int64_t table_rows(const char *path, const char *table)
{
	sqlite3 *db = raw_open(path);
	int64_t n = qi(db, "SELECT count(*) FROM \"%w\"", table);

	sqlite3_close(db);
	return n;
}

/*
 * The groups of rows (all of `table`'s columns, with their multiplicity) in which the tables of
 * the databases `left` (UNION ALL of them) and `right` differ, counted both ways: 0 when every
 * row is present as often on each side. Columns are named from right's table (so that a
 * different column order in an input is compared by name). arm_key is left out: each database
 * numbers its arms itself (the rows keyed by it compare through the views series and timeline,
 * by run_id and arm).
 */
static int64_t multiset_diff(const char *table, const char *const *left, unsigned nleft,
			     const char *right)
{
	sqlite3 *db = raw_open(":memory:");
	sqlite3_str *cols = sqlite3_str_new(db), *l = sqlite3_str_new(db);
	sqlite3_stmt *st;
	char *c, *u;
	int64_t n;
	unsigned k = 0;

	raw_execf(db, "ATTACH %Q AS r", right);
	for (unsigned i = 0; i < nleft; i++)
		raw_execf(db, "ATTACH %Q AS l%u", left[i], i);
	st = qrows(db, "SELECT name FROM pragma_table_info(%Q, 'r') ORDER BY cid", table);
	while (sqlite3_step(st) == SQLITE_ROW)
		if (strcmp(col_text(st, 0), "arm_key") != 0)
			sqlite3_str_appendf(cols, "%s\"%w\"", k++ ? ", " : "", col_text(st, 0));
	sqlite3_finalize(st);
	ck_assert_uint_gt(k, 0);
	c = sqlite3_str_finish(cols);
	for (unsigned i = 0; i < nleft; i++)
		sqlite3_str_appendf(l, "%sSELECT %s FROM l%u.\"%w\"", i ? " UNION ALL " : "", c, i,
				    table);
	u = sqlite3_str_finish(l);
	n = qi(db, "SELECT (SELECT count(*) FROM (SELECT %s, count(*) FROM (%s) GROUP BY %s"
		   " EXCEPT SELECT %s, count(*) FROM r.\"%w\" GROUP BY %s))"
		   " + (SELECT count(*) FROM (SELECT %s, count(*) FROM r.\"%w\" GROUP BY %s"
		   " EXCEPT SELECT %s, count(*) FROM (%s) GROUP BY %s))",
	       c, u, c, c, table, c, c, table, c, c, u, c);
	sqlite3_free(c);
	sqlite3_free(u);
	sqlite3_close(db);
	return n;
}

/* The tables keyed by arm_key: the views show only their rows that have an arm. */
static const char *const KEYED[] = { "series_rows", "timeline_rows" };

/* Every table of `right` holds exactly the rows of the `left` databases. */
static void assert_same_rows(const char *const *left, unsigned nleft, const char *right)
{
	for (size_t i = 0; i < VT_ARRAY_SIZE(KEYED); i++) {
		int64_t sum = 0;

		for (unsigned k = 0; k < nleft; k++)
			sum += table_rows(left[k], KEYED[i]);
		ck_assert_msg(table_rows(right, KEYED[i]) == sum, "%s: %lld rows, inputs %lld",
			      KEYED[i], (long long)table_rows(right, KEYED[i]), (long long)sum);
	}
	for (size_t i = 0; i < NTABLES; i++) {
		int64_t sum = 0;

		for (unsigned k = 0; k < nleft; k++)
			sum += table_rows(left[k], TABLES[i]);
		ck_assert_msg(table_rows(right, TABLES[i]) == sum, "%s: %lld rows, inputs %lld",
			      TABLES[i], (long long)table_rows(right, TABLES[i]), (long long)sum);
		ck_assert_msg(multiset_diff(TABLES[i], left, nleft, right) == 0,
			      "%s: rows differ", TABLES[i]);
	}
}

static int merge_ok(const char *out, const char *const *in, unsigned nin, struct merge_stats *st)
{
	char err[1024] = "";
	int rc = merge_databases(out, in, nin, st, err, sizeof(err));

	ck_assert_msg(rc == VT_OK, "merge: %s", err);
	return rc;
}

static void assert_stats(const struct merge_stats *st, unsigned inputs, uint64_t added,
			 uint64_t skipped, uint64_t incomplete)
{
	ck_assert_uint_eq(st->inputs, inputs);
	ck_assert_uint_eq(st->runs_added, added);
	ck_assert_uint_eq(st->runs_skipped, skipped);
	ck_assert_uint_eq(st->runs_incomplete, incomplete);
}

/* ---- merging -------------------------------------------------------------------------------- */

/* A and B into a new OUT: every row once, values as written, the views over the merged rows. */
START_TEST(test_two_inputs)
{
	struct mt *t = mt_new();
	struct ids ids;
	struct merge_stats st;
	const char *in[] = { g_a, g_b };
	int64_t want[NTABLES];
	char buf[256], order[200];
	sqlite3_stmt *q;
	sqlite3 *db;

	build_a(g_a, t, &ids);
	build_b(g_b, t, &ids);
	ck_assert(!exists(g_out));
	merge_ok(g_out, in, 2, &st);
	assert_stats(&st, 2, 5, 0, 1);

	expected_rows(t, want);
	for (size_t i = 0; i < NTABLES; i++) {
		ck_assert_int_eq(table_rows(g_a, TABLES[i]) + table_rows(g_b, TABLES[i]), want[i]);
		ck_assert_int_eq(table_rows(g_out, TABLES[i]), want[i]);
	}
	assert_same_rows(in, 2, g_out);
	assert_integrity(g_out);

	db = raw_open(g_out);
	ck_assert_int_eq(qi(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	/* A metrics row: drift_ppm stays a REAL, exact. */
	q = qrows(db, "SELECT value, typeof(value), unit FROM metrics WHERE run_id = %Q"
		      " AND arm = 'a' AND metric = 'drift_ppm'", ids.run3);
	ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
	ck_assert(sqlite3_column_double(q, 0) == (double)MT_DRIFT_PPB / 1000.0);
	ck_assert_str_eq(col_text(q, 1), "real");
	ck_assert_str_eq(col_text(q, 2), "ppm");
	sqlite3_finalize(q);
	/* A series row above 2^63 ns: the same bits. */
	ck_assert_uint_eq((uint64_t)qi(db, "SELECT guest_ns FROM series WHERE run_id = %Q"
				       " AND t_ns = 30000000", ids.run1), 0x8000000000000005ULL);
	/* A trails row, every column. */
	q = qrows(db, "SELECT ord, policy, page, reader, property, verdict, expected, strategy,"
		      " schedules, exhausted, shrink_runs, message, choices, trail FROM trails"
		      " WHERE run_id = %Q AND arm = 'a'", ids.check);
	ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int64(q, 0), 0);
	ck_assert_str_eq(col_text(q, 1), "tsc-offset");
	ck_assert_str_eq(col_text(q, 2), "kvmclock");
	ck_assert_str_eq(col_text(q, 3), "kvmclock");
	ck_assert_str_eq(col_text(q, 4), "monotonic");
	ck_assert_str_eq(col_text(q, 5), "violated");
	ck_assert_str_eq(col_text(q, 6), "violated");
	ck_assert_str_eq(col_text(q, 7), "dfs");
	ck_assert_int_eq(sqlite3_column_int64(q, 8), 5000000007LL);
	ck_assert_int_eq(sqlite3_column_int64(q, 9), 1);
	ck_assert_int_eq(sqlite3_column_int64(q, 10), 17);
	ck_assert_str_eq(col_text(q, 11), "vCPU 1 read 5 ns early");
	ck_assert_str_eq(col_text(q, 12), "3 0 1 2");
	ck_assert_str_eq(col_text(q, 13), CT_TRAIL);
	sqlite3_finalize(q);
	/* The run rows as written: the sweep columns, and the running run still running. */
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT sweep_id || ' ' || sweep_point FROM runs"
			    " WHERE run_id = %Q", ids.run2), "sweep-7 seed=1");
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT status FROM runs WHERE run_id = %Q",
			    ids.running), "running");
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT group_concat(run_id) FROM"
			    " incomplete_runs"), ids.running);
	/* Rows keep the inputs' order (rowid, which breaks latest_runs' ties): A's runs, then B's,
	 * each run's series as written (seq: the view has no rowid). */
	snprintf(order, sizeof(order), "%s %s %s %s %s", ids.run1, ids.run2, ids.check, ids.run3,
		 ids.running);
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT group_concat(run_id, ' ') FROM"
			    " (SELECT run_id FROM runs ORDER BY rowid)"), order);
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT group_concat(vcpu || ':' || t_ns, ' ')"
			    " FROM (SELECT vcpu, t_ns FROM series WHERE run_id = %Q ORDER BY seq)",
			    ids.run2), "1:10000050 0:10000000 1:30000000");
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT group_concat(seq, ' ') FROM"
			    " (SELECT seq FROM series WHERE run_id = %Q ORDER BY seq)", ids.run2),
			 "0 1 2");
	/* The views read the merged rows. */
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM metrics_wide"), 3 * MT_ARMS);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM check_verdicts"), 2);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM latest_runs"), 2);
	sqlite3_close(db);
	mt_free(t);
}
END_TEST

/* Merging what is already there adds nothing; merging OUT into a fresh OUT2 reproduces it; a
 * partial overlap adds only what is new. */
START_TEST(test_again_and_remerge)
{
	struct mt *t = mt_new();
	struct ids ids;
	struct merge_stats st;
	const char *ab[] = { g_a, g_b }, *a[] = { g_a }, *ba[] = { g_b, g_a }, *o[] = { g_out };
	char out3[400];
	int64_t before[NTABLES];

	build_a(g_a, t, &ids);
	build_b(g_b, t, &ids);
	merge_ok(g_out, ab, 2, &st);
	assert_stats(&st, 2, 5, 0, 1);
	for (size_t i = 0; i < NTABLES; i++)
		before[i] = table_rows(g_out, TABLES[i]);

	merge_ok(g_out, a, 1, &st);
	assert_stats(&st, 1, 0, 3, 0);
	merge_ok(g_out, ab, 2, &st);
	assert_stats(&st, 2, 0, 5, 0);
	/* The same input twice in one merge: the second adds nothing. */
	merge_ok(g_out, (const char *[]){ g_b, g_b }, 2, &st);
	assert_stats(&st, 2, 0, 4, 0);
	for (size_t i = 0; i < NTABLES; i++)
		ck_assert_int_eq(table_rows(g_out, TABLES[i]), before[i]);
	assert_same_rows(ab, 2, g_out);

	merge_ok(g_out2, o, 1, &st);
	assert_stats(&st, 1, 5, 0, 1);
	assert_same_rows(o, 1, g_out2);
	assert_integrity(g_out2);

	in_dir(out3, sizeof(out3), "out3.db");
	merge_ok(out3, a, 1, &st);
	assert_stats(&st, 1, 3, 0, 0);
	merge_ok(out3, ba, 2, &st);
	assert_stats(&st, 2, 2, 3, 1);
	assert_same_rows(ab, 2, out3);
	assert_integrity(out3);
	mt_free(t);
}
END_TEST

/* ---- arm keys ----------------------------------------------------------------------------- */

/* A recording whose every value carries `salt`: n series rows and n timeline events, in an order
 * that is neither their time order nor its reverse (n > 2), so that the rows of different arms
 * and runs differ, and a reordering shows. */
struct salted {
	struct series_row series[4];
	struct timeline_event tl[4];
	struct recording rec;
};

static void salted_rec(struct salted *r, int64_t salt, unsigned n)
{
	static const enum timeline_kind kinds[] = { TL_MIGRATION, TL_STALL, TL_IO_EXIT, TL_PAUSE };
	static const int64_t step[] = { 3, 1, 4, 2 };

	ck_assert_uint_le(n, 4);
	for (unsigned i = 0; i < n; i++) {
		sim_ns t_ns = (sim_ns)(salt * 1000000 + step[i] * 1000);

		r->series[i] = (struct series_row){ i % 2, t_ns, t_ns + (uint64_t)salt,
						    salt * 10 + i };
		r->tl[i] = (struct timeline_event){ kinds[i], t_ns, (sim_ns)(salt * 100 + i),
						    (int32_t)(i % 2), i == 0 ? 0 : -1, i == 0 ? 1 : -1 };
	}
	r->rec = (struct recording){ .series_interval = 1000000, .series = r->series,
				     .nseries = n, .cap_series = n, .tl = r->tl, .ntl = n };
}

/* An id as stored: NULL for none (-1). */
static void id_text(sqlite3_str *s, int32_t id)
{
	if (id < 0)
		sqlite3_str_appendall(s, " <null>");
	else
		sqlite3_str_appendf(s, " %d", id);
}

/* The rows of a salted recording as keyed_text reads them, seq being the row's index. */
static char *salted_text(const struct salted *r)
{
	sqlite3_str *s = sqlite3_str_new(NULL);

	for (uint32_t i = 0; i < r->rec.nseries; i++) {
		const struct series_row *x = &r->series[i];

		sqlite3_str_appendf(s, "series %u %u %lld %lld %lld\n", i, x->vcpu,
				    (long long)x->t_ns, (long long)x->guest_ns,
				    (long long)x->error_ns);
	}
	for (uint32_t i = 0; i < r->rec.ntl; i++) {
		const struct timeline_event *e = &r->tl[i];

		sqlite3_str_appendf(s, "timeline %u %s %lld %lld", i, timeline_kind_name(e->kind),
				    (long long)e->t_ns, (long long)e->length_ns);
		id_text(s, e->vcpu);
		id_text(s, e->from_cpu);
		id_text(s, e->to_cpu);
		sqlite3_str_appendall(s, "\n");
	}
	return sqlite3_str_finish(s);
}

/* The series and timeline rows of (run, arm) in the database at path, through the views, in seq
 * order, as text. */
static char *keyed_text(const char *path, const char *run, const char *arm)
{
	sqlite3 *db = raw_open(path);
	sqlite3_str *s = sqlite3_str_new(NULL);
	sqlite3_stmt *q;
	char *text;

	q = qrows(db, "SELECT seq, vcpu, t_ns, guest_ns, error_ns FROM series WHERE run_id = %Q"
		      " AND arm = %Q ORDER BY seq", run, arm);
	while (sqlite3_step(q) == SQLITE_ROW)
		sqlite3_str_appendf(s, "series %s %s %s %s %s\n", col_text(q, 0), col_text(q, 1),
				    col_text(q, 2), col_text(q, 3), col_text(q, 4));
	sqlite3_finalize(q);
	q = qrows(db, "SELECT seq, kind, t_ns, length_ns, vcpu, from_cpu, to_cpu FROM timeline"
		      " WHERE run_id = %Q AND arm = %Q ORDER BY seq", run, arm);
	while (sqlite3_step(q) == SQLITE_ROW)
		sqlite3_str_appendf(s, "timeline %s %s %s %s %s %s %s\n", col_text(q, 0),
				    col_text(q, 1), col_text(q, 2), col_text(q, 3), col_text(q, 4),
				    col_text(q, 5), col_text(q, 6));
	sqlite3_finalize(q);
	sqlite3_close(db);
	text = sqlite3_str_finish(s);
	return text ? text : sqlite3_mprintf("%s", "");
}

/*
 * Two inputs whose arms have the same keys (each a fresh database with one run: arm_key 1 for
 * arm a, 2 for b, in both) merge, in either order, into one output where the keys are unique and
 * each run's series and timeline, read through the views by run and arm, are exactly its
 * input's and what was recorded: the same rows, in the same order, with the same seq, and none
 * attached to the other run's arm. Every arm is recorded with rows of its own (their values and
 * counts differ), so that a row mapped by the input's key instead of its arm would show.
 */
START_TEST(test_same_arm_keys)
{
	static const unsigned nrows[2][MT_ARMS] = { { 4, 3 }, { 2, 4 } };
	struct mt *t = mt_new();
	struct salted rec[2][MT_ARMS];
	const char *in[] = { g_a, g_b };
	char id[2][33], buf[256];
	struct merge_stats st;
	sqlite3 *db;

	for (unsigned d = 0; d < 2; d++) {
		struct store *s = open_ok(in[d]);

		for (unsigned a = 0; a < MT_ARMS; a++) {
			salted_rec(&rec[d][a], 1 + d * MT_ARMS + a, nrows[d][a]);
			t->recs[a] = &rec[d][a].rec;
		}
		put_run(s, t, 1 + d, id[d]);
		store_close(s);
		db = raw_open(in[d]);
		ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT group_concat(arm_key || ':' || arm,"
				    " ' ') FROM (SELECT arm_key, arm FROM arms ORDER BY arm_key)"),
				 "1:a 2:b");
		sqlite3_close(db);
	}

	for (unsigned order = 0; order < 2; order++) {
		const char *out = order == 0 ? g_out : g_out2;
		const char *ordered[] = { in[order], in[1 - order] };

		merge_ok(out, ordered, 2, &st);
		assert_stats(&st, 2, 2, 0, 0);
		assert_same_rows(in, 2, out);
		assert_integrity(out);

		db = raw_open(out);
		ck_assert_int_eq(qi(db, "SELECT count(*) FROM arms"), 2 * MT_ARMS);
		ck_assert_int_eq(qi(db, "SELECT count(DISTINCT arm_key) FROM arms"), 2 * MT_ARMS);
		/* The input merged second kept none of its keys: the output gave its arms new ones. */
		ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT group_concat(arm_key, ' ') FROM"
				    " (SELECT arm_key FROM arms WHERE run_id = %Q ORDER BY ord)",
				    id[order]), "1 2");
		ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT group_concat(arm_key, ' ') FROM"
				    " (SELECT arm_key FROM arms WHERE run_id = %Q ORDER BY ord)",
				    id[1 - order]), "3 4");
		for (unsigned d = 0; d < 2; d++) {
			unsigned n = nrows[d][0] + nrows[d][1];

			ck_assert_int_eq(qi(db, "SELECT count(*) FROM series WHERE run_id = %Q", id[d]),
					 n);
			ck_assert_int_eq(qi(db, "SELECT count(*) FROM timeline WHERE run_id = %Q",
					    id[d]), n);
		}
		sqlite3_close(db);

		for (unsigned d = 0; d < 2; d++)
			for (unsigned a = 0; a < MT_ARMS; a++) {
				const char *arm = t->tu.cfg.arms[a].name;
				char *want = salted_text(&rec[d][a]);
				char *have_in = keyed_text(in[d], id[d], arm);
				char *have_out = keyed_text(out, id[d], arm);

				ck_assert_str_eq(have_in, want);
				ck_assert_msg(strcmp(have_out, want) == 0, "run %u arm %s:\n%s\nwant\n%s",
					      d, arm, have_out, want);
				sqlite3_free(want);
				sqlite3_free(have_in);
				sqlite3_free(have_out);
			}
	}
	mt_free(t);
}
END_TEST

/* ---- older schemas ---------------------------------------------------------------------------- */


/* Makes a current database a version 3 one: no runs.sweep_id, runs.sweep_point. */
static void downgrade_to_v3(sqlite3 *db)
{
	sv4_downgrade(db);
	raw_exec(db, "DROP INDEX runs_by_sweep; ALTER TABLE runs DROP COLUMN sweep_point; "
		     "ALTER TABLE runs DROP COLUMN sweep_id; PRAGMA user_version = 3");
}

/* Version 2: no trails, no check_verdicts. */
static void downgrade_to_v2(sqlite3 *db)
{
	downgrade_to_v3(db);
	raw_exec(db, "DROP VIEW check_verdicts; DROP TABLE trails; PRAGMA user_version = 2");
}

/* Version 1: no arms.migration either. */
static void downgrade_to_v1(sqlite3 *db)
{
	downgrade_to_v2(db);
	raw_exec(db, "DROP VIEW metrics_wide; ALTER TABLE arms DROP COLUMN migration; "
		     "PRAGMA user_version = 1");
}

/*
 * A at schema version _i (1 to 4) merges through a migrated copy: every run and row arrives
 * (each run's series and timeline in the order written), the columns the old schema lacks are
 * NULL, and A is byte-for-byte as it was, still at its old version, with no copy left behind.
 */
START_TEST(test_old_schema)
{
	const int version = _i;
	struct mt *t = mt_new();
	struct ids ids;
	struct merge_stats st;
	const char *a[] = { g_a };
	int64_t want[NTABLES];
	char *bytes, wal[400], buf[256];
	size_t len;
	sqlite3 *db;

	build_a(g_a, t, &ids);
	ck_assert_int_lt(version, STORE_SCHEMA_VERSION);
	db = raw_open(g_a);
	if (version == 4)
		sv4_downgrade(db);
	else if (version == 3)
		downgrade_to_v3(db);
	else if (version == 2)
		downgrade_to_v2(db);
	else
		downgrade_to_v1(db);
	ck_assert_int_eq(qi(db, "PRAGMA user_version"), version);
	sqlite3_close(db);
	snprintf(wal, sizeof(wal), "%s-wal", g_a);
	ck_assert(!exists(wal)); /* closed last: everything is in the main file */
	bytes = slurp(g_a, &len);

	merge_ok(g_out, a, 1, &st);
	assert_stats(&st, 1, 3, 0, 0);
	assert_bytes(g_a, bytes, len);
	assert_no_copies();
	/* Merging it again reads it again, through a new copy. */
	merge_ok(g_out, a, 1, &st);
	assert_stats(&st, 1, 0, 3, 0);
	assert_bytes(g_a, bytes, len);
	assert_no_copies();
	free(bytes);

	expected_rows(t, want);
	db = raw_open(g_out);
	ck_assert_int_eq(qi(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM runs"), 3);
	/* The sweep columns exist from version 4 on (the check run is no sweep's). */
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM runs WHERE sweep_id IS NULL"
			     " AND sweep_point IS NULL"), version >= 4 ? 1 : 3);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM runs WHERE sweep_id = 'sweep-7'"
			     " AND sweep_point = 'seed=1'"), version >= 4 ? 2 : 0);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM arms"), 2 * MT_ARMS);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM arms WHERE migration IS NULL"), 2 * MT_ARMS);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM metrics"), want[2] / 3 * 2);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM series"), want[3] / 3 * 2);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM violations"), want[4] / 3 * 2);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM timeline"), want[5] / 3 * 2);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM expectations"), want[6] / 3 * 2);
	/* The check run's verdicts exist from version 3 on. */
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM trails WHERE run_id = %Q", ids.check),
			 version >= 3 ? 2 : 0);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM runs WHERE run_id IN (%Q, %Q, %Q)", ids.run1,
			    ids.run2, ids.check), 3);
	/* Each run's rows in the order written (not the old index's order), seq from 0. */
	for (int r = 0; r < 2; r++) {
		const char *id = r == 0 ? ids.run1 : ids.run2;

		ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT group_concat(seq || ':' || vcpu"
				    " || ':' || t_ns, ' ') FROM (SELECT seq, vcpu, t_ns FROM series"
				    " WHERE run_id = %Q AND arm = 'a' ORDER BY seq)", id),
				 "0:1:10000050 1:0:10000000 2:1:30000000");
		ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT group_concat(seq || ':' || kind,"
				    " ' ') FROM (SELECT seq, kind FROM timeline WHERE run_id = %Q"
				    " AND arm = 'a' ORDER BY seq)", id), "0:migration 1:pause");
	}
	sqlite3_close(db);
	assert_integrity(g_out);

	/* The input is still at its old version (read only now that the bytes were compared). */
	db = raw_open(g_a);
	ck_assert_int_eq(qi(db, "PRAGMA user_version"), version);
	sqlite3_close(db);
	mt_free(t);
}
END_TEST

/* An input whose metrics table has its columns in reverse order: copied by name. */
START_TEST(test_column_order)
{
	struct mt *t = mt_new();
	struct ids ids;
	struct merge_stats st;
	const char *ab[] = { g_a, g_b };
	sqlite3_stmt *q;
	sqlite3 *db;

	build_a(g_a, t, &ids);
	build_b(g_b, t, &ids);
	db = raw_open(g_b);
	raw_exec(db, "PRAGMA legacy_alter_table = ON; BEGIN;"
		     " CREATE TABLE metrics_rev (unit TEXT NOT NULL, value, metric TEXT NOT NULL,"
		     " arm TEXT NOT NULL, run_id TEXT NOT NULL, PRIMARY KEY (run_id, arm, metric),"
		     " FOREIGN KEY (run_id, arm) REFERENCES arms (run_id, arm) ON DELETE CASCADE);"
		     " INSERT INTO metrics_rev (unit, value, metric, arm, run_id)"
		     " SELECT unit, value, metric, arm, run_id FROM metrics ORDER BY rowid;"
		     " DROP TABLE metrics; ALTER TABLE metrics_rev RENAME TO metrics; COMMIT");
	q = qrows(db, "SELECT group_concat(name, ' ') FROM pragma_table_info('metrics')");
	ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
	ck_assert_str_eq(col_text(q, 0), "unit value metric arm run_id");
	sqlite3_finalize(q);
	sqlite3_close(db);

	merge_ok(g_out, ab, 2, &st);
	assert_stats(&st, 2, 5, 0, 1);
	assert_same_rows(ab, 2, g_out);
	db = raw_open(g_out);
	q = qrows(db, "SELECT value, typeof(value), unit FROM metrics WHERE run_id = %Q"
		      " AND arm = 'a' AND metric = 'drift_ppm'", ids.run3);
	ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
	ck_assert(sqlite3_column_double(q, 0) == (double)MT_DRIFT_PPB / 1000.0);
	ck_assert_str_eq(col_text(q, 1), "real");
	ck_assert_str_eq(col_text(q, 2), "ppm");
	sqlite3_finalize(q);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM metrics WHERE unit = 'fact' AND run_id = %Q",
			    ids.run3), t->nfacts);
	sqlite3_close(db);
	assert_integrity(g_out);
	mt_free(t);
}
END_TEST

/* ---- a killed writer ---------------------------------------------------------------------- */

/* Reads exactly n bytes (false at EOF). */
static bool read_full(int fd, char *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

/*
 * A writer killed (SIGKILL) after its run row: the row is committed in the input's write-ahead
 * log only. The merge reads it from there, copies it 'running', counts it incomplete, and
 * neither the input nor its log change.
 */
START_TEST(test_killed_writer)
{
	struct mt *t = mt_new();
	struct merge_stats st;
	const char *a[] = { g_a };
	char done[33], killed[33] = "", wal[400], buf[64];
	char *bytes, *wal_bytes;
	size_t len, wal_len;
	struct store *s;
	int p[2], status;
	sqlite3 *db;
	pid_t pid;

	s = open_ok(g_a);
	put_run(s, t, 1, done);
	store_close(s);

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct run_info ri = mt_info(2);
		char cid[33], err[512];
		struct store *cs;

		close(p[0]);
		if (store_open(&cs, g_a, err, sizeof(err)) != VT_OK ||
		    store_begin_run(cs, &ri, cid, err, sizeof(err)) != VT_OK)
			_exit(2);
		if (write(p[1], cid, 32) != 32)
			_exit(2);
		for (;;)
			pause(); /* killed here, its results never written */
	}
	close(p[1]);
	ck_assert_msg(read_full(p[0], killed, 32), "the child did not begin a run");
	killed[32] = '\0';
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	close(p[0]);

	snprintf(wal, sizeof(wal), "%s-wal", g_a);
	bytes = slurp(g_a, &len);
	wal_bytes = slurp(wal, &wal_len);
	ck_assert_uint_gt(wal_len, 0); /* the run row is in the log */

	merge_ok(g_out, a, 1, &st);
	assert_stats(&st, 1, 2, 0, 1);
	assert_bytes(g_a, bytes, len);
	assert_bytes(wal, wal_bytes, wal_len);
	free(bytes);
	free(wal_bytes);

	db = raw_open(g_out);
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT status FROM runs WHERE run_id = %Q",
			    killed), "running");
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT status FROM runs WHERE run_id = %Q",
			    done), "complete");
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT group_concat(run_id) FROM"
			    " incomplete_runs"), killed);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM arms WHERE run_id = %Q", killed), 0);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM arms WHERE run_id = %Q", done), MT_ARMS);
	sqlite3_close(db);
	assert_integrity(g_out);

	/* Merged again: skipped, nothing counted incomplete. */
	merge_ok(g_out, a, 1, &st);
	assert_stats(&st, 1, 0, 2, 0);
	mt_free(t);
}
END_TEST

/* ---- refusals and failures -------------------------------------------------------------------- */

/* merge_databases fails with `code`, an error naming `path` and containing `words`. */
static void merge_fails(const char *out, const char *const *in, unsigned nin, int code,
			const char *path, const char *words, struct merge_stats *st)
{
	char err[1024] = "";
	int rc = merge_databases(out, in, nin, st, err, sizeof(err));

	ck_assert_msg(rc == code, "rc %d, want %d: %s", rc, code, err);
	ck_assert_msg(strstr(err, path) && strstr(err, words), "want \"%s\" and \"%s\" in: %s",
		      path, words, err);
}

/*
 * Inputs refused before anything is written, with VT_EINPUT and their name: missing, not a
 * database, a newer schema, someone else's database, the output itself (by name or by a link).
 * The output stays byte-for-byte as it was, a missing one is not created, and a good input listed
 * before a bad one is not merged either.
 */
START_TEST(test_refused)
{
	struct mt *t = mt_new();
	struct ids ids;
	struct merge_stats st;
	const char *b[] = { g_b };
	char missing[400], junk[400], newer[400], foreign[400], alias[400], orphans[400];
	char want[64];
	char *out_bytes;
	size_t out_len;
	unsigned char noise[8192];
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	sqlite3 *db;
	FILE *f;

	build_a(g_a, t, &ids);
	build_b(g_b, t, &ids);
	merge_ok(g_out, b, 1, &st);
	out_bytes = slurp(g_out, &out_len);

	in_dir(missing, sizeof(missing), "missing.db");
	in_dir(junk, sizeof(junk), "junk.db");
	in_dir(newer, sizeof(newer), "newer.db");
	in_dir(foreign, sizeof(foreign), "foreign.db");
	in_dir(alias, sizeof(alias), "alias.db");
	in_dir(orphans, sizeof(orphans), "orphans.db");
	for (size_t i = 0; i < sizeof(noise); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		noise[i] = (unsigned char)x;
	}
	f = fopen(junk, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(noise, 1, sizeof(noise), f), sizeof(noise));
	fclose(f);
	/* A copy of A from the future. */
	db = raw_open(newer);
	raw_execf(db, "ATTACH %Q AS a", g_a);
	raw_exec(db, "CREATE TABLE runs AS SELECT * FROM a.runs");
	raw_execf(db, "PRAGMA user_version = %d", STORE_SCHEMA_VERSION + 1);
	sqlite3_close(db);
	db = raw_open(foreign);
	raw_exec(db, "CREATE TABLE notes (x)");
	sqlite3_close(db);
	ck_assert_int_eq(link(g_out, alias), 0);
	/* A version 4 copy of A with an arm deleted by hand (foreign keys off): its rows dangle,
	 * and its migrated copy could not be made. */
	db = raw_open(g_a);
	raw_execf(db, "VACUUM INTO %Q", orphans);
	sqlite3_close(db);
	db = raw_open(orphans);
	sv4_downgrade(db);
	raw_exec(db, "DELETE FROM arms WHERE rowid = 1");
	sqlite3_close(db);

	merge_fails(g_out, (const char *[]){ missing }, 1, VT_EINPUT, missing, "cannot open", &st);
	assert_stats(&st, 0, 0, 0, 0);
	merge_fails(g_out, (const char *[]){ junk }, 1, VT_EINPUT, junk, "not an SQLite database",
		    &st);
	snprintf(want, sizeof(want), "schema version %d, newer", STORE_SCHEMA_VERSION + 1);
	merge_fails(g_out, (const char *[]){ newer }, 1, VT_EINPUT, newer, want, &st);
	merge_fails(g_out, (const char *[]){ foreign }, 1, VT_EINPUT, foreign,
		    "not a vtsim results database", &st);
	merge_fails(g_out, (const char *[]){ g_out }, 1, VT_EINPUT, g_out,
		    "an input cannot also be the output", &st);
	merge_fails(g_out, (const char *[]){ alias }, 1, VT_EINPUT, alias,
		    "an input cannot also be the output", &st);
	merge_fails(g_out, (const char *[]){ g_dir }, 1, VT_EINPUT, g_dir, "directory", &st);
	merge_fails(g_out, (const char *[]){ orphans }, 1, VT_EINPUT, orphans,
		    "refer to runs or arms that are not in it", &st);
	/* A good input first: not merged, the check comes before any writing. */
	merge_fails(g_out, (const char *[]){ g_a, newer }, 2, VT_EINPUT, newer, "newer", &st);
	assert_stats(&st, 0, 0, 0, 0);
	assert_bytes(g_out, out_bytes, out_len);
	free(out_bytes);
	/* The inputs refused are untouched too. */
	db = raw_open(newer);
	ck_assert_int_eq(qi(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION + 1);
	sqlite3_close(db);

	/* A new output is not even created for a bad input. */
	merge_fails(g_out2, (const char *[]){ g_a, junk }, 2, VT_EINPUT, junk, "not an SQLite", &st);
	ck_assert(!exists(g_out2));
	mt_free(t);
}
END_TEST

/*
 * One transaction per input: an input whose rows break a foreign key (a metrics row of an arm it
 * does not have) fails whole, the input before it stays merged. A locked output is an I/O error
 * after the busy timeout, with nothing written.
 */
START_TEST(test_failure_keeps_earlier)
{
	struct mt *t = mt_new();
	struct ids ids;
	struct merge_stats st;
	char bad[400], *out_bytes;
	size_t out_len;
	sqlite3 *db, *locker;

	build_a(g_a, t, &ids);
	build_b(g_b, t, &ids);
	in_dir(bad, sizeof(bad), "bad.db");
	{
		struct store *s = open_ok(bad);
		char id[33];

		put_run(s, t, 9, id);
		store_close(s);
		db = raw_open(bad);
		raw_execf(db, "INSERT INTO metrics (run_id, arm, metric, value, unit)"
			      " VALUES (%Q, 'zz', 'reads', 1, '')", id);
		sqlite3_close(db);
	}
	merge_fails(g_out, (const char *[]){ g_a, bad }, 2, VT_EINPUT, bad, "constraint", &st);
	assert_stats(&st, 1, 3, 0, 0);
	db = raw_open(g_out);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM runs"), 3);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM runs WHERE run_id IN (%Q, %Q, %Q)", ids.run1,
			    ids.run2, ids.check), 3);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM arms"), 2 * MT_ARMS);
	sqlite3_close(db);
	assert_same_rows((const char *[]){ g_a }, 1, g_out);
	assert_integrity(g_out);

	/* Locked by another writer: VT_EIO after the busy timeout, the output unchanged. */
	out_bytes = slurp(g_out, &out_len);
	setenv("VTSIM_DB_BUSY_MS", "100", 1);
	locker = raw_open(g_out);
	raw_exec(locker, "BEGIN IMMEDIATE");
	merge_fails(g_out, (const char *[]){ g_b }, 1, VT_EIO, g_out, "locked", &st);
	assert_stats(&st, 0, 0, 0, 0);
	raw_exec(locker, "ROLLBACK");
	sqlite3_close(locker);
	assert_bytes(g_out, out_bytes, out_len);
	free(out_bytes);
	merge_ok(g_out, (const char *[]){ g_b }, 1, &st);
	assert_stats(&st, 1, 2, 0, 1);
	assert_same_rows((const char *[]){ g_a, g_b }, 2, g_out);
	mt_free(t);
}
END_TEST

/* ---- bin/sim merge ------------------------------------------------------------------------- */

struct cli {
	int rc;
	char *out, *err;
};

static struct cli cli_run(int argc, const char *const *argv)
{
	struct cli c = { 0, NULL, NULL };
	size_t ol, el;
	FILE *out = open_memstream(&c.out, &ol), *err = open_memstream(&c.err, &el);
	char *args[8];

	ck_assert(argc <= 8);
	for (int i = 0; i < argc; i++)
		args[i] = (char *)(uintptr_t)argv[i];
	c.rc = merge_main(argc, args, out, err);
	fclose(out);
	fclose(err);
	return c;
}

static void cli_free(struct cli *c)
{
	free(c->out);
	free(c->err);
}

/* Exit codes and messages: usage 2, success 0 with the summary, a bad input 2, I/O 3. */
START_TEST(test_main)
{
	struct mt *t = mt_new();
	struct ids ids;
	struct cli c;
	char missing[400], nodir[400];
	sqlite3 *locker;

	build_a(g_a, t, &ids);
	build_b(g_b, t, &ids);
	in_dir(missing, sizeof(missing), "missing.db");
	in_dir(nodir, sizeof(nodir), "no/such/dir/out.db");

	c = cli_run(1, (const char *[]){ "merge" });
	ck_assert_int_eq(c.rc, EXIT_BADINPUT);
	ck_assert_msg(strstr(c.err, "no output database") && strstr(c.err, "usage:"), "%s", c.err);
	cli_free(&c);
	c = cli_run(2, (const char *[]){ "merge", g_out });
	ck_assert_int_eq(c.rc, EXIT_BADINPUT);
	ck_assert_msg(strstr(c.err, "no input database"), "%s", c.err);
	cli_free(&c);
	c = cli_run(4, (const char *[]){ "merge", "--bogus", g_out, g_a });
	ck_assert_int_eq(c.rc, EXIT_BADINPUT);
	ck_assert_msg(strstr(c.err, "unknown option --bogus"), "%s", c.err);
	cli_free(&c);
	ck_assert(!exists(g_out));
	c = cli_run(2, (const char *[]){ "merge", "--help" });
	ck_assert_int_eq(c.rc, EXIT_HELD);
	ck_assert_msg(strstr(c.out, "usage: bin/sim merge OUT.db IN.db..."), "%s", c.out);
	cli_free(&c);

	c = cli_run(4, (const char *[]){ "merge", g_out, g_a, g_b });
	ck_assert_int_eq(c.rc, EXIT_HELD);
	ck_assert_str_eq(c.out, "merged 2 databases: 5 runs added, 0 already present"
				" (1 incomplete)\n");
	ck_assert_str_eq(c.err, "");
	cli_free(&c);
	c = cli_run(5, (const char *[]){ "merge", "--", g_out, g_b, g_a });
	ck_assert_int_eq(c.rc, EXIT_HELD);
	ck_assert_str_eq(c.out, "merged 2 databases: 0 runs added, 5 already present"
				" (0 incomplete)\n");
	cli_free(&c);

	c = cli_run(4, (const char *[]){ "merge", g_out, g_a, missing });
	ck_assert_int_eq(c.rc, EXIT_BADINPUT);
	ck_assert_msg(strstr(c.err, "merge: ") && strstr(c.err, missing) &&
		      strstr(c.err, "cannot open"), "%s", c.err);
	ck_assert_str_eq(c.out, "");
	cli_free(&c);

	/* I/O: an output that cannot be created, one that is locked. */
	c = cli_run(3, (const char *[]){ "merge", nodir, g_a });
	ck_assert_int_eq(c.rc, EXIT_IOERR);
	ck_assert_msg(strstr(c.err, nodir) && strstr(c.err, "cannot open"), "%s", c.err);
	cli_free(&c);
	setenv("VTSIM_DB_BUSY_MS", "50", 1);
	locker = raw_open(g_out);
	raw_exec(locker, "BEGIN IMMEDIATE");
	c = cli_run(3, (const char *[]){ "merge", g_out, g_a });
	ck_assert_int_eq(c.rc, EXIT_IOERR);
	ck_assert_msg(strstr(c.err, g_out) && strstr(c.err, "locked"), "%s", c.err);
	cli_free(&c);
	raw_exec(locker, "ROLLBACK");
	sqlite3_close(locker);
	assert_integrity(g_out);
	mt_free(t);
}
END_TEST

Suite *merge_suite(void);

Suite *merge_suite(void)
{
	Suite *s = suite_create("merge");
	TCase *tc = tcase_create("merge");
	TCase *bad = tcase_create("refusals");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_two_inputs);
	tcase_add_test(tc, test_again_and_remerge);
	tcase_add_test(tc, test_same_arm_keys);
	tcase_add_loop_test(tc, test_old_schema, 1, STORE_SCHEMA_VERSION);
	tcase_add_test(tc, test_column_order);
	tcase_add_test(tc, test_killed_writer);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(bad, setup, teardown);
	tcase_add_test(bad, test_refused);
	tcase_add_test(bad, test_failure_keeps_earlier);
	tcase_add_test(bad, test_main);
	tcase_set_timeout(bad, 60);
	suite_add_tcase(s, bad);
	return s;
}
