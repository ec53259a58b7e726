/*
 * check_discipline.c: the guest's NTP-like clock discipline (sim/discipline.c, guest.ntp).
 *
 * Every scenario runs on exact 1 GHz clocks (host TSC and advertised frequency), so the raw
 * guest clock loses or gains exactly what the scenario says and the discipline's effect can be
 * stated to the nanosecond where the reads are periodic.
 */
#include <check.h>
#include <stdlib.h>

#include "discipline.h"
#include "testutil.h"

/* What one arm's run left behind, beyond the metrics. */
struct ntp_run {
	struct tu_run tu;
	int64_t m[M_COUNT];
	struct vcpu_metrics v0;       /* vCPU 0's metrics at the end */
	struct discipline d;          /* the discipline's final state */
	int64_t max_abs_slope_ppb;    /* over every event */
};

static void watch_slope(struct world *w, void *ctx)
{
	struct ntp_run *r = ctx;
	int64_t s = w->discipline.slope_ppb < 0 ? -w->discipline.slope_ppb : w->discipline.slope_ppb;

	if (s > r->max_abs_slope_ppb)
		r->max_abs_slope_ppb = s;
}

/* Builds `text` and runs arm `arm` alone, watching the discipline after every event. */
static void run_arm(struct ntp_run *r, const char *text, unsigned arm)
{
	struct world w;

	memset(r, 0, sizeof(*r));
	ck_assert_msg(tu_build(&r->tu, text) == VT_OK, "scenario failed to build: %s",
		      r->tu.err.msg);
	ck_assert_uint_lt(arm, r->tu.cfg.narms);
	ck_assert_int_eq(world_init(&w, &r->tu.cfg, &r->tu.cfg.arms[arm], NULL), VT_OK);
	w.after_event = watch_slope;
	w.after_ctx = r;
	ck_assert_int_eq(world_run(&w), VT_OK);
	metrics_finish(&w.metrics, r->m);
	r->v0 = w.metrics.v[0];
	r->d = w.discipline;
	world_free(&w);
	tu_free(&r->tu);
}

static int64_t abs_i64(int64_t x)
{
	return x < 0 ? -x : x;
}

/* ---- the correction itself ------------------------------------------------------------ */

START_TEST(test_correction_rounding)
{
	struct discipline d = { .on = true, .base_t = 10 * NS_PER_SEC, .base_ns = 5,
				.slope_ppb = -500000 };

	/* floor(-500000 * 1 / 1e9) = -1: a falling correction drops at the first ns. */
	ck_assert_int_eq(discipline_correction(&d, 10 * NS_PER_SEC + 1), 4);
	ck_assert_int_eq(discipline_correction(&d, 10 * NS_PER_SEC), 5);
	/* 2 ms at -500 ppm: exactly -1000 ns. */
	ck_assert_int_eq(discipline_correction(&d, 10 * NS_PER_SEC + 2000000), 5 - 1000);
	/* Before the base (a read in flight at a poll): floor(-500000 * -1 / 1e9) = 0. */
	ck_assert_int_eq(discipline_correction(&d, 10 * NS_PER_SEC - 1), 5);
	d.slope_ppb = 500000;
	ck_assert_int_eq(discipline_correction(&d, 10 * NS_PER_SEC - 1), 4);
	ck_assert_int_eq(discipline_correction(&d, 10 * NS_PER_SEC + 1999), 5);
	ck_assert_int_eq(discipline_correction(&d, 10 * NS_PER_SEC + 2000), 6);
	/* apply: raw + C, saturating; the identity when off. */
	d.base_ns = -100;
	d.slope_ppb = 0;
	ck_assert_uint_eq(discipline_apply(&d, 0, 1000), 900);
	ck_assert_uint_eq(discipline_apply(&d, 0, 40), 0);
	d.base_ns = 100;
	ck_assert_uint_eq(discipline_apply(&d, 0, UINT64_MAX - 50), UINT64_MAX);
	d.on = false;
	ck_assert_uint_eq(discipline_apply(&d, 0, 40), 40);
}
END_TEST

/* ---- configuration -------------------------------------------------------------------- */

START_TEST(test_config_defaults)
{
	struct tu_run r;

	ck_assert_int_eq(tu_build(&r, "arm a { policy = ideal }\n"), VT_OK);
	ck_assert(!r.cfg.guest_ntp.on);
	ck_assert_uint_eq(r.cfg.guest_ntp.poll, 16 * NS_PER_SEC);
	ck_assert_int_eq(r.cfg.guest_ntp.slew_limit_ppb, 500000);
	ck_assert(r.cfg.guest_ntp.gain == 0.25);
	ck_assert(r.cfg.guest_ntp.freq_gain == 0.05);
	ck_assert_uint_eq(r.cfg.guest_ntp.step_threshold, 128 * NS_PER_MS);
	tu_free(&r);

	ck_assert_int_eq(tu_build(&r, "guest.ntp = on\nguest.ntp.poll = 64s\n"
				      "guest.ntp.slew_limit = 100ppm\nguest.ntp.gain = 0.5\n"
				      "arm a { policy = ideal }\n"), VT_OK);
	ck_assert(r.cfg.guest_ntp.on);
	ck_assert_uint_eq(r.cfg.guest_ntp.poll, 64 * NS_PER_SEC);
	ck_assert_int_eq(r.cfg.guest_ntp.slew_limit_ppb, 100000);
	ck_assert(r.cfg.guest_ntp.gain == 0.5);
	tu_free(&r);
}
END_TEST

static const char *const bad_configs[] = {
	"guest.ntp = maybe\n",
	"guest.ntp.poll = 0\n",
	"guest.ntp.gain = 1.5\n",
	"guest.ntp.freq_gain = -0.1\n",
	"guest.ntp.slew_limit = -5ppm\n",
	"guest.ntp.step_threshold = 5ppm\n",
};

START_TEST(test_config_rejects)
{
	struct tu_run r;
	char text[160];

	snprintf(text, sizeof(text), "%sarm a { policy = ideal }\n", bad_configs[_i]);
	ck_assert_msg(tu_build(&r, text) == VT_EINPUT, "accepted: %s", bad_configs[_i]);
	ck_assert_ptr_nonnull(strstr(r.err.msg, "guest.ntp"));
	tu_free(&r);
}
END_TEST

/* ---- a loaded host losing time: gtsc-resume with migrations ---------------------------- */

/* Every migration loses exactly its 100 us gap (rate mode, 2/s per vCPU): ~200 ppm lost. */
static const char loss_scn[] =
	"seed = 7\nduration = 300s\n"
	"host { cpus = 2; cpu.freq = 1GHz }\n"
	"vm { vcpus = 2; tsc_freq = 1GHz }\n"
	"sched { mode = rate; migrate_rate = 2/s; migrate_gap = fixed(100us) }\n"
	"workload { read_rate = 1kHz }\n"
	"arm off { policy = gtsc-resume }\n"
	"arm on { policy = gtsc-resume; guest.ntp = on }\n";

START_TEST(test_loss_reduced)
{
	struct tu_run r;
	int64_t off, on;

	tu_run_text(&r, loss_scn);
	off = r.m[0][M_FINAL_ERROR_NS];
	on = r.m[1][M_FINAL_ERROR_NS];
	/* The same migrations in both arms (common random numbers). */
	ck_assert_uint_eq(r.load[0].migrations, r.load[1].migrations);
	ck_assert_uint_gt(r.load[0].migrations, 1000);
	/* Without the discipline the clock only falls behind, in whole 100 us gaps. */
	ck_assert_int_lt(off, -50 * (int64_t)NS_PER_MS);
	ck_assert_int_eq(off % (100 * (int64_t)NS_PER_US), 0);
	/* With it, the final error is a small fraction of that, and so is the RMS error. */
	ck_assert_msg(abs_i64(on) * 10 < abs_i64(off), "final error on %lld off %lld",
		      (long long)on, (long long)off);
	ck_assert_int_lt(r.m[1][M_RMS_ERROR_NS] * 5, r.m[0][M_RMS_ERROR_NS]);
	ck_assert_int_eq(r.m[0][M_MAX_FORWARD_JUMP_NS], 0);
	tu_free(&r);
}
END_TEST

/* ---- a 200 ppm fast guest: the frequency correction converges ------------------------- */

/* tsc-offset on a host TSC 200 ppm fast, told exactly 1 GHz: the raw clock gains 200 ns per
 * 1 ms read interval. Arm slow: the same, 200 ppm slow. */
static const char fast_scn[] =
	"seed = 3\nduration = 800s\n"
	"host { cpus = 1; cpu.freq = 1GHz; cpu.skew_ppm = 200ppm }\n"
	"vm { vcpus = 1; tsc_freq = 1GHz }\n"
	"workload { read_rate = 1kHz; arrivals = periodic }\n"
	"arm off { policy = tsc-offset }\n"
	"arm on { policy = tsc-offset; guest.ntp = on }\n"
	"arm slow { policy = tsc-offset; guest.ntp = on; host.cpu.skew_ppm = -200ppm }\n";

START_TEST(test_fast_guest_converges)
{
	struct ntp_run off, on, slow;

	run_arm(&off, fast_scn, 0);
	run_arm(&on, fast_scn, 1);
	run_arm(&slow, fast_scn, 2);
	/* Off: 200 ppm of the last read's time ahead (within the reader's rounding). */
	ck_assert_int_le(abs_i64(off.m[M_FINAL_ERROR_NS] - (int64_t)(off.v0.last_t / 5000)), 100);
	ck_assert_int_eq(off.m[M_DRIFT_PPM], 200000);
	/* On: the frequency correction has converged to -200 ppm, and the error with it: 50
	 * polls at a decay of sqrt(0.75) per poll leave ~3 us of the initial 3.2 ms. */
	ck_assert_uint_eq(on.d.polls, 49);
	ck_assert_uint_eq(on.d.steps, 0);
	ck_assert_msg(abs_i64(on.d.freq_ppb + 200000) < 1000, "freq_ppb %lld",
		      (long long)on.d.freq_ppb);
	ck_assert_int_lt(abs_i64(on.m[M_FINAL_ERROR_NS]), 10 * (int64_t)NS_PER_US);
	ck_assert_int_lt(abs_i64(on.m[M_DRIFT_PPM]), off.m[M_DRIFT_PPM] / 20);
	/* Never slewing faster than 500 ppm: between two reads 1 ms apart the disciplined clock
	 * runs at most 200 ppm (raw) + 0 (the correction only slows it) fast, and the slow guest
	 * at most 500 - 200 ppm: 300 ns per ms (+1 ns of rounding). */
	ck_assert_int_le(on.max_abs_slope_ppb, 500000);
	ck_assert_int_le(slow.max_abs_slope_ppb, 500000);
	ck_assert_int_le(on.m[M_MAX_FORWARD_JUMP_NS], 201);
	ck_assert_int_le(slow.m[M_MAX_FORWARD_JUMP_NS], 301);
	ck_assert_msg(abs_i64(slow.d.freq_ppb - 200000) < 1000, "freq_ppb %lld",
		      (long long)slow.d.freq_ppb);
	ck_assert_int_lt(abs_i64(slow.m[M_FINAL_ERROR_NS]), 10 * (int64_t)NS_PER_US);
	ck_assert_int_eq(on.m[M_BACKSTEPS], 0);
	ck_assert_int_eq(slow.m[M_BACKSTEPS], 0);
}
END_TEST

/* ---- a single loss: slewed at exactly the limit below the threshold, stepped above ---- */

/* gtsc-resume: a VM pause whose resume lands every vCPU on another host CPU (wake_migrate = 1)
 * resumes each guest TSC where it stopped: the pause is lost, exactly. Reads every 1 ms. */
#define PAUSE_SCN(len)                                                                    \
	"seed = 3\nduration = 30s\n"                                                         \
	"host { cpus = 2; cpu.freq = 1GHz }\n"                                               \
	"vm { vcpus = 2; tsc_freq = 1GHz; pauses = [(5s, " len ")] }\n"                      \
	"sched { mode = rate; migrate_rate = 0; wake_migrate = 1 }\n"                        \
	"workload { read_rate = 1kHz; arrivals = periodic }\n"                               \
	"arm off { policy = gtsc-resume }\n"                                                 \
	"arm on { policy = gtsc-resume; guest.ntp = on }\n"

START_TEST(test_step_above_threshold)
{
	struct ntp_run off, on;

	run_arm(&off, PAUSE_SCN("500ms"), 0);
	run_arm(&on, PAUSE_SCN("500ms"), 1);
	ck_assert_int_eq(off.m[M_FINAL_ERROR_NS], -500 * (int64_t)NS_PER_MS);
	ck_assert_int_eq(off.m[M_LOST_TIME_NS], 500 * (int64_t)NS_PER_MS);
	/* The poll at 16 s measures the 500 ms lost (> 128 ms) and steps it away at once: one
	 * forward jump of the whole loss, then no error left and nothing to slew. */
	ck_assert_uint_eq(on.d.polls, 1);
	ck_assert_uint_eq(on.d.steps, 1);
	ck_assert_int_eq(on.d.last_offset_ns, 500 * (int64_t)NS_PER_MS);
	ck_assert_int_eq(on.d.slope_ppb, 0);
	ck_assert_int_eq(on.m[M_MAX_FORWARD_JUMP_NS], 500 * (int64_t)NS_PER_MS);
	ck_assert_int_eq(on.m[M_FINAL_ERROR_NS], 0);
	ck_assert_int_eq(on.v0.last_err, 0);
	ck_assert_int_eq(on.m[M_LOST_TIME_NS], 0);
}
END_TEST

START_TEST(test_slew_below_threshold)
{
	struct ntp_run on;
	int64_t expect;

	run_arm(&on, PAUSE_SCN("100ms"), 1);
	/* 100 ms < 128 ms: slewed. At the poll (16 s): freq = 0.05 * 100 ms / 16 s = 312.5 ppm,
	 * phase = 0.25 * 100 ms / 16 s = 1562.5 ppm, total clamped to 500 ppm. */
	ck_assert_uint_eq(on.d.polls, 1);
	ck_assert_uint_eq(on.d.steps, 0);
	ck_assert_int_eq(on.d.last_offset_ns, 100 * (int64_t)NS_PER_MS);
	ck_assert_int_eq(on.d.freq_ppb, 312500);
	ck_assert_int_eq(on.d.slope_ppb, 500000);
	ck_assert_int_eq(on.max_abs_slope_ppb, 500000);
	/* Exactly 500 ppm: 500 ns gained per 1 ms between reads, never more. */
	ck_assert_int_eq(on.m[M_MAX_FORWARD_JUMP_NS], 500);
	/* vCPU 0's last error: the loss less 500 ppm of the time since the poll, floored. */
	expect = -100 * (int64_t)NS_PER_MS +
		 (int64_t)(((on.v0.last_t - 16 * NS_PER_SEC) * 500000) / NS_PER_SEC);
	ck_assert_int_eq(on.v0.last_err, expect);
	ck_assert_int_lt(on.v0.last_err, -90 * (int64_t)NS_PER_MS);
}
END_TEST

/* Off is the identity: the same metrics as a scenario that never mentions the discipline. */
START_TEST(test_off_is_identity)
{
	struct tu_run a, b;

	tu_run_text(&a, loss_scn);
	tu_run_text(&b, "guest.ntp = off\nguest.ntp.poll = 1s\n" "seed = 7\nduration = 300s\n"
			"host { cpus = 2; cpu.freq = 1GHz }\n"
			"vm { vcpus = 2; tsc_freq = 1GHz }\n"
			"sched { mode = rate; migrate_rate = 2/s; migrate_gap = fixed(100us) }\n"
			"workload { read_rate = 1kHz }\n"
			"arm off { policy = gtsc-resume }\n");
	for (unsigned k = 0; k < M_COUNT; k++)
		ck_assert_int_eq(a.m[0][k], b.m[0][k]);
	ck_assert_uint_eq(a.events[0], b.events[0]);
	tu_free(&a);
	tu_free(&b);
}
END_TEST

Suite *discipline_suite(void);

Suite *discipline_suite(void)
{
	Suite *s = suite_create("discipline");
	TCase *tc = tcase_create("correction");

	tcase_add_test(tc, test_correction_rounding);
	tcase_add_test(tc, test_config_defaults);
	tcase_add_loop_test(tc, test_config_rejects, 0, (int)VT_ARRAY_SIZE(bad_configs));
	suite_add_tcase(s, tc);

	tc = tcase_create("runs");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_loss_reduced);
	tcase_add_test(tc, test_fast_guest_converges);
	tcase_add_test(tc, test_step_above_threshold);
	tcase_add_test(tc, test_slew_below_threshold);
	tcase_add_test(tc, test_off_is_identity);
	suite_add_tcase(s, tc);
	return s;
}
