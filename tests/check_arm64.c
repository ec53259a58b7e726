/*
 * check_arm64.c: the `arm64-offset` policy with exact clocks: a 1 GHz counter with no error (one
 * cycle is one ns, the `tsc` reader's conversion is exact), pinned vCPUs, periodic reads every
 * 10 us, one 100 ms pause from 300 ms to 400 ms. Each test pins a hazard of REFERENCE 5 to exact
 * numbers: what a restore by value under-counts, how a late write moves running vCPUs, the
 * per-VM offset API, seed 002's rejected per-vCPU offsets, and a vCPU hot-add.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

#define MS 1000000LL
#define READ_GAP_NS 10000LL /* periodic reads at 100 kHz */

static const char base[] =
	"duration = 1s\n"
	"host { cpus = 4\n cpu.freq = 1GHz\n cpu.offset = 987654321cycles }\n"
	"vm { vcpus = 3\n pauses = [(300ms, 100ms)] }\n"
	"sched.mode = pinned\n"
	"workload { read_rate = 100kHz\n arrivals = periodic }\n";

/* Runs `base` with one arm { policy = arm64-offset; <opts> } (plus `extra` keys). */
static struct tu_run *run_arm(const char *opts, const char *extra)
{
	struct tu_run *r = malloc(sizeof(*r));
	char text[4096];

	ck_assert_ptr_nonnull(r);
	snprintf(text, sizeof(text), "%s%sarm a { policy = arm64-offset\n%s }\n", base, extra, opts);
	tu_run_text(r, text);
	ck_assert_uint_eq(r->narms, 1);
	ck_assert_int_gt(r->m[0][M_READS], 250000);
	return r;
}

static void done(struct tu_run *r)
{
	tu_free(r);
	free(r);
}

START_TEST(test_counter_starts_at_zero_and_runs_through_pause)
{
	/* restore = none: CNTVCT = CNTPCT - offset set at creation, so the guest counter is true
	 * time exactly, and the VMM doing nothing lets it count the pause. */
	struct tu_run *r = run_arm("", "");

	ck_assert_int_eq(r->m[0][M_MAX_ABS_ERROR_NS], 0);
	ck_assert_int_eq(r->m[0][M_BACKSTEPS], 0);
	ck_assert_int_eq(r->m[0][M_LOST_TIME_NS], 0);
	ck_assert_int_eq(r->m[0][M_MAX_VCPU_SKEW_NS], 0);
	done(r);
}
END_TEST

START_TEST(test_value_add_pause_late_write)
{
	/* The VMM computes counter + pause at 400 ms and the write lands at 405 ms: the pause is
	 * under-counted by exactly the delay, and the vCPUs that ran from 400 to 405 ms with the old
	 * offset (which counted the whole pause) step back by the delay at the write, together. */
	struct tu_run *r = run_arm("policy.restore = value\npolicy.add_pause = yes\n"
				   "policy.write_delay = 5ms\n", "");

	for (unsigned v = 0; v < 3; v++) {
		ck_assert_int_eq(r->vm[0][v].last_err, -5 * MS);
		ck_assert_uint_eq(r->vm[0][v].debt_ns, 5 * MS);
		ck_assert_uint_eq(r->vm[0][v].backsteps, 1);
		/* 5 ms back less the gap between the reads around the write. */
		ck_assert_uint_le(r->vm[0][v].max_backstep_ns, 5 * MS - READ_GAP_NS + 100);
		ck_assert_uint_ge(r->vm[0][v].max_backstep_ns, 5 * MS - READ_GAP_NS - 100);
	}
	ck_assert_int_eq(r->m[0][M_FINAL_ERROR_NS], -5 * MS);
	ck_assert_int_eq(r->m[0][M_MAX_ABS_ERROR_NS], 5 * MS);
	ck_assert_int_eq(r->m[0][M_LOST_TIME_NS], 5 * MS);
	/* VM-wide: every vCPU moved at the same instant, they never disagree. */
	ck_assert_int_eq(r->m[0][M_MAX_VCPU_SKEW_NS], 0);
	done(r);
}
END_TEST

START_TEST(test_value_continuity_qemu)
{
	/* QEMU: restore the saved value, no pause added, written before any vCPU runs: the guest
	 * ends exactly the pause behind, with no jump at all. */
	struct tu_run *r = run_arm("policy.restore = value\n", "");

	for (unsigned v = 0; v < 3; v++) {
		ck_assert_int_eq(r->vm[0][v].last_err, -100 * MS);
		ck_assert_uint_eq(r->vm[0][v].backsteps, 0);
		ck_assert_uint_eq(r->vm[0][v].debt_ns, 100 * MS);
	}
	ck_assert_int_eq(r->m[0][M_FINAL_ERROR_NS], -100 * MS);
	ck_assert_int_eq(r->m[0][M_BACKSTEPS], 0);
	ck_assert_int_eq(r->m[0][M_MAX_BACKSTEP_NS], 0);
	ck_assert_int_eq(r->m[0][M_MAX_FORWARD_JUMP_NS], 0);
	done(r);
}
END_TEST

START_TEST(test_value_continuity_late_write)
{
	/* Continuity with a 5 ms late write: the running vCPUs counted the pause until the write
	 * took it back, and the delay is lost too: 105 ms behind, one step back of ~105 ms. */
	struct tu_run *r = run_arm("policy.restore = value\npolicy.write_delay = 5ms\n", "");

	for (unsigned v = 0; v < 3; v++) {
		ck_assert_int_eq(r->vm[0][v].last_err, -105 * MS);
		ck_assert_uint_eq(r->vm[0][v].backsteps, 1);
		ck_assert_uint_ge(r->vm[0][v].max_backstep_ns, 105 * MS - READ_GAP_NS - 100);
	}
	ck_assert_int_eq(r->m[0][M_MAX_VCPU_SKEW_NS], 0);
	done(r);
}
END_TEST

START_TEST(test_offset_api_no_delay_hazard)
{
	/* KVM_ARM_SET_COUNTER_OFFSET lands with every vCPU stopped: write_delay cannot apply. With
	 * the pause added the guest is exact; without, exactly the pause behind; never a step. */
	struct tu_run *r = run_arm("policy.restore = offset\npolicy.add_pause = yes\n"
				   "policy.write_delay = 5ms\n", "");

	ck_assert_int_eq(r->m[0][M_MAX_ABS_ERROR_NS], 0);
	ck_assert_int_eq(r->m[0][M_BACKSTEPS], 0);
	ck_assert_int_eq(r->m[0][M_LOST_TIME_NS], 0);
	done(r);

	r = run_arm("policy.restore = offset\npolicy.write_delay = 5ms\n", "");
	for (unsigned v = 0; v < 3; v++)
		ck_assert_int_eq(r->vm[0][v].last_err, -100 * MS);
	ck_assert_int_eq(r->m[0][M_BACKSTEPS], 0);
	ck_assert_int_eq(r->m[0][M_MAX_VCPU_SKEW_NS], 0);
	done(r);
}
END_TEST

START_TEST(test_per_vcpu_rejected_proposal_diverges)
{
	/* Seed 002's rejected per-vCPU form: vCPU i's own thread writes its counter at 5 + i ms
	 * after resume, moving vCPU i alone: each under-counts its own delay, and the vCPUs end
	 * apart by exactly the write-delay steps. */
	struct tu_run *r = run_arm("policy.restore = value\npolicy.add_pause = yes\n"
				   "policy.write_delay = 5ms\npolicy.per_vcpu = yes\n", "");

	for (unsigned v = 0; v < 3; v++) {
		ck_assert_int_eq(r->vm[0][v].last_err, -(5 + (int64_t)v) * MS);
		ck_assert_uint_eq(r->vm[0][v].debt_ns, (5 + v) * (uint64_t)MS);
		ck_assert_uint_eq(r->vm[0][v].backsteps, 1);
	}
	ck_assert_int_eq(r->m[0][M_MAX_VCPU_SKEW_NS], 2 * MS); /* (3 - 1) * 1 ms */
	done(r);

	r = run_arm("policy.restore = value\npolicy.add_pause = yes\npolicy.write_delay = 5ms\n"
		    "policy.per_vcpu = yes\npolicy.write_delay_step = 3ms\n", "");
	/* Writes land at 405, 408, 411 ms: the vCPUs end 6 ms apart, and the 410 ms sample
	 * tick caught vCPU 2 still unwritten (0) beside vCPU 1 (-8 ms). */
	for (unsigned v = 0; v < 3; v++)
		ck_assert_int_eq(r->vm[0][v].last_err, -(5 + 3 * (int64_t)v) * MS);
	ck_assert_int_eq(r->m[0][M_MAX_VCPU_SKEW_NS], 8 * MS);
	done(r);
}
END_TEST

START_TEST(test_hotadd_resets_counter)
{
	/* Hot-adding a vCPU at 500 ms: KVM resets the VM-wide offset to now, every vCPU's counter
	 * restarts at 0 (a step back of ~500 ms) and the guest ends 500 ms behind. No pause. */
	struct tu_run *r = run_arm("policy.hotadd_at = 500ms\n", "vm.pauses = []\n");

	for (unsigned v = 0; v < 3; v++) {
		ck_assert_int_eq(r->vm[0][v].last_err, -500 * MS);
		ck_assert_uint_eq(r->vm[0][v].backsteps, 1);
		ck_assert_uint_le(r->vm[0][v].max_backstep_ns, 500 * MS);
		ck_assert_uint_ge(r->vm[0][v].max_backstep_ns, 500 * MS - READ_GAP_NS - 100);
	}
	ck_assert_int_eq(r->m[0][M_MAX_VCPU_SKEW_NS], 0);
	done(r);
}
END_TEST

START_TEST(test_hotadd_after_offset_api_keeps_offset)
{
	/* Once the per-VM offset API was used (at the 400 ms resume), vCPU creation leaves the
	 * offset alone: the hot-add at 500 ms changes nothing. */
	struct tu_run *r = run_arm("policy.restore = offset\npolicy.add_pause = yes\n"
				   "policy.hotadd_at = 500ms\n", "");

	ck_assert_int_eq(r->m[0][M_MAX_ABS_ERROR_NS], 0);
	ck_assert_int_eq(r->m[0][M_BACKSTEPS], 0);
	done(r);

	/* A restore by value does not protect it. */
	r = run_arm("policy.restore = value\npolicy.add_pause = yes\npolicy.hotadd_at = 500ms\n",
		    "");
	ck_assert_int_eq(r->m[0][M_FINAL_ERROR_NS], -500 * MS);
	done(r);
}
END_TEST

START_TEST(test_25mhz_counter)
{
	/* A pre-v8.6 25 MHz counter (40 ns a tick): the QEMU restore still ends the pause behind,
	 * to within one tick. */
	struct tu_run *r = malloc(sizeof(*r));

	ck_assert_ptr_nonnull(r);
	tu_run_text(r, "duration = 1s\nhost { cpus = 2\n cpu.freq = 25MHz }\n"
		       "vm { vcpus = 2\n pauses = [(300ms, 100ms)] }\n"
		       "workload { read_rate = 10kHz\n arrivals = periodic }\n"
		       "arm a { policy = arm64-offset; policy.restore = value }\n");
	ck_assert_int_le(r->m[0][M_FINAL_ERROR_NS], -100 * MS);
	ck_assert_int_ge(r->m[0][M_FINAL_ERROR_NS], -100 * MS - 40);
	ck_assert_int_eq(r->m[0][M_BACKSTEPS], 0);
	done(r);
}
END_TEST

Suite *arm64_suite(void)
{
	Suite *s = suite_create("arm64");
	TCase *tc = tcase_create("arm64-offset");

	tcase_add_test(tc, test_counter_starts_at_zero_and_runs_through_pause);
	tcase_add_test(tc, test_value_add_pause_late_write);
	tcase_add_test(tc, test_value_continuity_qemu);
	tcase_add_test(tc, test_value_continuity_late_write);
	tcase_add_test(tc, test_offset_api_no_delay_hazard);
	tcase_add_test(tc, test_per_vcpu_rejected_proposal_diverges);
	tcase_add_test(tc, test_hotadd_resets_counter);
	tcase_add_test(tc, test_hotadd_after_offset_api_keeps_offset);
	tcase_add_test(tc, test_25mhz_counter);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
