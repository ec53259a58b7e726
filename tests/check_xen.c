/*
 * check_xen.c: Xen's vcpu_time_info writer as the xen-pvclock provider implements it: entries
 * copied from the CPU's calibration stamp, set_time_scale's (mul, shift), updates on every
 * context switch and every calibration epoch (and Xen's skip of unchanged records), the
 * TSC_STABLE rule, and the drift between CPUs' stamps that a raw reader sees as warps and
 * NetBSD's global stamp hides.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"
#include "timescale.h"

/* Builds and runs arm `arm` of `text` to its duration, leaving the world for inspection. */
static void run_world(struct tu_run *r, struct world *w, const char *text, unsigned arm)
{
	ck_assert_msg(tu_build(r, text) == VT_OK, "%s", r->err.msg);
	ck_assert_int_eq(world_init(w, &r->cfg, &r->cfg.arms[arm], NULL), VT_OK);
	ck_assert_int_eq(world_run(w), VT_OK);
	genv_land_due(w, UINT64_MAX); /* let every in-flight store land */
}

static const struct pvclock_vcpu_time_info *pvti(struct world *w, unsigned v)
{
	return w->page.ops->pvti(&w->page, v);
}

static int64_t page_updates(struct world *w)
{
	int64_t f[LAYER_MAX_FACTS];

	w->page.ops->get_facts(&w->page, f);
	return f[0];
}

START_TEST(test_entry_is_the_cpu_stamp)
{
	/* 1 GHz, 0 ppm, pinned: the last calibration was at 1 s; every vCPU's entry holds its
	 * CPU's stamp of that instant, not the instant of the write. */
	struct tu_run r;
	struct world w;
	int8_t shift;
	uint32_t mul;

	run_world(&r, &w,
		  "duration = 1500ms\nhost { cpus = 2; cpu.freq = 1GHz }\nvm.vcpus = 2\n"
		  "sched.mode = pinned\nvm.io.rate = 100/s\n"
		  "arm x { policy = tsc-offset; page = xen-pvclock }\n", 0);
	ck_assert_uint_gt(w.vcpus[0].io_exits, 10); /* loads after the epoch kept the stamp */
	for (unsigned i = 0; i < 2; i++) {
		const struct pvclock_vcpu_time_info *p = pvti(&w, i);
		unsigned cpu = w.vcpus[i].pub.pcpu;

		ck_assert_uint_eq(p->tsc_timestamp, host_tsc(&w.host, cpu, NS_PER_SEC));
		ck_assert_uint_eq(p->system_time, host_raw_ns(&w.host, cpu, NS_PER_SEC));
		ck_assert_uint_eq(p->tsc_timestamp, 1000000000ULL);
		ck_assert_uint_eq(p->system_time, 1000000000ULL);
		/* set_time_scale(1 GHz): 1e9 <= 1e9 doubles once, mul = 1e9 * 2^32 / 2e9. */
		ck_assert_uint_eq(p->tsc_to_system_mul, 0x80000000u);
		ck_assert_int_eq(p->tsc_shift, 1);
		ck_assert_uint_eq(p->version % 2, 0);
		ck_assert_uint_ge(p->version, 4); /* boot and the 1 s epoch */
	}
	world_free(&w);
	tu_free(&r);
	/* 3 GHz: halved once (> 2e9), mul = 1e9 * 2^32 / 1.5e9 = 0xaaaaaaaa, as kvm_get_time_scale. */
	run_world(&r, &w,
		  "duration = 10ms\nhost { cpus = 1; cpu.freq = 3GHz }\nvm.vcpus = 1\n"
		  "arm x { policy = tsc-offset; page = xen-pvclock }\n", 0);
	kvm_get_time_scale(NS_PER_SEC, 3000000000ULL, &shift, &mul);
	ck_assert_uint_eq(pvti(&w, 0)->tsc_to_system_mul, 0xaaaaaaaau);
	ck_assert_uint_eq(pvti(&w, 0)->tsc_to_system_mul, mul);
	ck_assert_int_eq(pvti(&w, 0)->tsc_shift, -1);
	/* The boot stamp (t = 0), and a guest reading the entry gets true time. */
	ck_assert_uint_eq(pvti(&w, 0)->tsc_timestamp, 0);
	ck_assert_uint_eq(pvti(&w, 0)->system_time, 0);
	world_free(&w);
	tu_free(&r);
}
END_TEST

START_TEST(test_updates_on_epochs_and_loads)
{
	struct tu_run r;
	struct world w;
	int64_t loads = 0, n;
	const char *base = "duration = 3500ms\nhost.cpus = 2\nvm.vcpus = 2\nsched.mode = pinned\n"
			   "vm.io.rate = 200/s\nworkload.read_rate = 1kHz\n"
			   "arm x { policy = tsc-offset; page = xen-pvclock; page.skip_unchanged = ";
	char text[512];

	/* Xen's memcmp: a context switch back onto the same CPU within an epoch leaves the entry
	 * alone; each vCPU is written at boot and once per epoch (1 s, 2 s, 3 s): 4 each. */
	snprintf(text, sizeof(text), "%s%s }\n", base, "yes");
	run_world(&r, &w, text, 0);
	ck_assert_uint_gt(w.vcpus[0].io_exits, 100);
	ck_assert_int_eq(page_updates(&w), 2 * 4);
	world_free(&w);
	tu_free(&r);

	/* Forced: every load (boot, and the next KVM_RUN-like switch back after each I/O exit)
	 * writes once at its entry; an epoch adds a write for each vCPU running at that instant
	 * (one in an I/O exit then is served by its next load's write). */
	snprintf(text, sizeof(text), "%s%s }\n", base, "no");
	run_world(&r, &w, text, 0);
	for (unsigned i = 0; i < 2; i++)
		loads += 1 + (int64_t)w.vcpus[i].io_exits;
	n = page_updates(&w);
	ck_assert_int_ge(n, loads);
	ck_assert_int_le(n, loads + 2 * 3);
	/* 20 us exits at 200/s: 0.4% of the time out; with this seed all six epochs hit a running
	 * vCPU. */
	ck_assert_int_eq(n, loads + 2 * 3);
	world_free(&w);
	tu_free(&r);

	/* No epochs (calibration = 0) and no exits: the boot write only. */
	run_world(&r, &w,
		  "duration = 3500ms\nhost.cpus = 2\nvm.vcpus = 2\nsched.mode = pinned\n"
		  "workload.read_rate = 1kHz\n"
		  "arm x { policy = tsc-offset; page = xen-pvclock; page.calibration = 0 }\n", 0);
	ck_assert_int_eq(page_updates(&w), 2);
	world_free(&w);
	tu_free(&r);
}
END_TEST

START_TEST(test_tsc_stable_bit_rule)
{
	static const struct {
		const char *host, *opt;
		uint8_t want;
	} cases[] = {
		/* Synchronized TSCs: the host's clocksource is the TSC. */
		{ "", "", PVCLOCK_TSC_STABLE_BIT },
		/* Unsynchronized: HPET, the TSC is not reliable. */
		{ "host.cpu.offset = [0, 86000]\n", "", 0 },
		/* A reliable TSC, but another clocksource. */
		{ "host.clocksource = hpet\n", "", 0 },
		{ "host.cpu.offset = [0, 86000]\n", "page.tsc_stable_bit = on", PVCLOCK_TSC_STABLE_BIT },
		{ "", "page.tsc_stable_bit = off", 0 },
	};
	char text[512];

	for (unsigned c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct tu_run r;
		struct world w;

		snprintf(text, sizeof(text),
			 "duration = 20ms\nhost.cpus = 2\nvm.vcpus = 2\n%s"
			 "arm x { policy = tsc-offset; page = xen-pvclock; %s }\n",
			 cases[c].host, cases[c].opt);
		run_world(&r, &w, text, 0);
		ck_assert_msg(pvti(&w, 0)->flags == cases[c].want && pvti(&w, 1)->flags == cases[c].want,
			      "case %u: flags %u/%u, want %u", c, pvti(&w, 0)->flags,
			      pvti(&w, 1)->flags, cases[c].want);
		ck_assert_uint_eq(w.page.ops->kvm_features(&w.page), 0);
		world_free(&w);
		tu_free(&r);
	}
}
END_TEST

START_TEST(test_skewed_host_raw_warps_netbsd_does_not)
{
	/* CPU 1's oscillator 100 ppm faster than CPU 0's: between calibrations vCPU 1's entry
	 * (CPU 1's stamp, extrapolated at CPU 1's rate) runs ahead of vCPU 0's. A lock shared by
	 * both vCPUs shows the raw reader going back; NetBSD's global stamp never does. */
	struct tu_run r;

	tu_run_text(&r, "duration = 3s\nseed = 3\n"
			"host { cpus = 2; cpu.freq = 2GHz; cpu.skew_ppm = [-50ppm, 50ppm] }\n"
			"vm.vcpus = 2\nsched.mode = pinned\n"
			"workload { read_rate = 2kHz; locked_rate = 5kHz }\n"
			"arm raw { policy = tsc-offset; page = xen-pvclock; reader = kvm-unit-tests }\n"
			"arm nb { policy = tsc-offset; page = xen-pvclock; reader = netbsd }\n");
	ck_assert_int_gt(r.m[0][M_READS], 10000);
	ck_assert_int_eq(r.m[0][M_FALLBACKS], 0);
	ck_assert_int_gt(r.m[0][M_WARPS], 0);
	ck_assert_int_gt(r.m[0][M_WORST_WARP_NS], 1000);
	ck_assert_int_eq(r.m[1][M_FALLBACKS], 0);
	ck_assert_int_eq(r.m[1][M_WARPS], 0);
	ck_assert_int_eq(r.m[1][M_BACKSTEPS], 0);
	ck_assert_int_eq(r.m[1][M_STALLS], 0); /* strictly increasing */
	tu_free(&r);
}
END_TEST

Suite *xen_suite(void)
{
	Suite *s = suite_create("xen");
	TCase *tc = tcase_create("pvclock");

	tcase_add_test(tc, test_entry_is_the_cpu_stamp);
	tcase_add_test(tc, test_updates_on_epochs_and_loads);
	tcase_add_test(tc, test_tsc_stable_bit_rule);
	tcase_add_test(tc, test_skewed_host_raw_warps_netbsd_does_not);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
