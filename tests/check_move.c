/*
 * check_move.c: the engine's side of a migration (sim/world.c, issue 6): the VM stops, moves to
 * host2 (or restarts on its host), its vCPUs are restored one by one, and the move is judged;
 * the nested host's outer migration; and the configuration that describes both.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers.h"
#include "testutil.h"

static void expect_error(const char *text, const char *msg)
{
	struct tu_run r;
	int rc = tu_build(&r, text);

	ck_assert_int_eq(rc, VT_EINPUT);
	ck_assert_msg(strcmp(r.err.msg, msg) == 0, "got '%s', expected '%s'", r.err.msg, msg);
	tu_free(&r);
}

/* host2 inherits every host key it does not set; host2.cpu[i] is checked against host2.cpus. */
START_TEST(test_host2_inherits)
{
	struct tu_run r;

	ck_assert_int_eq(tu_build(&r, "host { cpus = 2; cpu.freq = 2GHz; hz = 100 }\n"
				      "host2 { cpus = 3; cpu[2].freq = 2.6GHz }\n"
				      "migration { at = 1s; downtime = 200ms; vcpu_gap = 5ms }\n"
				      "arm a { policy = tsc-offset }\n"),
			 VT_OK);
	ck_assert(r.cfg.migration.on);
	ck_assert(!r.cfg.migration.same_host);
	ck_assert_uint_eq(r.cfg.migration.at, 1000000000);
	ck_assert_uint_eq(r.cfg.migration.downtime, 200000000);
	ck_assert_uint_eq(r.cfg.migration.vcpu_gap, 5000000);
	ck_assert_uint_eq(r.cfg.host.ncpus, 2);
	ck_assert_uint_eq(r.cfg.host2.ncpus, 3);
	ck_assert_uint_eq(r.cfg.host2.cpu[0].freq_hz, 2000000000ULL); /* inherited */
	ck_assert_uint_eq(r.cfg.host2.cpu[2].freq_hz, 2600000000ULL);
	ck_assert_uint_eq(r.cfg.host2.hz, 100);
	ck_assert_str_eq(r.cfg.arms[0].migration->name, "tsc-msr"); /* the default algorithm */
	tu_free(&r);
}
END_TEST

START_TEST(test_config_errors)
{
	expect_error("host2.bogus = 1\narm ideal\n",
		     "t.scn:1:1: unknown key 'host2.bogus' (bin/sim keys lists them)");
	expect_error("host2 { cpus = 2; cpu[3].freq = 2GHz }\nmigration.at = 1s\narm ideal\n",
		     "t.scn:1:19: 'host.cpu[3].freq': no such host CPU (host.cpus = 2)");
	expect_error("vm.pauses = [(1100ms, 1s)]\nmigration { at = 1s; downtime = 200ms }\n"
		     "arm ideal\n",
		     "t.scn:2:18: the migration (stopped until 1200000000 ns) overlaps vm.pauses "
		     "entry 1");
	expect_error("migration.at = 1s\narm a { policy = tsc-offset; migration = seed004 }\n",
		     "t.scn:2:42: arm 'a': migration algorithm 'seed004' needs a page provider with "
		     "KVM_GET_CLOCK (kvmclock, hv-tsc-page); policy 'tsc-offset' / page 'none' do "
		     "not qualify");
	expect_error("migration.at = 1s\narm a { policy = gtsc-resume; page = kvmclock; "
		     "migration = old-doc }\n",
		     "t.scn:2:60: arm 'a': migration algorithm 'old-doc' needs a policy with KVM's "
		     "TSC offset attribute (tsc-offset, kvm-scaled, arm64-offset); policy "
		     "'gtsc-resume' / page 'kvmclock' do not qualify");
	expect_error("arm a { policy = tsc-offset; migration = teleport }\n",
		     "t.scn:1:42: unknown migration algorithm 'teleport' (bin/sim list shows them)");
	expect_error("arm a { policy = tsc-offset; migration.bogus = 1 }\n",
		     "t.scn:1:30: unknown migration option 'bogus' (bin/sim list shows the options)");
	expect_error("host { clocksource = hyperv; outer.at = 1s }\narm ideal\n",
		     "t.scn:1:41: host.outer.at needs host.outer.freq (the destination's TSC "
		     "frequency)");
	expect_error("host.outer { at = 1s; freq = 3GHz }\narm ideal\n",
		     "t.scn:1:19: host.outer.at: a nested host's clocksource is tsc, hyperv or "
		     "kvmclock (set host.clocksource)");
	expect_error("migration { at = 1s; downtime = 0 }\narm ideal\n",
		     "t.scn:1:33: migration.downtime must be positive");
}
END_TEST

/* An arm may set its own migration keys; migration.K names an algorithm option otherwise. */
START_TEST(test_arm_migration_keys)
{
	struct tu_run r;

	ck_assert_int_eq(tu_build(&r, "migration { at = 1s; to = same }\n"
				      "arm a { policy = tsc-offset; migration.vcpu_gap = 2s }\n"
				      "arm b { policy = tsc-offset; migration.adjust = realtime }\n"),
			 VT_OK);
	ck_assert(r.cfg.migration.same_host);
	ck_assert_ptr_nonnull(r.cfg.arms[0].cfg);
	ck_assert_uint_eq(r.cfg.arms[0].cfg->migration.vcpu_gap, 2000000000ULL);
	ck_assert_ptr_null(r.cfg.arms[1].cfg);
	ck_assert_int_eq(opt_get(&r.cfg.arms[1].migration_opts, "adjust"), 1);
	tu_free(&r);
}
END_TEST

/* Checks every vCPU's host CPU exists on the current host after every event. */
static void cpus_in_range(struct world *w, void *ctx)
{
	unsigned *bad = ctx;

	for (unsigned i = 0; i < w->vm.nvcpus; i++)
		*bad += w->vcpus[i].pub.pcpu >= w->host.ncpus;
}

/*
 * A VM of 4 vCPUs in quantum mode on 2 CPUs moves to a 3-CPU host at 2.6 GHz (guest told
 * 2.5 GHz; kvm-scaled with VMX: the destination scales by floor(2^48 * 2.5 / 2.6)). tsc-msr with
 * adjust = realtime writes each vCPU's saved TSC plus the realtime elapsed, at 2.5 GHz: the
 * writes land 10 ms apart and match (one generation), so at the resume every TSC is saved +
 * stopped time * 2.5 GHz within the ratio's rounding: no break, no spread, and the guest-visible
 * jump within a read's rounding. After the move the world's host is the destination and no vCPU
 * sits on a CPU it lacks.
 */
START_TEST(test_move_to_host2)
{
	static const char text[] =
		"duration = 3s\n"
		"host { cpus = 2; cpu.freq = 2.5GHz }\n"
		"host2 { cpus = 3; cpu.freq = 2.6GHz; cpu.offset = 1000000000000 }\n"
		"vm { vcpus = 4; io.rate = 2kHz }\n"
		"sched { mode = quantum; quantum = 1ms }\n"
		"workload { read_rate = 5kHz }\n"
		"migration { at = 1s; downtime = 100ms; vcpu_gap = 10ms }\n"
		"arm a { policy = kvm-scaled; migration = tsc-msr; migration.adjust = realtime }\n";
	struct tu_run r;
	struct world w;
	unsigned bad = 0;
	int64_t m[M_COUNT];

	ck_assert_int_eq(tu_build(&r, text), VT_OK);
	ck_assert_int_eq(world_init(&w, &r.cfg, &r.cfg.arms[0], NULL), VT_OK);
	w.after_event = cpus_in_range;
	w.after_ctx = &bad;
	ck_assert_int_eq(world_run(&w), VT_OK);
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(w.host.ncpus, 3);
	ck_assert_uint_eq(w.host2.ncpus, 2);
	ck_assert_uint_eq(w.host_epoch, 1);
	ck_assert_uint_eq(w.host.cpu[0].freq_hz, 2600000000ULL);
	ck_assert(w.policy.ops->one_generation(&w.policy));
	metrics_finish(&w.metrics, m);
	ck_assert_int_eq(m[M_MIG_TSC_BREAKS], 0);
	ck_assert_int_le(llabs(m[M_MIG_TSC_ERROR]), 1);
	ck_assert_int_eq(m[M_MIG_TSC_SPREAD], 0);
	/* The TSC reader's clock continues across the 130 ms stop to within rounding, and the
	 * scaled TSC keeps 2.5 GHz afterwards (the ratio's floor: under 1e-14 relative). */
	ck_assert_int_le(llabs(m[M_MIG_CLOCK_JUMP_NS]), 2);
	ck_assert_int_le(llabs(m[M_FINAL_ERROR_NS]), 2);
	ck_assert_uint_gt(w.metrics.reads, 10000);
	world_free(&w);
	tu_free(&r);
}
END_TEST

/* EV_QUANTUM events waiting for CPU c (each running CPU has one chain of quantum ticks). */
static unsigned quantum_chains(const struct world *w, unsigned c)
{
	unsigned n = 0;

	for (size_t i = w->q.hole ? 1 : 0; i < w->q.n; i++)
		n += event_kind(&w->q.heap[i]) == EV_QUANTUM && w->q.heap[i].who == c;
	return n;
}

/*
 * migration.at as a list: the VM moves to host2, back to the source, to host2 and back again,
 * each move continuous with tsc-msr + realtime on KVM's scaled TSC. The CPUs only the source has
 * get their quantum ticks back, one chain each, also when the VM returns within a quantum (the
 * chain of the first stay is then still pending, and must not be doubled).
 */
START_TEST(test_migrations_there_and_back)
{
	static const char text[] =
		"duration = 8s\n"
		"host { cpus = 4; cpu.freq = 2.5GHz }\n"
		"host2 { cpus = 2; cpu.freq = 2.6GHz }\n"
		"vm { vcpus = 4 }\n"
		"sched { mode = quantum; quantum = 50ms }\n"
		"workload { read_rate = 2kHz }\n"
		"migration { at = [1s, 2s, 4s, 4020ms]; downtime = 5ms; vcpu_gap = 1ms }\n"
		"arm a { policy = kvm-scaled; migration = tsc-msr; migration.adjust = realtime }\n";
	struct tu_run r;
	struct world w;
	unsigned bad = 0;
	int64_t m[M_COUNT];

	ck_assert_int_eq(tu_build(&r, text), VT_OK);
	ck_assert_uint_eq(r.cfg.migration.n, 4);
	ck_assert_uint_eq(r.cfg.migration.at, 1000000000);
	ck_assert_uint_eq(r.cfg.migration.ats[3], 4020000000);
	ck_assert_int_eq(world_init(&w, &r.cfg, &r.cfg.arms[0], NULL), VT_OK);
	w.after_event = cpus_in_range;
	w.after_ctx = &bad;
	ck_assert_int_eq(world_run(&w), VT_OK);
	ck_assert_uint_eq(bad, 0);
	/* Four moves: the VM ends on the source (4 CPUs at 2.5 GHz). */
	ck_assert_uint_eq(w.host_epoch, 4);
	ck_assert_uint_eq(w.host.ncpus, 4);
	ck_assert_uint_eq(w.host.cpu[0].freq_hz, 2500000000ULL);
	for (unsigned c = 0; c < 4; c++)
		ck_assert_msg(quantum_chains(&w, c) == 1, "CPU %u: %u chains of quantum ticks", c,
			      quantum_chains(&w, c));
	metrics_finish(&w.metrics, m);
	ck_assert_int_eq(m[M_MIG_TSC_BREAKS], 0);
	ck_assert_int_le(llabs(m[M_MIG_TSC_ERROR]), 1);
	ck_assert_int_le(llabs(m[M_FINAL_ERROR_NS]), 3);
	ck_assert_uint_gt(w.metrics.reads, 10000);
	world_free(&w);
	tu_free(&r);
}
END_TEST

/*
 * The source's configured TSC reset, due while the VM is on host2, happens there all the same
 * (the VM is not told): back on the source, CPU 0 counts from 0 at the reset, CPU 1 never
 * stopped. host2's own reset, due after the VM left it, happens too. (The host kernel then distrusts its TSC, and KVM's write matching on an unstable
 * host breaks the TSC's continuity at the return: not asserted here.)
 */
START_TEST(test_source_changes_while_away)
{
	static const char text[] =
		"duration = 6s\n"
		"host { cpus = 2; cpu.freq = 2.5GHz; cpu[0].resets = [(3s, 0)] }\n"
		"host2 { cpus = 2; cpu.freq = 2.6GHz; cpu[0].resets = [(5s, 0)] }\n"
		"vm { vcpus = 2 }\n"
		"migration { at = [1s, 4s] }\n"
		"arm a { policy = kvm-scaled; migration = tsc-msr }\n";
	struct tu_run r;
	struct world w;

	ck_assert_int_eq(tu_build(&r, text), VT_OK);
	ck_assert_int_eq(world_init(&w, &r.cfg, &r.cfg.arms[0], NULL), VT_OK);
	ck_assert_int_eq(world_run(&w), VT_OK);
	ck_assert_uint_eq(w.host_epoch, 2);
	ck_assert_uint_eq(w.host.cpu[0].freq_hz, 2500000000ULL);
	ck_assert_uint_eq(host_tsc(&w.host, 0, 6000000000), 7500000000ULL);
	ck_assert_uint_eq(host_tsc(&w.host, 1, 6000000000), 15000000000ULL);
	/* host2: CPU 0 reset at 5 s, 1 s of 2.6 GHz since; CPU 1 6 s (within a cycle: its 64.64
	 * rate). */
	ck_assert_uint_ge(host_tsc(&w.host2, 0, 6000000000), 2599999999ULL);
	ck_assert_uint_le(host_tsc(&w.host2, 0, 6000000000), 2600000000ULL);
	ck_assert_uint_ge(host_tsc(&w.host2, 1, 6000000000), 15599999999ULL);
	ck_assert_uint_le(host_tsc(&w.host2, 1, 6000000000), 15600000000ULL);
	world_free(&w);
	tu_free(&r);
}
END_TEST

/*
 * The trace of events of the host the VM is not on: a change of host2's CPU 3 while the VM is on
 * the 2-CPU source, quantum ticks dying on CPUs the source lacks after coming back. The trace
 * must not evaluate a CPU the current host lacks (ASan builds catch the read) and shows no CPU
 * for them.
 */
START_TEST(test_trace_other_host_events)
{
	static const char text[] =
		"duration = 5s\n"
		"host { cpus = 2; cpu.freq = 2GHz }\n"
		"host2 { cpus = 4; cpu.freq = 2.6GHz; cpu[3].rate_changes = [(1s, 2.7GHz)] }\n"
		"vm { vcpus = 2 }\n"
		"sched { mode = quantum; quantum = 1ms }\n"
		"workload { read_rate = 100/s }\n"
		"migration { at = [2s, 3s] }\n"
		"arm a { policy = kvm-scaled; migration = tsc-msr }\n";
	struct tu_run r;
	struct world w;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(tu_build(&r, text), VT_OK);
	ck_assert_int_eq(world_init(&w, &r.cfg, &r.cfg.arms[0], f), VT_OK);
	ck_assert_int_eq(world_run(&w), VT_OK);
	world_free(&w);
	fclose(f);
	/* host2's change at 1 s, the VM on the source: no CPU named. */
	ck_assert_ptr_nonnull(strstr(buf, "1000000000 host-tsc-change cpu=- vcpu=-"));
	free(buf);
	tu_free(&r);
}
END_TEST

/* The list form's errors: empty, out of order, a move before the previous one resumed. */
START_TEST(test_migration_list_errors)
{
	expect_error("migration.at = []\narm ideal\n",
		     "t.scn:1:16: migration.at: expected a time or a non-empty list of times");
	expect_error("vm.vcpus = 2\nmigration { at = [1s, 1200ms]; downtime = 150ms; "
		     "vcpu_gap = 60ms }\narm ideal\n",
		     "t.scn:2:23: migration 2 starts before migration 1 has resumed the VM (at "
		     "1210000000 ns): migration.at must be in time order, each after the previous "
		     "one's downtime and vCPU gaps");
	expect_error("migration { at = [3s, 1s] }\narm ideal\n",
		     "t.scn:1:23: migration 2 starts before migration 1 has resumed the VM (at "
		     "3300000000 ns): migration.at must be in time order, each after the previous "
		     "one's downtime and vCPU gaps");
	expect_error("vm.pauses = [(5s, 1s)]\nmigration { at = [1s, 5500ms] }\narm ideal\n",
		     "t.scn:2:23: the migration (stopped until 5800000000 ns) overlaps vm.pauses "
		     "entry 1");
}
END_TEST

/*
 * Restore by value with no adjustment loses the downtime: vCPU 0's write lands 100 ms after the
 * stop and its TSC runs on from there; the later writes (10 ms apart) match it and take its
 * offset, so every vCPU lost exactly vCPU 0's 100 ms = 250,000,000 cycles at 2.5 GHz. The same
 * host (snapshot restore): the host struct is not swapped.
 */
START_TEST(test_restore_same_host_loses_stop)
{
	static const char text[] =
		"duration = 2s\n"
		"host { cpus = 2; cpu.freq = 2.5GHz }\n"
		"vm { vcpus = 4 }\n"
		"workload { read_rate = 1kHz }\n"
		"migration { at = 500ms; downtime = 100ms; vcpu_gap = 10ms; to = same }\n"
		"arm a { policy = tsc-offset }\n";
	struct tu_run r;

	tu_run_text(&r, text);
	ck_assert_int_eq(r.m[0][M_MIG_TSC_BREAKS], 4);
	ck_assert_int_eq(r.m[0][M_MIG_TSC_ERROR], -250000000);
	ck_assert_int_eq(r.m[0][M_MIG_TSC_SPREAD], 0);
	/* The tsc reader's floored 64.64 scale may read 1 ns low (README, reader tsc). */
	ck_assert_int_le(r.m[0][M_FINAL_ERROR_NS], -100000000);
	ck_assert_int_ge(r.m[0][M_FINAL_ERROR_NS], -100000001);
	tu_free(&r);
}
END_TEST

/* Same scenario and seed: a migration run is bit-identical twice (and with the trace on). */
START_TEST(test_move_deterministic)
{
	static const char text[] =
		"duration = 2s\n"
		"host { cpus = 2; cpu.skew_ppm = 30ppm; cpu.wander_ppm = 1ppm }\n"
		"host2 { cpus = 4; cpu.freq = 3GHz; cpu[1].offset = 5000 }\n"
		"vm { vcpus = 3; paging.rate = 100/s }\n"
		"sched { mode = rate; migrate_rate = 50/s }\n"
		"workload { read_rate = 2kHz; hop.read_rate = 1kHz }\n"
		"migration { at = 700ms; downtime = 80ms; vcpu_gap = 1ms }\n"
		"arm a { policy = kvm-scaled; page = kvmclock; page.set_clock = guest; "
		"reader = linux-kvmclock; migration = seed004 }\n";
	struct tu_run r1, r2;

	tu_run_text(&r1, text);
	tu_run_text(&r2, text);
	ck_assert_mem_eq(r1.m, r2.m, sizeof(r1.m));
	ck_assert_uint_eq(r1.events[0], r2.events[0]);
	ck_assert_int_eq(r1.m[0][M_MIG_TSC_BREAKS], 0);
	tu_free(&r1);
	tu_free(&r2);
}
END_TEST

/*
 * The nested host: its clocksource is the outer hypervisor's TSC page. Without
 * re-enlightenment the outer move leaves the nested kvmclock 30% fast (tsc_khz stale); with it,
 * tsc_khz becomes 2,600,000 kHz at outer.at + downtime + delay and kvmclock keeps time.
 */
START_TEST(test_outer_move)
{
	static const char text[] =
		"duration = 2s\n"
		"host { cpus = 2; cpu.freq = 2GHz; clocksource = hyperv }\n"
		"host.outer { at = 500ms; downtime = 50ms; freq = 2.6GHz }\n"
		"vm { vcpus = 2; tsc_freq = 2GHz }\n"
		"workload { read_rate = 1kHz }\n"
		"arm on { policy = tsc-offset; page = kvmclock; reader = linux-kvmclock }\n"
		"arm off { policy = tsc-offset; page = kvmclock; reader = linux-kvmclock; "
		"host.reenlightenment = no }\n";
	struct tu_run r;

	tu_run_text(&r, text);
	ck_assert(r.cfg.outer.reenlighten);
	ck_assert_uint_eq(r.cfg.outer.delay, 100000000);
	ck_assert_int_lt(llabs(r.m[0][M_MAX_ABS_ERROR_NS]), 1000);
	/* 0.3 * (2 s - 0.55 s) = 435 ms fast at the end, less reading granularity. */
	ck_assert_int_gt(r.m[1][M_FINAL_ERROR_NS], 430000000);
	ck_assert_int_lt(r.m[1][M_FINAL_ERROR_NS], 436000000);
	tu_free(&r);
}
END_TEST

Suite *move_suite(void)
{
	Suite *s = suite_create("move");
	TCase *tc = tcase_create("move");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_host2_inherits);
	tcase_add_test(tc, test_config_errors);
	tcase_add_test(tc, test_arm_migration_keys);
	tcase_add_test(tc, test_move_to_host2);
	tcase_add_test(tc, test_migrations_there_and_back);
	tcase_add_test(tc, test_source_changes_while_away);
	tcase_add_test(tc, test_trace_other_host_events);
	tcase_add_test(tc, test_migration_list_errors);
	tcase_add_test(tc, test_restore_same_host_loses_stop);
	tcase_add_test(tc, test_move_deterministic);
	tcase_add_test(tc, test_outer_move);
	suite_add_tcase(s, tc);
	return s;
}
