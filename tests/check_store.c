/*
 * check_store.c: the results database (sim/store.c). A run written and read back with plain SQL,
 * field by field, with the views, and a check run's verdicts and trails the same way; older
 * schemas upgraded at open; the status of a run begun and never finished, and of one whose
 * writer is killed (SIGKILL) in the middle of its results; a database locked by another
 * connection; and the failures a user meets (read-only, disk full, I/O error, not a database, a
 * newer schema), injected the way SQLite tests itself: a VFS shim that wraps the real one and
 * fails its xOpen / xWrite after a countdown, tried at every countdown value until the operation
 * succeeds, the database checked after each failure through the real VFS.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "record.h"
#include "store.h"
#include "schema_v4.h"
#include "sqlutil.h"
#include "testutil.h"

/* ---- fixture: a fresh directory per test ------------------------------------------------ */

static char g_dir[256];
static char g_db[300];
static sqlite3_vfs *g_real_vfs; /* the default VFS before any shim */

static void setup(void)
{
	snprintf(g_dir, sizeof(g_dir), "/tmp/vtsim-store-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(g_dir));
	snprintf(g_db, sizeof(g_db), "%s/results.db", g_dir);
	g_real_vfs = sqlite3_vfs_find(NULL);
	ck_assert_ptr_nonnull(g_real_vfs);
}

static void teardown(void)
{
	tu_remove_dir(g_dir);
	unsetenv("VTSIM_DB_BUSY_MS");
}

/* ---- plain SQL through the real VFS ----------------------------------------------------- */

static sqlite3 *raw_open(const char *path)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
				 g_real_vfs->zName);

	ck_assert_msg(rc == SQLITE_OK, "open %s: %s", path, db ? sqlite3_errmsg(db) : "?");
	return db;
}


/* Column c is NULL. */
static void assert_null(sqlite3_stmt *st, int c)
{
	ck_assert_msg(sqlite3_column_type(st, c) == SQLITE_NULL, "column %s is %s, not NULL",
		      sqlite3_column_name(st, c), col_text(st, c));
}

/* Column c is an INTEGER with value v. */
static void assert_int(sqlite3_stmt *st, int c, int64_t v)
{
	ck_assert_msg(sqlite3_column_type(st, c) == SQLITE_INTEGER, "column %s is not an integer",
		      sqlite3_column_name(st, c));
	ck_assert_int_eq(sqlite3_column_int64(st, c), v);
}

static void assert_integrity(const char *path)
{
	sqlite3 *db = raw_open(path);
	char buf[256];

	ck_assert_str_eq(qs(db, buf, sizeof(buf), "PRAGMA integrity_check"), "ok");
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
	sqlite3_close(db);
}

/* Rows of a run's results in every results table (the run row excluded). */
static int64_t result_rows(sqlite3 *db, const char *run_id)
{
	static const char *const tables[] = { "arms", "metrics", "series", "violations",
					      "timeline", "expectations", "trails" };
	int64_t n = 0;

	for (size_t i = 0; i < VT_ARRAY_SIZE(tables); i++)
		n += qi(db, "SELECT count(*) FROM %s WHERE run_id = %Q", tables[i], run_id);
	return n;
}

static const char *run_status(sqlite3 *db, const char *run_id, char *buf, size_t len)
{
	return qs(db, buf, len, "SELECT coalesce((SELECT status FROM runs WHERE run_id = %Q),"
			       " 'absent')", run_id);
}

/* An independent FNV-1a 64 (the store's is static). */
static uint64_t fnv(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

/* ---- a hand-built run ------------------------------------------------------------------- */

static const char RT_SCN[] =
	"name = \"store-rt\"\n"
	"duration = 1s\n"
	"host.cpus = 2\n"
	"vm.vcpus = 2\n"
	"arm a { policy = gtsc-resume; page = none; reader = tsc; reader.freq = 2.4GHz }\n"
	"arm b { policy = tsc-offset; page = hv-tsc-page; page.masterclock = on;"
	" reader = hyperv-tsc }\n"
	"expect a.warps == 0\n"
	"expect b.warps > 5\n"
	"expect a.reads / b.fallbacks > 1\n";

/* Every option type, for arm a's policy (the built-in policies have no options). */
static const struct opt_desc RT_OPTS[] = {
	{ "count", OPT_INT, "0", NULL, "" },
	{ "delay", OPT_TIME, "0", NULL, "" },
	{ "freq", OPT_FREQ, "0", NULL, "" },
	{ "skew", OPT_PPM, "0", NULL, "" },
	{ "whole", OPT_PPM, "0", NULL, "" },
	{ "tiny", OPT_PPM, "0", NULL, "" },
	{ "cycles", OPT_CYCLES, "0", NULL, "" },
	{ "flag", OPT_BOOL, "no", NULL, "" },
	{ "off", OPT_BOOL, "no", NULL, "" },
	{ "mode", OPT_ENUM, "auto", "auto|on|off", "" },
	{ 0 },
};
static const int64_t RT_OPT_VALUES[] = { 7, 1500, 2400000000LL, -31500, 2000, 1, 86000, 1, 0, 2 };
static const char RT_A_OPTIONS[] =
	"policy.count=7\npolicy.delay=1500\npolicy.freq=2400000000\npolicy.skew=-31.5\n"
	"policy.whole=2\npolicy.tiny=0.001\npolicy.cycles=86000\npolicy.flag=yes\npolicy.off=no\n"
	"policy.mode=off\nreader.freq=2400000000\n";

#define RT_ARMS 2
#define RT_FACTS 4

struct rt {
	struct tu_run tu;
	struct arm_cfg arms[RT_ARMS];
	struct opt_val pval[VT_ARRAY_SIZE(RT_OPT_VALUES)];
	struct arm_result ar[RT_ARMS];
	struct expect_result ex[3];
	struct results res;
	struct series_row series[5];
	struct violation viol[4];
	struct timeline_event tl[5];
	struct recording rec;
	const struct recording *recs[RT_ARMS];
	struct run_info ri;
};

/* The stored value of metric m of arm i: distinct per arm and metric; drift in ppb. */
static int64_t rt_metric(unsigned i, int m)
{
	if (m == M_DRIFT_PPM)
		return i == 0 ? -16521115 : 250;
	if (m == M_FINAL_ERROR_NS)
		return -896077791 - (int64_t)i;
	return (int64_t)(i + 1) * 1000003 + m * 7;
}

static struct rt *rt_new(void)
{
	struct rt *t = calloc(1, sizeof(*t));

	ck_assert_ptr_nonnull(t);
	tu_build(&t->tu, RT_SCN);
	ck_assert_msg(t->tu.rc == VT_OK, "%s", t->tu.err.msg);
	ck_assert_uint_eq(t->tu.cfg.narms, RT_ARMS);
	ck_assert_uint_eq(t->tu.cfg.nexpect, 3);

	for (unsigned i = 0; i < RT_ARMS; i++)
		t->arms[i] = t->tu.cfg.arms[i];
	for (size_t k = 0; k < VT_ARRAY_SIZE(RT_OPT_VALUES); k++) {
		t->pval[k].desc = &RT_OPTS[k];
		t->pval[k].value = RT_OPT_VALUES[k];
		t->pval[k].set = 1;
	}
	t->arms[0].policy_opts.n = VT_ARRAY_SIZE(RT_OPT_VALUES);
	t->arms[0].policy_opts.v = t->pval;

	for (unsigned i = 0; i < RT_ARMS; i++) {
		struct arm_result *a = &t->ar[i];

		a->arm = &t->arms[i];
		a->host.tsc_stable = i == 1;
		a->host.cs = i == 0 ? CS_HPET : CS_TSC;
		a->host.tsc_khz = i == 0 ? 2400000 : 2999999;
		for (int m = 0; m < M_COUNT; m++)
			a->m[m] = rt_metric(i, m);
	}
	t->ar[1].migrated = true;
	/* Arm b's page (hv-tsc-page) reports four facts. */
	t->ar[1].fact = t->arms[1].page->facts;
	for (t->ar[1].nfacts = 0; t->ar[1].fact[t->ar[1].nfacts].name; t->ar[1].nfacts++)
		t->ar[1].fact_value[t->ar[1].nfacts] = 40 + t->ar[1].nfacts;
	ck_assert_uint_eq(t->ar[1].nfacts, RT_FACTS);

	t->ex[0] = (struct expect_result){ &t->tu.cfg.expect[0], 1000010, 0, false, false };
	t->ex[1] = (struct expect_result){ &t->tu.cfg.expect[1], 2000013, 5, true, false };
	t->ex[2] = (struct expect_result){ &t->tu.cfg.expect[2], NAN, 1, false, true };

	t->series[0] = (struct series_row){ 0, 10000000, 10000003, 3 };
	t->series[1] = (struct series_row){ 1, 10000050, 9999000, -1050 };
	t->series[2] = (struct series_row){ 0, 20000000, 20000010, 10 };
	t->series[3] = (struct series_row){ 1, 20000070, 19990000, -10070 };
	/* A guest clock above 2^63 ns: stored with the same bits, read back exact. */
	t->series[4] = (struct series_row){ 1, 30000000, 0x8000000000000005ULL, INT64_MIN + 5 };
	t->viol[0] = (struct violation){ VIOL_WARP, 12000000, 0, 1, 1, 12000500, 12000100, "lock" };
	t->viol[1] = (struct violation){ VIOL_WARP, 13000000, 1, 0, 0, 13000900, 12999000, "hop" };
	t->viol[2] = (struct violation){ VIOL_WARP, 14000000, 1, 1, -1, 14000000, 13999999, NULL };
	t->viol[3] = (struct violation){ VIOL_BACKSTEP, 15000000, 3, 1, -1, 15000200, 15000100,
					 NULL };
	t->tl[0] = (struct timeline_event){ TL_MIGRATION, 1000, 5000, 0, 0, 1 };
	t->tl[1] = (struct timeline_event){ TL_STALL, 2000, 13000, 1, -1, -1 };
	t->tl[2] = (struct timeline_event){ TL_IO_EXIT, 3000, 4000, 1, 1, 1 };
	t->tl[3] = (struct timeline_event){ TL_PREEMPT, 4000, 0, 0, 1, -1 };
	t->tl[4] = (struct timeline_event){ TL_PAUSE, 500000000, 100000000, -1, -1, -1 };
	t->rec = (struct recording){ .series_interval = 10000000, .series = t->series,
				     .nseries = 5, .cap_series = 5, .viol = t->viol, .nviol = 4,
				     .viol_dropped = 7, .tl = t->tl, .ntl = 5, .tl_dropped = 3 };
	t->recs[0] = &t->rec;
	t->recs[1] = NULL; /* nothing recorded for arm b */

	t->res = (struct results){ &t->tu.cfg, RT_ARMS, t->ar, 3, t->ex, 2 };

	t->ri = (struct run_info){ "store-rt", "scenarios/store-rt.scn", RT_SCN, UINT64_MAX,
				   "sched.quantum=2ms\n--seed 7", "b=0123456789abcdef\n",
				   1000000000, "sweep-0001", "sched.quantum=2ms seed=7" };
	return t;
}

static void rt_free(struct rt *t)
{
	tu_free(&t->tu);
	free(t);
}

static struct store *open_ok(const char *path)
{
	struct store *s = NULL;
	char err[512] = "";

	ck_assert_msg(store_open(&s, path, err, sizeof(err)) == VT_OK, "store_open: %s", err);
	ck_assert_ptr_nonnull(s);
	return s;
}

static void begin_ok(struct store *s, const struct run_info *ri, char id[33])
{
	char err[512] = "";

	ck_assert_msg(store_begin_run(s, ri, id, err, sizeof(err)) == VT_OK, "begin: %s", err);
}

static void finish_ok(struct store *s, const char *id, const struct rt *t)
{
	char err[512] = "";

	ck_assert_msg(store_finish_run(s, id, &t->res, t->recs, err, sizeof(err)) == VT_OK,
		      "finish: %s", err);
}

/* Rows a complete rt run has: arms, metrics + facts, series, violations (+ 2 failed
 * expectations), timeline, expectations. */
static int64_t rt_rows(void)
{
	return RT_ARMS + RT_ARMS * M_COUNT + RT_FACTS + 5 + 4 + 2 + 5 + 3;
}

/* ---- schema round trip ------------------------------------------------------------------ */

static void check_run_row(sqlite3 *db, const char *id)
{
	char hash[17], host[256] = "";
	sqlite3_stmt *st;

	st = qrows(db, "SELECT run_id, scenario, path, scenario_text, scenario_hash, seed, overrides,"
		       " version, plugin_hashes, host, started_at, finished_at, status, duration_ns,"
		       " expectations_failed, finished_at >= started_at, sweep_id, sweep_point"
		       " FROM runs WHERE run_id = %Q",
		   id);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_uint_eq(strlen(id), 32);
	ck_assert_uint_eq(strspn(id, "0123456789abcdef"), 32);
	ck_assert_str_eq(col_text(st, 0), id);
	ck_assert_str_eq(col_text(st, 1), "store-rt");
	ck_assert_str_eq(col_text(st, 2), "scenarios/store-rt.scn");
	ck_assert_str_eq(col_text(st, 3), RT_SCN);
	snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)fnv(RT_SCN));
	ck_assert_str_eq(col_text(st, 4), hash);
	ck_assert_int_eq(sqlite3_column_type(st, 5), SQLITE_INTEGER);
	ck_assert_uint_eq((uint64_t)sqlite3_column_int64(st, 5), UINT64_MAX);
	ck_assert_str_eq(col_text(st, 6), "sched.quantum=2ms\n--seed 7");
	ck_assert_str_eq(col_text(st, 7), VTSIM_VERSION);
	ck_assert_str_eq(col_text(st, 8), "b=0123456789abcdef\n");
	gethostname(host, sizeof(host) - 1);
	ck_assert_str_eq(col_text(st, 9), host);
	for (int c = 10; c <= 11; c++) {
		/* 2025-12-24T10:11:12.345Z */
		const char *ts = col_text(st, c);

		ck_assert_uint_eq(strlen(ts), 24);
		ck_assert(ts[4] == '-' && ts[7] == '-' && ts[10] == 'T' && ts[13] == ':' &&
			  ts[16] == ':' && ts[19] == '.' && ts[23] == 'Z');
		ck_assert_uint_eq(strspn(ts, "0123456789"), 4);
		ck_assert_uint_eq(strspn(ts + 20, "0123456789"), 3);
	}
	ck_assert_str_eq(col_text(st, 12), "complete");
	ck_assert_int_eq(sqlite3_column_int64(st, 13), 1000000000);
	ck_assert_int_eq(sqlite3_column_int64(st, 14), 2);
	ck_assert_int_eq(sqlite3_column_int64(st, 15), 1);
	ck_assert_str_eq(col_text(st, 16), "sweep-0001");
	ck_assert_str_eq(col_text(st, 17), "sched.quantum=2ms seed=7");
	ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

static void check_arms(sqlite3 *db, const struct rt *t, const char *id)
{
	const struct arm_cfg *b = &t->arms[1];
	sqlite3_stmt *st = qrows(db, "SELECT arm, ord, policy, page, reader, options, "
				 "host_tsc_stable, host_clocksource, host_tsc_khz, "
				 "series_interval_ns, violations_dropped, timeline_dropped, migration "
				 "FROM arms WHERE run_id = %Q ORDER BY ord", id);
	const char *opts;
	unsigned lines = 0;

	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq(col_text(st, 0), "a");
	ck_assert_int_eq(sqlite3_column_int64(st, 1), 0);
	ck_assert_str_eq(col_text(st, 2), "gtsc-resume");
	ck_assert_str_eq(col_text(st, 3), "none");
	ck_assert_str_eq(col_text(st, 4), "tsc");
	ck_assert_str_eq(col_text(st, 5), RT_A_OPTIONS);
	ck_assert_int_eq(sqlite3_column_int64(st, 6), 0);
	ck_assert_str_eq(col_text(st, 7), "hpet");
	ck_assert_int_eq(sqlite3_column_int64(st, 8), 2400000);
	ck_assert_int_eq(sqlite3_column_int64(st, 9), 10000000);
	ck_assert_int_eq(sqlite3_column_int64(st, 10), 7);
	ck_assert_int_eq(sqlite3_column_int64(st, 11), 3);
	ck_assert_int_eq(sqlite3_column_type(st, 12), SQLITE_NULL); /* a does not migrate */

	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq(col_text(st, 0), "b");
	ck_assert_int_eq(sqlite3_column_int64(st, 1), 1);
	ck_assert_str_eq(col_text(st, 2), "tsc-offset");
	ck_assert_str_eq(col_text(st, 3), "hv-tsc-page");
	ck_assert_str_eq(col_text(st, 4), "hyperv-tsc");
	/* kvmclock's options as resolved: the one set, then the defaults, enum and bool by name. */
	opts = col_text(st, 5);
	ck_assert_ptr_nonnull(strstr(opts, "page.masterclock=on\n"));
	ck_assert_ptr_nonnull(strstr(opts, "page.stride=linux\n"));
	ck_assert_ptr_nonnull(strstr(opts, "page.write_ns=20\n"));
	ck_assert_ptr_nonnull(strstr(opts, "page.stable_cpuid=yes\n"));
	ck_assert_ptr_nonnull(strstr(opts, "page.old_msr=no\n"));
	/* b migrates: its algorithm's options follow (the default tsc-msr: adjust=none). */
	ck_assert_ptr_nonnull(strstr(opts, "migration.adjust=none\n"));
	for (const char *p = opts; *p; p++)
		lines += *p == '\n';
	ck_assert_uint_eq(lines, b->policy_opts.n + b->page_opts.n + b->reader_opts.n +
				 b->migration_opts.n);
	ck_assert_uint_eq(b->migration_opts.n, 1);
	ck_assert_str_eq(col_text(st, 12), "tsc-msr");
	ck_assert_uint_ge(b->page_opts.n, 7);
	ck_assert_int_eq(sqlite3_column_int64(st, 6), 1);
	ck_assert_str_eq(col_text(st, 7), "tsc");
	ck_assert_int_eq(sqlite3_column_int64(st, 8), 2999999);
	for (int c = 9; c <= 11; c++)
		ck_assert_int_eq(sqlite3_column_type(st, c), SQLITE_NULL);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

static void check_metrics(sqlite3 *db, const struct rt *t, const char *id)
{
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM metrics WHERE run_id = %Q", id),
			 RT_ARMS * M_COUNT + RT_FACTS);
	for (unsigned i = 0; i < RT_ARMS; i++) {
		const char *arm = t->arms[i].name;

		for (int m = 0; m < M_COUNT; m++) {
			sqlite3_stmt *st = qrows(db, "SELECT value, typeof(value), unit FROM metrics"
						 " WHERE run_id = %Q AND arm = %Q AND metric = %Q",
						 id, arm, metric_info[m].name);

			ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
			if (m == M_DRIFT_PPM) {
				ck_assert_str_eq(col_text(st, 1), "real");
				ck_assert(sqlite3_column_double(st, 0) ==
					  (double)rt_metric(i, m) / 1000.0);
				ck_assert_str_eq(col_text(st, 2), "ppm");
			} else {
				ck_assert_str_eq(col_text(st, 1), "integer");
				ck_assert_int_eq(sqlite3_column_int64(st, 0), rt_metric(i, m));
				ck_assert_str_eq(col_text(st, 2), metric_info[m].unit);
			}
			sqlite3_finalize(st);
		}
	}
	ck_assert_int_eq(qi(db, "SELECT value FROM metrics WHERE run_id = %Q AND arm = 'a'"
			     " AND metric = 'drift_ppm' AND value = -16521.115", id), -16521);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM metrics WHERE run_id = %Q AND metric = 'reads'"
			     " AND unit = ''", id), 2);
	for (unsigned f = 0; f < RT_FACTS; f++) {
		sqlite3_stmt *st = qrows(db, "SELECT value, typeof(value) FROM metrics WHERE"
					 " run_id = %Q AND arm = 'b' AND metric = %Q AND unit = 'fact'",
					 id, t->ar[1].fact[f].name);

		ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
		ck_assert_int_eq(sqlite3_column_int64(st, 0), 40 + f);
		ck_assert_str_eq(col_text(st, 1), "integer");
		sqlite3_finalize(st);
	}
}

static void check_recording(sqlite3 *db, const struct rt *t, const char *id)
{
	static const char *const ctx[] = { "lock chain after vCPU 1", "hop chain after vCPU 0",
					   "serialized chain", "vCPU 3 on CPU 1" };
	static const char *const kind[] = { "warp", "warp", "warp", "backstep" };
	sqlite3_stmt *st;
	unsigned n = 0;

	/* series and timeline are views (a view has no rowid): seq is the row's position in the
	 * arm's recording, 0, 1, ... */
	st = qrows(db, "SELECT arm, vcpu, t_ns, guest_ns, error_ns, seq FROM series WHERE run_id = %Q"
		       " ORDER BY seq", id);
	for (; sqlite3_step(st) == SQLITE_ROW; n++) {
		const struct series_row *r = &t->series[n];

		ck_assert_uint_lt(n, 5);
		ck_assert_str_eq(col_text(st, 0), "a");
		ck_assert_int_eq(sqlite3_column_int64(st, 1), r->vcpu);
		ck_assert_int_eq(sqlite3_column_int64(st, 2), (int64_t)r->t_ns);
		ck_assert_uint_eq((uint64_t)sqlite3_column_int64(st, 3), r->guest_ns);
		ck_assert_int_eq(sqlite3_column_int64(st, 4), r->error_ns);
		assert_int(st, 5, n);
	}
	ck_assert_uint_eq(n, 5);
	sqlite3_finalize(st);

	st = qrows(db, "SELECT arm, kind, t_ns, vcpu, pcpu, prev_vcpu, prev_ns, value_ns, delta_ns,"
		       " context FROM violations WHERE run_id = %Q AND kind <> 'expectation'"
		       " ORDER BY rowid", id);
	for (n = 0; sqlite3_step(st) == SQLITE_ROW; n++) {
		const struct violation *v = &t->viol[n];

		ck_assert_uint_lt(n, 4);
		ck_assert_str_eq(col_text(st, 0), "a");
		ck_assert_str_eq(col_text(st, 1), kind[n]);
		ck_assert_int_eq(sqlite3_column_int64(st, 2), (int64_t)v->t_ns);
		ck_assert_int_eq(sqlite3_column_int64(st, 3), v->vcpu);
		ck_assert_int_eq(sqlite3_column_int64(st, 4), v->pcpu);
		if (v->prev_vcpu < 0)
			ck_assert_int_eq(sqlite3_column_type(st, 5), SQLITE_NULL);
		else
			ck_assert_int_eq(sqlite3_column_int64(st, 5), v->prev_vcpu);
		ck_assert_int_eq(sqlite3_column_int64(st, 6), (int64_t)v->prev_ns);
		ck_assert_int_eq(sqlite3_column_int64(st, 7), (int64_t)v->value_ns);
		ck_assert_int_eq(sqlite3_column_int64(st, 8),
				 (int64_t)v->value_ns - (int64_t)v->prev_ns);
		ck_assert_str_eq(col_text(st, 9), ctx[n]);
	}
	ck_assert_uint_eq(n, 4);
	sqlite3_finalize(st);
	ck_assert_int_eq(qi(db, "SELECT delta_ns FROM violations WHERE run_id = %Q AND"
			     " kind = 'warp' AND t_ns = 12000000", id), -400);

	st = qrows(db, "SELECT arm, kind, t_ns, length_ns, vcpu, from_cpu, to_cpu, seq FROM timeline"
		       " WHERE run_id = %Q ORDER BY seq", id);
	for (n = 0; sqlite3_step(st) == SQLITE_ROW; n++) {
		const struct timeline_event *e = &t->tl[n];
		const int32_t ids[3] = { e->vcpu, e->from_cpu, e->to_cpu };

		ck_assert_uint_lt(n, 5);
		ck_assert_str_eq(col_text(st, 0), "a");
		ck_assert_str_eq(col_text(st, 1), timeline_kind_name(e->kind));
		ck_assert_int_eq(sqlite3_column_int64(st, 2), (int64_t)e->t_ns);
		ck_assert_int_eq(sqlite3_column_int64(st, 3), (int64_t)e->length_ns);
		for (int c = 0; c < 3; c++) {
			if (ids[c] < 0)
				ck_assert_int_eq(sqlite3_column_type(st, 4 + c), SQLITE_NULL);
			else
				ck_assert_int_eq(sqlite3_column_int64(st, 4 + c), ids[c]);
		}
		assert_int(st, 7, n);
	}
	ck_assert_uint_eq(n, 5);
	sqlite3_finalize(st);
}

static void check_expectations(sqlite3 *db, const struct rt *t, const char *id)
{
	sqlite3_stmt *st = qrows(db, "SELECT ord, text, held, lhs, rhs FROM expectations"
				 " WHERE run_id = %Q ORDER BY ord", id);
	unsigned n;

	for (n = 0; sqlite3_step(st) == SQLITE_ROW; n++) {
		const struct expect_result *x = &t->ex[n];

		ck_assert_uint_lt(n, 3);
		ck_assert_int_eq(sqlite3_column_int64(st, 0), n);
		ck_assert_str_eq(col_text(st, 1), x->e->text);
		ck_assert_int_eq(sqlite3_column_int64(st, 2), x->held);
		if (isnan(x->lhs))
			ck_assert_int_eq(sqlite3_column_type(st, 3), SQLITE_NULL);
		else
			ck_assert(sqlite3_column_double(st, 3) == x->lhs);
		ck_assert(sqlite3_column_double(st, 4) == x->rhs);
	}
	ck_assert_uint_eq(n, 3);
	sqlite3_finalize(st);
	ck_assert_str_eq(t->ex[0].e->text, "a.warps == 0");

	st = qrows(db, "SELECT arm, t_ns, vcpu, pcpu, prev_vcpu, prev_ns, value_ns, delta_ns, context"
		       " FROM violations WHERE run_id = %Q AND kind = 'expectation' ORDER BY rowid",
		   id);
	for (n = 0; sqlite3_step(st) == SQLITE_ROW; n++) {
		const struct expect_result *x = &t->ex[n == 0 ? 0 : 2]; /* the two that failed */

		ck_assert_uint_lt(n, 2);
		for (int c = 0; c < 8; c++)
			ck_assert_int_eq(sqlite3_column_type(st, c), SQLITE_NULL);
		ck_assert_str_eq(col_text(st, 8), x->e->text);
	}
	ck_assert_uint_eq(n, 2);
	sqlite3_finalize(st);
}

static void check_metrics_wide(sqlite3 *db, const struct rt *t, const char *id)
{
	static const char *const facts[] = { "masterclock", "masterclock_ever", "page_updates",
					     "tsc_page_valid" };
	sqlite3_stmt *st = qrows(db, "SELECT * FROM metrics_wide WHERE run_id = %Q ORDER BY arm", id);
	int ncol = sqlite3_column_count(st);

	ck_assert_int_eq(ncol, 2 + M_COUNT + 4);
	ck_assert_str_eq(sqlite3_column_name(st, 0), "run_id");
	ck_assert_str_eq(sqlite3_column_name(st, 1), "arm");
	for (int m = 0; m < M_COUNT; m++)
		ck_assert_str_eq(sqlite3_column_name(st, 2 + m), metric_info[m].name);
	for (int f = 0; f < 4; f++)
		ck_assert_str_eq(sqlite3_column_name(st, 2 + M_COUNT + f), facts[f]);
	for (unsigned i = 0; i < RT_ARMS; i++) {
		ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
		ck_assert_str_eq(col_text(st, 0), id);
		ck_assert_str_eq(col_text(st, 1), t->arms[i].name);
		for (int m = 0; m < M_COUNT; m++) {
			if (m == M_DRIFT_PPM)
				ck_assert(sqlite3_column_double(st, 2 + m) ==
					  (double)rt_metric(i, m) / 1000.0);
			else
				ck_assert_int_eq(sqlite3_column_int64(st, 2 + m), rt_metric(i, m));
		}
		for (int f = 0; f < 4; f++) {
			if (i == 0)
				ck_assert_int_eq(sqlite3_column_type(st, 2 + M_COUNT + f), SQLITE_NULL);
			else
				ck_assert_int_eq(sqlite3_column_int64(st, 2 + M_COUNT + f), 40 + f);
		}
	}
	ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

static void check_side_by_side(sqlite3 *db, const char *id)
{
	char buf[256], want[256];

	snprintf(want, sizeof(want), "a=%lld b=%lld", (long long)rt_metric(0, M_WARPS),
		 (long long)rt_metric(1, M_WARPS));
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT arms FROM arms_side_by_side"
			    " WHERE run_id = %Q AND metric = 'warps'", id), want);
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT arms FROM arms_side_by_side"
			    " WHERE run_id = %Q AND metric = 'drift_ppm'", id),
			 "a=-16521.115 b=0.25");
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT unit FROM arms_side_by_side"
			    " WHERE run_id = %Q AND metric = 'max_abs_error_ns'", id), "ns");
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT arms FROM arms_side_by_side"
			    " WHERE run_id = %Q AND metric = 'page_updates'", id), "b=42");
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM arms_side_by_side WHERE run_id = %Q", id),
			 M_COUNT + RT_FACTS);
}

/* The tables and views of the current schema (version 5), by name. */
/* sqlite_sequence: SQLite's own, for arms.arm_key's AUTOINCREMENT. */
#define V5_TABLES "arms,expectations,metrics,runs,series_rows,sqlite_sequence,timeline_rows,trails," \
	"violations"
#define V5_VIEWS "arms_side_by_side,check_verdicts,incomplete_runs,latest_runs,metrics_wide," \
	"series,timeline"

START_TEST(test_round_trip)
{
	struct rt *t = rt_new();
	struct store *s = open_ok(g_db);
	char id[33], buf[256];
	sqlite3 *db;

	begin_ok(s, &t->ri, id);
	finish_ok(s, id, t);
	store_close(s);

	db = raw_open(g_db);
	ck_assert_int_eq(qi(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "PRAGMA journal_mode"), "wal");
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT group_concat(name, ',') FROM (SELECT name"
			    " FROM sqlite_master WHERE type = 'table' ORDER BY name)"),
			 V5_TABLES);
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT group_concat(name, ',') FROM (SELECT name"
			    " FROM sqlite_master WHERE type = 'view' ORDER BY name)"),
			 V5_VIEWS);
	check_run_row(db, id);
	check_arms(db, t, id);
	check_metrics(db, t, id);
	check_recording(db, t, id);
	check_expectations(db, t, id);
	check_metrics_wide(db, t, id);
	check_side_by_side(db, id);
	ck_assert_int_eq(result_rows(db, id), rt_rows());
	sqlite3_close(db);
	assert_integrity(g_db);
	rt_free(t);
}
END_TEST

/* The run row's hash is FNV-1a 64 (a published test vector), ids differ between runs. */
START_TEST(test_hash_and_ids)
{
	struct store *s = open_ok(g_db);
	struct run_info ri = { "v", NULL, "foobar", 1, NULL, NULL, 0, NULL, NULL };
	char id1[33], id2[33], buf[64];
	sqlite3 *db;

	begin_ok(s, &ri, id1);
	ri.scenario_text = NULL;
	begin_ok(s, &ri, id2);
	store_close(s);
	ck_assert_str_ne(id1, id2);
	db = raw_open(g_db);
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT scenario_hash FROM runs WHERE run_id = %Q",
			    id1), "85944171f73967e8");
	/* No text: the hash of "" (the FNV offset basis); NULL fields stay NULL or "". */
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT scenario_hash FROM runs WHERE run_id = %Q",
			    id2), "cbf29ce484222325");
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT path FROM runs WHERE run_id = %Q", id2),
			 "<null>");
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT overrides || '|' || plugin_hashes FROM runs"
			    " WHERE run_id = %Q", id2), "|");
	sqlite3_close(db);
}
END_TEST

/* latest_runs: the latest complete run per scenario by started_at, then insertion order. */
START_TEST(test_views_latest_incomplete)
{
	struct rt *t = rt_new();
	struct store *s = open_ok(g_db);
	char r1[33], r2[33], r3[33], o1[33], buf[64], want[64];
	struct run_info other = t->ri;
	sqlite3 *db;

	other.scenario = "other";
	begin_ok(s, &t->ri, r1);
	finish_ok(s, r1, t);
	begin_ok(s, &t->ri, r2);
	finish_ok(s, r2, t);
	begin_ok(s, &other, o1);
	finish_ok(s, o1, t);
	begin_ok(s, &t->ri, r3); /* latest, but still running */

	db = raw_open(g_db);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM latest_runs"), 2);
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT run_id FROM latest_runs"
			    " WHERE scenario = 'store-rt'"), r2);
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT run_id FROM latest_runs"
			    " WHERE scenario = 'other'"), o1);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM incomplete_runs"), 1);
	snprintf(want, sizeof(want), "%s running", r3);
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT run_id || ' ' || status FROM incomplete_runs"),
			 want);
	/* started_at wins over insertion order. */
	raw_execf(db, "UPDATE runs SET started_at = '2999-01-01T00:00:00.000Z' WHERE run_id = %Q",
		  r1);
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT run_id FROM latest_runs"
			    " WHERE scenario = 'store-rt'"), r1);
	sqlite3_close(db);

	finish_ok(s, r3, t);
	store_close(s);
	db = raw_open(g_db);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM incomplete_runs"), 0);
	sqlite3_close(db);
	assert_integrity(g_db);
	rt_free(t);
}
END_TEST

/* ---- a check run's verdicts ------------------------------------------------------------ */

/* The run row of a check run: as a run's, with no duration. */
static const struct run_info CT_RUN = { "store-chk", "scenarios/store-chk.scn", "name = chk\n", 11,
					"check.schedules=1000", "", 0, NULL, NULL };

/* A trail file's text (bin/sim check writes the whole file; the store keeps it verbatim). */
static const char CT_TRAIL[] =
	"vtsim-trail 1\nversion 0.1.0\nscenario store-chk\npath scenarios/store-chk.scn\narm a\n"
	"seed 11\nset check.schedules=1000\nstrategy dfs\nproperty monotonic\nexpect violated\n"
	"message vCPU 1 read 5 ns before vCPU 0's earlier read\nchoices 4 3 0 1 2\ntext\n"
	"name = chk\n";

/*
 * Two verdicts: arm a violated as expected, with its counterexample; arm b (the scenario's third
 * arm, ord 2) holds where a violation was expected, with everything optional NULL. The schedules
 * exceed 2^32 so that a 32-bit truncation would show.
 */
static void ct_rows(struct trail_row rows[2], const char *trail)
{
	rows[0] = (struct trail_row){
		.arm = "a", .ord = 0, .policy = "tsc-offset", .page = "kvmclock",
		.reader = "kvmclock", .property = "monotonic", .violated = true,
		.expected_violation = true, .strategy = "dfs", .schedules = 5000000007ULL,
		.exhausted = true, .shrink_runs = 17,
		.message = "vCPU 1 read 5 ns before vCPU 0's earlier read", .choices = "3 0 1 2",
		.trail = trail,
	};
	rows[1] = (struct trail_row){
		.arm = "b", .ord = 2, .policy = "gtsc-resume", .page = "none", .reader = "tsc",
		.property = NULL, .violated = false, .expected_violation = true, .strategy = "pct",
		.schedules = 1000, .exhausted = false, .shrink_runs = 0, .message = NULL,
		.choices = NULL, .trail = NULL,
	};
}

static void finish_check_ok(struct store *s, const char *id, const struct trail_row *rows,
			    unsigned n, unsigned failed)
{
	char err[512] = "";

	ck_assert_msg(store_finish_check(s, id, rows, n, failed, err, sizeof(err)) == VT_OK,
		      "finish_check: %s", err);
}

static int64_t trail_rows(sqlite3 *db, const char *run_id)
{
	return qi(db, "SELECT count(*) FROM trails WHERE run_id = %Q", run_id);
}

/* The check run's row: complete, finished, no duration, expectations_failed as passed. */
static void check_ct_run_row(sqlite3 *db, const char *id, int64_t failed)
{
	sqlite3_stmt *st = qrows(db, "SELECT status, finished_at >= started_at, length(finished_at),"
				 " duration_ns, expectations_failed, scenario, seed, overrides"
				 " FROM runs WHERE run_id = %Q", id);

	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq(col_text(st, 0), "complete");
	assert_int(st, 1, 1);
	assert_int(st, 2, 24);
	assert_int(st, 3, 0);
	assert_int(st, 4, failed);
	ck_assert_str_eq(col_text(st, 5), "store-chk");
	assert_int(st, 6, 11);
	ck_assert_str_eq(col_text(st, 7), "check.schedules=1000");
	ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

/*
 * A check run written and read back column by column; the run completes with the failed count;
 * a second finish, or an unknown run, fails whole and names the database and the run.
 */
START_TEST(test_check_round_trip)
{
	struct store *s = open_ok(g_db);
	struct trail_row rows[2];
	char id[33], bad[33] = "00000000000000000000000000000000", err[512], buf[64];
	sqlite3_stmt *st;
	sqlite3 *db;

	begin_ok(s, &CT_RUN, id);
	ct_rows(rows, CT_TRAIL);
	finish_check_ok(s, id, rows, 2, 1);

	db = raw_open(g_db);
	st = qrows(db, "SELECT run_id, arm, ord, policy, page, reader, property, verdict, expected,"
		       " strategy, schedules, exhausted, shrink_runs, message, choices, trail"
		       " FROM trails WHERE run_id = %Q ORDER BY ord", id);
	ck_assert_int_eq(sqlite3_column_count(st), 16);

	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq(col_text(st, 0), id);
	ck_assert_str_eq(col_text(st, 1), "a");
	assert_int(st, 2, 0);
	ck_assert_str_eq(col_text(st, 3), "tsc-offset");
	ck_assert_str_eq(col_text(st, 4), "kvmclock");
	ck_assert_str_eq(col_text(st, 5), "kvmclock");
	ck_assert_str_eq(col_text(st, 6), "monotonic");
	ck_assert_str_eq(col_text(st, 7), "violated");
	ck_assert_str_eq(col_text(st, 8), "violated");
	ck_assert_str_eq(col_text(st, 9), "dfs");
	assert_int(st, 10, 5000000007LL);
	assert_int(st, 11, 1);
	assert_int(st, 12, 17);
	ck_assert_str_eq(col_text(st, 13), "vCPU 1 read 5 ns before vCPU 0's earlier read");
	ck_assert_str_eq(col_text(st, 14), "3 0 1 2");
	ck_assert_str_eq(col_text(st, 15), CT_TRAIL);

	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq(col_text(st, 0), id);
	ck_assert_str_eq(col_text(st, 1), "b");
	assert_int(st, 2, 2);
	ck_assert_str_eq(col_text(st, 3), "gtsc-resume");
	ck_assert_str_eq(col_text(st, 4), "none");
	ck_assert_str_eq(col_text(st, 5), "tsc");
	assert_null(st, 6);
	ck_assert_str_eq(col_text(st, 7), "holds");
	ck_assert_str_eq(col_text(st, 8), "violated");
	ck_assert_str_eq(col_text(st, 9), "pct");
	assert_int(st, 10, 1000);
	assert_int(st, 11, 0);
	assert_int(st, 12, 0);
	for (int c = 13; c <= 15; c++)
		assert_null(st, c);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);

	check_ct_run_row(db, id, 1);
	/* A check run writes no measured results: trails are its only rows. */
	ck_assert_int_eq(result_rows(db, id), 2);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM incomplete_runs"), 0);
	sqlite3_close(db);

	/* Finishing twice, or a run that does not exist: VT_EIO, nothing written. */
	ck_assert_int_eq(store_finish_check(s, id, rows, 0, 0, err, sizeof(err)), VT_EIO);
	ck_assert_msg(strstr(err, g_db) && strstr(err, id) && strstr(err, "'running'"), "%s", err);
	ck_assert_int_eq(store_finish_check(s, id, rows, 2, 0, err, sizeof(err)), VT_EIO);
	ck_assert_msg(strstr(err, g_db) && strstr(err, id), "%s", err);
	ck_assert_int_eq(store_finish_check(s, bad, rows, 2, 0, err, sizeof(err)), VT_EIO);
	ck_assert_msg(strstr(err, g_db) && strstr(err, bad), "%s", err);
	ck_assert_int_eq(store_finish_check(s, bad, rows, 0, 0, err, sizeof(err)), VT_EIO);
	ck_assert_msg(strstr(err, bad) && strstr(err, "'running'"), "%s", err);

	/* No arm explored (every arm filtered out): the run still completes. */
	{
		char id0[33];

		begin_ok(s, &CT_RUN, id0);
		finish_check_ok(s, id0, NULL, 0, 0);
		db = raw_open(g_db);
		check_ct_run_row(db, id0, 0);
		ck_assert_int_eq(trail_rows(db, id0), 0);
		sqlite3_close(db);
	}
	store_close(s);

	db = raw_open(g_db);
	ck_assert_int_eq(trail_rows(db, id), 2);
	ck_assert_int_eq(trail_rows(db, bad), 0);
	ck_assert_str_eq(run_status(db, bad, buf, sizeof(buf)), "absent");
	check_ct_run_row(db, id, 1);
	/* Deleting the run deletes its trails (ON DELETE CASCADE). */
	raw_execf(db, "PRAGMA foreign_keys = ON; DELETE FROM runs WHERE run_id = %Q", id);
	ck_assert_int_eq(trail_rows(db, id), 0);
	sqlite3_close(db);
	assert_integrity(g_db);
}
END_TEST

/*
 * check_verdicts: per scenario and arm, the latest complete check run that explored the arm. A
 * later run that checked only arm a (--arm a) replaces a's verdict and leaves b's; another
 * scenario's verdicts are its own.
 */
START_TEST(test_check_verdicts_latest)
{
	struct store *s = open_ok(g_db);
	struct run_info other = CT_RUN;
	struct trail_row rows[2], later;
	char r1[33], r2[33], o1[33], buf[128], want[128];
	sqlite3_stmt *st;
	sqlite3 *db;

	other.scenario = "other-chk";
	ct_rows(rows, CT_TRAIL);
	begin_ok(s, &CT_RUN, r1);
	finish_check_ok(s, r1, rows, 2, 1);
	begin_ok(s, &other, o1);
	finish_check_ok(s, o1, rows, 1, 0);
	later = rows[0];
	later.violated = false;
	later.property = later.message = later.choices = later.trail = NULL;
	begin_ok(s, &CT_RUN, r2);
	finish_check_ok(s, r2, &later, 1, 1);
	store_close(s);

	db = raw_open(g_db);
	st = qrows(db, "SELECT scenario, arm, run_id, verdict, expected, as_expected, property,"
		       " schedules FROM check_verdicts ORDER BY scenario, ord");
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq(col_text(st, 0), "other-chk");
	ck_assert_str_eq(col_text(st, 1), "a");
	ck_assert_str_eq(col_text(st, 2), o1);
	assert_int(st, 5, 1);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq(col_text(st, 0), "store-chk");
	ck_assert_str_eq(col_text(st, 1), "a");
	ck_assert_str_eq(col_text(st, 2), r2);
	ck_assert_str_eq(col_text(st, 3), "holds");
	ck_assert_str_eq(col_text(st, 4), "violated");
	assert_int(st, 5, 0);
	assert_null(st, 6);
	assert_int(st, 7, 5000000007LL);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq(col_text(st, 0), "store-chk");
	ck_assert_str_eq(col_text(st, 1), "b");
	ck_assert_str_eq(col_text(st, 2), r1);
	assert_int(st, 5, 0);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);

	/* started_at wins over insertion order, as in latest_runs. */
	raw_execf(db, "UPDATE runs SET started_at = '2999-01-01T00:00:00.000Z' WHERE run_id = %Q",
		  r1);
	snprintf(want, sizeof(want), "%s violated", r1);
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT run_id || ' ' || verdict FROM check_verdicts"
			    " WHERE scenario = 'store-chk' AND arm = 'a'"), want);
	sqlite3_close(db);
}
END_TEST

/* ---- status transitions ----------------------------------------------------------------- */

START_TEST(test_begun_stays_running)
{
	struct rt *t = rt_new();
	struct store *s = open_ok(g_db);
	char id[33], bad[33] = "00000000000000000000000000000000", err[512], buf[64];
	sqlite3 *db;

	begin_ok(s, &t->ri, id);
	store_close(s);

	db = raw_open(g_db);
	ck_assert_str_eq(run_status(db, id, buf, sizeof(buf)), "running");
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT finished_at FROM runs WHERE run_id = %Q",
			    id), "<null>");
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT expectations_failed FROM runs"
			    " WHERE run_id = %Q", id), "<null>");
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT run_id FROM incomplete_runs"), id);
	ck_assert_int_eq(result_rows(db, id), 0);
	sqlite3_close(db);

	/* A later process may still finish it; finishing twice, or an unknown run, fails whole. */
	s = open_ok(g_db);
	finish_ok(s, id, t);
	ck_assert_int_eq(store_finish_run(s, id, &t->res, t->recs, err, sizeof(err)), VT_EIO);
	ck_assert_ptr_nonnull(strstr(err, g_db));
	ck_assert_ptr_nonnull(strstr(err, id));
	ck_assert_int_eq(store_finish_run(s, bad, &t->res, t->recs, err, sizeof(err)), VT_EIO);
	ck_assert_ptr_nonnull(strstr(err, bad));
	store_close(s);
	db = raw_open(g_db);
	ck_assert_str_eq(run_status(db, id, buf, sizeof(buf)), "complete");
	ck_assert_int_eq(result_rows(db, id), rt_rows());
	ck_assert_int_eq(result_rows(db, bad), 0);
	sqlite3_close(db);

	/* No results at all: the run completes with its (empty) results. */
	{
		struct results empty = { &t->tu.cfg, 0, NULL, 0, NULL, 0 };

		s = open_ok(g_db);
		begin_ok(s, &t->ri, id);
		ck_assert_int_eq(store_finish_run(s, id, &empty, NULL, err, sizeof(err)), VT_OK);
		store_close(s);
		db = raw_open(g_db);
		ck_assert_str_eq(run_status(db, id, buf, sizeof(buf)), "complete");
		ck_assert_int_eq(qi(db, "SELECT expectations_failed FROM runs WHERE run_id = %Q", id),
				 0);
		sqlite3_close(db);
	}
	assert_integrity(g_db);
	rt_free(t);
}
END_TEST

/* ---- the fault-injection VFS ------------------------------------------------------------ */

/*
 * A VFS that forwards to the real one, with fault points at xOpen and xWrite: after `countdown`
 * points pass, the next fails with fail_rc, and so does every later one (a full disk stays full)
 * until disarmed. ro_main opens main databases read-only, as the unix VFS does when open(O_RDWR)
 * is refused. stop_at > 0 (kill tests): at that xWrite, write one byte to stop_fd and stop
 * there until killed.
 */
struct shim {
	sqlite3_vfs vfs;
	sqlite3_vfs *real;
	int countdown;       /* fault points left before failing; < 0: never */
	int fail_rc;
	bool failing;
	bool ro_main;
	unsigned points;     /* fault points passed since shim_arm */
	unsigned writes;     /* xWrite calls since shim_arm */
	unsigned stop_at;
	int stop_fd;
};

struct shim_file {
	sqlite3_file base;
	struct shim *sh;
	sqlite3_file *real;  /* the real VFS's file, right after this struct */
};

static struct shim g_shim;

static int shim_fault(struct shim *sh)
{
	sh->points++;
	if (!sh->failing && sh->countdown >= 0 && sh->countdown-- == 0)
		sh->failing = true;
	if (!sh->failing)
		return SQLITE_OK;
	errno = (sh->fail_rc & 0xff) == SQLITE_FULL ? ENOSPC : EIO;
	return sh->fail_rc;
}

static sqlite3_file *rf(sqlite3_file *f)
{
	return ((struct shim_file *)f)->real;
}

static int io_close(sqlite3_file *f)
{
	sqlite3_file *r = rf(f);
	int rc = r->pMethods ? r->pMethods->xClose(r) : SQLITE_OK;

	f->pMethods = NULL;
	return rc;
}

static int io_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	return rf(f)->pMethods->xRead(rf(f), buf, n, off);
}

static int io_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
	struct shim *sh = ((struct shim_file *)f)->sh;
	int rc;

	sh->writes++;
	if (sh->stop_at && sh->writes == sh->stop_at) {
		ssize_t w = write(sh->stop_fd, "k", 1);

		(void)w;
		for (;;)
			pause();
	}
	rc = shim_fault(sh);
	if (rc != SQLITE_OK)
		return rc;
	return rf(f)->pMethods->xWrite(rf(f), buf, n, off);
}

static int io_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return rf(f)->pMethods->xTruncate(rf(f), size);
}

static int io_sync(sqlite3_file *f, int flags)
{
	return rf(f)->pMethods->xSync(rf(f), flags);
}

static int io_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return rf(f)->pMethods->xFileSize(rf(f), size);
}

static int io_lock(sqlite3_file *f, int l)
{
	return rf(f)->pMethods->xLock(rf(f), l);
}

static int io_unlock(sqlite3_file *f, int l)
{
	return rf(f)->pMethods->xUnlock(rf(f), l);
}

static int io_reserved(sqlite3_file *f, int *out)
{
	return rf(f)->pMethods->xCheckReservedLock(rf(f), out);
}

static int io_fcntl(sqlite3_file *f, int op, void *arg)
{
	return rf(f)->pMethods->xFileControl(rf(f), op, arg);
}

static int io_sector(sqlite3_file *f)
{
	return rf(f)->pMethods->xSectorSize(rf(f));
}

static int io_devchar(sqlite3_file *f)
{
	return rf(f)->pMethods->xDeviceCharacteristics(rf(f));
}

static int io_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
	return rf(f)->pMethods->xShmMap(rf(f), pg, pgsz, extend, pp);
}

static int io_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
	return rf(f)->pMethods->xShmLock(rf(f), off, n, flags);
}

static void io_shm_barrier(sqlite3_file *f)
{
	rf(f)->pMethods->xShmBarrier(rf(f));
}

static int io_shm_unmap(sqlite3_file *f, int del)
{
	return rf(f)->pMethods->xShmUnmap(rf(f), del);
}

static int io_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
	return rf(f)->pMethods->xFetch(rf(f), off, n, pp);
}

static int io_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return rf(f)->pMethods->xUnfetch(rf(f), off, p);
}

static const sqlite3_io_methods shim_io = {
	3, io_close, io_read, io_write, io_truncate, io_sync, io_size, io_lock, io_unlock,
	io_reserved, io_fcntl, io_sector, io_devchar, io_shm_map, io_shm_lock, io_shm_barrier,
	io_shm_unmap, io_fetch, io_unfetch,
};

static sqlite3_vfs *real_of(sqlite3_vfs *v)
{
	return ((struct shim *)v->pAppData)->real;
}

static int vfs_open(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *out)
{
	struct shim *sh = v->pAppData;
	struct shim_file *sf = (struct shim_file *)f;
	int rc;

	sf->base.pMethods = NULL;
	sf->sh = sh;
	sf->real = (sqlite3_file *)(sf + 1);
	sf->real->pMethods = NULL;
	rc = shim_fault(sh);
	if (rc != SQLITE_OK)
		return rc;
	if (sh->ro_main && (flags & SQLITE_OPEN_MAIN_DB))
		flags = (flags & ~(SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) | SQLITE_OPEN_READONLY;
	rc = sh->real->xOpen(sh->real, name, sf->real, flags, out);
	if (sf->real->pMethods)
		sf->base.pMethods = &shim_io;
	return rc;
}

static int vfs_delete(sqlite3_vfs *v, const char *name, int sync)
{
	return real_of(v)->xDelete(real_of(v), name, sync);
}

static int vfs_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
	return real_of(v)->xAccess(real_of(v), name, flags, out);
}

static int vfs_fullpath(sqlite3_vfs *v, const char *name, int n, char *out)
{
	return real_of(v)->xFullPathname(real_of(v), name, n, out);
}

static void *vfs_dlopen(sqlite3_vfs *v, const char *name)
{
	return real_of(v)->xDlOpen(real_of(v), name);
}

static void vfs_dlerror(sqlite3_vfs *v, int n, char *msg)
{
	real_of(v)->xDlError(real_of(v), n, msg);
}

static void (*vfs_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
	return real_of(v)->xDlSym(real_of(v), h, sym);
}

static void vfs_dlclose(sqlite3_vfs *v, void *h)
{
	real_of(v)->xDlClose(real_of(v), h);
}

static int vfs_random(sqlite3_vfs *v, int n, char *out)
{
	return real_of(v)->xRandomness(real_of(v), n, out);
}

static int vfs_sleep(sqlite3_vfs *v, int us)
{
	return real_of(v)->xSleep(real_of(v), us);
}

static int vfs_time(sqlite3_vfs *v, double *out)
{
	return real_of(v)->xCurrentTime(real_of(v), out);
}

static int vfs_lasterr(sqlite3_vfs *v, int n, char *out)
{
	return real_of(v)->xGetLastError(real_of(v), n, out);
}

static int vfs_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
	return real_of(v)->xCurrentTimeInt64(real_of(v), out);
}

/* Installs the shim as the default VFS, passing everything through. */
static void shim_install(void)
{
	sqlite3_vfs *real = g_real_vfs;

	memset(&g_shim, 0, sizeof(g_shim));
	g_shim.real = real;
	g_shim.countdown = -1;
	g_shim.vfs = (sqlite3_vfs){
		.iVersion = 2,
		.szOsFile = (int)sizeof(struct shim_file) + real->szOsFile,
		.mxPathname = real->mxPathname,
		.zName = "vtsim-fault",
		.pAppData = &g_shim,
		.xOpen = vfs_open,
		.xDelete = vfs_delete,
		.xAccess = vfs_access,
		.xFullPathname = vfs_fullpath,
		.xDlOpen = vfs_dlopen,
		.xDlError = vfs_dlerror,
		.xDlSym = vfs_dlsym,
		.xDlClose = vfs_dlclose,
		.xRandomness = vfs_random,
		.xSleep = vfs_sleep,
		.xCurrentTime = vfs_time,
		.xGetLastError = vfs_lasterr,
		.xCurrentTimeInt64 = vfs_time64,
	};
	ck_assert_int_eq(sqlite3_vfs_register(&g_shim.vfs, 1), SQLITE_OK);
	ck_assert_ptr_eq(sqlite3_vfs_find(NULL), &g_shim.vfs);
}

/* Restores the real default VFS (every connection through the shim must be closed). */
static void shim_remove(void)
{
	sqlite3_vfs_unregister(&g_shim.vfs);
	sqlite3_vfs_register(g_real_vfs, 1);
	ck_assert_ptr_eq(sqlite3_vfs_find(NULL), g_real_vfs);
}

/* The next `countdown` fault points pass, the one after fails with rc (and all later ones). */
static void shim_arm(int countdown, int rc)
{
	g_shim.countdown = countdown;
	g_shim.fail_rc = rc;
	g_shim.failing = false;
	g_shim.points = 0;
	g_shim.writes = 0;
}

static void shim_disarm(void)
{
	shim_arm(-1, SQLITE_OK);
}

static void shim_teardown(void)
{
	if (sqlite3_vfs_find("vtsim-fault"))
		shim_remove();
	teardown();
}

/* ---- read-only, disk full, I/O error ---------------------------------------------------- */

struct fault_kind {
	int rc;
	const char *words;  /* what the message must say */
};

static const struct fault_kind FAULTS[] = {
	{ SQLITE_FULL, "the disk is full" },
	{ SQLITE_IOERR_WRITE, "I/O error" },
	{ SQLITE_READONLY, "read-only" },
};

/* The database at path opens with the real VFS and is consistent. */
static void assert_consistent(const char *path)
{
	assert_integrity(path);
}

/* store_open of a new database failing at every fault point: never a half-made schema. */
START_TEST(test_fault_open)
{
	const struct fault_kind *fk = &FAULTS[_i];
	int n;

	shim_install();
	for (n = 0; n < 1000; n++) {
		char path[400], err[512] = "";
		struct store *s = NULL;
		sqlite3 *db;
		int rc;
		int64_t ver;

		snprintf(path, sizeof(path), "%s/open-%d.db", g_dir, n);
		shim_arm(n, fk->rc);
		rc = store_open(&s, path, err, sizeof(err));
		shim_disarm();
		if (rc == VT_OK) {
			store_close(s);
			break;
		}
		ck_assert_int_eq(rc, VT_EIO);
		ck_assert_ptr_null(s);
		ck_assert_msg(strstr(err, fk->words) && strstr(err, path), "n=%d: %s", n, err);
		assert_consistent(path);
		db = raw_open(path);
		ver = qi(db, "PRAGMA user_version");
		ck_assert_msg(ver == 0 || ver == STORE_SCHEMA_VERSION, "n=%d: version %lld", n,
			      (long long)ver);
		/* All or nothing: 9 tables (sqlite_sequence one of them) and 7 views, or an empty
		 * database. */
		ck_assert_int_eq(qi(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"),
				 ver == 0 ? 0 : 9);
		ck_assert_int_eq(qi(db, "SELECT count(*) FROM sqlite_master WHERE type = 'view'"),
				 ver == 0 ? 0 : 7);
		sqlite3_close(db);
		/* Without the fault, the same file opens and works. */
		s = open_ok(path);
		store_close(s);
	}
	ck_assert_msg(n >= 2 && n < 1000, "store_open passed %d fault points", n);
	shim_remove();
}
END_TEST

/* store_begin_run failing at every fault point: no run row. */
START_TEST(test_fault_begin)
{
	const struct fault_kind *fk = &FAULTS[_i];
	struct run_info ri = { "f", "f.scn", "text", 3, "", "", 10, NULL, NULL };
	struct store *s;
	int n;

	shim_install();
	s = open_ok(g_db);
	for (n = 0; n < 1000; n++) {
		char id[33], err[512] = "";
		sqlite3 *db;
		int rc;

		shim_arm(n, fk->rc);
		rc = store_begin_run(s, &ri, id, err, sizeof(err));
		shim_disarm();
		if (rc == VT_OK)
			break;
		ck_assert_int_eq(rc, VT_EIO);
		ck_assert_msg(strstr(err, fk->words) && strstr(err, g_db) &&
			      strstr(err, "writing the run row"), "n=%d: %s", n, err);
		db = raw_open(g_db);
		ck_assert_int_eq(qi(db, "SELECT count(*) FROM runs"), 0);
		sqlite3_close(db);
	}
	ck_assert_msg(n >= 1 && n < 1000, "store_begin_run passed %d fault points", n);
	store_close(s);
	assert_consistent(g_db);
	shim_remove();
}
END_TEST

/*
 * store_finish_run failing at every fault point until it passes: after each failure the run is
 * 'running' with no result rows (seen by another connection and after closing), the database is
 * consistent, and the same connection can finish the run once the fault is gone.
 */
START_TEST(test_fault_finish)
{
	const struct fault_kind *fk = &FAULTS[_i];
	struct rt *t = rt_new();
	struct store *s;
	char done[33], err[512], buf[64];
	int n;

	shim_install();
	s = open_ok(g_db);
	begin_ok(s, &t->ri, done);
	finish_ok(s, done, t);
	for (n = 0; n < 5000; n++) {
		char id[33];
		sqlite3 *db;
		int rc;

		begin_ok(s, &t->ri, id);
		shim_arm(n, fk->rc);
		err[0] = '\0';
		rc = store_finish_run(s, id, &t->res, t->recs, err, sizeof(err));
		shim_disarm();
		db = raw_open(g_db);
		if (rc == VT_OK) {
			ck_assert_str_eq(run_status(db, id, buf, sizeof(buf)), "complete");
			ck_assert_int_eq(result_rows(db, id), rt_rows());
			sqlite3_close(db);
			break;
		}
		ck_assert_int_eq(rc, VT_EIO);
		ck_assert_msg(strstr(err, fk->words) && strstr(err, g_db) && strstr(err, id),
			      "n=%d: %s", n, err);
		ck_assert_str_eq(run_status(db, id, buf, sizeof(buf)), "running");
		ck_assert_int_eq(result_rows(db, id), 0);
		ck_assert_int_eq(result_rows(db, done), rt_rows());
		sqlite3_close(db);

		if (n % 2 == 0) {
			/* The same connection recovers: the run completes. */
			finish_ok(s, id, t);
		} else {
			/* Or the process gives up: closed, the run stays 'running'. */
			store_close(s);
			db = raw_open(g_db);
			ck_assert_str_eq(run_status(db, id, buf, sizeof(buf)), "running");
			ck_assert_int_eq(result_rows(db, id), 0);
			sqlite3_close(db);
			s = open_ok(g_db);
		}
		assert_consistent(g_db);
	}
	ck_assert_msg(n >= 3 && n < 5000, "store_finish_run passed %d fault points", n);
	store_close(s);
	assert_consistent(g_db);
	shim_remove();
	rt_free(t);
}
END_TEST

/*
 * store_finish_check failing at every fault point until it passes, as test_fault_finish: after
 * each failure the check run is 'running' with no trails, the earlier check run is intact, and
 * the run can still be finished. The trail is long enough (64 KiB) to span many pages.
 */
START_TEST(test_fault_finish_check)
{
	const struct fault_kind *fk = &FAULTS[_i];
	struct trail_row rows[2];
	struct store *s;
	char done[33], err[512], buf[64];
	size_t len = strlen(CT_TRAIL);
	char *trail = malloc(64 << 10);
	int n;

	ck_assert_ptr_nonnull(trail);
	for (size_t i = 0; i < (64 << 10) - 1; i++)
		trail[i] = CT_TRAIL[i % len];
	trail[(64 << 10) - 1] = '\0';
	ct_rows(rows, trail);
	shim_install();
	s = open_ok(g_db);
	begin_ok(s, &CT_RUN, done);
	finish_check_ok(s, done, rows, 2, 1);
	for (n = 0; n < 5000; n++) {
		char id[33];
		sqlite3 *db;
		int rc;

		begin_ok(s, &CT_RUN, id);
		shim_arm(n, fk->rc);
		err[0] = '\0';
		rc = store_finish_check(s, id, rows, 2, 1, err, sizeof(err));
		shim_disarm();
		db = raw_open(g_db);
		if (rc == VT_OK) {
			check_ct_run_row(db, id, 1);
			ck_assert_int_eq(trail_rows(db, id), 2);
			ck_assert_int_eq(qi(db, "SELECT length(trail) FROM trails WHERE run_id = %Q"
					     " AND arm = 'a'", id), (64 << 10) - 1);
			sqlite3_close(db);
			break;
		}
		ck_assert_int_eq(rc, VT_EIO);
		ck_assert_msg(strstr(err, fk->words) && strstr(err, g_db) && strstr(err, id),
			      "n=%d: %s", n, err);
		ck_assert_str_eq(run_status(db, id, buf, sizeof(buf)), "running");
		ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT coalesce(finished_at, 'none') || ' '"
				    " || coalesce(expectations_failed, 'none') FROM runs"
				    " WHERE run_id = %Q", id), "none none");
		ck_assert_int_eq(trail_rows(db, id), 0);
		check_ct_run_row(db, done, 1);
		ck_assert_int_eq(trail_rows(db, done), 2);
		sqlite3_close(db);

		if (n % 2 == 0) {
			finish_check_ok(s, id, rows, 2, 1);
		} else {
			store_close(s);
			db = raw_open(g_db);
			ck_assert_str_eq(run_status(db, id, buf, sizeof(buf)), "running");
			ck_assert_int_eq(trail_rows(db, id), 0);
			sqlite3_close(db);
			s = open_ok(g_db);
		}
		assert_consistent(g_db);
	}
	ck_assert_msg(n >= 3 && n < 5000, "store_finish_check passed %d fault points", n);
	store_close(s);
	assert_consistent(g_db);
	shim_remove();
	free(trail);
}
END_TEST

/* A database the process may only read (open(O_RDWR) refused, as for a read-only file). */
START_TEST(test_readonly_file)
{
	struct rt *t = rt_new();
	struct store *s;
	char id[33], err[512] = "";
	sqlite3 *db;
	int fd;

	/* An existing store: it opens (reading needs no write), writing a run fails clearly. */
	s = open_ok(g_db);
	begin_ok(s, &t->ri, id);
	finish_ok(s, id, t);
	store_close(s);
	shim_install();
	g_shim.ro_main = true;
	s = open_ok(g_db);
	ck_assert_int_eq(store_begin_run(s, &t->ri, id, err, sizeof(err)), VT_EIO);
	ck_assert_msg(strstr(err, "read-only") && strstr(err, g_db), "%s", err);
	store_close(s);

	/* A new (empty) file: the schema cannot be created. */
	{
		char path[400];

		snprintf(path, sizeof(path), "%s/empty.db", g_dir);
		fd = open(path, O_CREAT | O_WRONLY, 0644);
		ck_assert_int_ge(fd, 0);
		close(fd);
		ck_assert_int_eq(store_open(&s, path, err, sizeof(err)), VT_EIO);
		ck_assert_msg(strstr(err, "read-only") && strstr(err, path), "%s", err);
	}
	g_shim.ro_main = false;
	shim_remove();

	db = raw_open(g_db);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM runs"), 1);
	sqlite3_close(db);
	assert_consistent(g_db);
	rt_free(t);
}
END_TEST

/* ---- killed in the middle --------------------------------------------------------------- */

/* Reads exactly n bytes (false at EOF: the child exited). */
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

/* The database after a writer was killed: the complete run intact, the killed one 'running'
 * with nothing of its results, consistent, and usable for the next run. */
static void check_after_kill(const struct rt *t, const char *done, const char *killed)
{
	char buf[64], id[33];
	struct store *s;
	sqlite3 *db;

	assert_integrity(g_db);
	db = raw_open(g_db);
	ck_assert_str_eq(run_status(db, done, buf, sizeof(buf)), "complete");
	ck_assert_int_eq(result_rows(db, done), rt_rows());
	ck_assert_str_eq(run_status(db, killed, buf, sizeof(buf)), "running");
	ck_assert_int_eq(result_rows(db, killed), 0);
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT run_id FROM incomplete_runs"), killed);
	sqlite3_close(db);
	s = open_ok(g_db);
	begin_ok(s, &t->ri, id);
	finish_ok(s, id, t);
	store_close(s);
	assert_integrity(g_db);
}

/* The xWrite calls one store_finish_run of rt makes. */
static unsigned finish_writes(struct rt *t)
{
	struct store *s;
	char id[33];
	unsigned w;

	shim_install();
	s = open_ok(g_db);
	begin_ok(s, &t->ri, id);
	shim_disarm();
	finish_ok(s, id, t);
	w = g_shim.writes;
	store_close(s);
	shim_remove();
	return w;
}

/*
 * A child stopped inside store_finish_run at its k-th write (each k from the first write to the
 * last, the commit record's), then killed with SIGKILL.
 */
START_TEST(test_kill_at_write)
{
	struct rt *t = rt_new();
	unsigned total, k;
	char done[33];
	struct store *s;

	s = open_ok(g_db);
	begin_ok(s, &t->ri, done);
	finish_ok(s, done, t);
	store_close(s);
	total = finish_writes(t);
	ck_assert_uint_gt(total, 2);
	/* finish_writes left a complete run too: start over from one complete run. */
	unlink(g_db);
	s = open_ok(g_db);
	begin_ok(s, &t->ri, done);
	finish_ok(s, done, t);
	store_close(s);

	for (k = 1; k <= total; k++) {
		char id[34] = "", stop;
		int p[2], status;
		sqlite3 *db;
		pid_t pid;

		ck_assert_int_eq(pipe(p), 0);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			char cid[33], err[512];
			struct store *cs;

			close(p[0]);
			shim_install();
			if (store_open(&cs, g_db, err, sizeof(err)) != VT_OK ||
			    store_begin_run(cs, &t->ri, cid, err, sizeof(err)) != VT_OK)
				_exit(2);
			if (write(p[1], cid, 32) != 32)
				_exit(2);
			shim_disarm();
			g_shim.stop_at = k;
			g_shim.stop_fd = p[1];
			store_finish_run(cs, cid, &t->res, t->recs, err, sizeof(err));
			_exit(3); /* not reached: stopped at write k */
		}
		close(p[1]);
		ck_assert_msg(read_full(p[0], id, 32), "k=%u: the child did not begin a run", k);
		if (!read_full(p[0], &stop, 1)) {
			/* The finish made fewer writes than the measured total this time (SQLite's
			 * WAL auto-checkpoint varies with the file's history): the child completed.
			 * Every write before this one was a kill point already. */
			ck_assert_int_eq(waitpid(pid, &status, 0), pid);
			ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 3,
				      "k=%u: the child neither stopped nor finished", k);
			ck_assert_msg(k > total / 2, "k=%u of %u: the child stopped too early", k, total);
			close(p[0]);
			break;
		}
		kill(pid, SIGKILL);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		close(p[0]);
		check_after_kill(t, done, id);
		/* The next child's run is then the only incomplete one. */
		db = raw_open(g_db);
		raw_execf(db, "DELETE FROM runs WHERE run_id = %Q", id);
		sqlite3_close(db);
	}
	rt_free(t);
}
END_TEST

/*
 * A child writing a large run (RECORD_MAX_SERIES series rows) is killed by the clock once its
 * transaction has spilled pages into the write-ahead log, long before its commit.
 */
START_TEST(test_kill_mid_transaction)
{
	struct rt *t = rt_new();
	char done[33], id[34] = "", wal[400];
	struct store *s;
	struct stat sb;
	int p[2], status;
	pid_t pid;
	bool grew = false;

	s = open_ok(g_db);
	begin_ok(s, &t->ri, done);
	finish_ok(s, done, t);
	store_close(s); /* the last connection: checkpointed, the log removed */
	snprintf(wal, sizeof(wal), "%s-wal", g_db);

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct series_row *rows = calloc(RECORD_MAX_SERIES, sizeof(*rows));
		char cid[33], err[512];
		struct store *cs;

		close(p[0]);
		if (!rows)
			_exit(2);
		for (uint32_t i = 0; i < RECORD_MAX_SERIES; i++)
			rows[i] = (struct series_row){ i % 8, (sim_ns)i * 1000, (uint64_t)i * 999,
						       -(int64_t)i };
		t->rec.series = rows;
		t->rec.nseries = t->rec.cap_series = RECORD_MAX_SERIES;
		if (store_open(&cs, g_db, err, sizeof(err)) != VT_OK ||
		    store_begin_run(cs, &t->ri, cid, err, sizeof(err)) != VT_OK)
			_exit(2);
		if (write(p[1], cid, 32) != 32)
			_exit(2);
		store_finish_run(cs, cid, &t->res, t->recs, err, sizeof(err));
		_exit(0);
	}
	close(p[1]);
	ck_assert_msg(read_full(p[0], id, 32), "the child did not begin a run");
	for (int ms = 0; ms < 20000 && !grew; ms++) {
		grew = stat(wal, &sb) == 0 && sb.st_size > (1 << 20);
		if (!grew)
			usleep(1000);
	}
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	close(p[0]);
	ck_assert_msg(grew, "the write-ahead log never grew past 1 MiB");
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		      "the child finished before it was killed (status %d)", status);
	check_after_kill(t, done, id);
	rt_free(t);
}
END_TEST

/*
 * A real write failure from the OS, without privileges: a child limited to 512 KiB per file
 * (RLIMIT_FSIZE, SIGXFSZ ignored, so write(2) fails with EFBIG or writes short) writes a run
 * whose log must grow past that.
 */
START_TEST(test_file_size_limit)
{
	struct rt *t = rt_new();
	char done[33], msg[600] = "", buf[64];
	struct store *s;
	int p[2], status;
	ssize_t n;
	pid_t pid;
	sqlite3 *db;

	s = open_ok(g_db);
	begin_ok(s, &t->ri, done);
	finish_ok(s, done, t);
	store_close(s);

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct series_row *rows = calloc(RECORD_MAX_SERIES, sizeof(*rows));
		struct rlimit rl = { 512 << 10, 512 << 10 };
		char cid[33], err[512];
		struct store *cs;
		int rc;

		close(p[0]);
		if (!rows)
			_exit(2);
		for (uint32_t i = 0; i < RECORD_MAX_SERIES; i++)
			rows[i] = (struct series_row){ i % 8, (sim_ns)i * 1000, (uint64_t)i * 999, 0 };
		t->rec.series = rows;
		t->rec.nseries = t->rec.cap_series = RECORD_MAX_SERIES;
		if (store_open(&cs, g_db, err, sizeof(err)) != VT_OK ||
		    store_begin_run(cs, &t->ri, cid, err, sizeof(err)) != VT_OK)
			_exit(2);
		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(2);
		rc = store_finish_run(cs, cid, &t->res, t->recs, err, sizeof(err));
		if (write(p[1], cid, 32) != 32 || write(p[1], err, strlen(err)) < 0)
			_exit(2);
		store_close(cs);
		_exit(rc == VT_EIO ? 0 : 1);
	}
	close(p[1]);
	for (size_t got = 0; (n = read(p[0], msg + got, sizeof(msg) - 1 - got)) > 0;)
		got += (size_t)n;
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d: %s", status, msg);
	ck_assert_uint_gt(strlen(msg), 32);
	ck_assert_msg((strstr(msg, "the disk is full") || strstr(msg, "I/O error")) &&
		      strstr(msg, g_db), "%s", msg + 32);
	msg[32] = '\0';
	assert_integrity(g_db);
	db = raw_open(g_db);
	ck_assert_str_eq(run_status(db, msg, buf, sizeof(buf)), "running");
	ck_assert_int_eq(result_rows(db, msg), 0);
	ck_assert_str_eq(run_status(db, done, buf, sizeof(buf)), "complete");
	ck_assert_int_eq(result_rows(db, done), rt_rows());
	sqlite3_close(db);
	rt_free(t);
}
END_TEST

/* ---- locked ----------------------------------------------------------------------------- */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

START_TEST(test_busy)
{
	struct rt *t = rt_new();
	char id[33], id2[33], cid[33], err[512] = "", buf[64], path[400];
	struct trail_row rows[2];
	struct store *s, *s2 = NULL;
	sqlite3 *other;
	double t0, waited;

	setenv("VTSIM_DB_BUSY_MS", "200", 1);
	s = open_ok(g_db);
	begin_ok(s, &t->ri, id);
	begin_ok(s, &CT_RUN, cid);

	other = raw_open(g_db);
	raw_exec(other, "BEGIN EXCLUSIVE");
	t0 = now_ms();
	ck_assert_int_eq(store_begin_run(s, &t->ri, id2, err, sizeof(err)), VT_EIO);
	waited = now_ms() - t0;
	ck_assert_msg(strstr(err, "locked") && strstr(err, g_db) && strstr(err, "200 ms"), "%s", err);
	ck_assert_msg(waited >= 150 && waited < 3000, "waited %.0f ms", waited);

	/* The results too: the run stays 'running', nothing written. */
	ck_assert_int_eq(store_finish_run(s, id, &t->res, t->recs, err, sizeof(err)), VT_EIO);
	ck_assert_msg(strstr(err, "locked") && strstr(err, id), "%s", err);
	/* And a check run's verdicts. */
	ct_rows(rows, CT_TRAIL);
	ck_assert_int_eq(store_finish_check(s, cid, rows, 2, 1, err, sizeof(err)), VT_EIO);
	ck_assert_msg(strstr(err, "locked") && strstr(err, g_db) && strstr(err, cid), "%s", err);
	/* A database in WAL mode can still be opened (and read) meanwhile. */
	s2 = open_ok(g_db);
	store_close(s2);
	raw_exec(other, "COMMIT");
	ck_assert_str_eq(run_status(other, id, buf, sizeof(buf)), "running");
	ck_assert_int_eq(result_rows(other, id), 0);
	ck_assert_str_eq(run_status(other, cid, buf, sizeof(buf)), "running");
	ck_assert_int_eq(result_rows(other, cid), 0);

	/* Released: all succeed. */
	begin_ok(s, &t->ri, id2);
	finish_ok(s, id, t);
	finish_check_ok(s, cid, rows, 2, 1);
	ck_assert_str_eq(run_status(other, id, buf, sizeof(buf)), "complete");
	ck_assert_str_eq(run_status(other, cid, buf, sizeof(buf)), "complete");
	store_close(s);

	/* A new database whose schema cannot be created while another holds the lock. */
	snprintf(path, sizeof(path), "%s/new.db", g_dir);
	sqlite3_close(other);
	other = raw_open(path);
	raw_exec(other, "PRAGMA journal_mode = WAL");
	raw_exec(other, "BEGIN EXCLUSIVE");
	ck_assert_int_eq(store_open(&s2, path, err, sizeof(err)), VT_EIO);
	ck_assert_msg(strstr(err, "locked") && strstr(err, path), "%s", err);
	raw_exec(other, "COMMIT");
	sqlite3_close(other);
	s2 = open_ok(path);
	store_close(s2);
	assert_integrity(g_db);
	rt_free(t);
}
END_TEST

/* ---- files that are not ours ------------------------------------------------------------ */

START_TEST(test_not_a_database)
{
	char err[512] = "";
	struct store *s = NULL;
	unsigned char junk[8192];
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	FILE *f;

	for (size_t i = 0; i < sizeof(junk); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		junk[i] = (unsigned char)x;
	}
	f = fopen(g_db, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
	fclose(f);
	ck_assert_int_eq(store_open(&s, g_db, err, sizeof(err)), VT_EIO);
	ck_assert_ptr_null(s);
	ck_assert_msg(strstr(err, "not an SQLite database") && strstr(err, g_db), "%s", err);

	/* A path in a directory that does not exist. */
	snprintf(err, sizeof(err), "%s", "");
	{
		char path[400];

		snprintf(path, sizeof(path), "%s/no/such/dir/r.db", g_dir);
		ck_assert_int_eq(store_open(&s, path, err, sizeof(err)), VT_EIO);
		ck_assert_msg(strstr(err, "cannot open") && strstr(err, path), "%s", err);
	}
}
END_TEST

START_TEST(test_newer_schema)
{
	char err[512] = "", want[40];
	struct store *s = NULL;
	sqlite3 *db = raw_open(g_db);


	raw_execf(db, "CREATE TABLE future (x); PRAGMA user_version = %d", STORE_SCHEMA_VERSION + 1);
	sqlite3_close(db);
	ck_assert_int_eq(store_open(&s, g_db, err, sizeof(err)), VT_EIO);
	ck_assert_ptr_null(s);
	snprintf(want, sizeof(want), "schema version %d", STORE_SCHEMA_VERSION + 1);
	ck_assert_msg(strstr(err, want) && strstr(err, "newer") && strstr(err, g_db), "%s", err);
	db = raw_open(g_db);
	ck_assert_int_eq(qi(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION + 1);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM sqlite_master"), 1);
	sqlite3_close(db);
}
END_TEST

/* Version 0 but someone else's tables: refused, nothing changed. */
START_TEST(test_foreign_tables)
{
	char err[512] = "";
	struct store *s = NULL;
	sqlite3 *db = raw_open(g_db);

	raw_exec(db, "CREATE TABLE runs (x)");
	sqlite3_close(db);
	ck_assert_int_eq(store_open(&s, g_db, err, sizeof(err)), VT_EIO);
	ck_assert_msg(strstr(err, "creating the schema") && strstr(err, "already exists"), "%s",
		      err);
	db = raw_open(g_db);
	ck_assert_int_eq(qi(db, "PRAGMA user_version"), 0);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM sqlite_master"), 1);
	sqlite3_close(db);
}
END_TEST

/* Whether the schema has an object of this type ('table', 'view') and name. */
static bool has_object(sqlite3 *db, const char *type, const char *name)
{
	return qi(db, "SELECT count(*) FROM sqlite_master WHERE type = %Q AND name = %Q", type,
		  name) == 1;
}

/* A column of a table or view by name (pragma_table_info). */
static bool has_column(sqlite3 *db, const char *table, const char *column)
{
	return qi(db, "SELECT count(*) FROM pragma_table_info(%Q) WHERE name = %Q", table,
		  column) == 1;
}

/* Copies the database at `from` to a new file `to` (the backup API, through the real VFS). */
static void copy_db(const char *from, const char *to)
{
	sqlite3 *src = raw_open(from), *dst = raw_open(to);
	sqlite3_backup *bk = sqlite3_backup_init(dst, "main", src, "main");

	ck_assert_ptr_nonnull(bk);
	ck_assert_int_eq(sqlite3_backup_step(bk, -1), SQLITE_DONE);
	ck_assert_int_eq(sqlite3_backup_finish(bk), SQLITE_OK);
	sqlite3_close(dst);
	sqlite3_close(src);
}

/* Every row a query returns as text, a line per row, each value with its type ("i:5",
 * "r:0.25", "t:a", "null"), so that rows of two databases compare exactly. sqlite3_free it. */
static char *rows_text(sqlite3 *db, const char *sql)
{
	sqlite3_str *out = sqlite3_str_new(db);
	sqlite3_stmt *st = qrows(db, "%s", sql);
	char *text;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int n = sqlite3_column_count(st);

		for (int c = 0; c < n; c++) {
			switch (sqlite3_column_type(st, c)) {
			case SQLITE_INTEGER:
				sqlite3_str_appendf(out, "i:%lld", (long long)sqlite3_column_int64(st, c));
				break;
			case SQLITE_FLOAT:
				sqlite3_str_appendf(out, "r:%!.17g", sqlite3_column_double(st, c));
				break;
			case SQLITE_NULL:
				sqlite3_str_appendall(out, "null");
				break;
			default:
				sqlite3_str_appendf(out, "t:%s", col_text(st, c));
				break;
			}
			sqlite3_str_appendall(out, c + 1 < n ? "|" : "\n");
		}
	}
	ck_assert_msg(rc == SQLITE_DONE, "%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	ck_assert_int_eq(sqlite3_str_errcode(out), SQLITE_OK);
	text = sqlite3_str_finish(out);
	return text ? text : sqlite3_mprintf("%s", "");
}

/* Queries `a` and `b` return the same rows, values and types, in the same order. */
static void assert_same_rows(sqlite3 *db, const char *what, const char *a, const char *b)
{
	char *x = rows_text(db, a), *y = rows_text(db, b);

	ck_assert_msg(strcmp(x, y) == 0, "%s differ:\n%s\nversus\n%s", what, x, y);
	sqlite3_free(x);
	sqlite3_free(y);
}

/*
 * The main database is the version 4 database ATTACHed as v4 migrated to version 5, every row
 * kept: arms with every column, arm_key following the order the rows were written (rowid);
 * series and timeline through the views with each arm's rows in version 4's rowid order, seq
 * 0, 1, ... per arm; violations (rebuilt), metrics, runs, expectations, trails as they were.
 */
static void check_migrated(sqlite3 *db)
{
	ck_assert_int_eq(qi(db, "PRAGMA main.user_version"), 5);
	ck_assert_int_eq(qi(db, "PRAGMA v4.user_version"), 4);
	assert_same_rows(db, "arms", "SELECT " V4_ARM_COLUMNS " FROM v4.arms ORDER BY rowid",
			 "SELECT " V4_ARM_COLUMNS " FROM main.arms ORDER BY arm_key");
	assert_same_rows(db, "series",
			 "SELECT run_id, arm, vcpu, t_ns, guest_ns, error_ns FROM v4.series"
			 " ORDER BY run_id, arm, rowid",
			 "SELECT run_id, arm, vcpu, t_ns, guest_ns, error_ns FROM main.series"
			 " ORDER BY run_id, arm, seq");
	assert_same_rows(db, "timeline",
			 "SELECT run_id, arm, kind, t_ns, length_ns, vcpu, from_cpu, to_cpu"
			 " FROM v4.timeline ORDER BY run_id, arm, rowid",
			 "SELECT run_id, arm, kind, t_ns, length_ns, vcpu, from_cpu, to_cpu"
			 " FROM main.timeline ORDER BY run_id, arm, seq");
	/* Every row has an arm (the views show them all), and each arm's seq is 0 .. n-1. */
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM main.series_rows"),
			 qi(db, "SELECT count(*) FROM v4.series"));
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM main.timeline_rows"),
			 qi(db, "SELECT count(*) FROM v4.timeline"));
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM (SELECT arm_key FROM main.series_rows"
			     " GROUP BY arm_key HAVING min(seq) <> 0 OR max(seq) <> count(*) - 1)"), 0);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM (SELECT arm_key FROM main.timeline_rows"
			     " GROUP BY arm_key HAVING min(seq) <> 0 OR max(seq) <> count(*) - 1)"), 0);
	assert_same_rows(db, "violations",
			 "SELECT " VIOLATION_COLUMNS " FROM v4.violations ORDER BY rowid",
			 "SELECT " VIOLATION_COLUMNS " FROM main.violations ORDER BY rowid");
	assert_same_rows(db, "metrics", "SELECT * FROM v4.metrics ORDER BY rowid",
			 "SELECT * FROM main.metrics ORDER BY rowid");
	assert_same_rows(db, "runs", "SELECT * FROM v4.runs ORDER BY rowid",
			 "SELECT * FROM main.runs ORDER BY rowid");
	assert_same_rows(db, "expectations", "SELECT * FROM v4.expectations ORDER BY rowid",
			 "SELECT * FROM main.expectations ORDER BY rowid");
	assert_same_rows(db, "trails", "SELECT * FROM v4.trails ORDER BY rowid",
			 "SELECT * FROM main.trails ORDER BY rowid");
}

/* The main database is the version 4 database ATTACHed as v4, unchanged: its version, its
 * schema and every row of every table, at its rowid. */
static void assert_unchanged_v4(sqlite3 *db)
{
	sqlite3_stmt *st;

	ck_assert_int_eq(qi(db, "PRAGMA main.user_version"), 4);
	assert_same_rows(db, "schemas",
			 "SELECT type, name, tbl_name, sql FROM v4.sqlite_master ORDER BY type, name",
			 "SELECT type, name, tbl_name, sql FROM main.sqlite_master"
			 " ORDER BY type, name");
	st = qrows(db, "SELECT name FROM v4.sqlite_master WHERE type = 'table' ORDER BY name");
	while (sqlite3_step(st) == SQLITE_ROW) {
		char *a = sqlite3_mprintf("SELECT rowid, * FROM v4.\"%w\" ORDER BY rowid",
					  col_text(st, 0));
		char *b = sqlite3_mprintf("SELECT rowid, * FROM main.\"%w\" ORDER BY rowid",
					  col_text(st, 0));

		assert_same_rows(db, col_text(st, 0), a, b);
		sqlite3_free(a);
		sqlite3_free(b);
	}
	sqlite3_finalize(st);
}

/* Makes the current database a version 3 one: no runs.sweep_id, runs.sweep_point. */
static void downgrade_to_v3(sqlite3 *db)
{
	sv4_downgrade(db);
	raw_exec(db, "DROP INDEX runs_by_sweep; ALTER TABLE runs DROP COLUMN sweep_point; "
		     "ALTER TABLE runs DROP COLUMN sweep_id; PRAGMA user_version = 3");
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM pragma_table_info('runs') "
				"WHERE name = 'sweep_id'"), 0);
}

/* Makes the current database a version 2 one: no trails, no check_verdicts. */
static void downgrade_to_v2(sqlite3 *db)
{
	downgrade_to_v3(db);
	raw_exec(db, "DROP VIEW check_verdicts; DROP TABLE trails; PRAGMA user_version = 2");
	ck_assert(!has_object(db, "table", "trails"));
	ck_assert(!has_object(db, "view", "check_verdicts"));
}

/* A version 1 database (before arms.migration and trails) is brought to the current version at
 * open, every step in turn. */
START_TEST(test_upgrade_v1)
{
	struct store *s = open_ok(g_db);
	char buf[256];
	sqlite3 *db;

	store_close(s);
	db = raw_open(g_db);
	downgrade_to_v2(db);
	raw_exec(db, "DROP VIEW metrics_wide; ALTER TABLE arms DROP COLUMN migration; "
		     "PRAGMA user_version = 1");
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM pragma_table_info('arms') "
				"WHERE name = 'migration'"), 0);
	sqlite3_close(db);
	s = open_ok(g_db);
	store_close(s);
	db = raw_open(g_db);
	ck_assert_int_eq(qi(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	ck_assert_int_eq(STORE_SCHEMA_VERSION, 5);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM pragma_table_info('runs') "
				"WHERE name IN ('sweep_id', 'sweep_point')"), 2);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM pragma_table_info('arms') "
				"WHERE name = 'migration'"), 1);
	ck_assert(has_object(db, "table", "trails"));
	ck_assert(has_object(db, "view", "check_verdicts"));
	ck_assert(has_column(db, "arms", "arm_key"));
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT group_concat(name, ',') FROM (SELECT name"
			    " FROM sqlite_master WHERE type = 'table' ORDER BY name)"), V5_TABLES);
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT group_concat(name, ',') FROM (SELECT name"
			    " FROM sqlite_master WHERE type = 'view' ORDER BY name)"), V5_VIEWS);
	sqlite3_close(db);
	assert_integrity(g_db);
}
END_TEST

/*
 * A version 2 database (before trails) with a run in it is brought to the current version at
 * open: trails and its view appear, the run is untouched (its arms, and its series and timeline
 * in the order written), and a check run can then be stored.
 */
START_TEST(test_upgrade_v2)
{
	struct rt *t = rt_new();
	struct store *s = open_ok(g_db);
	struct trail_row rows[2];
	char id[33], cid[33];
	sqlite3 *db;

	begin_ok(s, &t->ri, id);
	finish_ok(s, id, t);
	store_close(s);
	db = raw_open(g_db);
	downgrade_to_v2(db);
	sqlite3_close(db);

	s = open_ok(g_db);
	begin_ok(s, &CT_RUN, cid);
	ct_rows(rows, CT_TRAIL);
	finish_check_ok(s, cid, rows, 2, 1);
	store_close(s);
	db = raw_open(g_db);
	ck_assert_int_eq(qi(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	ck_assert(has_object(db, "table", "trails"));
	ck_assert(has_object(db, "view", "check_verdicts"));
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM pragma_table_info('trails')"), 16);
	ck_assert_int_eq(result_rows(db, id), rt_rows());
	check_arms(db, t, id);
	check_recording(db, t, id);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM trails WHERE run_id = %Q", cid), 2);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM check_verdicts"), 2);
	sqlite3_close(db);
	assert_integrity(g_db);
	rt_free(t);
}
END_TEST

/* A store with `n` complete rt runs (ids[0 .. n)) made a version 4 database, and a copy of it
 * at `copy`. */
static void make_v4(const struct rt *t, char ids[][33], unsigned n, const char *copy)
{
	struct store *s = open_ok(g_db);
	sqlite3 *db;

	for (unsigned i = 0; i < n; i++) {
		begin_ok(s, &t->ri, ids[i]);
		finish_ok(s, ids[i], t);
	}
	store_close(s);
	db = raw_open(g_db);
	sv4_downgrade(db);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM series"), 5 * n);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM timeline"), 5 * n);
	sqlite3_close(db);
	copy_db(g_db, copy);
}

/*
 * A version 4 database holding two complete runs is brought to version 5 at open with every row
 * kept: the runs read back field by field as written (series and timeline through the views in
 * the order recorded, seq 0, 1, ... per arm), every table as in version 4, violations with its
 * new CHECK, the database consistent. A run written afterwards takes the next arm keys. Deleting
 * a run with foreign keys on deletes its arms, and through them its series_rows, timeline_rows
 * and metrics, and its violations (ON DELETE CASCADE); the other runs stay whole.
 */
START_TEST(test_upgrade_v4)
{
	struct rt *t = rt_new();
	char ids[2][33], r3[33], v4[400], buf[256], keys[64];
	struct store *s;
	sqlite3 *db;

	snprintf(v4, sizeof(v4), "%s/v4.db", g_dir);
	make_v4(t, ids, 2, v4);
	s = open_ok(g_db);
	store_close(s);
	assert_integrity(g_db);

	db = raw_open(g_db);
	ck_assert_int_eq(qi(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT group_concat(name, ',') FROM (SELECT name"
			    " FROM sqlite_master WHERE type = 'table' ORDER BY name)"), V5_TABLES);
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT group_concat(name, ',') FROM (SELECT name"
			    " FROM sqlite_master WHERE type = 'view' ORDER BY name)"), V5_VIEWS);
	ck_assert(has_object(db, "index", "violations_by_arm"));
	ck_assert(!has_object(db, "index", "series_by_arm"));
	ck_assert(!has_object(db, "index", "timeline_by_arm"));
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM sqlite_master WHERE name = 'violations' AND sql"
			     " LIKE '%%CHECK (kind = ''warp'' OR kind = ''backstep'' OR"
			     " kind = ''expectation'')%%'"), 1);
	for (unsigned i = 0; i < 2; i++) {
		check_run_row(db, ids[i]);
		check_arms(db, t, ids[i]);
		check_metrics(db, t, ids[i]);
		check_recording(db, t, ids[i]);
		check_expectations(db, t, ids[i]);
		check_metrics_wide(db, t, ids[i]);
		check_side_by_side(db, ids[i]);
		ck_assert_int_eq(result_rows(db, ids[i]), rt_rows());
	}
	raw_execf(db, "ATTACH %Q AS v4", v4);
	check_migrated(db);
	/* The keys in the order the arms were written: run 1's arms, then run 2's. */
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT group_concat(arm_key, ' ') FROM (SELECT"
			    " arm_key FROM arms ORDER BY run_id = %Q DESC, ord)", ids[0]), "1 2 3 4");
	sqlite3_close(db);

	s = open_ok(g_db);
	begin_ok(s, &t->ri, r3);
	finish_ok(s, r3, t);
	store_close(s);
	db = raw_open(g_db);
	check_arms(db, t, r3);
	check_recording(db, t, r3);
	ck_assert_int_eq(qi(db, "SELECT min(arm_key) FROM arms WHERE run_id = %Q", r3), 5);

	/* ON DELETE CASCADE, from runs down to the bulk rows. */
	qs(db, keys, sizeof(keys), "SELECT group_concat(arm_key) FROM arms WHERE run_id = %Q",
	   ids[0]);
	ck_assert_str_eq(keys, "1,2");
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM series_rows WHERE arm_key IN (%s)", keys), 5);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM timeline_rows WHERE arm_key IN (%s)", keys),
			 5);
	ck_assert_int_eq(result_rows(db, ids[0]), rt_rows());
	raw_execf(db, "PRAGMA foreign_keys = ON; DELETE FROM runs WHERE run_id = %Q", ids[0]);
	ck_assert_int_eq(qi(db, "PRAGMA foreign_keys"), 1);
	ck_assert_int_eq(result_rows(db, ids[0]), 0);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM series_rows WHERE arm_key IN (%s)", keys), 0);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM timeline_rows WHERE arm_key IN (%s)", keys),
			 0);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM metrics WHERE run_id = %Q", ids[0]), 0);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM violations WHERE run_id = %Q", ids[0]), 0);
	ck_assert_int_eq(result_rows(db, ids[1]), rt_rows());
	ck_assert_int_eq(result_rows(db, r3), rt_rows());
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM series_rows"), 10);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM timeline_rows"), 10);
	check_recording(db, t, ids[1]);
	sqlite3_close(db);
	assert_integrity(g_db);
	rt_free(t);
}
END_TEST

/*
 * arm_key is never reused: after the newest run's arms are deleted by hand with foreign keys off
 * (the sqlite3 shell's default), their bulk rows stay behind, and the next run's arms must not
 * take those keys (it would collide with them, or inherit them through the views).
 */
START_TEST(test_arm_key_not_reused)
{
	struct rt *t = rt_new();
	struct store *s = open_ok(g_db);
	char id1[33], id2[33], id3[33], buf[64];
	sqlite3 *db;

	begin_ok(s, &t->ri, id1);
	finish_ok(s, id1, t);
	begin_ok(s, &t->ri, id2);
	finish_ok(s, id2, t);
	store_close(s);
	db = raw_open(g_db);
	ck_assert_int_eq(qi(db, "PRAGMA foreign_keys"), 0);
	raw_execf(db, "DELETE FROM arms WHERE run_id = %Q; DELETE FROM runs WHERE run_id = %Q", id2,
		  id2);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM series_rows WHERE arm_key > 2"), 5);
	sqlite3_close(db);

	s = open_ok(g_db);
	begin_ok(s, &t->ri, id3);
	finish_ok(s, id3, t);
	store_close(s);
	db = raw_open(g_db);
	ck_assert_str_eq(qs(db, buf, sizeof(buf), "SELECT group_concat(arm_key, ' ') FROM (SELECT"
			    " arm_key FROM arms WHERE run_id = %Q ORDER BY ord)", id3), "5 6");
	/* The new run's series are its own five rows, none of the orphans'. */
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM series WHERE run_id = %Q", id3), 5);
	sqlite3_close(db);
	rt_free(t);
}
END_TEST

/*
 * A version 4 database with rows whose arm was deleted by hand (foreign keys off) is not migrated:
 * version 5 would have to drop them. store_open refuses with the count and what to do, and the
 * database stays at version 4 with every row; once they are deleted, it migrates.
 */
START_TEST(test_upgrade_refuses_orphans)
{
	struct rt *t = rt_new();
	char ids[1][33], v4[400], err[512] = "";
	struct store *s = NULL;
	sqlite3 *db;

	snprintf(v4, sizeof(v4), "%s/v4.db", g_dir);
	make_v4(t, ids, 1, v4);
	db = raw_open(g_db);
	ck_assert_int_eq(qi(db, "PRAGMA foreign_keys"), 0);
	raw_exec(db, "DELETE FROM arms WHERE arm = 'a'");
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM series"), 5);
	sqlite3_close(db);

	ck_assert_int_eq(store_open(&s, g_db, err, sizeof(err)), VT_EIO);
	ck_assert_ptr_null(s);
	ck_assert_msg(strstr(err, "migrating the schema from version 4 to 5") &&
		      strstr(err, "refer to runs or arms that are not in the database") &&
		      strstr(err, "unchanged"), "%s", err);
	db = raw_open(g_db);
	ck_assert_int_eq(qi(db, "PRAGMA user_version"), 4);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM series"), 5);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM timeline"), 5);
	/* What the message asks for: the orphans go, and the database migrates. */
	raw_exec(db, "DELETE FROM series WHERE arm = 'a'; DELETE FROM timeline WHERE arm = 'a';"
		     " DELETE FROM metrics WHERE arm = 'a'; DELETE FROM violations WHERE arm = 'a'");
	sqlite3_close(db);
	s = open_ok(g_db);
	store_close(s);
	db = raw_open(g_db);
	ck_assert_int_eq(qi(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	sqlite3_close(db);
	assert_integrity(g_db);
	rt_free(t);
}
END_TEST

/*
 * A user's own view over the version 4 tables series and arms does not stop the migration
 * (the rename of arms would otherwise check it against a schema half-way changed) and works
 * afterwards, now over the view series.
 */
START_TEST(test_upgrade_keeps_user_view)
{
	struct rt *t = rt_new();
	char ids[1][33], v4[400];
	struct store *s;
	sqlite3 *db;
	int64_t before;

	snprintf(v4, sizeof(v4), "%s/v4.db", g_dir);
	make_v4(t, ids, 1, v4);
	db = raw_open(g_db);
	raw_exec(db, "CREATE VIEW big_errors AS SELECT s.run_id, s.arm, s.t_ns, a.policy"
		     " FROM series AS s JOIN arms AS a ON a.run_id = s.run_id AND a.arm = s.arm"
		     " WHERE abs(s.error_ns) > 1000");
	before = qi(db, "SELECT count(*) FROM big_errors");
	ck_assert_int_gt(before, 0);
	sqlite3_close(db);
	s = open_ok(g_db);
	store_close(s);
	db = raw_open(g_db);
	ck_assert_int_eq(qi(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM big_errors"), before);
	sqlite3_close(db);
	assert_integrity(g_db);
	rt_free(t);
}
END_TEST

/*
 * The migration from version 4 failing at every fault point in turn (the disk full, an I/O
 * error, read-only; in the middle of rebuilding arms, series and timeline as well as at its
 * commit): store_open fails naming the database and the problem, and the database is the
 * version 4 one, unchanged, every row at its rowid; or, for a fault after the commit, the
 * complete version 5. Without a fault it migrates.
 */
START_TEST(test_fault_migrate)
{
	const struct fault_kind *fk = &FAULTS[_i];
	struct rt *t = rt_new();
	char ids[1][33], v4[400], path[400] = "";
	sqlite3 *db;
	int n, migrating = 0;

	snprintf(v4, sizeof(v4), "%s/v4.db", g_dir);
	make_v4(t, ids, 1, v4);
	shim_install();
	for (n = 0; n < 1000; n++) {
		char err[512] = "";
		struct store *s = NULL;
		int64_t ver;
		int rc;

		snprintf(path, sizeof(path), "%s/migrate-%d.db", g_dir, n);
		copy_db(v4, path);
		shim_arm(n, fk->rc);
		rc = store_open(&s, path, err, sizeof(err));
		shim_disarm();
		if (rc == VT_OK) {
			store_close(s);
			break;
		}
		ck_assert_int_eq(rc, VT_EIO);
		ck_assert_ptr_null(s);
		ck_assert_msg(strstr(err, fk->words) && strstr(err, path), "n=%d: %s", n, err);
		migrating += strstr(err, "migrating the schema from version 4 to 5") != NULL;
		assert_consistent(path);
		db = raw_open(path);
		raw_execf(db, "ATTACH %Q AS v4", v4);
		ver = qi(db, "PRAGMA main.user_version");
		ck_assert_msg(ver == 4 || ver == 5, "n=%d: version %lld", n, (long long)ver);
		if (ver == 4)
			assert_unchanged_v4(db);
		else
			check_migrated(db);
		sqlite3_close(db);
	}
	ck_assert_msg(n >= 2 && n < 1000, "store_open passed %d fault points", n);
	/* Most fault points are the migration's own writes, not the opening's. */
	ck_assert_msg(migrating > n / 2, "%d of %d faults in the migration", migrating, n);
	shim_remove();

	assert_consistent(path);
	db = raw_open(path);
	raw_execf(db, "ATTACH %Q AS v4", v4);
	check_migrated(db);
	check_recording(db, t, ids[0]);
	sqlite3_close(db);
	rt_free(t);
}
END_TEST

/* A current schema is left alone (no write at open); a stale metrics_wide is rebuilt. */
START_TEST(test_reopen_and_view_rebuild)
{
	struct store *s = open_ok(g_db);
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t changes;

	store_close(s);
	db = raw_open(g_db);
	changes = qi(db, "PRAGMA data_version");
	s = open_ok(g_db);
	store_close(s);
	ck_assert_int_eq(qi(db, "PRAGMA data_version"), changes);
	raw_exec(db, "DROP VIEW metrics_wide; CREATE VIEW metrics_wide AS SELECT 1 AS x");
	sqlite3_close(db);

	s = open_ok(g_db);
	store_close(s);
	db = raw_open(g_db);
	st = qrows(db, "SELECT * FROM metrics_wide");
	ck_assert_int_eq(sqlite3_column_count(st), 2 + M_COUNT + 4);
	sqlite3_finalize(st);
	ck_assert_int_eq(qi(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	sqlite3_close(db);
}
END_TEST

Suite *store_suite(void);

Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("schema");
	TCase *st = tcase_create("status");
	TCase *fault = tcase_create("faults");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_hash_and_ids);
	tcase_add_test(tc, test_views_latest_incomplete);
	tcase_add_test(tc, test_not_a_database);
	tcase_add_test(tc, test_newer_schema);
	tcase_add_test(tc, test_foreign_tables);
	tcase_add_test(tc, test_reopen_and_view_rebuild);
	tcase_add_test(tc, test_upgrade_v1);
	tcase_add_test(tc, test_upgrade_v2);
	tcase_add_test(tc, test_upgrade_v4);
	tcase_add_test(tc, test_upgrade_refuses_orphans);
	tcase_add_test(tc, test_arm_key_not_reused);
	tcase_add_test(tc, test_upgrade_keeps_user_view);
	tcase_add_test(tc, test_check_round_trip);
	tcase_add_test(tc, test_check_verdicts_latest);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(st, setup, shim_teardown);
	tcase_add_test(st, test_begun_stays_running);
	tcase_add_test(st, test_kill_at_write);
	tcase_add_test(st, test_kill_mid_transaction);
	tcase_add_test(st, test_busy);
	tcase_set_timeout(st, 120);
	suite_add_tcase(s, st);

	tcase_add_checked_fixture(fault, setup, shim_teardown);
	tcase_add_loop_test(fault, test_fault_open, 0, (int)VT_ARRAY_SIZE(FAULTS));
	tcase_add_loop_test(fault, test_fault_begin, 0, (int)VT_ARRAY_SIZE(FAULTS));
	tcase_add_loop_test(fault, test_fault_finish, 0, (int)VT_ARRAY_SIZE(FAULTS));
	tcase_add_loop_test(fault, test_fault_finish_check, 0, (int)VT_ARRAY_SIZE(FAULTS));
	tcase_add_loop_test(fault, test_fault_migrate, 0, (int)VT_ARRAY_SIZE(FAULTS));
	tcase_add_test(fault, test_readonly_file);
	tcase_add_test(fault, test_file_size_limit);
	tcase_set_timeout(fault, 120);
	suite_add_tcase(s, fault);
	return s;
}
