/*
 * check_metrics.c: each metric's definition on hand-made read sequences with known answers.
 */
#include <check.h>

#include "metrics.h"

static struct metrics m;
static int64_t out[M_COUNT];

static void setup(void)
{
	ck_assert_int_eq(metrics_init(&m, 4, 1000000, 1000), VT_OK);
}

static void teardown(void)
{
	metrics_free(&m);
}

START_TEST(test_backsteps_and_jumps)
{
	/* vCPU 0: 100, 200, 150 (back 50), 1300 at t=400 (ahead by 800 over 100 ns of true time). */
	metrics_read(&m, 0, -1, 100, 100, false, NULL);
	metrics_read(&m, 0, -1, 200, 200, false, NULL);
	metrics_read(&m, 0, -1, 300, 150, false, NULL);
	metrics_read(&m, 0, -1, 400, 1300, false, NULL);
	/* vCPU 1 steps back 7 once. */
	metrics_read(&m, 1, -1, 100, 107, false, NULL);
	metrics_read(&m, 1, -1, 101, 100, false, NULL);
	metrics_finish(&m, out);
	ck_assert_int_eq(out[M_READS], 6);
	ck_assert_int_eq(out[M_BACKSTEPS], 2);
	ck_assert_int_eq(out[M_MAX_BACKSTEP_NS], 50);
	/* 150 -> 1300 is 1150 of guest time in 100 of true time: 1050 ahead. */
	ck_assert_int_eq(out[M_MAX_FORWARD_JUMP_NS], 1050);
	ck_assert_int_eq(out[M_MAX_ABS_ERROR_NS], 900);
	ck_assert_int_eq(out[M_FINAL_ERROR_NS], -1);
	ck_assert_int_eq(out[M_WARPS], 0);
}
END_TEST

START_TEST(test_chains_warps_stalls)
{
	/* The lock chain across vCPUs: 10, 20 (v1), 15 (v2: warp 5), 15 (v3: stall), 40, 12 (warp
	 * 28). The hop chain is separate: 5, 5 (stall), 3 (warp 2). Free reads do not count. */
	metrics_read(&m, 0, CHAIN_LOCK, 1, 10, false, NULL);
	metrics_read(&m, 1, CHAIN_LOCK, 2, 20, false, NULL);
	metrics_read(&m, 2, CHAIN_LOCK, 3, 15, false, NULL);
	metrics_read(&m, 3, CHAIN_LOCK, 4, 15, false, NULL);
	metrics_read(&m, 0, -1, 5, 1, false, NULL);
	metrics_read(&m, 1, CHAIN_LOCK, 6, 40, false, NULL);
	metrics_read(&m, 2, CHAIN_LOCK, 7, 12, false, NULL);
	metrics_read(&m, 0, CHAIN_HOP, 8, 5, false, NULL);
	metrics_read(&m, 1, CHAIN_HOP, 9, 5, false, NULL);
	metrics_read(&m, 2, CHAIN_HOP, 10, 3, false, NULL);
	metrics_finish(&m, out);
	ck_assert_int_eq(out[M_WARPS], 3);
	ck_assert_int_eq(out[M_WORST_WARP_NS], 28);
	ck_assert_int_eq(out[M_STALLS], 2);
}
END_TEST

START_TEST(test_lost_time_debt)
{
	/* Reads every 10 us; the clock freezes for 500 us (lost), later jumps ahead 200 us (repays
	 * 200), and drifts by 1 ns per step (below the 1 us threshold: not lost time). */
	sim_ns t = 0;
	uint64_t g = 0;

	for (int i = 0; i < 10; i++) {
		metrics_read(&m, 0, -1, t, g, false, NULL);
		t += 10000;
		g += 9999;
	}
	t += 500000; /* freeze: true time passes, the guest clock does not */
	metrics_read(&m, 0, -1, t, g, false, NULL);
	metrics_finish(&m, out);
	ck_assert_int_eq(out[M_LOST_TIME_NS], 500001);
	t += 10000;
	g += 9999 + 200000; /* a catch-up jump */
	metrics_read(&m, 0, -1, t, g, false, NULL);
	metrics_finish(&m, out);
	ck_assert_int_eq(out[M_LOST_TIME_NS], 500001 - 199999);
	/* A bigger jump cannot make the debt negative. */
	t += 10000;
	g += 10000000;
	metrics_read(&m, 0, -1, t, g, false, NULL);
	metrics_finish(&m, out);
	ck_assert_int_eq(out[M_LOST_TIME_NS], 0);
}
END_TEST

START_TEST(test_lost_time_worst_vcpu)
{
	metrics_read(&m, 0, -1, 0, 0, false, NULL);
	metrics_read(&m, 0, -1, 100000, 0, false, NULL);   /* vCPU 0 loses 100 us */
	metrics_read(&m, 1, -1, 0, 0, false, NULL);
	metrics_read(&m, 1, -1, 300000, 1000, false, NULL); /* vCPU 1 loses 299 us */
	metrics_finish(&m, out);
	ck_assert_int_eq(out[M_LOST_TIME_NS], 299000);
	ck_assert_uint_eq(m.v[0].debt_ns, 100000);
}
END_TEST

START_TEST(test_rms_and_abs)
{
	/* Errors 3, -4: rms = floor(sqrt((9 + 16) / 2)) = 3. */
	metrics_read(&m, 0, -1, 1000, 1003, false, NULL);
	metrics_read(&m, 1, -1, 1000, 996, false, NULL);
	metrics_finish(&m, out);
	ck_assert_int_eq(out[M_RMS_ERROR_NS], 3);
	ck_assert_int_eq(out[M_MAX_ABS_ERROR_NS], 4);
	ck_assert_int_eq(out[M_FINAL_ERROR_NS], -4);
}
END_TEST

START_TEST(test_skew_sampled)
{
	/* vCPU errors +5 us, -20 us, +1 us at the first tick; vCPU 3 never read (not counted). */
	metrics_read(&m, 0, -1, 100000, 105000, false, NULL);
	metrics_read(&m, 1, -1, 100000, 80000, false, NULL);
	metrics_read(&m, 2, -1, 100000, 101000, false, NULL);
	metrics_sample(&m, 1000000);
	metrics_read(&m, 1, -1, 1500000, 1500000, false, NULL);
	metrics_sample(&m, 2000000);
	metrics_finish(&m, out);
	ck_assert_int_eq(out[M_MAX_VCPU_SKEW_NS], 25000);
}
END_TEST

START_TEST(test_drift)
{
	/* A clock running 50 ppm fast on two vCPUs, sampled every 1 ms: drift 50.000 ppm. A clock
	 * 12.345 ppm slow, sampled every second: -12.345. */
	for (int k = 1; k <= 2000; k++) {
		sim_ns t = (sim_ns)k * 1000000;

		metrics_read(&m, 0, -1, t, t + t / 20000, false, NULL);
		metrics_read(&m, 1, -1, t, t + t / 20000 + 7, false, NULL);
		metrics_sample(&m, t);
	}
	metrics_finish(&m, out);
	ck_assert_int_eq(out[M_DRIFT_PPM], 50000);
	metrics_free(&m);
	metrics_init(&m, 1, 1000000000, 1000);
	for (int k = 1; k <= 1000; k++) {
		sim_ns t = (sim_ns)k * 1000000000;

		metrics_read(&m, 0, -1, t, t - (sim_ns)k * 12345, false, NULL);
		metrics_sample(&m, t);
	}
	metrics_finish(&m, out);
	ck_assert_int_eq(out[M_DRIFT_PPM], -12345);
}
END_TEST

START_TEST(test_names_and_format)
{
	char buf[32];

	ck_assert_int_eq(metric_lookup("lost_time_ns"), M_LOST_TIME_NS);
	ck_assert_int_eq(metric_lookup("drift_ppm"), M_DRIFT_PPM);
	ck_assert_int_eq(metric_lookup("nope"), -1);
	metric_format(M_DRIFT_PPM, -12345, buf, sizeof(buf));
	ck_assert_str_eq(buf, "-12.345");
	metric_format(M_DRIFT_PPM, 7, buf, sizeof(buf));
	ck_assert_str_eq(buf, "0.007");
	metric_format(M_READS, 42, buf, sizeof(buf));
	ck_assert_str_eq(buf, "42");
	ck_assert(metric_as_double(M_DRIFT_PPM, 1500) == 1.5);
	/* No two metrics share a name. */
	for (int i = 0; i < M_COUNT; i++)
		for (int j = i + 1; j < M_COUNT; j++)
			ck_assert_str_ne(metric_info[i].name, metric_info[j].name);
}
END_TEST

Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("definitions");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_backsteps_and_jumps);
	tcase_add_test(tc, test_chains_warps_stalls);
	tcase_add_test(tc, test_lost_time_debt);
	tcase_add_test(tc, test_lost_time_worst_vcpu);
	tcase_add_test(tc, test_rms_and_abs);
	tcase_add_test(tc, test_skew_sampled);
	tcase_add_test(tc, test_drift);
	tcase_add_test(tc, test_names_and_format);
	suite_add_tcase(s, tc);
	return s;
}
