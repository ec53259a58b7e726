/*
 * check_mc.c: the model checker on the real layers (sim/chkmodel.c driven by sim/explore.c):
 * the demonstrations' verdicts, replay reproducing counterexamples bit for bit, shrinking never
 * returning a passing schedule, bounded searches of safe readers completing with zero violations,
 * and the model's determinism.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>
#include <unistd.h>

#include "checkcli.h"
#include "chkmodel.h"
#include "testutil.h"

struct mc {
	struct tu_run r;
	struct chkmodel *m;
	struct chk_model model;
};

static void mc_open(struct mc *c, const char *text, unsigned arm)
{
	char err[512] = "";

	ck_assert_msg(tu_build(&c->r, text) == VT_OK, "%s", c->r.err.msg);
	ck_assert_uint_lt(arm, c->r.cfg.narms);
	ck_assert_int_eq(chkmodel_new(&c->m, &c->r.cfg, &c->r.cfg.arms[arm], NULL, err,
				      sizeof(err)), VT_OK);
	chkmodel_as_model(c->m, &c->model);
}

static void mc_close(struct mc *c)
{
	chkmodel_free(c->m);
	tu_free(&c->r);
}

static void opts(struct chk_options *o, enum chk_strategy s, unsigned dev)
{
	memset(o, 0, sizeof(*o));
	o->strategy = s;
	o->max_deviations = dev;
	o->max_depth = 100000;
	o->max_schedules = 200000;
	o->seed = 1;
	o->pct_depth = 3;
	o->use_hash = true;
	o->shrink = true;
	o->stop_at_first = true;
}

/* The torn-read demonstration's model: reader on vCPU 1, one host update of every entry. */
static const char TORN[] =
	"host { cpus = 2 }\nvm { vcpus = 2 }\n"
	"check { readers = [1]; reads = 1; updates = 1; properties = [no_torn, terminates] }\n"
	"arm naive { policy = tsc-offset; page = kvmclock; page.masterclock = off; "
	"reader = naive-pvclock }\n"
	"arm linux { policy = tsc-offset; page = kvmclock; page.masterclock = off; "
	"reader = linux-kvmclock }\n"
	"arm freebsd { policy = tsc-offset; page = kvmclock; page.masterclock = off; "
	"page.stride = freebsd; reader = freebsd }\n"
	"arm netbsd { policy = tsc-offset; page = kvmclock; page.masterclock = off; "
	"reader = netbsd }\n";

/*
 * The naive reader tears: every strategy finds it, the counterexample replays to the same
 * violation with the same answers, and shrinking keeps it failing and no longer.
 */
START_TEST(test_torn_found_and_replayed)
{
	static const enum chk_strategy strategies[] = { CHK_DFS, CHK_BFS, CHK_RANDOM, CHK_PCT };

	for (size_t s = 0; s < VT_ARRAY_SIZE(strategies); s++) {
		struct mc c;
		struct chk_options o;
		struct chk_result res, again, raw;

		mc_open(&c, TORN, 0);
		opts(&o, strategies[s], 4);
		o.max_schedules = 20000;
		memset(&res, 0, sizeof(res));
		ck_assert_int_eq(chk_explore(&c.model, &o, &res), VT_OK);
		ck_assert_msg(res.violated, "strategy %zu found nothing", s);
		ck_assert_int_eq(res.prop, CHKP_NO_TORN);
		ck_assert_ptr_nonnull(strstr(res.message, "torn"));
		/* Replay: the same property, the same answers recorded. */
		memset(&again, 0, sizeof(again));
		ck_assert_int_eq(chk_replay(&c.model, res.choices, res.nchoices, &again), VT_OK);
		ck_assert(again.violated);
		ck_assert_int_eq(again.prop, res.prop);
		ck_assert_str_eq(again.message, res.message);
		ck_assert_uint_eq(again.nchoices, res.nchoices);
		ck_assert_mem_eq(again.choices, res.choices, res.nchoices * sizeof(unsigned));
		chk_result_free(&again);
		/* Without shrinking the search returns something at least as long; shrinking it
		 * gives a failing schedule no longer than it. */
		o.shrink = false;
		memset(&raw, 0, sizeof(raw));
		ck_assert_int_eq(chk_explore(&c.model, &o, &raw), VT_OK);
		ck_assert(raw.violated);
		ck_assert_uint_ge(raw.nchoices, res.nchoices);
		{
			unsigned before = raw.nchoices;

			ck_assert_int_eq(chk_shrink(&c.model, &raw), VT_OK);
			ck_assert_uint_le(raw.nchoices, before);
			memset(&again, 0, sizeof(again));
			ck_assert_int_eq(chk_replay(&c.model, raw.choices, raw.nchoices, &again), VT_OK);
			ck_assert(again.violated);
			ck_assert_int_eq(again.prop, CHKP_NO_TORN);
			chk_result_free(&again);
		}
		chk_result_free(&raw);
		chk_result_free(&res);
		mc_close(&c);
	}
}
END_TEST

/*
 * BFS returns a counterexample with the fewest deviations: one preemption suffices (the reader
 * loads tsc_timestamp, the writer's whole update lands, the reader loads system_time), and the
 * default schedule (no preemption: the read completes before the update) does not fail.
 */
START_TEST(test_bfs_shortest)
{
	struct mc c;
	struct chk_options o;
	struct chk_result bfs, none;
	unsigned dev = 0;

	mc_open(&c, TORN, 0);
	opts(&o, CHK_BFS, 6);
	o.shrink = false;
	memset(&bfs, 0, sizeof(bfs));
	ck_assert_int_eq(chk_explore(&c.model, &o, &bfs), VT_OK);
	ck_assert(bfs.violated);
	for (unsigned i = 0; i < bfs.nchoices; i++)
		dev += bfs.choices[i] != 0;
	ck_assert_uint_eq(dev, 1);
	memset(&none, 0, sizeof(none));
	ck_assert_int_eq(chk_replay(&c.model, NULL, 0, &none), VT_OK);
	ck_assert(!none.violated);
	chk_result_free(&bfs);
	chk_result_free(&none);
	mc_close(&c);
}
END_TEST

/* Linux's, FreeBSD's and NetBSD's readers against the same writer: the bounded search finishes
 * (every schedule within 3 deviations) with zero violations, and says how many it ran. */
START_TEST(test_safe_readers_exhaustive)
{
	for (unsigned arm = 1; arm <= 3; arm++) {
		struct mc c;
		struct chk_options o;
		struct chk_result res;

		mc_open(&c, TORN, arm);
		opts(&o, CHK_DFS, 3);
		memset(&res, 0, sizeof(res));
		ck_assert_int_eq(chk_explore(&c.model, &o, &res), VT_OK);
		ck_assert_msg(!res.violated, "arm %u: %s", arm, res.message);
		ck_assert(res.stats.exhausted);
		ck_assert_uint_gt(res.stats.schedules, 10);
		chk_result_free(&res);
		mc_close(&c);
	}
}
END_TEST

/* The same answers give the same execution: reads, violation and message, run after run. */
START_TEST(test_model_deterministic)
{
	struct mc c;
	struct chk_result a, b;
	unsigned ch[] = { 0, 1, 0, 1, 1, 0, 1, 0, 1 };

	mc_open(&c, TORN, 0);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	ck_assert_int_eq(chk_replay(&c.model, ch, VT_ARRAY_SIZE(ch), &a), VT_OK);
	ck_assert_int_eq(chk_replay(&c.model, ch, VT_ARRAY_SIZE(ch), &b), VT_OK);
	ck_assert_int_eq(a.violated, b.violated);
	ck_assert_uint_eq(a.nchoices, b.nchoices);
	ck_assert_mem_eq(a.choices, b.choices, a.nchoices * sizeof(unsigned));
	ck_assert_str_eq(a.message, b.message);
	ck_assert_uint_eq(chkmodel_reads(c.m), 1);
	chk_result_free(&a);
	chk_result_free(&b);
	mc_close(&c);
}
END_TEST

/* gtsc-resume under one 1 ms stall: monotonic holds over every schedule, the 100 us bound
 * does not (a stall ending on the other CPU is lost: the read is 1 ms behind). */
START_TEST(test_gtsc_resume_monotonic_not_bounded)
{
	static const char text[] =
		"host { cpus = 2 }\nvm { vcpus = 2 }\n"
		"check { readers = [0]; reads = 2; stalls = 1; stall_length = 1ms; bound = 100us }\n"
		"arm mono { policy = gtsc-resume; check.properties = [monotonic] }\n"
		"arm bound { policy = gtsc-resume; check.properties = [bound] }\n";
	struct mc c;
	struct chk_options o;
	struct chk_result res;

	mc_open(&c, text, 0);
	opts(&o, CHK_DFS, 4);
	memset(&res, 0, sizeof(res));
	ck_assert_int_eq(chk_explore(&c.model, &o, &res), VT_OK);
	ck_assert(!res.violated);
	ck_assert(res.stats.exhausted);
	chk_result_free(&res);
	mc_close(&c);

	mc_open(&c, text, 1);
	memset(&res, 0, sizeof(res));
	ck_assert_int_eq(chk_explore(&c.model, &o, &res), VT_OK);
	ck_assert(res.violated);
	ck_assert_int_eq(res.prop, CHKP_BOUND);
	ck_assert_ptr_nonnull(strstr(res.message, "-10000"));
	chk_result_free(&res);
	mc_close(&c);
}
END_TEST

/* Loops are bounded at yield points: a read that makes more environment calls than
 * check.max_calls is a violation of `terminates`, not a hung search. Linux's read takes more
 * than 3 (version load, fences, the ordered rdtsc, the re-check), so every schedule violates. */
START_TEST(test_livelock_is_a_violation)
{
	static const char text[] =
		"host { cpus = 2 }\nvm { vcpus = 2 }\n"
		"check { readers = [1]; reads = 1; updates = 1; max_calls = 3; "
		"properties = [terminates] }\n"
		"arm linux { policy = tsc-offset; page = kvmclock; page.masterclock = off; "
		"reader = linux-kvmclock }\n";
	struct mc c;
	struct chk_options o;
	struct chk_result res;

	mc_open(&c, text, 0);
	opts(&o, CHK_DFS, 2);
	memset(&res, 0, sizeof(res));
	ck_assert_int_eq(chk_explore(&c.model, &o, &res), VT_OK);
	ck_assert(res.violated);
	ck_assert_int_eq(res.prop, CHKP_TERMINATES);
	ck_assert_ptr_nonnull(strstr(res.message, "within 3 environment calls"));
	/* The default schedule already fails: the shrunk counterexample has no deviation. */
	for (unsigned i = 0; i < res.nchoices; i++)
		ck_assert_uint_eq(res.choices[i], 0);
	chk_result_free(&res);
	mc_close(&c);
}
END_TEST

/*
 * bin/sim check end to end into a results database: one trails row per arm, the violated one
 * with its choices and the whole trail text, the run complete with the failed count; and the
 * exit code 0 (every verdict as expected).
 */
START_TEST(test_check_cli_stores_trails)
{
	char dir[] = "/tmp/vtsim-mc-XXXXXX", db[300], tdir[300];
	char *argv[] = { "check", "--quiet", "--db", db, "--trail-dir", tdir,
			 "scenarios/check/torn-pvclock.scn", NULL };
	FILE *out = tmpfile(), *err = tmpfile();
	sqlite3 *h;
	sqlite3_stmt *st;
	int rc;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/r.db", dir);
	snprintf(tdir, sizeof(tdir), "%s", dir);
	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(err);
	if (access("scenarios/check/torn-pvclock.scn", R_OK) != 0)
		return; /* run from the source tree (make check does) */
	rc = check_main(7, argv, out, err);
	ck_assert_int_eq(rc, EXIT_HELD);
	ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(h, "SELECT arm, verdict, expected, property, choices, "
					   "length(trail) FROM trails ORDER BY ord", -1, &st, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "naive");
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 1), "violated");
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 2), "violated");
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 3), "no_torn");
	ck_assert_ptr_nonnull(sqlite3_column_text(st, 4));
	ck_assert_int_gt(sqlite3_column_int(st, 5), 500);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
		ck_assert_str_eq((const char *)sqlite3_column_text(st, 1), "holds");
		ck_assert_int_eq(sqlite3_column_type(st, 4), SQLITE_NULL);
	}
	ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	ck_assert_int_eq(sqlite3_prepare_v2(h, "SELECT status, expectations_failed FROM runs", -1,
					   &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "complete");
	ck_assert_int_eq(sqlite3_column_int(st, 1), 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	fclose(out);
	fclose(err);
	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		ck_assert_int_eq(system(cmd), 0);
	}
}
END_TEST

Suite *mc_suite(void);

Suite *mc_suite(void)
{
	Suite *s = suite_create("mc");
	TCase *tc = tcase_create("mc");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_torn_found_and_replayed);
	tcase_add_test(tc, test_bfs_shortest);
	tcase_add_test(tc, test_safe_readers_exhaustive);
	tcase_add_test(tc, test_model_deterministic);
	tcase_add_test(tc, test_gtsc_resume_monotonic_not_bounded);
	tcase_add_test(tc, test_livelock_is_a_violation);
	tcase_add_test(tc, test_check_cli_stores_trails);
	suite_add_tcase(s, tc);
	return s;
}
