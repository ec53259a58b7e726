/*
 * check_catchup.c: the catch-up and scaling policies' defining behaviour: kvm-catchup (resume at
 * the last guest TSC, then catch up to the host clock), kvm-scaled (VMX/SVM ratio quantisation,
 * KVM's 250 ppm tolerance, software catch-up) and vbox-catchup (VirtualBox's lag schedule).
 *
 * Exact clocks wherever the arithmetic allows: host TSCs at 1 or 2 GHz with no error, so the
 * host's raw clock is the TSC times an exact mult/shift, and the `tsc` reader's conversion is exact
 * at 1 GHz.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "layers.h"
#include "registry.h"
#include "testutil.h"
#include "timescale.h"

/* ---- kvm-catchup ---------------------------------------------------------------------- */

/*
 * Two synchronized host CPUs at exactly 1 GHz; migrations, stalls that always wake on the other
 * CPU, I/O exits (a return to the VMM: vcpu_put, and vcpu_load at the next KVM_RUN, so KVM
 * rebases there too), a pause; every interval longer than the 1 us jump threshold; reads every
 * 10 us. Arm 0 catches up, arm 1 is the rebase alone.
 */
static const char kc_exact[] =
	"duration = 2s\n"
	"host { cpus = 2\n cpu.freq = 1GHz }\n"
	"vm { vcpus = 3\n io.rate = 300/s\n io.duration = uniform(5us, 60us)\n"
	"     paging.rate = 40/s\n paging.duration = uniform(5us, 2ms)\n"
	"     pauses = [(1.3s, 20ms)] }\n"
	"sched { mode = rate\n migrate_rate = 20/s\n migrate_gap = uniform(20us, 3ms)\n"
	"        wake_migrate = 1 }\n"
	"workload { read_rate = 100kHz\n arrivals = periodic }\n"
	"arm catchup { policy = kvm-catchup }\n"
	"arm rebase { policy = kvm-catchup; policy.catchup = no }\n";

START_TEST(test_kvm_catchup_exact)
{
	struct tu_run *r = malloc(sizeof(*r));

	tu_run_text(r, kc_exact);
	for (unsigned v = 0; v < r->cfg.vm.nvcpus; v++) {
		ck_assert_uint_gt(r->migrations[0][v], 20);
		/* The rebase alone loses exactly every off-CPU interval (KVM rebases at every
		 * load)... */
		ck_assert_uint_eq(r->vm[1][v].debt_ns, r->off_cpu[1][v]);
		ck_assert_int_eq(r->vm[1][v].last_err, -(int64_t)r->off_cpu[1][v]);
		ck_assert_uint_eq(r->vm[1][v].backsteps, 0);
		/* ... and the catch-up gives all of it back before the guest runs again. */
		ck_assert_uint_eq(r->vm[0][v].debt_ns, 0);
		ck_assert_int_eq(r->vm[0][v].last_err, 0);
		ck_assert_uint_eq(r->vm[0][v].backsteps, 0);
	}
	ck_assert_int_gt(r->m[1][M_LOST_TIME_NS], 20 * (int64_t)NS_PER_MS);
	ck_assert_int_eq(r->m[0][M_LOST_TIME_NS], 0);
	ck_assert_int_eq(r->m[0][M_MAX_ABS_ERROR_NS], 0);
	ck_assert_int_eq(r->m[0][M_BACKSTEPS], 0);
	tu_free(r);
	free(r);
}
END_TEST

/* Builds `text`'s first arm into a world without running it (policy initialised, vCPUs at their
 * initial CPUs, time 0), for stepping a policy's methods by hand. */
static void world_for(struct tu_run *r, struct world *w, const char *text, unsigned arm)
{
	ck_assert_int_eq(tu_build(r, text), VT_OK);
	ck_assert_int_eq(world_init(w, &r->cfg, &r->cfg.arms[arm], NULL), VT_OK);
}

START_TEST(test_kvm_catchup_steps)
{
	/* One vCPU on one 1 GHz CPU: it runs 0-5 ms, is off-CPU until 12 ms. */
	static const char text[] = "duration = 1s\nhost { cpus = 1\n cpu.freq = 1GHz\n"
				   "cpu.offset = 777777cycles }\nvm.vcpus = 1\n"
				   "arm rebase { policy = kvm-catchup; policy.catchup = no }\n"
				   "arm catchup { policy = kvm-catchup }\n";
	const sim_ns ms = NS_PER_MS;

	for (unsigned a = 0; a < 2; a++) {
		struct tu_run r;
		struct world w;
		struct policy *p = &w.policy;
		struct vcpu *v;

		world_for(&r, &w, text, a);
		v = &w.vcpus[0].pub;
		p->ops->on_load(p, v, 0, 0);
		p->ops->on_entry(p, v, 0, 0); /* the entry serves the load's update */
		ck_assert_uint_eq(p->ops->guest_tsc(p, v, 0), 0);
		ck_assert_uint_eq(p->ops->guest_tsc(p, v, 5 * ms), 5 * ms);
		p->ops->on_exit(p, v, 5 * ms);
		/* Off-CPU from 5 ms to 12 ms; loaded again on the same CPU. */
		p->ops->on_load(p, v, 0, 12 * ms);
		p->ops->on_entry(p, v, 0, 12 * ms); /* the entry serves the load's update */
		if (a == 0) {
			/* Resumed where it left off: 7 ms gone for good. */
			ck_assert_uint_eq(p->ops->guest_tsc(p, v, 12 * ms), 5 * ms);
			ck_assert_uint_eq(p->ops->guest_tsc(p, v, 13 * ms), 6 * ms);
		} else {
			/* Caught up to scale(raw clock since boot) + 0 before the guest runs. */
			ck_assert_uint_eq(p->ops->guest_tsc(p, v, 12 * ms), 12 * ms);
			ck_assert_uint_eq(p->ops->guest_tsc(p, v, 13 * ms), 13 * ms);
		}
		world_free(&w);
		tu_free(&r);
	}
}
END_TEST

START_TEST(test_kvm_catchup_tsc_write)
{
	/* A TSC write restarts the catch-up target from (its raw clock, its value); a load at the
	 * instant of the last exit changes nothing (the guest TSC is at its target). */
	static const char text[] = "duration = 1s\nhost { cpus = 2\n cpu.freq = 1GHz }\n"
				   "vm.vcpus = 1\narm kvm-catchup\n";
	struct tu_run r;
	struct world w;
	struct policy *p = &w.policy;
	struct vcpu *v;

	world_for(&r, &w, text, 0);
	v = &w.vcpus[0].pub;
	p->ops->on_load(p, v, 0, 0);
	p->ops->on_entry(p, v, 0, 0); /* the entry serves the load's update */
	p->ops->on_tsc_write(p, v, 5000000, TSC_WRITE_GUEST, 1000000);
	ck_assert_uint_eq(p->ops->guest_tsc(p, v, 2000000), 6000000);
	p->ops->on_exit(p, v, 2000000);
	v->pcpu = 1;
	p->ops->on_load(p, v, 1, 3000000);
	p->ops->on_entry(p, v, 1, 3000000); /* the entry serves the load's update */
	/* The write restarted the target at (1 ms, 5,000,000): target 7,000,000 at 3 ms. */
	ck_assert_uint_eq(p->ops->guest_tsc(p, v, 3000000), 7000000);
	p->ops->on_exit(p, v, 3000000);
	p->ops->on_load(p, v, 1, 3000000);
	p->ops->on_entry(p, v, 1, 3000000); /* the entry serves the load's update */
	ck_assert_uint_eq(p->ops->guest_tsc(p, v, 3000000), 7000000);
	world_free(&w);
	tu_free(&r);
}
END_TEST

/*
 * A non-invariant host TSC: both CPUs drop from 1 GHz to 500 MHz at 200 ms (the host then
 * trusts HPET). Four vCPUs share two CPUs under a 1 ms quantum, so each is loaded every ~2 ms.
 * tsc-offset's guest clock runs at half speed from 200 ms on; kvm-catchup's is pulled up to the
 * host raw clock at every load and loses at most half of one quantum in between.
 */
START_TEST(test_kvm_catchup_rate_change)
{
	struct tu_run *r = malloc(sizeof(*r));

	tu_run_text(r, "duration = 2s\n"
		       "host { cpus = 2\n cpu.freq = 1GHz\n cpu.rate_changes = [(200ms, 500MHz)] }\n"
		       "vm { vcpus = 4\n tsc_freq = 1GHz }\n"
		       "sched { mode = quantum\n quantum = 1ms }\n"
		       "workload { read_rate = 20kHz\n arrivals = periodic }\n"
		       "arm tsc-offset\narm kvm-catchup\n");
	/* tsc-offset: 1.8 s at half rate is 0.9 s behind. */
	ck_assert_int_lt(r->m[0][M_FINAL_ERROR_NS], -890 * (int64_t)NS_PER_MS);
	ck_assert_int_lt(r->m[0][M_DRIFT_PPM], -400000 * 1000LL);
	/* kvm-catchup: within half a quantum of the raw clock (plus HPET's conversion error). */
	ck_assert_int_le(r->m[1][M_MAX_ABS_ERROR_NS], 510 * (int64_t)NS_PER_US);
	ck_assert_int_gt(r->m[1][M_MAX_ABS_ERROR_NS], 400 * (int64_t)NS_PER_US);
	/* Its error is a sawtooth from 0 to -0.5 ms from 200 ms on: the least-squares slope of
	 * that step is under 200 ppm, against tsc-offset's -450,000. */
	ck_assert_int_lt(llabs(r->m[1][M_DRIFT_PPM]), 200 * 1000);
	ck_assert_int_eq(r->m[1][M_BACKSTEPS], 0);
	/* Time lost between loads is given back at the next: never more than one quantum's worth
	 * outstanding, where tsc-offset never gets back its 0.9 s. */
	ck_assert_int_le(r->m[1][M_LOST_TIME_NS], 510 * (int64_t)NS_PER_US);
	ck_assert_int_gt(r->m[0][M_LOST_TIME_NS], 890 * (int64_t)NS_PER_MS);
	tu_free(r);
	free(r);
}
END_TEST

/* ---- kvm-scaled ----------------------------------------------------------------------- */

/* Expected drift (ppb) of a guest told guest_hz whose TSC runs at host_hz * ratio / 2^bits. */
static double scaled_drift_ppb(uint64_t ratio, unsigned bits, double host_hz, double guest_hz)
{
	return ((double)ratio / (double)(1ULL << bits) * host_hz / guest_hz - 1.0) * 1e9;
}

START_TEST(test_kvm_scaled_ratio_drift)
{
	/* A 2.6 GHz guest on an exact 2.0 GHz host, VMX and SVM: the floored ratio's error. */
	struct tu_run *r = malloc(sizeof(*r));
	uint64_t vmx, svm;

	tu_run_text(r, "duration = 2s\nhost { cpus = 1\n cpu.freq = 2GHz }\n"
		       "vm { vcpus = 1\n tsc_freq = 2.6GHz }\n"
		       "workload { read_rate = 10kHz\n arrivals = periodic }\n"
		       "arm vmx { policy = kvm-scaled; policy.hw = vmx }\n"
		       "arm svm { policy = kvm-scaled; policy.hw = svm }\n"
		       "arm off { policy = tsc-offset }\n");
	ck_assert(tsc_ratio(2600000, 2000000, VMX_TSC_FRAC_BITS, VMX_TSC_RATIO_MAX, &vmx));
	ck_assert(tsc_ratio(2600000, 2000000, SVM_TSC_FRAC_BITS, SVM_TSC_RATIO_MAX, &svm));
	/* floor(2^N * 13 / 10) */
	ck_assert_uint_eq(vmx, (uint64_t)(((u128)13 << 48) / 10));
	ck_assert_uint_eq(svm, (uint64_t)(((u128)13 << 32) / 10));
	ck_assert(fabs((double)r->m[0][M_DRIFT_PPM] -
		       scaled_drift_ppb(vmx, VMX_TSC_FRAC_BITS, 2e9, 2.6e9)) <= 1.0);
	ck_assert(fabs((double)r->m[1][M_DRIFT_PPM] -
		       scaled_drift_ppb(svm, SVM_TSC_FRAC_BITS, 2e9, 2.6e9)) <= 1.0);
	/* Unscaled, the guest clock would run at 2/2.6 of true time. */
	ck_assert(fabs((double)r->m[2][M_DRIFT_PPM] - (2.0 / 2.6 - 1.0) * 1e9) <= 1.0);
	ck_assert_int_le(llabs(r->m[0][M_MAX_ABS_ERROR_NS]), 1);
	tu_free(r);
	free(r);
}
END_TEST

START_TEST(test_kvm_scaled_ratio_per_day)
{
	/* REFERENCE 6: Intel's quantisation is < 1 ns/day, AMD's up to ~20 us/day. The guest TSC
	 * one day after boot, evaluated directly: floor(host * ratio >> N) with host = 2 t. */
	static const char text[] = "duration = 1s\nhost { cpus = 1\n cpu.freq = 2GHz }\n"
				   "vm { vcpus = 1\n tsc_freq = 2.6GHz }\n"
				   "arm vmx { policy = kvm-scaled; policy.hw = vmx }\n"
				   "arm svm { policy = kvm-scaled; policy.hw = svm }\n";
	const sim_ns day = 86400 * NS_PER_SEC;
	const uint64_t want = 2600000000ULL * 86400; /* guest cycles in a day */

	for (unsigned a = 0; a < 2; a++) {
		struct tu_run r;
		struct world w;
		unsigned bits = a == 0 ? VMX_TSC_FRAC_BITS : SVM_TSC_FRAC_BITS;
		uint64_t ratio = (uint64_t)(((u128)13 << bits) / 10);
		uint64_t g, short_cycles;

		world_for(&r, &w, text, a);
		g = w.policy.ops->guest_tsc(&w.policy, &w.vcpus[0].pub, day);
		ck_assert_uint_eq(g, (uint64_t)(((u128)(2 * day) * ratio) >> bits));
		short_cycles = want - g;
		if (a == 0) {
			ck_assert_uint_lt(short_cycles, 3); /* < 1 ns at 2.6 GHz */
		} else {
			/* 1.728e14 host cycles * 0.8 / 2^32 = 32186.4, and the floor of the
			 * product: 32187 cycles short, 12.4 us/day. */
			ck_assert_uint_eq(short_cycles, 32187);
		}
		world_free(&w);
		tu_free(&r);
	}
}
END_TEST

START_TEST(test_kvm_scaled_tolerance)
{
	/* 2.0005 GHz on 2 GHz is exactly +250 ppm: inside KVM's tolerance, not scaled, so the
	 * guest clock runs 2/2.0005 of true time; 2.0006 GHz is outside and scaled (hw vmx). A 200
	 * ppm faster guest is also unscaled: about 17 s/day. */
	struct tu_run *r = malloc(sizeof(*r));
	double day_s;

	tu_run_text(r, "duration = 2s\nhost { cpus = 1\n cpu.freq = 2GHz }\n"
		       "vm { vcpus = 1 }\n"
		       "workload { read_rate = 10kHz\n arrivals = periodic }\n"
		       "arm in { policy = kvm-scaled; vm.tsc_freq = 2.0005GHz }\n"
		       "arm out { policy = kvm-scaled; vm.tsc_freq = 2.0006GHz }\n"
		       "arm p200 { policy = kvm-scaled; policy.hw = none; vm.tsc_freq = 2.0004GHz }\n");
	ck_assert(kvm_tsc_within_tolerance(2000500, 2000000, KVM_TSC_TOLERANCE_PPM));
	ck_assert(!kvm_tsc_within_tolerance(2000600, 2000000, KVM_TSC_TOLERANCE_PPM));
	ck_assert(fabs((double)r->m[0][M_DRIFT_PPM] - (2.0 / 2.0005 - 1.0) * 1e9) <= 1.0);
	ck_assert(fabs((double)r->m[1][M_DRIFT_PPM]) <= 1.0);
	ck_assert(fabs((double)r->m[2][M_DRIFT_PPM] - (2.0 / 2.0004 - 1.0) * 1e9) <= 1.0);
	day_s = -(double)r->m[2][M_DRIFT_PPM] * 1e-9 * 86400.0;
	ck_assert(day_s > 17.2 && day_s < 17.3);
	/* Over the 2 s run: 2 s * 199.96 ppm behind, to the read. */
	ck_assert_int_lt(r->m[2][M_FINAL_ERROR_NS], -399 * (int64_t)NS_PER_US);
	ck_assert_int_gt(r->m[2][M_FINAL_ERROR_NS], -400 * (int64_t)NS_PER_US);
	tu_free(r);
	free(r);
}
END_TEST

START_TEST(test_kvm_scaled_software_catchup)
{
	/*
	 * No hardware scaling: a guest 1000 ppm faster than the host (outside the tolerance) is
	 * caught up at every entry (I/O exits every ~1 ms), falling behind at 999 ppm in between;
	 * a guest 5% slower cannot be given and runs at the host's rate.
	 */
	struct tu_run *r = malloc(sizeof(*r));

	tu_run_text(r, "duration = 2s\nhost { cpus = 1\n cpu.freq = 2GHz }\n"
		       "vm { vcpus = 1\n io.rate = 1000/s\n io.duration = fixed(10us) }\n"
		       "workload { read_rate = 10kHz\n arrivals = periodic }\n"
		       "arm fast { policy = kvm-scaled; policy.hw = none; vm.tsc_freq = 2.002GHz }\n"
		       "arm slow { policy = kvm-scaled; policy.hw = none; vm.tsc_freq = 1.9GHz }\n"
		       "arm off { policy = tsc-offset; vm.tsc_freq = 2.002GHz }\n");
	ck_assert_int_gt(r->load[0].io_exits, 1500);
	/* The long-run rate is right; between entries the clock falls behind, never back. */
	ck_assert(fabs((double)r->m[0][M_DRIFT_PPM]) < 2000.0);
	ck_assert_int_lt(r->m[0][M_FINAL_ERROR_NS], 0);
	ck_assert_int_lt(r->m[0][M_MAX_ABS_ERROR_NS], 20 * (int64_t)NS_PER_US);
	ck_assert_int_eq(r->m[0][M_BACKSTEPS], 0);
	/* 2/1.9: the guest clock runs 5.26% fast (to 2 ppm of that: drift's sample points are
	 * the latest reads before each tick, later after an exit). */
	ck_assert(fabs((double)r->m[1][M_DRIFT_PPM] - (2.0 / 1.9 - 1.0) * 1e9) <= 100.0);
	/* Without the catch-up the guest loses 999 ppm for good. */
	ck_assert(fabs((double)r->m[2][M_DRIFT_PPM] - (2.0 / 2.002 - 1.0) * 1e9) <= 10.0);
	tu_free(r);
	free(r);
}
END_TEST

/* ---- vbox-catchup --------------------------------------------------------------------- */

/* One vCPU on one exact 1 GHz CPU, paused from 100 ms to 200 ms: the clock stops for 100 ms. */
#define VB_BASE                                                                                    \
	"host { cpus = 1\n cpu.freq = 1GHz }\n"                                                     \
	"vm { vcpus = 1\n pauses = [(100ms, 100ms)] }\n"                                           \
	"workload { read_rate = 10kHz\n arrivals = periodic }\n"

START_TEST(test_vbox_catchup_first_period)
{
	/*
	 * At the resume the lag is 100 ms: VirtualBox's 75 ms period, 1.75x, until the lag is
	 * below 75 ms (33.3 ms later). The error at a read at t is -100 ms + floor(0.75 (t - 200
	 * ms)) exactly. The linear schedule starts at 1.05 + 4.95 (100 - 0.75) / (55000 - 0.75) =
	 * 1.058932x (ppm floor).
	 */
	struct tu_run *r = malloc(sizeof(*r));
	const int64_t t_r = 200 * (int64_t)NS_PER_MS, lag = 100 * (int64_t)NS_PER_MS;
	int64_t dt;

	tu_run_text(r, "duration = 225ms\n" VB_BASE "arm vbox-catchup\n"
		       "arm lin { policy = vbox-catchup; policy.schedule = linear }\n");
	dt = (int64_t)r->vm[0][0].last_t - t_r;
	ck_assert_int_gt(dt, 24 * (int64_t)NS_PER_MS);
	ck_assert_int_eq(r->vm[0][0].last_err, -lag + dt * 3 / 4);
	ck_assert_int_eq(r->m[0][M_BACKSTEPS], 0);
	/* lost_time counts the pause and pays back each read's catch-up (7.5 us per 10 us). */
	ck_assert_int_eq(r->m[0][M_LOST_TIME_NS], -r->vm[0][0].last_err);
	/* Linear: only the first millisecond is on the first rate. */
	ck_assert_int_eq((int64_t)(50000 + (4950000 * (u128)99250000) / 54999250000ULL), 58932);
	tu_free(r);
	free(r);

	r = malloc(sizeof(*r));
	tu_run_text(r, "duration = 200900us\n" VB_BASE
		       "arm lin { policy = vbox-catchup; policy.schedule = linear }\n");
	dt = (int64_t)r->vm[0][0].last_t - t_r;
	ck_assert_int_gt(dt, 0);
	ck_assert_int_lt(dt, (int64_t)NS_PER_MS);
	ck_assert_int_eq(r->vm[0][0].last_err, -lag + dt * 58932 / 1000000);
	tu_free(r);
	free(r);
}
END_TEST

START_TEST(test_vbox_catchup_recovers)
{
	/*
	 * The whole table from a 100 ms lag: 25 ms at 1.75x (33 ms), 45 ms at 1.5x (90 ms), 22 ms
	 * at 1.25x (88 ms), 6.5 ms at 1.1x (65 ms), 1 ms at 1.05x (20 ms): about 296 ms plus the
	 * 1 ms re-evaluation's lateness. The catch-up stops at a lag below 0.5 ms, which stays.
	 */
	struct tu_run *r = malloc(sizeof(*r));
	int64_t e;

	tu_run_text(r, "duration = 1s\n" VB_BASE "arm vbox-catchup\n");
	e = r->vm[0][0].last_err;
	ck_assert_int_le(e, -450 * (int64_t)NS_PER_US);
	ck_assert_int_gt(e, -500 * (int64_t)NS_PER_US);
	/* lost_time is that lag, but for the part of the read interval in which the catch-up
	 * stopped (under the 1 us jump threshold). */
	ck_assert_int_ge(r->m[0][M_LOST_TIME_NS], -e);
	ck_assert_int_lt(r->m[0][M_LOST_TIME_NS], -e + (int64_t)NS_PER_US);
	ck_assert_int_eq(r->m[0][M_BACKSTEPS], 0);
	ck_assert_int_le(r->m[0][M_MAX_ABS_ERROR_NS], 100 * (int64_t)NS_PER_MS);
	ck_assert_int_gt(r->m[0][M_MAX_ABS_ERROR_NS], 99900 * (int64_t)NS_PER_US);
	tu_free(r);
	free(r);

	/* Caught up within ~300 ms: at 520 ms the lag is already below 1 ms. */
	r = malloc(sizeof(*r));
	tu_run_text(r, "duration = 520ms\n" VB_BASE "arm vbox-catchup\n");
	ck_assert_int_gt(r->vm[0][0].last_err, -(int64_t)NS_PER_MS);
	tu_free(r);
	free(r);
}
END_TEST

START_TEST(test_vbox_catchup_gives_up)
{
	/* A lag at the give-up threshold is written off: the clock jumps to the host's. */
	struct tu_run *r = malloc(sizeof(*r));

	tu_run_text(r, "duration = 300ms\n" VB_BASE
		       "arm x { policy = vbox-catchup; policy.giveup = 100ms }\n"
		       "arm y { policy = vbox-catchup; policy.giveup = 101ms }\n");
	ck_assert_int_eq(r->vm[0][0].last_err, 0);
	ck_assert_int_eq(r->m[0][M_LOST_TIME_NS], 0);
	ck_assert_int_eq(r->m[0][M_BACKSTEPS], 0);
	ck_assert_int_lt(r->vm[1][0].last_err, -10 * (int64_t)NS_PER_MS);
	tu_free(r);
	free(r);
}
END_TEST

Suite *catchup_suite(void);

Suite *catchup_suite(void)
{
	Suite *s = suite_create("catchup");
	TCase *tc = tcase_create("policies");

	tcase_add_test(tc, test_kvm_catchup_exact);
	tcase_add_test(tc, test_kvm_catchup_steps);
	tcase_add_test(tc, test_kvm_catchup_tsc_write);
	tcase_add_test(tc, test_kvm_catchup_rate_change);
	tcase_add_test(tc, test_kvm_scaled_ratio_drift);
	tcase_add_test(tc, test_kvm_scaled_ratio_per_day);
	tcase_add_test(tc, test_kvm_scaled_tolerance);
	tcase_add_test(tc, test_kvm_scaled_software_catchup);
	tcase_add_test(tc, test_vbox_catchup_first_period);
	tcase_add_test(tc, test_vbox_catchup_recovers);
	tcase_add_test(tc, test_vbox_catchup_gives_up);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
