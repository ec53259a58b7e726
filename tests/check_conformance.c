/*
 * check_conformance.c: every registered layer, looped: ops tables well formed, runs
 * deterministic, no overflow near TSC wraparound, and each policy's promises kept.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "registry.h"
#include "testutil.h"

static unsigned count_policies(void)
{
	unsigned n = 0;

	while (vt_policies[n])
		n++;
	return n;
}

static unsigned count_readers(void)
{
	unsigned n = 0;

	while (vt_readers[n])
		n++;
	return n;
}

/* A hostile host: skewed, unsynchronized CPUs (86,000 and 300 cycles apart) whose TSCs all wrap
 * through 2^64 within the first 7 ms, wander, a rate change; migrations, stalls waking
 * elsewhere, I/O exits, a pause. */
static const char hostile[] =
	"duration = 1500ms\nseed = 5\n"
	"host { cpus = 3\n cpu.freq = [2GHz, 2.5GHz, 3GHz]\n cpu.skew_ppm = [40ppm, -70ppm, 0]\n"
	"  cpu.offset = [0xffffffffff000000, 0xffffffffff014ff0, 0xffffffffff00012c]\n"
	"  cpu.wander_ppm = 1ppm\n"
	"  cpu[1].rate_changes = [(700ms, 1.8GHz)] }\n"
	"vm { vcpus = 4\n tsc_freq = 2.5GHz\n io.rate = 200/s\n paging.rate = 20/s\n"
	"  paging.duration = uniform(10us, 3ms)\n pauses = [(1s, 20ms)] }\n"
	"sched { mode = rate\n migrate_rate = 30/s\n wake_migrate = 0.5 }\n"
	"workload { read_rate = 20kHz\n locked_rate = 2kHz\n hop.read_rate = 2kHz }\n";

START_TEST(test_policy_ops_table)
{
	const struct policy_ops *p = vt_policies[_i];

	ck_assert_int_eq(p->version, POLICY_OPS_VERSION);
	ck_assert_ptr_nonnull(p->name);
	ck_assert_ptr_nonnull(p->describe);
	ck_assert_ptr_nonnull(p->guest_tsc);
	ck_assert_ptr_eq(registry_policy(p->name), p); /* names are unique */
}
END_TEST

START_TEST(test_policy_runs_and_keeps_promises)
{
	const struct policy_ops *p = vt_policies[_i];
	struct tu_run *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	char text[4096];

	/* A policy that scales the host counter jumps where the counter wraps, as the hardware
	 * does: it runs the hostile host without the wrap. */
	char freq[64] = "";

	/* A policy that needs a guest frequency (xen-emulate's 1 GHz) gets it. */
	if (p->guest_hz)
		snprintf(freq, sizeof(freq), "vm.tsc_freq = %lluHz\n", (unsigned long long)p->guest_hz);
	snprintf(text, sizeof(text), "%s%s%sarm x { policy = %s }\n", hostile,
		 p->promises & POLICY_SCALES_TSC ? "host.cpu.offset = [0, 86000, 300]\n" : "", freq,
		 p->name);
	tu_run_text(a, text);
	tu_run_text(b, text);
	/* Deterministic. */
	ck_assert_mem_eq(a->m[0], b->m[0], sizeof(a->m[0]));
	ck_assert_mem_eq(&a->load[0], &b->load[0], sizeof(a->load[0]));
	ck_assert_int_gt(a->m[0][M_READS], 100000);
	ck_assert_uint_gt(a->load[0].migrations, 100);
	if (p->promises & POLICY_MONOTONIC_VCPU) {
		ck_assert_msg(a->m[0][M_BACKSTEPS] == 0, "%s went backwards on a vCPU %lld times",
			      p->name, (long long)a->m[0][M_BACKSTEPS]);
	}
	/* No overflow through the wraparound: the clock stays within 10 s of true time in a
	 * 1.5 s run (a policy may lose the off-CPU time, or run at another rate than advertised,
	 * as xen-emulate's 1 GHz TSC does here; an overflow would be ~2^63 ns off). */
	ck_assert_int_lt(a->m[0][M_MAX_ABS_ERROR_NS], 10 * (int64_t)NS_PER_SEC);
	tu_free(a);
	tu_free(b);
	free(a);
	free(b);
}
END_TEST

START_TEST(test_reader_ops_and_runs)
{
	const struct reader_ops *r = vt_readers[_i];
	struct tu_run *a = malloc(sizeof(*a));
	char text[4096];

	ck_assert_int_eq(r->version, READER_OPS_VERSION);
	ck_assert_ptr_nonnull(r->read);
	ck_assert_ptr_eq(registry_reader(r->name), r);
	for (const struct page_ops *const *pg = vt_pages; *pg; pg++) {
		ck_assert_int_eq((*pg)->version, PAGE_OPS_VERSION);
		snprintf(text, sizeof(text), "%sarm x { policy = ideal; page = %s; reader = %s }\n",
			 hostile, (*pg)->name, r->name);
		tu_run_text(a, text);
		ck_assert_int_gt(a->m[0][M_READS], 100000);
		tu_free(a);
	}
	free(a);
}
END_TEST

START_TEST(test_ideal_tsc_is_exact)
{
	/* The null arm with the tsc reader: the clock is true time to the conversion's floor. */
	struct tu_run r;
	char text[4096];

	snprintf(text, sizeof(text), "%sarm ideal\n", hostile);
	tu_run_text(&r, text);
	ck_assert_int_le(r.m[0][M_MAX_ABS_ERROR_NS], 1);
	ck_assert_int_eq(r.m[0][M_WARPS], 0);
	ck_assert_int_eq(r.m[0][M_LOST_TIME_NS], 0);
	ck_assert_int_le(r.m[0][M_MAX_VCPU_SKEW_NS], 1);
	tu_free(&r);
}
END_TEST

Suite *conformance_suite(void)
{
	Suite *s = suite_create("conformance");
	TCase *tc = tcase_create("layers");

	tcase_add_loop_test(tc, test_policy_ops_table, 0, (int)count_policies());
	tcase_add_loop_test(tc, test_policy_runs_and_keeps_promises, 0, (int)count_policies());
	tcase_add_loop_test(tc, test_reader_ops_and_runs, 0, (int)count_readers());
	tcase_add_test(tc, test_ideal_tsc_is_exact);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return s;
}
