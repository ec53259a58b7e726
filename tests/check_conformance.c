/*
 * check_conformance.c: every registered layer, looped: ops tables well formed, runs
 * deterministic, no overflow near TSC wraparound, and each policy's promises kept; every migration
 * algorithm initialised with its defaults and run once against layers that offer only what its
 * `needs` asks.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- migration algorithms (models/migration.h) ----------------------------------------------- */

#define MIG_NV 3

static unsigned count_migrations(void)
{
	unsigned n = 0;

	while (vt_migrations[n])
		n++;
	return n;
}

/* A minimal KVM-like policy: guest = host + offset[vCPU], no scaling (ratio 1.0 in 16.48). */
struct mig_policy {
	uint64_t offset[MIG_NV]; /* guest cycles */
};

static uint64_t migp_guest_tsc(struct policy *p, const struct vcpu *v, sim_ns t)
{
	const struct mig_policy *s = p->state;

	return host_tsc(p->vm->host, v->pcpu, t) + s->offset[v->id];
}

static void migp_on_tsc_write(struct policy *p, struct vcpu *v, uint64_t value,
			      enum tsc_writer who, sim_ns t)
{
	struct mig_policy *s = p->state;

	(void)who;
	s->offset[v->id] = value - host_tsc(p->vm->host, v->pcpu, t);
}

static void migp_get_tsc_attr(struct policy *p, const struct vcpu *v, sim_ns t, struct tsc_attr *a)
{
	const struct mig_policy *s = p->state;
	uint32_t khz = (uint32_t)(p->vm->guest_tsc_hz / 1000u);

	(void)t;
	*a = (struct tsc_attr){ s->offset[v->id], 1ULL << 48, 48, khz, khz };
}

static void migp_set_tsc_offset(struct policy *p, struct vcpu *v, uint64_t offset, sim_ns t)
{
	struct mig_policy *s = p->state;

	(void)t;
	s->offset[v->id] = offset;
}

/* The destination's fresh VM: every vCPU reads 0 at t on vCPU 0's CPU. */
static void migp_on_migrate(struct policy *p, sim_ns t)
{
	struct mig_policy *s = p->state;

	for (unsigned i = 0; i < MIG_NV; i++)
		s->offset[i] = 0 - host_tsc(p->vm->host, vm_vcpu(p->vm, 0)->pcpu, t);
}

/* KVM_GET_CLOCK: kvmclock as true time (ns), the host TSC of `cpu`. */
static bool migpg_get_clock(struct page *pg, unsigned cpu, sim_ns t, uint64_t *clock_ns,
			    uint64_t *host)
{
	*clock_ns = t;
	*host = host_tsc(pg->vm->host, cpu, t);
	return true;
}

static void mig_host(struct host *h, struct host_cpu_cfg *cpu, uint64_t hz, uint64_t offset)
{
	struct host_cfg cfg = { .ncpus = MIG_NV, .cpu = cpu, .wander_interval = NS_PER_SEC,
				.clocksource = CS_AUTO, .tsc_stable = 1, .tsc_sync_tolerance = 300,
				.hz = 1000 };

	for (unsigned i = 0; i < MIG_NV; i++)
		cpu[i] = (struct host_cpu_cfg){ .freq_hz = hz, .offset = offset };
	ck_assert_int_eq(host_init(h, &cfg), VT_OK);
}

/* An option's default as the scenario loader resolves it: an enum's index in its choices, a
 * bool's 0/1, a plain integer. */
static int64_t mig_opt_default(const struct opt_desc *d)
{
	char *end = NULL;
	int64_t v;

	if (d->type == OPT_BOOL) {
		bool yes = !strcmp(d->def, "yes") || !strcmp(d->def, "on") ||
			   !strcmp(d->def, "true");
		bool no = !strcmp(d->def, "no") || !strcmp(d->def, "off") ||
			  !strcmp(d->def, "false");

		ck_assert_msg(yes || no, "%s: bad bool default '%s'", d->name, d->def);
		return yes;
	}
	if (d->type == OPT_ENUM) {
		size_t len = strlen(d->def);
		int64_t index = 0;

		for (const char *c = d->choices; c; index++) {
			const char *bar = strchr(c, '|');
			size_t n = bar ? (size_t)(bar - c) : strlen(c);

			if (n == len && strncmp(c, d->def, len) == 0)
				return index;
			c = bar ? bar + 1 : NULL;
		}
		ck_abort_msg("%s: default '%s' not among '%s'", d->name, d->def, d->choices);
	}
	v = strtoll(d->def, &end, 0);
	ck_assert_msg(end && *end == '\0', "%s: default '%s' needs a unit parser here", d->name,
		      d->def);
	return v;
}

START_TEST(test_migration_ops_table)
{
	const struct migration_ops *m = vt_migrations[_i];

	ck_assert_int_eq(m->version, MIGRATION_OPS_VERSION);
	ck_assert_ptr_nonnull(m->name);
	ck_assert_ptr_nonnull(m->describe);
	ck_assert_ptr_nonnull(m->restore_vcpu);
	ck_assert_ptr_eq(registry_migration(m->name), m); /* names are unique */
	ck_assert_uint_eq(m->needs & ~(MIG_NEEDS_TSC_ATTR | MIG_NEEDS_CLOCK | MIG_NEEDS_TSC_WRITE),
			  0);
	for (const struct opt_desc *d = m->options; d && d->name; d++) {
		ck_assert_ptr_nonnull(d->doc);
		ck_assert_ptr_nonnull(d->def);
		if (d->type == OPT_ENUM)
			ck_assert_ptr_nonnull(d->choices);
		(void)mig_opt_default(d);
	}
}
END_TEST

/* tsc-msr is the first: the algorithm an arm gets when it names none. */
START_TEST(test_migration_default_first)
{
	ck_assert_ptr_nonnull(vt_migrations[0]);
	ck_assert_str_eq(vt_migrations[0]->name, "tsc-msr");
}
END_TEST

/*
 * Init with the defaults, one migration in the engine's order (save on a 2 GHz source; a 2 GHz
 * destination, policy and page on_migrate, restore_vcpu per vCPU 1 ms apart), fini. The policy and
 * the page offer only the methods `needs` names (plus the policy's guest_tsc): an algorithm
 * calling another one crashes here. Afterwards every vCPU's TSC is within 2e10 cycles (10 s at
 * 2 GHz) of the value it had at the save: over a 100 ms downtime between hosts whose counters
 * differ by 5e9 cycles, no algorithm may move it further (an overflow or a unit slip would).
 */
START_TEST(test_migration_init_fini)
{
	const struct migration_ops *m = vt_migrations[_i];
	struct policy_ops pops = { .version = POLICY_OPS_VERSION, .name = "mig-conformance",
				   .describe = "test", .guest_tsc = migp_guest_tsc,
				   .on_migrate = migp_on_migrate };
	struct page_ops gops = { .version = PAGE_OPS_VERSION, .name = "mig-conformance",
				 .describe = "test" };
	struct host_cpu_cfg cpu_src[MIG_NV], cpu_dst[MIG_NV];
	struct host src, dst;
	struct world *w = calloc(1, sizeof(*w));
	struct mig_policy ps = { { 1000, 2000, 3000 } };
	struct vm vm;
	struct policy p;
	struct page pg;
	struct migration mig;
	struct opt_val val[8];
	struct opt_set opts = { 0, val };
	uint64_t before[MIG_NV];
	const sim_ns t_save = 2 * NS_PER_SEC, t_move = t_save + 100 * NS_PER_MS;

	if (m->needs & MIG_NEEDS_TSC_ATTR) {
		pops.get_tsc_attr = migp_get_tsc_attr;
		pops.set_tsc_offset = migp_set_tsc_offset;
	}
	if (m->needs & MIG_NEEDS_TSC_WRITE)
		pops.on_tsc_write = migp_on_tsc_write;
	if (m->needs & MIG_NEEDS_CLOCK)
		gops.get_clock = migpg_get_clock;

	ck_assert_ptr_nonnull(w);
	w->vcpus = calloc(MIG_NV, sizeof(*w->vcpus));
	ck_assert_ptr_nonnull(w->vcpus);
	for (unsigned i = 0; i < MIG_NV; i++)
		w->vcpus[i].pub = (struct vcpu){ .id = i, .pcpu = i, .state = VCPU_PAUSED };
	mig_host(&src, cpu_src, 2000000000u, 5000000000u);
	mig_host(&dst, cpu_dst, 2000000000u, 7000u);
	vm = (struct vm){ .nvcpus = MIG_NV, .host = &src, .guest_tsc_hz = 2000000000u, .world = w };
	p = (struct policy){ .ops = &pops, .vm = &vm, .state = &ps };
	pg = (struct page){ .ops = &gops, .vm = &vm, .policy = &p };
	for (const struct opt_desc *d = m->options; d && d->name; d++) {
		ck_assert_uint_lt(opts.n, VT_ARRAY_SIZE(val));
		val[opts.n++] = (struct opt_val){ d, mig_opt_default(d), 0 };
	}
	mig = (struct migration){ .ops = m, .vm = &vm, .policy = &p, .page = &pg };
	mig.state = calloc(1, m->state_size ? m->state_size : 1);
	ck_assert_ptr_nonnull(mig.state);

	if (m->init)
		ck_assert_int_eq(m->init(&mig, &opts), VT_OK);
	for (unsigned i = 0; i < MIG_NV; i++)
		before[i] = migp_guest_tsc(&p, vm_vcpu(&vm, i), t_save);
	if (m->save)
		m->save(&mig, t_save);
	vm.host = &dst;
	pops.on_migrate(&p, t_move);
	for (unsigned i = 0; i < MIG_NV; i++)
		m->restore_vcpu(&mig, vm_vcpu(&vm, i), t_move + i * NS_PER_MS);
	for (unsigned i = 0; i < MIG_NV; i++) {
		uint64_t after = migp_guest_tsc(&p, vm_vcpu(&vm, i), t_move + MIG_NV * NS_PER_MS);
		int64_t moved = (int64_t)(after - before[i]);

		ck_assert_msg(moved > -20 * (int64_t)NS_PER_SEC && moved < 20 * (int64_t)NS_PER_SEC,
			      "%s: vCPU %u moved by %lld cycles", m->name, i, (long long)moved);
	}
	if (m->fini)
		m->fini(&mig);
	free(mig.state);
	host_free(&src);
	host_free(&dst);
	free(w->vcpus);
	free(w);
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
	tcase_add_loop_test(tc, test_migration_ops_table, 0, (int)count_migrations());
	tcase_add_test(tc, test_migration_default_first);
	tcase_add_loop_test(tc, test_migration_init_fini, 0, (int)count_migrations());
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return s;
}
