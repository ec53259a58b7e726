/*
 * check_kvmclock.c: KVM's pvclock writer and Hyper-V TSC page as the kvmclock and hv-tsc-page
 * providers implement them: field values, master-clock conditions, update triggers, the odd/even
 * protocol, GUEST_STOPPED, the TSC page's validity rules.
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

START_TEST(test_master_on_synchronized_host)
{
	struct tu_run r;
	struct world w;
	int8_t shift;
	uint32_t mul;
	const struct pvclock_vcpu_time_info *p0, *p1;

	run_world(&r, &w,
		  "duration = 50ms\nhost { cpus = 2; cpu.freq = 3GHz }\nvm.vcpus = 2\n"
		  "sched { mode = rate; migrate_rate = 100/s }\n"
		  "arm k { policy = tsc-offset; page = kvmclock }\n", 0);
	ck_assert(w.host.tsc_stable);
	p0 = pvti(&w, 0);
	p1 = pvti(&w, 1);
	kvm_get_time_scale(NS_PER_SEC, 3000000000ULL, &shift, &mul);
	ck_assert_uint_eq(p0->tsc_to_system_mul, mul);
	ck_assert_int_eq(p0->tsc_shift, shift);
	ck_assert_uint_eq(p0->tsc_to_system_mul, 0xaaaaaaaa); /* REFERENCE 2.3 */
	/* One snapshot for all: same reference point, TSC_STABLE, an even version. */
	ck_assert_uint_eq(p0->flags, PVCLOCK_TSC_STABLE_BIT);
	ck_assert_uint_eq(p0->system_time, p1->system_time);
	ck_assert_uint_eq(p0->tsc_timestamp, p1->tsc_timestamp);
	ck_assert_uint_eq(p0->version % 2, 0);
	ck_assert_uint_ge(p0->version, 2);
	/* At boot: kvmclock 0 where the guest TSC is 0. */
	ck_assert_uint_eq(p0->system_time, 0);
	ck_assert_uint_eq(p0->tsc_timestamp, 0);
	/* Migrations do not rewrite entries in master mode: one write per vCPU (boot). */
	ck_assert_uint_gt(w.vcpus[0].migrations, 0);
	{
		int64_t f[LAYER_MAX_FACTS];

		w.page.ops->get_facts(&w.page, f);
		ck_assert_int_eq(f[0], 1);
		ck_assert_int_eq(f[2], 2);
	}
	world_free(&w);
	tu_free(&r);
}
END_TEST

START_TEST(test_per_vcpu_on_skewed_host)
{
	/* Skewed TSCs: the host uses HPET, KVM refuses the master clock; each entry is rewritten
	 * on a migration with this vCPU's own (guest TSC, raw clock) pair of that instant. */
	struct tu_run r;
	struct world w;
	const struct pvclock_vcpu_time_info *p;
	char text[1024];
	sim_ns end = 30000000;

	snprintf(text, sizeof(text),
		 "duration = %lluns\nhost { cpus = 2; cpu.freq = 2GHz; cpu.offset = [0, 86000] }\n"
		 "vm.vcpus = 1\nsched { mode = rate; migrate_rate = 200/s; migrate_gap = fixed(10us) }\n"
		 "arm k { policy = tsc-offset; page = kvmclock }\n",
		 (unsigned long long)end);
	run_world(&r, &w, text, 0);
	ck_assert(!w.host.tsc_stable);
	ck_assert_int_eq(w.host.raw.cs, CS_HPET);
	p = pvti(&w, 0);
	ck_assert_uint_eq(p->flags, 0);
	ck_assert_uint_gt(w.vcpus[0].migrations, 2);
	/* The last entry was written at the vCPU's last entry on its current CPU: its
	 * (tsc_timestamp, system_time) is a pair the host clocks gave at one instant. Find that
	 * instant from tsc_timestamp (1 cycle = 0.5 ns at 2 GHz, offset differences known). */
	{
		unsigned cpu = w.vcpus[0].pub.pcpu;
		/* tsc-offset: guest = host TSC (CPU 0 starts at 0) = 2t (+ 86000 on CPU 1). */
		sim_ns t = (p->tsc_timestamp - (cpu ? 86000 : 0)) / 2;

		ck_assert_uint_eq(p->tsc_timestamp, host_tsc(&w.host, cpu, t));
		ck_assert_uint_eq(p->system_time, host_raw_ns(&w.host, cpu, t));
	}
	world_free(&w);
	tu_free(&r);
}
END_TEST

START_TEST(test_forced_master_and_refusals)
{
	struct tu_run r;
	struct world w;
	int64_t f[LAYER_MAX_FACTS];
	const char *skewed = "duration = 10ms\nhost { cpus = 2; cpu.offset = [0, 86000] }\n"
			     "vm.vcpus = 2\n"
			     "arm on { policy = tsc-offset; page = kvmclock; page.masterclock = on }\n"
			     "arm nvmm { policy = gtsc-resume; page = kvmclock; host.cpu.offset = 0 }\n"
			     "arm old { policy = tsc-offset; page = kvmclock; page.old_msr = yes; "
			     "host.cpu.offset = 0 }\n";

	run_world(&r, &w, skewed, 0);
	w.page.ops->get_facts(&w.page, f);
	ck_assert_int_eq(f[0], 1); /* forced on where KVM refuses */
	ck_assert_uint_eq(pvti(&w, 1)->flags, PVCLOCK_TSC_STABLE_BIT);
	world_free(&w);
	tu_free(&r);
	/* Per-vCPU TSC offsets (gtsc-resume): not one generation, no master clock. */
	run_world(&r, &w, skewed, 1);
	w.page.ops->get_facts(&w.page, f);
	ck_assert(w.host.tsc_stable);
	ck_assert_int_eq(f[0], 0);
	world_free(&w);
	tu_free(&r);
	/* vCPU 0 on the old MSR: no master clock. */
	run_world(&r, &w, skewed, 2);
	w.page.ops->get_facts(&w.page, f);
	ck_assert_int_eq(f[0], 0);
	world_free(&w);
	tu_free(&r);
}
END_TEST

START_TEST(test_host_suspend_ends_master_for_good)
{
	struct tu_run r;
	struct world w;
	int64_t f[LAYER_MAX_FACTS];

	run_world(&r, &w,
		  "duration = 300ms\nhost { cpus = 2; cpu.resets = [(100ms, 0cycles)] }\nvm.vcpus = 2\n"
		  "host.tsc_stable = yes\narm k { policy = tsc-offset; page = kvmclock }\n", 0);
	w.page.ops->get_facts(&w.page, f);
	ck_assert_int_eq(f[0], 0);
	ck_assert_int_eq(f[1], 1);
	ck_assert_uint_eq(pvti(&w, 0)->flags & PVCLOCK_TSC_STABLE_BIT, 0);
	world_free(&w);
	tu_free(&r);
}
END_TEST

START_TEST(test_global_update_after_100ms)
{
	/* A host KVM trusts, per-vCPU mode: a load on the same CPU asks nothing; a load on another
	 * CPU asks this vCPU's update now and every vCPU's 100 ms later. Count updates. */
	struct tu_run r;
	struct world w;
	int64_t f[LAYER_MAX_FACTS];

	run_world(&r, &w,
		  "duration = 95ms\nhost { cpus = 2; cpu.offset = [0, 86000]; tsc_stable = yes }\n"
		  "vm.vcpus = 2\n"
		  "vm.io.rate = 1kHz\nvm.pauses = [(1ms, 1us)]\nsched { mode = pinned }\n"
		  "arm k { policy = tsc-offset; page = kvmclock; page.guest_stopped = no; "
		  "page.masterclock = off }\n", 0);
	w.page.ops->get_facts(&w.page, f);
	/* Boot (2 entries), the resume after the pause rewrites both (2): the resume's load on the
	 * same CPU asks no global update. */
	ck_assert_int_eq(f[2], 4);
	world_free(&w);
	tu_free(&r);
	run_world(&r, &w,
		  "duration = 250ms\nhost { cpus = 2; cpu.offset = [0, 86000]; tsc_stable = yes }\n"
		  "vm.vcpus = 2\n"
		  "vm.io.rate = 1kHz\nvm.pauses = [(1ms, 1us)]\nsched { mode = rate; "
		  "wake_migrate = 1; migrate_rate = 0 }\n"
		  "arm k { policy = tsc-offset; page = kvmclock; page.guest_stopped = no; "
		  "page.masterclock = off }\n", 0);
	w.page.ops->get_facts(&w.page, f);
	/* Boot 2; resume on other CPUs 2 (each also asks a global update) ; 100 ms later every
	 * vCPU once more: 2. */
	ck_assert_int_eq(f[2], 6);
	world_free(&w);
	tu_free(&r);
}
END_TEST

START_TEST(test_guest_stopped_after_pause)
{
	struct tu_run r;
	struct world w;

	run_world(&r, &w,
		  "duration = 20ms\nhost.cpus = 2\nvm.vcpus = 2\nvm.pauses = [(5ms, 5ms)]\n"
		  "workload.read_rate = 0\narm k { policy = tsc-offset; page = kvmclock }\n", 0);
	/* No reader cleared it: the flag stays set in both entries. */
	ck_assert_uint_eq(pvti(&w, 0)->flags & PVCLOCK_GUEST_STOPPED, PVCLOCK_GUEST_STOPPED);
	ck_assert_uint_eq(pvti(&w, 1)->flags & PVCLOCK_GUEST_STOPPED, PVCLOCK_GUEST_STOPPED);
	world_free(&w);
	tu_free(&r);
}
END_TEST

START_TEST(test_update_is_seen_store_by_store)
{
	/* Stop the world in the middle of an update: another vCPU sees the odd version and the
	 * fields written so far, the owner sees its own update complete. */
	struct tu_run r;
	struct world w;
	const struct pvclock_vcpu_time_info *p;
	uint32_t v_before;

	ck_assert_int_eq(tu_build(&r, "duration = 1s\nhost.cpus = 1\nvm.vcpus = 2\n"
				      "arm k { policy = tsc-offset; page = kvmclock; "
				      "page.write_ns = 600ns }\n"),
			 VT_OK);
	ck_assert_int_eq(world_init(&w, &r.cfg, &r.cfg.arms[0], NULL), VT_OK);
	/* Boot: entries requested; vCPU 0 entered at t = 0 and issued its stores at 0..600 ns. */
	vcpu_boot(&w);
	p = pvti(&w, 0);
	ck_assert_uint_eq(w.stores.n, 14); /* 7 stores each, none landed */
	genv_land_due(&w, 0);
	ck_assert_uint_eq(p->version, 1); /* odd: the first store landed at t = 0 */
	genv_land_due(&w, 100);
	ck_assert_uint_eq(p->version, 1);
	ck_assert_uint_eq(p->tsc_timestamp, 0);
	genv_land_due(&w, 299); /* stores every 100 ns: the multiplier lands at 300 */
	ck_assert_uint_eq(p->tsc_to_system_mul, 0);
	genv_land_due(&w, 300);
	ck_assert_uint_eq(p->tsc_to_system_mul, 0xcccccccc);
	ck_assert_uint_eq(p->version, 1);
	v_before = p->version;
	genv_land_due(&w, 600);
	ck_assert_uint_eq(p->version, v_before + 1);
	world_free(&w);
	tu_free(&r);
}
END_TEST

START_TEST(test_hv_tsc_page)
{
	struct tu_run r;
	struct world w;
	const struct ms_hyperv_tsc_page *tp;
	const struct pvclock_vcpu_time_info *p;
	uint64_t scale;

	run_world(&r, &w,
		  "duration = 10ms\nhost { cpus = 2; cpu.freq = 2.5GHz }\nvm.vcpus = 2\n"
		  "arm k { policy = tsc-offset; page = hv-tsc-page }\n"
		  "arm skew { policy = tsc-offset; page = hv-tsc-page; host.cpu.offset = [0, 86000] }\n",
		  0);
	tp = w.page.ops->hv_tsc_page(&w.page);
	p = pvti(&w, 0);
	ck_assert(hv_tsc_scale(p->tsc_to_system_mul, p->tsc_shift, &scale));
	ck_assert_uint_eq(tp->tsc_sequence, 1);
	ck_assert_uint_eq(tp->tsc_scale, scale);
	ck_assert_uint_eq(tp->tsc_scale, 0x010624dd2e147ae1ULL); /* 2.5 GHz, 100 ns units */
	ck_assert_int_eq(tp->tsc_offset,
			 (int64_t)(p->system_time / 100) -
				 (int64_t)(uint64_t)(((u128)p->tsc_timestamp * scale) >> 64));
	world_free(&w);
	tu_free(&r);
	/* No master clock: the page stays invalid (sequence 0). */
	run_world(&r, &w,
		  "duration = 10ms\nhost { cpus = 2; cpu.freq = 2.5GHz }\nvm.vcpus = 2\n"
		  "arm skew { policy = tsc-offset; page = hv-tsc-page; host.cpu.offset = [0, 86000] }\n",
		  0);
	ck_assert_uint_eq(w.page.ops->hv_tsc_page(&w.page)->tsc_sequence, 0);
	world_free(&w);
	tu_free(&r);
}
END_TEST

START_TEST(test_mul_recomputed_on_rate_change)
{
	/* A non-invariant TSC: after CPU 0 halves its rate, the next entry written on it carries
	 * kvm_get_time_scale of the new cpu_tsc_khz. */
	struct tu_run r;
	struct world w;
	int8_t shift;
	uint32_t mul;

	run_world(&r, &w,
		  "duration = 200ms\nhost { cpus = 1; cpu.freq = 3GHz; cpu.rate_changes = [(50ms, "
		  "1.5GHz)] }\nvm.vcpus = 1\nvm.io.rate = 1kHz\n"
		  "arm k { policy = tsc-offset; page = kvmclock }\n", 0);
	kvm_get_time_scale(NS_PER_SEC, 1500000000ULL, &shift, &mul);
	ck_assert_uint_eq(pvti(&w, 0)->tsc_to_system_mul, mul);
	ck_assert_int_eq(pvti(&w, 0)->tsc_shift, shift);
	world_free(&w);
	tu_free(&r);
}
END_TEST

START_TEST(test_set_clock_after_pause)
{
	/* A 2 s pause, the TSC restored by value: plain KVM_SET_CLOCK loses the 2 s in kvmclock
	 * too, with KVM_CLOCK_REALTIME kvmclock comes back exactly on time (1 GHz, exact). */
	struct tu_run r;

	tu_run_text(&r, "duration = 3s\nhost { cpus = 1; cpu.freq = 1GHz }\nvm { vcpus = 1; "
			"pauses = [(500ms, 2s)] }\nworkload { read_rate = 10kHz; arrivals = periodic }\n"
			"arm plain { policy = tsc-offset; policy.restore = value; page = kvmclock; "
			"page.set_clock = plain; reader = linux-kvmclock }\n"
			"arm real { policy = tsc-offset; policy.restore = value; page = kvmclock; "
			"page.set_clock = realtime; reader = linux-kvmclock }\n"
			"arm tsc { policy = tsc-offset; policy.restore = value }\n");
	ck_assert_int_eq(r.m[2][M_FINAL_ERROR_NS], -2000000000LL);
	ck_assert_int_le(r.m[0][M_FINAL_ERROR_NS], -2000000000LL);
	ck_assert_int_gt(r.m[0][M_FINAL_ERROR_NS], -2000000010LL);
	ck_assert_int_le(r.m[1][M_MAX_ABS_ERROR_NS], 10);
	tu_free(&r);
}
END_TEST

START_TEST(test_freebsd_stride)
{
	struct tu_run r;
	struct world w;

	run_world(&r, &w,
		  "duration = 1ms\nhost.cpus = 1\nvm.vcpus = 3\n"
		  "arm k { policy = tsc-offset; page = kvmclock; page.stride = freebsd }\n", 0);
	ck_assert_ptr_eq((const char *)pvti(&w, 1), (const char *)pvti(&w, 0) + 32);
	world_free(&w);
	tu_free(&r);
	run_world(&r, &w, "duration = 1ms\nhost.cpus = 1\nvm.vcpus = 3\n"
			  "arm k { policy = tsc-offset; page = kvmclock }\n", 0);
	ck_assert_ptr_eq((const char *)pvti(&w, 2), (const char *)pvti(&w, 0) + 128);
	world_free(&w);
	tu_free(&r);
}
END_TEST

Suite *kvmclock_suite(void)
{
	Suite *s = suite_create("kvmclock");
	TCase *tc = tcase_create("writer");

	tcase_add_test(tc, test_master_on_synchronized_host);
	tcase_add_test(tc, test_per_vcpu_on_skewed_host);
	tcase_add_test(tc, test_forced_master_and_refusals);
	tcase_add_test(tc, test_host_suspend_ends_master_for_good);
	tcase_add_test(tc, test_global_update_after_100ms);
	tcase_add_test(tc, test_guest_stopped_after_pause);
	tcase_add_test(tc, test_update_is_seen_store_by_store);
	tcase_add_test(tc, test_hv_tsc_page);
	tcase_add_test(tc, test_freebsd_stride);
	tcase_add_test(tc, test_mul_recomputed_on_rate_change);
	tcase_add_test(tc, test_set_clock_after_pause);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}
