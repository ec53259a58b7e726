/*
 * check_writer.c: storing a run while it runs (sim/writer.c, the streaming half of record.c, and
 * store_arm_begin/rows/end). A real two-arm scenario with a pause and thousands of timeline rows
 * is simulated twice, once streamed by the writer thread (arm rows stored in chunks while the
 * arm runs) and once written whole by store_finish_run: the two databases hold the same rows,
 * value for value and in the same order. The recording publishes only final rows (a pause's
 * entry waits for its length) and calls its reader back once per chunk. A run whose second arm
 * failed keeps the first arm whole; a database locked by another process fails the writer with
 * the store's message and nothing after the failure is written.
 */
#include <check.h>
#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "record.h"
#include "results.h"
#include "store.h"
#include "testutil.h"
#include "util.h"
#include "writer.h"

/* ---- fixture: a fresh directory per test -------------------------------------------------- */

static char g_dir[256], g_a[300], g_b[300];

static void setup(void)
{
	snprintf(g_dir, sizeof(g_dir), "/tmp/vtsim-writer-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(g_dir));
	snprintf(g_a, sizeof(g_a), "%s/a.db", g_dir);
	snprintf(g_b, sizeof(g_b), "%s/b.db", g_dir);
	unsetenv("VTSIM_DB_BUSY_MS");
}

static void teardown(void)
{
	tu_remove_dir(g_dir);
	unsetenv("VTSIM_DB_BUSY_MS");
}

/*
 * Two arms, 4 vCPUs on 2 host CPUs with a 1 ms quantum (migrations), 1,000 paging stalls per
 * second per vCPU, 3 s with a 1 s pause, warps from the raw TSC on a skewed host: several
 * thousand timeline rows per arm (more than RECORD_STREAM_CHUNK, so the writer stores them in
 * chunks while the arm runs), a pause entry held open for a second, series and violations.
 */
static const char WR_SCN[] =
	"name = \"writer\"\n"
	"seed = 11\n"
	"duration = 3s\n"
	"host { cpus = 2; cpu.freq = 2.5GHz; cpu[1].skew_ppm = 80ppm; cpu[1].offset = 10000 }\n"
	"vm { vcpus = 4; pauses = [(1s, 1s)]; paging.rate = 1000/s;"
	" paging.duration = fixed(20us) }\n"
	"sched { mode = quantum; quantum = 1ms }\n"
	"workload { read_rate = 2kHz; locked_rate = 500/s }\n"
	"metrics.sample_interval = 5ms\n"
	"arm raw { policy = tsc-offset; reader = tsc }\n"
	"arm kvm { policy = tsc-offset; page = kvmclock; reader = linux-kvmclock }\n";

/* One simulated run: the worlds' results and recordings, as bin/sim keeps them. */
struct wrun {
	struct tu_run tu;
	struct results res;
	struct arm_result ar[2];
	struct recording rec[2];
	const struct recording *recs[2];
	struct run_info ri;
	char id[33];
};

/* simulate() takes the write lock from another connection (g_locker) after the run row. */
static bool g_lock;
static sqlite3 *g_locker;

static struct store *open_ok(const char *path)
{
	struct store *s = NULL;
	char err[512] = "";

	ck_assert_msg(store_open(&s, path, err, sizeof(err)) == VT_OK, "store_open: %s", err);
	return s;
}

/*
 * Builds WR_SCN, writes the run row into path's database, and simulates the first `narms` arms
 * recording them; with a writer (streamed) when `stream`, ending the writer with its code in
 * *wrc. Without, the results are left for the caller to store whole.
 */
static struct wrun *simulate(const char *path, unsigned narms, bool stream, int *wrc,
			     char *err, size_t errlen, struct store **sp)
{
	struct wrun *r = calloc(1, sizeof(*r));
	struct store *s;
	struct writer *wr = NULL;

	ck_assert_ptr_nonnull(r);
	ck_assert_msg(tu_build(&r->tu, WR_SCN) == VT_OK, "%s", r->tu.err.msg);
	ck_assert_uint_eq(r->tu.cfg.narms, 2);
	r->ri = (struct run_info){ "writer", "t.scn", WR_SCN, 11, "", "", r->tu.cfg.duration,
				   NULL, NULL };
	s = open_ok(path);
	ck_assert_int_eq(store_begin_run(s, &r->ri, r->id, err, errlen), VT_OK);
	if (g_lock) {
		ck_assert_int_eq(sqlite3_open(path, &g_locker), SQLITE_OK);
		ck_assert_int_eq(sqlite3_exec(g_locker, "BEGIN IMMEDIATE", NULL, NULL, NULL),
				 SQLITE_OK);
	}
	r->res = (struct results){ &r->tu.cfg, 0, r->ar, 0, NULL, 0 };
	if (stream)
		ck_assert_int_eq(writer_start(&wr, s, r->id, &r->res, 2), VT_OK);
	for (unsigned i = 0; i < 2; i++) {
		const struct arm_cfg *arm = &r->tu.cfg.arms[i];
		struct arm_result *a = &r->ar[i];
		struct world w;

		ck_assert_int_eq(world_init(&w, &r->tu.cfg, arm, NULL), VT_OK);
		ck_assert_int_eq(record_init(&r->rec[i], r->tu.cfg.metrics.series_interval,
					     r->tu.cfg.duration, r->tu.cfg.vm.nvcpus, 2), VT_OK);
		w.rec = &r->rec[i];
		r->recs[i] = &r->rec[i];
		if (wr)
			writer_arm_start(wr, arm->name, w.rec);
		if (i >= narms) {
			/* This arm fails before it ends: nothing more of it is handed over. */
			world_free(&w);
			break;
		}
		ck_assert_int_eq(world_run(&w), VT_OK);
		a->arm = arm;
		a->host.tsc_stable = w.host.tsc_stable;
		a->host.cs = w.host.raw.cs;
		a->host.tsc_khz = w.host.raw.tsc_khz;
		metrics_finish(&w.metrics, a->m);
		if (arm->page->facts && arm->page->get_facts) {
			while (arm->page->facts[a->nfacts].name)
				a->nfacts++;
			a->fact = arm->page->facts;
			arm->page->get_facts(&w.page, a->fact_value);
		}
		world_free(&w);
		r->res.narms++;
		if (wr)
			writer_arm_end(wr);
	}
	if (wr)
		*wrc = writer_finish(wr, NULL, err, errlen);
	*sp = s;
	return r;
}

static void wrun_free(struct wrun *r)
{
	for (unsigned i = 0; i < 2; i++)
		record_free(&r->rec[i]);
	tu_free(&r->tu);
	free(r);
}

/* ---- comparing databases ------------------------------------------------------------------ */

/*
 * Every row of `sql` (run over both databases, the run's id bound to ?1) as one text, a line per
 * row, so that two databases compare with one string comparison and a failure shows the rows.
 */
static char *rows_text(const char *path, const char *id, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	sqlite3_str *out;
	int rc;

	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
		      sqlite3_errmsg(db));
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	out = sqlite3_str_new(db);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int c = 0; c < sqlite3_column_count(st); c++) {
			const unsigned char *t = sqlite3_column_text(st, c);

			sqlite3_str_appendf(out, "%s%s", c ? "|" : "", t ? (const char *)t : "NULL");
		}
		sqlite3_str_appendchar(out, 1, '\n');
	}
	ck_assert_int_eq(rc, SQLITE_DONE);
	sqlite3_finalize(st);
	char *text = sqlite3_str_finish(out);
	char *copy = strdup(text ? text : "");

	sqlite3_free(text);
	sqlite3_close(db);
	return copy;
}

static int64_t count_of(const char *path, const char *id, const char *sql)
{
	char *t = rows_text(path, id, sql);
	int64_t n = strtoll(t, NULL, 10);

	free(t);
	return n;
}

/* The queries that must agree: every stored column but the run id and arm_key (per database). */
static const char *const SAME[] = {
	"SELECT arm, ord, policy, page, reader, options, host_tsc_stable, host_clocksource,"
	" host_tsc_khz, series_interval_ns, violations_dropped, timeline_dropped, migration"
	" FROM arms WHERE run_id = ?1 ORDER BY ord",
	"SELECT arm, metric, value, typeof(value), unit FROM metrics WHERE run_id = ?1"
	" ORDER BY arm, metric",
	"SELECT arm, seq, vcpu, t_ns, guest_ns, error_ns FROM series WHERE run_id = ?1"
	" ORDER BY arm, seq",
	"SELECT arm, seq, kind, t_ns, length_ns, vcpu, from_cpu, to_cpu FROM timeline"
	" WHERE run_id = ?1 ORDER BY arm, seq",
	"SELECT arm, kind, t_ns, vcpu, pcpu, prev_vcpu, prev_ns, value_ns, delta_ns, context"
	" FROM violations WHERE run_id = ?1 ORDER BY rowid",
};

/* The streamed run and the run written whole store the same rows, in the same order. */
START_TEST(test_stream_equals_whole)
{
	char err[768] = "";
	struct store *sa, *sb;
	int wrc = -1;
	struct wrun *a = simulate(g_a, 2, true, &wrc, err, sizeof(err), &sa);
	struct wrun *b = simulate(g_b, 2, false, NULL, err, sizeof(err), &sb);

	ck_assert_msg(wrc == VT_OK, "writer: %s", err);
	ck_assert_int_eq(store_complete_run(sa, a->id, &a->res, err, sizeof(err)), VT_OK);
	ck_assert_int_eq(store_finish_run(sb, b->id, &b->res, b->recs, err, sizeof(err)), VT_OK);
	store_close(sa);
	store_close(sb);

	/* The scenario does what the test needs: chunks, and a pause entry held open. */
	for (unsigned i = 0; i < 2; i++)
		ck_assert_uint_gt(a->rec[i].ntl, 2 * RECORD_STREAM_CHUNK);
	ck_assert_int_eq(count_of(g_a, a->id, "SELECT count(*) FROM timeline WHERE run_id = ?1"
				  " AND kind = 'pause' AND length_ns = 1000000000"), 2);
	ck_assert_int_gt(count_of(g_a, a->id, "SELECT count(*) FROM violations"
				  " WHERE run_id = ?1"), 0);
	ck_assert_int_gt(count_of(g_a, a->id, "SELECT count(*) FROM series WHERE run_id = ?1"),
			 0);
	/* seq is the index in the recording: 0 .. n-1 per arm. */
	ck_assert_int_eq(count_of(g_a, a->id, "SELECT count(*) FROM (SELECT arm FROM timeline"
				  " WHERE run_id = ?1 GROUP BY arm HAVING min(seq) = 0"
				  " AND max(seq) = count(*) - 1)"), 2);
	for (size_t q = 0; q < VT_ARRAY_SIZE(SAME); q++) {
		char *x = rows_text(g_a, a->id, SAME[q]), *y = rows_text(g_b, b->id, SAME[q]);

		ck_assert_msg(strlen(x) > 0, "no rows: %s", SAME[q]);
		ck_assert_msg(strcmp(x, y) == 0, "streamed and whole differ: %s", SAME[q]);
		free(x);
		free(y);
	}
	ck_assert_int_eq(count_of(g_a, a->id, "SELECT count(*) FROM runs WHERE run_id = ?1"
				  " AND status = 'complete'"), 1);
	wrun_free(a);
	wrun_free(b);
}
END_TEST

/* A run whose second arm failed: the first arm is stored whole, the run stays 'running'. */
START_TEST(test_failed_arm_keeps_earlier)
{
	char err[768] = "";
	struct store *sa, *sb;
	int wrc = -1;
	struct wrun *a = simulate(g_a, 1, true, &wrc, err, sizeof(err), &sa);
	struct wrun *b = simulate(g_b, 2, false, NULL, err, sizeof(err), &sb);
	char *x, *y;

	ck_assert_msg(wrc == VT_OK, "writer: %s", err);
	ck_assert_int_eq(store_finish_run(sb, b->id, &b->res, b->recs, err, sizeof(err)), VT_OK);
	store_close(sa);
	store_close(sb);
	ck_assert_int_eq(count_of(g_a, a->id, "SELECT count(*) FROM runs WHERE run_id = ?1"
				  " AND status = 'running'"), 1);
	/* Arm raw equals the whole run's arm raw, row for row. */
	for (size_t q = 0; q < VT_ARRAY_SIZE(SAME); q++) {
		char sql[600];

		snprintf(sql, sizeof(sql), "SELECT * FROM (%s) WHERE arm = 'raw'", SAME[q]);
		x = rows_text(g_a, a->id, sql);
		y = rows_text(g_b, b->id, sql);
		ck_assert_msg(strcmp(x, y) == 0, "arm raw differs: %s", SAME[q]);
		free(x);
		free(y);
	}
	/* Arm kvm started: its row is there, never completed (no policy, no metrics). */
	ck_assert_int_eq(count_of(g_a, a->id, "SELECT count(*) FROM arms WHERE run_id = ?1"
				  " AND arm = 'kvm' AND policy IS NULL"), 1);
	ck_assert_int_eq(count_of(g_a, a->id, "SELECT count(*) FROM metrics WHERE run_id = ?1"
				  " AND arm = 'kvm'"), 0);
	wrun_free(a);
	wrun_free(b);
}
END_TEST

/* Another connection holds the write lock while the arms run: the writer fails with the store's
 * words ("locked"), writes nothing from then on, and the run stays 'running' with no arm. */
START_TEST(test_locked_database)
{
	char err[768] = "";
	struct store *sa;
	int wrc = VT_OK;
	struct wrun *a;

	setenv("VTSIM_DB_BUSY_MS", "50", 1);
	g_lock = true;
	a = simulate(g_a, 2, true, &wrc, err, sizeof(err), &sa);
	g_lock = false;
	ck_assert_int_eq(wrc, VT_EIO);
	ck_assert_msg(strstr(err, "locked") && strstr(err, "writing arm raw"), "%s", err);
	ck_assert_int_eq(sqlite3_exec(g_locker, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(g_locker);
	store_close(sa);
	ck_assert_int_eq(count_of(g_a, a->id, "SELECT count(*) FROM runs WHERE run_id = ?1"
				  " AND status = 'running'"), 1);
	ck_assert_int_eq(count_of(g_a, a->id, "SELECT count(*) FROM arms WHERE run_id = ?1"), 0);
	ck_assert_int_eq(count_of(g_a, a->id, "SELECT count(*) FROM series_rows"), 0);
	wrun_free(a);
}
END_TEST

/* ---- the recording's stream ----------------------------------------------------------------- */

static unsigned g_notified;

static void count_notify(void *ctx)
{
	(void)ctx;
	g_notified++;
}

static uint32_t pub_tl(struct record_stream *s)
{
	return atomic_load_explicit(&s->tl, memory_order_acquire);
}

/* Rows are published as they are appended, a pause's entry only once it has its length; the
 * reader is called once per RECORD_STREAM_CHUNK rows. */
START_TEST(test_record_publishes_final_rows)
{
	struct recording r;
	struct record_stream s = { 0 };
	struct timeline_event mig = { TL_MIGRATION, 100, 5, 0, 0, 1 };
	struct timeline_event pause = { TL_PAUSE, 200, 0, -1, -1, -1 };

	ck_assert_int_eq(record_init(&r, 1000, 100000000, 2, 1), VT_OK);
	s.notify = count_notify;
	r.stream = &s;
	g_notified = 0;
	for (uint32_t i = 0; i < RECORD_STREAM_CHUNK - 1; i++)
		record_series(&r, i % 2, i, i, 0);
	ck_assert_uint_eq(atomic_load(&s.series), RECORD_STREAM_CHUNK - 1);
	ck_assert_uint_eq(g_notified, 0);
	record_timeline(&r, &mig);
	ck_assert_uint_eq(g_notified, 1);
	ck_assert_uint_eq(pub_tl(&s), 1);
	record_timeline(&r, &pause);
	record_timeline(&r, &mig);
	/* The pause (index 1) is not final: only the row before it is published. */
	ck_assert_uint_eq(pub_tl(&s), 1);
	ck_assert_uint_eq(r.ntl, 3);
	record_pause_end(&r, 1200);
	ck_assert_uint_eq(pub_tl(&s), 3);
	ck_assert_int_eq(r.tl[1].length_ns, 1000);
	/* A second resume without a recorded pause changes nothing. */
	record_pause_end(&r, 5000);
	ck_assert_int_eq(r.tl[1].length_ns, 1000);
	ck_assert_uint_eq(atomic_load(&s.viol), 0);
	record_free(&r);
}
END_TEST

/* A pause whose entry was dropped (timeline full) leaves the earlier pause entries alone. */
START_TEST(test_dropped_pause_leaves_old_entry)
{
	struct recording r;
	struct timeline_event pause = { TL_PAUSE, 200, 0, -1, -1, -1 };
	struct timeline_event io = { TL_IO_EXIT, 300, 5, 0, 0, 0 };

	ck_assert_int_eq(record_init(&r, 1000, 100000000, 2, 1), VT_OK);
	record_timeline(&r, &pause);
	record_pause_end(&r, 700);
	while (r.ntl < RECORD_MAX_TIMELINE)
		record_timeline(&r, &io);
	pause.t_ns = 900;
	record_timeline(&r, &pause);
	ck_assert_uint_eq(r.tl_dropped, 1);
	record_pause_end(&r, 5000);
	ck_assert_int_eq(r.tl[0].length_ns, 500);
	record_free(&r);
}
END_TEST

Suite *writer_suite(void);

Suite *writer_suite(void)
{
	Suite *s = suite_create("writer");
	TCase *tc = tcase_create("stream");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_stream_equals_whole);
	tcase_add_test(tc, test_failed_arm_keeps_earlier);
	tcase_add_test(tc, test_locked_database);
	suite_add_tcase(s, tc);
	tc = tcase_create("record");
	tcase_add_test(tc, test_record_publishes_final_rows);
	tcase_add_test(tc, test_dropped_pause_leaves_old_entry);
	suite_add_tcase(s, tc);
	return s;
}
