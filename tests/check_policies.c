/*
 * check_policies.c: the defining behaviour of each TSC policy added for issue 5, with exact
 * numbers, on exact clocks (1 or 2 GHz TSCs with no frequency error, so a cycle is a whole number
 * of ns and every conversion is exact): uptime-resume recovering off-CPU time to the resolution of
 * its uptime clock, tsc-trap's stalls without the +1 bump and the cost of each trapped read, and
 * xen-emulate's VM-wide strictly increasing 1 GHz TSC.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

#define MS 1000000LL

/* Runs arm 0 of `text` with a trace into a memory buffer (*buf, freed by the caller); the
 * per-vCPU metrics go to vm[]. */
static void run_traced(const char *text, char **buf, struct vcpu_metrics *vm, unsigned nvcpus,
		       int64_t m[M_COUNT], struct load_stats *load)
{
	struct tu_run *r = malloc(sizeof(*r));
	struct world w;
	size_t len = 0;
	FILE *f;

	ck_assert_ptr_nonnull(r);
	*buf = NULL;
	f = open_memstream(buf, &len);
	ck_assert_ptr_nonnull(f);
	ck_assert_msg(tu_build(r, text) == VT_OK, "scenario failed to build: %s", r->err.msg);
	ck_assert_uint_eq(r->cfg.vm.nvcpus, nvcpus);
	ck_assert_int_eq(world_init(&w, &r->cfg, &r->cfg.arms[0], f), VT_OK);
	ck_assert_int_eq(world_run(&w), VT_OK);
	metrics_finish(&w.metrics, m);
	*load = w.load;
	for (unsigned v = 0; v < nvcpus; v++)
		vm[v] = w.metrics.v[v];
	world_free(&w);
	fclose(f);
	tu_free(r);
	free(r);
}

/* ---- uptime-resume ------------------------------------------------------------------------ */

/*
 * Three vCPUs on two synchronized host CPUs at exactly 1 GHz (the host trusts its TSC, so
 * CLOCK_MONOTONIC_RAW is the TSC through mult/shift = 1 ns per cycle: exact), migrating at
 * random with random off-CPU gaps, I/O exits and stalls; reads every 10 us.
 */
static const char sync_host[] =
	"duration = 2s\n"
	"host { cpus = 2\n cpu.freq = 1GHz\n hz = 100 }\n"
	"vm { vcpus = 3\n io.rate = 300/s\n io.duration = exp(30us)\n"
	"     paging.rate = 40/s\n paging.duration = uniform(5us, 2ms) }\n"
	"sched { mode = rate\n migrate_rate = 20/s\n migrate_gap = exp(700us)\n"
	"        wake_migrate = 0.5 }\n"
	"workload { read_rate = 100kHz\n arrivals = periodic }\n"
	"arm raw { policy = uptime-resume; policy.clock = raw }\n"
	"arm gtsc-resume\n";

START_TEST(test_uptime_raw_exact_clock_loses_nothing)
{
	struct tu_run r;

	tu_run_text(&r, sync_host);
	for (unsigned v = 0; v < 3; v++) {
		ck_assert_uint_gt(r.migrations[0][v], 20);
		/* Raw uptime on an exact clock: each resume lands exactly on true time. */
		ck_assert_uint_eq(r.vm[0][v].debt_ns, 0);
		ck_assert_int_eq(r.vm[0][v].last_err, 0);
		ck_assert_uint_eq(r.vm[0][v].backsteps, 0);
		/* gtsc-resume, same load: loses exactly the migrated-off time. */
		ck_assert_uint_eq(r.vm[1][v].debt_ns, r.migrated_off[1][v]);
		ck_assert_uint_gt(r.vm[1][v].debt_ns, 10 * MS);
	}
	ck_assert_int_eq(r.m[0][M_LOST_TIME_NS], 0);
	ck_assert_int_eq(r.m[0][M_MAX_ABS_ERROR_NS], 0);
	ck_assert_int_eq(r.m[0][M_MAX_VCPU_SKEW_NS], 0);
	tu_free(&r);
}
END_TEST

START_TEST(test_uptime_raw_hpet_within_resolution)
{
	/* The same load on an unsynchronized host (CPU 1's TSC starts near 2^64): the host falls
	 * back to HPET, whose 14.31818 MHz counter gives the raw clock a 70 ns resolution. Each
	 * resume is then off by less than 70 ns, far below lost_time's 1 us threshold. */
	struct tu_run r;
	char text[2048];

	snprintf(text, sizeof(text), "%s%s", sync_host,
		 "host.cpu[1].offset = 0xfffffffffff85ee0\n");
	tu_run_text(&r, text);
	ck_assert_int_eq(r.m[0][M_LOST_TIME_NS], 0);
	ck_assert_int_eq(r.m[0][M_BACKSTEPS], 0);
	for (unsigned v = 0; v < 3; v++) {
		int64_t e = r.vm[0][v].last_err;

		ck_assert_uint_gt(r.migrations[0][v], 20);
		ck_assert_int_le(e < 0 ? -e : e, 70 * (int64_t)r.migrations[0][v]);
		ck_assert_uint_gt(r.vm[1][v].debt_ns, 10 * MS);
	}
	tu_free(&r);
}
END_TEST

START_TEST(test_uptime_tick_pauses_exact)
{
	/*
	 * HZ=100: the tick clock reads the last multiple of 10 ms. Two VM pauses, every vCPU
	 * resuming on the other CPU (a migration) exactly at the pause's end:
	 *   503 ms + 34 ms: exit reads 500, entry (537) reads 530: 30 ms of 34 credited, 4 ms lost;
	 *   1207 ms + 57 ms: exit reads 1200, entry (1264) reads 1260: 60 of 57, 3 ms gained.
	 * Each vCPU ends 1 ms behind, with 1 ms of debt (4 lost, 3 repaid); raw loses nothing;
	 * gtsc-resume loses all 91 ms.
	 */
	struct tu_run r;

	tu_run_text(&r, "duration = 2s\n"
			"host { cpus = 2\n cpu.freq = 1GHz\n hz = 100 }\n"
			"vm { vcpus = 3\n pauses = [(503ms, 34ms), (1207ms, 57ms)] }\n"
			"sched { mode = rate\n migrate_rate = 0\n wake_migrate = 1 }\n"
			"workload { read_rate = 100kHz\n arrivals = periodic }\n"
			"arm tick { policy = uptime-resume; policy.clock = tick }\n"
			"arm raw { policy = uptime-resume; policy.clock = raw }\n"
			"arm gtsc-resume\n");
	for (unsigned v = 0; v < 3; v++) {
		ck_assert_uint_eq(r.migrations[0][v], 2);
		ck_assert_uint_eq(r.migrated_off[0][v], 91 * MS);
		ck_assert_uint_eq(r.vm[0][v].debt_ns, 1 * MS);
		ck_assert_int_eq(r.vm[0][v].last_err, -1 * MS);
		ck_assert_uint_eq(r.vm[1][v].debt_ns, 0);
		ck_assert_int_eq(r.vm[1][v].last_err, 0);
		ck_assert_uint_eq(r.vm[2][v].debt_ns, 91 * MS);
	}
	ck_assert_int_eq(r.m[0][M_MAX_ABS_ERROR_NS], 4 * MS);
	ck_assert_int_eq(r.m[0][M_MAX_FORWARD_JUMP_NS], 3 * MS);
	ck_assert_int_eq(r.m[0][M_BACKSTEPS], 0);
	tu_free(&r);
}
END_TEST

START_TEST(test_uptime_tick_migrations_as_predicted)
{
	/*
	 * Random migrations only (no exits, no stalls), HZ=100, on the exact synchronized host.
	 * From the trace, each migration's exit (migrate-out at t0) and entry (vm-entry at t1) on
	 * the other CPU; the tick arithmetic predicts its loss
	 *     lost = (t1 - t0) - (floor(t1 / 10ms) - floor(t0 / 10ms)) * 10ms,  |lost| < 10 ms,
	 * the final error -sum(lost), and the debt by lost_time's rule (README "Metrics"): a loss
	 * over 1 us adds, a gain over 1 us repays, never below 0. Reads every 100 us fall between
	 * any two migrations (each migration's gap is off-CPU, and vCPUs run for ~50 ms between).
	 */
	static const char text[] =
		"duration = 3s\nseed = 11\n"
		"host { cpus = 2\n cpu.freq = 1GHz\n hz = 100 }\n"
		"vm { vcpus = 3 }\n"
		"sched { mode = rate\n migrate_rate = 20/s\n migrate_gap = exp(3ms)\n"
		"        wake_migrate = 0 }\n"
		"workload { read_rate = 10kHz\n arrivals = periodic }\n"
		"arm tick { policy = uptime-resume; policy.clock = tick }\n";
	struct vcpu_metrics vm[3];
	int64_t m[M_COUNT];
	struct load_stats load;
	char *buf, *line, *save = NULL;
	int64_t out_at[3] = { -1, -1, -1 }, sum[3] = { 0 }, debt[3] = { 0 };
	unsigned n[3] = { 0 }, gains = 0;

	run_traced(text, &buf, vm, 3, m, &load);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long t;
		char kind[32];
		int cpu, v;
		int64_t t0, t1, lost;

		if (sscanf(line, "%llu %31s cpu=%d vcpu=%d", &t, kind, &cpu, &v) != 4 || v < 0 ||
		    v > 2)
			continue;
		if (strcmp(kind, "migrate-out") == 0) {
			/* A migration arriving while the vCPU is already off-CPU (traced, without
			 * guest_tsc) does not move its exit. */
			if (out_at[v] < 0)
				out_at[v] = (int64_t)t;
			continue;
		}
		if (strcmp(kind, "vm-entry") != 0 || out_at[v] < 0)
			continue;
		t0 = out_at[v];
		t1 = (int64_t)t;
		out_at[v] = -1;
		lost = (t1 - t0) - (t1 / (10 * MS) - t0 / (10 * MS)) * (10 * MS);
		ck_assert_int_lt(lost < 0 ? -lost : lost, 10 * MS);
		sum[v] += lost;
		if (lost > 1000)
			debt[v] += lost;
		else if (-lost > 1000) {
			debt[v] = debt[v] > -lost ? debt[v] + lost : 0;
			gains++;
		}
		n[v]++;
	}
	free(buf);
	for (unsigned v = 0; v < 3; v++) {
		ck_assert_uint_gt(n[v], 30);
		ck_assert_int_eq(vm[v].last_err, -sum[v]);
		ck_assert_uint_eq(vm[v].debt_ns, (uint64_t)debt[v]);
		ck_assert_uint_eq(vm[v].backsteps, 0);
	}
	ck_assert_uint_eq(load.migrations, n[0] + n[1] + n[2]);
	ck_assert_uint_gt(gains, 0); /* some resumes landed ahead: the tick rounds both ways */
}
END_TEST

/* ---- tsc-trap ----------------------------------------------------------------------------- */

/*
 * One vCPU, locked reads (the lock chain) every 1 ms for 1 s, RDTSC emulated from the HZ=100
 * tick clock: 10 reads per tick. Without the bump the 10 reads of a tick return the same value:
 * 1000 reads in 100 ticks, 900 equal consecutive pairs (seed 001's divide by zero). With it,
 * each read is the previous + 1 within a tick: no stalls. Every read is one trapped exit.
 */
static const char trap_tick[] =
	"duration = 1s\n"
	"host { cpus = 1\n cpu.freq = 1GHz\n hz = 100 }\n"
	"vm.vcpus = 1\n"
	"workload { read_rate = 0\n locked_rate = 1kHz\n arrivals = periodic }\n"
	"arm nobump { policy = tsc-trap; policy.bump = no }\n"
	"arm bump { policy = tsc-trap }\n"
	"arm raw { policy = tsc-trap; policy.clock = raw; policy.bump = no }\n";

START_TEST(test_trap_tick_stalls_without_bump)
{
	struct tu_run r;

	tu_run_text(&r, trap_tick);
	for (unsigned a = 0; a < 3; a++) {
		ck_assert_int_eq(r.m[a][M_READS], 1000);
		ck_assert_uint_eq(r.load[a].msr_exits, 1000); /* one exit per read */
		ck_assert_int_eq(r.m[a][M_BACKSTEPS], 0);
	}
	ck_assert_int_eq(r.m[0][M_STALLS], 900);
	/* The clock stands still for 9 ms, then jumps 10 ms in one step. */
	ck_assert_int_eq(r.m[0][M_MAX_FORWARD_JUMP_NS], 9 * MS);
	ck_assert_int_eq(r.m[1][M_STALLS], 0);
	/* Bumped: the 10th read of a tick is 9 cycles (ns) above the tick's value. */
	ck_assert_int_eq(r.m[1][M_MAX_FORWARD_JUMP_NS], 9 * MS - 9);
	/* A high-resolution host clock (the exact TSC here) needs no bump and is exact. */
	ck_assert_int_eq(r.m[2][M_STALLS], 0);
	ck_assert_int_eq(r.m[2][M_MAX_ABS_ERROR_NS], 0);
	tu_free(&r);
}
END_TEST

START_TEST(test_trap_read_costs_exit)
{
	/*
	 * Free reads requested every 1 us on one pinned vCPU: a read keeps the vCPU busy until its
	 * trapped RDTSC returns, so reads happen back to back, each exit_ns (2 us) plus the 1 ns
	 * fence of the tsc reader's rdtsc_ordered apart; a native read (ideal) keeps up with
	 * every request.
	 */
	static const char text[] = "duration = 10ms\n"
				   "host { cpus = 1\n cpu.freq = 1GHz }\n"
				   "vm.vcpus = 1\n"
				   "workload { read_rate = 1MHz\n arrivals = periodic }\n"
				   "arm trap { policy = tsc-trap; policy.exit_ns = 2us }\n";
	struct vcpu_metrics vm[1];
	int64_t m[M_COUNT];
	struct load_stats load;
	char *buf, *line, *save = NULL;
	unsigned long long prev = 0;
	int64_t reads = 0;
	struct tu_run r;

	run_traced(text, &buf, vm, 1, m, &load);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long t;
		char kind[32];

		if (sscanf(line, "%llu %31s", &t, kind) != 2 || strcmp(kind, "guest-read") != 0)
			continue;
		if (reads > 0)
			ck_assert_uint_eq(t - prev, 2001);
		prev = t;
		reads++;
	}
	free(buf);
	ck_assert_int_eq(m[M_READS], reads);
	ck_assert_uint_eq(load.msr_exits, (uint64_t)reads);
	ck_assert_int_ge(reads, 4997);
	ck_assert_int_le(reads, 4998); /* 10 ms / 2001 ns, by the first request's phase */

	/* The default exit_ns is 1 us: 1001 ns per read; native reads serve all 10,000. */
	tu_run_text(&r, "duration = 10ms\nhost { cpus = 1\n cpu.freq = 1GHz }\nvm.vcpus = 1\n"
			"workload { read_rate = 1MHz\n arrivals = periodic }\n"
			"arm tsc-trap\narm ideal\n");
	ck_assert_int_ge(r.m[0][M_READS], 9989);
	ck_assert_int_le(r.m[0][M_READS], 9990);
	ck_assert_int_eq(r.m[1][M_READS], 10000);
	tu_free(&r);
}
END_TEST

/* ---- xen-emulate -------------------------------------------------------------------------- */

START_TEST(test_xen_strictly_increasing_vm_wide)
{
	/*
	 * A skewed host whose kernel still reads its clock from the TSC (forced): the raw clock
	 * differs by up to 100 us between CPUs. xen-emulate answers every RDTSC with
	 * max(now, VM-wide last + 1): the lock and hop chains never see a warp nor an equal value,
	 * and no vCPU goes back. tsc-trap on the same raw clock with its per-vCPU bump warps.
	 */
	struct tu_run r;

	tu_run_text(&r, "duration = 2s\n"
			"host { cpus = 3\n cpu.freq = 2GHz\n cpu.skew_ppm = [30ppm, -50ppm, 0]\n"
			"       cpu.offset = [0, 200000, 7000]\n clocksource = tsc }\n"
			"vm { vcpus = 4\n tsc_freq = 1GHz\n io.rate = 100/s\n"
			"     paging.rate = 20/s }\n"
			"sched { mode = rate\n migrate_rate = 30/s }\n"
			"workload { read_rate = 10kHz\n locked_rate = 5kHz\n"
			"           hop.read_rate = 5kHz }\n"
			"arm xen { policy = xen-emulate }\n"
			"arm trap { policy = tsc-trap; policy.clock = raw }\n");
	ck_assert_int_gt(r.m[0][M_READS], 100000);
	ck_assert_int_eq(r.m[0][M_WARPS], 0);
	ck_assert_int_eq(r.m[0][M_STALLS], 0);
	ck_assert_int_eq(r.m[0][M_BACKSTEPS], 0);
	ck_assert_uint_eq(r.load[0].msr_exits, (uint64_t)r.m[0][M_READS]);
	ck_assert_int_gt(r.m[1][M_WARPS], 100);
	tu_free(&r);
}
END_TEST

START_TEST(test_xen_one_ghz)
{
	/*
	 * A 2 GHz host (2 cycles per ns: the raw clock's mult/shift is exact) and a guest told
	 * 1 GHz: the emulated TSC counts ns since guest boot, so the guest clock is exact while
	 * reads are sparser than 1 per ns, through migrations; the guest TSC (guest_tsc, in the
	 * trace) is the host TSC halved.
	 */
	static const char text[] = "duration = 1s\n"
				   "host { cpus = 2\n cpu.freq = 2GHz }\n"
				   "vm { vcpus = 2\n tsc_freq = 1GHz }\n"
				   "sched { mode = rate\n migrate_rate = 20/s }\n"
				   "workload { read_rate = 20kHz\n locked_rate = 5kHz\n"
				   "           arrivals = periodic }\n"
				   "arm xen { policy = xen-emulate }\n";
	struct vcpu_metrics vm[2];
	int64_t m[M_COUNT];
	struct load_stats load;
	char *buf, *line, *save = NULL;
	unsigned checked = 0;

	run_traced(text, &buf, vm, 2, m, &load);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long t, htsc, gtsc;
		char kind[32];
		int cpu, v;

		if (sscanf(line, "%llu %31s cpu=%d vcpu=%d host_tsc=%llu guest_tsc=%llu", &t, kind,
			   &cpu, &v, &htsc, &gtsc) != 6)
			continue;
		ck_assert_uint_eq(gtsc, t);
		ck_assert_uint_eq(htsc, 2 * t);
		checked++;
	}
	free(buf);
	ck_assert_uint_gt(checked, 20000);
	ck_assert_int_gt(m[M_READS], 40000);
	ck_assert_uint_gt(load.migrations, 20);
	ck_assert_int_eq(m[M_MAX_ABS_ERROR_NS], 0);
	ck_assert_int_eq(m[M_LOST_TIME_NS], 0);
	ck_assert_int_eq(m[M_WARPS], 0);
	ck_assert_int_eq(m[M_STALLS], 0);
	ck_assert_uint_eq(load.msr_exits, (uint64_t)m[M_READS]);
	ck_assert_int_eq(vm[0].last_err, 0);
	ck_assert_int_eq(vm[1].last_err, 0);
}
END_TEST

/*
 * tsc-offset's defining behaviour: one constant offset, so a migration between CPUs whose TSCs
 * are 5000 cycles apart (1 GHz) moves the guest clock by exactly that (forward to the later CPU,
 * back to the earlier); and a host TSC reset (suspend) is compensated: the guest TSC goes on.
 */
START_TEST(test_tsc_offset_skew_and_reset)
{
	struct tu_run r;

	tu_run_text(&r, "duration = 1s\nhost { cpus = 2; cpu.freq = 1GHz; cpu.offset = [0, 5000] }\n"
			"vm { vcpus = 1 }\nsched { mode = rate; migrate_rate = 20/s; "
			"migrate_gap = fixed(100us) }\n"
			"workload { read_rate = 100kHz; arrivals = periodic }\narm tsc-offset\n");
	ck_assert_int_eq(r.m[0][M_MAX_FORWARD_JUMP_NS], 5000);
	ck_assert_int_eq(r.m[0][M_MAX_ABS_ERROR_NS], 5000);
	ck_assert_int_eq(r.m[0][M_BACKSTEPS], 0); /* the 100 us gap covers the 5 us step back */
	ck_assert_uint_gt(r.migrations[0][0], 5);
	tu_free(&r);
	tu_run_text(&r, "duration = 1s\nhost { cpus = 1; cpu.freq = 1GHz; "
			"cpu.resets = [(500ms, 1000cycles)]; tsc_stable = yes }\nvm.vcpus = 1\n"
			"workload { read_rate = 100kHz; arrivals = periodic }\narm tsc-offset\n");
	ck_assert_int_eq(r.m[0][M_BACKSTEPS], 0);
	ck_assert_int_eq(r.m[0][M_MAX_ABS_ERROR_NS], 0);
	tu_free(&r);
}
END_TEST

Suite *policies_suite(void)
{
	Suite *s = suite_create("policies");
	TCase *tc = tcase_create("defining");

	tcase_add_test(tc, test_uptime_raw_exact_clock_loses_nothing);
	tcase_add_test(tc, test_uptime_raw_hpet_within_resolution);
	tcase_add_test(tc, test_uptime_tick_pauses_exact);
	tcase_add_test(tc, test_uptime_tick_migrations_as_predicted);
	tcase_add_test(tc, test_trap_tick_stalls_without_bump);
	tcase_add_test(tc, test_trap_read_costs_exit);
	tcase_add_test(tc, test_xen_strictly_increasing_vm_wide);
	tcase_add_test(tc, test_xen_one_ghz);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_tsc_offset_skew_and_reset);
	suite_add_tcase(s, tc);
	return s;
}
