/*
 * check_migration.c: tests of the VMM migration algorithms (models/mig_*.c, models/migration.h)
 * on a hand-made rig, without the engine: a fake KVM x86 policy (per-vCPU offsets, one VMX
 * scaling ratio, writes logged), a fake kvmclock page (KVM_GET_CLOCK and KVM_SET_CLOCK from
 * models/migrate.c), two hand-made hosts and a VM whose host pointer is switched between the save
 * and the restores, in the order the engine uses (migration.h). Every expected number is worked
 * out by hand in the comment above its assertion.
 *
 * The rig (all times true ns, TSCs in cycles):
 *   source       2 CPUs at 2.0 GHz, both counters at 10,000,000,000 at t = 0:
 *                host TSC(t) = 10,000,000,000 + 2 t (the 64.64 rate of 2 GHz is exact)
 *   destination  2 CPUs at 2.0 GHz or 2.6 GHz, counters at 3,000,000,000 at t = 0:
 *                2.0: 3,000,000,000 + 2 t;  2.6: 3,000,000,000 + floor(2.6 t), except that the
 *                64.64 rate of 2.6 GHz is a hair (< 2^-64 cycles/ns) short of 2.6, so where 2.6 t
 *                is an integer the counter reads one less (sim/host.h, tests/check_host.c)
 *   guest        2 vCPUs told 2.0 GHz (2,000,000 kHz); vCPU i on host CPU i on both hosts;
 *                source offsets 1,000,000 and 1,000,500 cycles, ratio 1.0 (2^48)
 *   kvmclock     t - 1 s (the guest booted at 1 s); the page saves it at the pause and the
 *                destination's KVM_SET_CLOCK restores it with or without KVM_CLOCK_REALTIME
 *   timeline     save at T_SAVE = 5 s; the move at T_MOVE = 5.1 s (100 ms downtime): policy
 *                on_migrate, page on_migrate, restore_vcpu(0) at T_MOVE, restore_vcpu(1) at
 *                T_MOVE + 1 ms
 * At the save: source host TSC 10e9 + 2 * 5e9 = 20,000,000,000; guest TSCs 20,001,000,000
 * (vCPU 0) and 20,001,000,500 (vCPU 1); kvmclock 4,000,000,000 ns.
 * At T_MOVE on a 2.0 GHz destination: host TSC 3e9 + 2 * 5.1e9 = 13,200,000,000; at T_MOVE + 1 ms
 * 13,202,000,000. On 2.6 GHz: 3e9 + 13,260,000,000 - 1 = 16,259,999,999 and 16,262,599,999.
 * A continuous guest TSC reads its value at the save plus 2 cycles per ns since: 20,201,000,000
 * (vCPU 0 at T_MOVE) and 20,203,000,500 (vCPU 1 at T_MOVE + 1 ms).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "migrate.h"
#include "migration.h"
#include "registry.h"
#include "timescale.h"
#include "world.h"

Suite *migration_suite(void);

#define NV 2
#define GUEST_KHZ 2000000u                        /* 2.0 GHz */
#define T_SAVE (5 * NS_PER_SEC)
#define T_MOVE (T_SAVE + 100 * NS_PER_MS)
#define GAP_NS NS_PER_MS                          /* between vCPU restores */
#define VMX_ONE (1ULL << VMX_TSC_FRAC_BITS)
#define RATIO_2_ON_26 216519212854350ULL         /* floor(2^48 * 2,000,000 / 2,600,000) */

/* ---- the fake KVM policy --------------------------------------------------------------------- */

enum fake_op_kind { OP_WRITE, OP_OFFSET };

/* One host write as KVM's kvm_write_tsc_offset tracepoint shows it. */
struct fake_op {
	enum fake_op_kind kind; /* KVM_SET_MSRS(IA32_TSC) or KVM_VCPU_TSC_OFFSET */
	unsigned vcpu;
	uint64_t value;         /* the TSC value or the offset written, cycles */
	enum tsc_writer who;    /* OP_WRITE: who wrote */
	sim_ns t;
	uint64_t prev, next;    /* the vCPU's offset before and after, cycles */
};

#define MAX_OPS 16

/*
 * KVM x86 with VMX scaling and no TSC matching (matching is models/migrate.c's kvm_tsc_write,
 * tested in check_migrate.c): guest = floor(host * ratio / 2^48) + offset[vCPU]. vm_wide: every
 * write sets every vCPU's offset (arm64's one VM-wide counter offset, REFERENCE 5).
 */
struct fake_kvm {
	bool vm_wide;
	uint64_t ratio;      /* 16.48 */
	uint32_t khz;        /* guest kHz */
	uint32_t host_khz;   /* the current host's tsc_khz */
	uint64_t offset[NV]; /* guest cycles */
	unsigned nops;
	struct fake_op op[MAX_OPS];
};

static uint64_t fake_raw(struct policy *p, const struct vcpu *v, sim_ns t)
{
	const struct fake_kvm *k = p->state;

	return tsc_scale(host_tsc(p->vm->host, v->pcpu, t), k->ratio, VMX_TSC_FRAC_BITS);
}

static uint64_t fake_guest_tsc(struct policy *p, const struct vcpu *v, sim_ns t)
{
	const struct fake_kvm *k = p->state;

	return fake_raw(p, v, t) + k->offset[v->id];
}

static void fake_set(struct policy *p, struct vcpu *v, enum fake_op_kind kind, uint64_t value,
		     enum tsc_writer who, uint64_t offset, sim_ns t)
{
	struct fake_kvm *k = p->state;

	ck_assert_uint_lt(k->nops, MAX_OPS);
	k->op[k->nops++] = (struct fake_op){ kind, v->id, value, who, t, k->offset[v->id], offset };
	for (unsigned i = 0; i < NV; i++)
		if (k->vm_wide || i == v->id)
			k->offset[i] = offset;
}

/* kvm_compute_l1_tsc_offset: offset = value - floor(host * ratio / 2^48). */
static void fake_on_tsc_write(struct policy *p, struct vcpu *v, uint64_t value,
			      enum tsc_writer who, sim_ns t)
{
	fake_set(p, v, OP_WRITE, value, who, value - fake_raw(p, v, t), t);
}

static void fake_set_tsc_offset(struct policy *p, struct vcpu *v, uint64_t offset, sim_ns t)
{
	fake_set(p, v, OP_OFFSET, offset, TSC_WRITE_HOST, offset, t);
}

static void fake_get_tsc_attr(struct policy *p, const struct vcpu *v, sim_ns t,
			      struct tsc_attr *a)
{
	const struct fake_kvm *k = p->state;

	(void)t;
	*a = (struct tsc_attr){ k->offset[v->id], k->ratio, VMX_TSC_FRAC_BITS, k->khz,
				k->host_khz };
}

/* The destination KVM's fresh VM: KVM_SET_TSC_KHZ against its tsc_khz, then every vCPU created
 * with offsets that read 0 at t on vCPU 0's CPU (policy.h on_migrate). */
static void fake_on_migrate(struct policy *p, sim_ns t)
{
	struct fake_kvm *k = p->state;

	k->host_khz = p->vm->host->raw.tsc_khz;
	ck_assert(tsc_ratio(k->khz, k->host_khz, VMX_TSC_FRAC_BITS, VMX_TSC_RATIO_MAX, &k->ratio));
	for (unsigned i = 0; i < NV; i++)
		k->offset[i] = 0 - fake_raw(p, vm_vcpu(p->vm, 0), t);
}

static const struct policy_ops fake_policy_ops = {
	.version = POLICY_OPS_VERSION,
	.name = "fake-kvm",
	.describe = "test: KVM x86 offsets and VMX scaling, writes logged",
	.guest_tsc = fake_guest_tsc,
	.on_tsc_write = fake_on_tsc_write,
	.get_tsc_attr = fake_get_tsc_attr,
	.set_tsc_offset = fake_set_tsc_offset,
	.on_migrate = fake_on_migrate,
};

/* ---- the fake kvmclock page ------------------------------------------------------------------ */

struct fake_clock {
	bool ok;                /* get_clock answers (KVM's master clock gives a host TSC) */
	bool realtime_flag;     /* the destination's KVM_SET_CLOCK sets KVM_CLOCK_REALTIME */
	int64_t delta_ns;       /* kvmclock = t + delta_ns */
	uint64_t saved_clock_ns, saved_real_ns; /* KVM_GET_CLOCK at the pause */
};

static bool fake_get_clock(struct page *pg, unsigned cpu, sim_ns t, uint64_t *clock_ns,
			   uint64_t *host)
{
	const struct fake_clock *c = pg->state;

	*clock_ns = t + (uint64_t)c->delta_ns;
	*host = host_tsc(pg->vm->host, cpu, t);
	return c->ok;
}

static void fake_page_on_pause(struct page *pg, sim_ns t)
{
	struct fake_clock *c = pg->state;

	c->saved_clock_ns = t + (uint64_t)c->delta_ns;
	c->saved_real_ns = host_realtime_ns(pg->vm->host, t);
}

/* KVM_SET_CLOCK on the destination (models/migrate.c kvm_set_clock). */
static void fake_page_on_migrate(struct page *pg, sim_ns t)
{
	struct fake_clock *c = pg->state;
	uint64_t clock = kvm_set_clock(c->saved_clock_ns, c->saved_real_ns,
				       host_realtime_ns(pg->vm->host, t), c->realtime_flag);

	c->delta_ns = (int64_t)(clock - t);
}

static const struct page_ops fake_page_ops = {
	.version = PAGE_OPS_VERSION,
	.name = "fake-kvmclock",
	.describe = "test: a kvmclock with KVM_GET_CLOCK / KVM_SET_CLOCK",
	.on_pause = fake_page_on_pause,
	.get_clock = fake_get_clock,
	.on_migrate = fake_page_on_migrate,
};

/* ---- the rig --------------------------------------------------------------------------------- */

struct rig {
	struct host src, dst;
	struct world *w;        /* only for vm_vcpu(): w->vcpus */
	struct vm vm;
	struct fake_kvm kvm;
	struct fake_clock clk;
	struct policy policy;
	struct page page;
	struct migration mig;
	struct opt_val val[4];
	struct opt_set opts;
};

static void host_up(struct host *h, uint64_t hz, uint64_t offset, int64_t realtime_offset_ns)
{
	struct host_cpu_cfg cpu[NV];
	struct host_cfg cfg = {
		.ncpus = NV,
		.cpu = cpu,
		.wander_interval = NS_PER_SEC,
		.clocksource = CS_AUTO,
		.tsc_stable = 1,
		.tsc_sync_tolerance = 300,
		.hz = 1000,
		.realtime_offset_ns = realtime_offset_ns,
	};

	for (unsigned i = 0; i < NV; i++)
		cpu[i] = (struct host_cpu_cfg){ .freq_hz = hz, .offset = offset };
	ck_assert_int_eq(host_init(h, &cfg), VT_OK);
}

/* The default of an option as opt_get returns it: an enum's index, a bool's 0/1. */
static int64_t opt_default(const struct opt_desc *d)
{
	if (d->type == OPT_BOOL)
		return strcmp(d->def, "yes") == 0 || strcmp(d->def, "on") == 0 ||
		       strcmp(d->def, "true") == 0;
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
		ck_abort_msg("default '%s' of '%s' not among '%s'", d->def, d->name, d->choices);
	}
	return strtoll(d->def, NULL, 0);
}

/* The rig before the migration: every vCPU paused on host CPU i of the source. */
static void rig_up(struct rig *r, uint64_t dst_hz, int64_t dst_realtime_offset_ns)
{
	memset(r, 0, sizeof(*r));
	host_up(&r->src, 2000000000u, 10000000000u, 0);
	host_up(&r->dst, dst_hz, 3000000000u, dst_realtime_offset_ns);
	r->w = calloc(1, sizeof(*r->w));
	ck_assert_ptr_nonnull(r->w);
	r->w->vcpus = calloc(NV, sizeof(*r->w->vcpus));
	ck_assert_ptr_nonnull(r->w->vcpus);
	for (unsigned i = 0; i < NV; i++)
		r->w->vcpus[i].pub = (struct vcpu){ .id = i, .pcpu = i, .state = VCPU_PAUSED };
	r->vm = (struct vm){ .nvcpus = NV, .host = &r->src, .guest_tsc_hz = 2000000000u,
			     .world = r->w };
	r->kvm = (struct fake_kvm){ .ratio = VMX_ONE, .khz = GUEST_KHZ, .host_khz = 2000000u,
				    .offset = { 1000000u, 1000500u } };
	r->clk = (struct fake_clock){ .ok = true, .realtime_flag = true,
				      .delta_ns = -(int64_t)NS_PER_SEC };
	r->policy = (struct policy){ .ops = &fake_policy_ops, .vm = &r->vm, .state = &r->kvm };
	r->page = (struct page){ .ops = &fake_page_ops, .vm = &r->vm, .policy = &r->policy,
				 .state = &r->clk };
}

/* Builds the algorithm `name` with its defaults, `opt` (if not NULL) set to `value`. */
static void rig_algorithm(struct rig *r, const char *name, const char *opt, int64_t value)
{
	const struct migration_ops *ops = registry_migration(name);
	unsigned n = 0;

	ck_assert_msg(ops != NULL, "no migration '%s'", name);
	for (const struct opt_desc *d = ops->options; d && d->name; d++) {
		ck_assert_uint_lt(n, VT_ARRAY_SIZE(r->val));
		r->val[n] = (struct opt_val){ d, opt_default(d), 0 };
		if (opt && strcmp(d->name, opt) == 0)
			r->val[n] = (struct opt_val){ d, value, 1 };
		n++;
	}
	r->opts = (struct opt_set){ n, r->val };
	r->mig = (struct migration){ .ops = ops, .vm = &r->vm, .policy = &r->policy,
				     .page = &r->page };
	r->mig.state = calloc(1, ops->state_size ? ops->state_size : 1);
	ck_assert_ptr_nonnull(r->mig.state);
	ck_assert_int_eq(ops->init(&r->mig, &r->opts), VT_OK);
}

/* The engine's sequence (migration.h): pause and save at T_SAVE; at T_MOVE the VM is on the
 * destination, the policy's and the page's on_migrate run, then vCPU 0 is restored at T_MOVE and
 * vCPU 1 at T_MOVE + GAP_NS. */
static void rig_migrate(struct rig *r)
{
	r->page.ops->on_pause(&r->page, T_SAVE);
	r->mig.ops->save(&r->mig, T_SAVE);
	r->kvm.nops = 0;
	r->vm.host = &r->dst;
	r->policy.ops->on_migrate(&r->policy, T_MOVE);
	r->page.ops->on_migrate(&r->page, T_MOVE);
	for (unsigned i = 0; i < NV; i++)
		r->mig.ops->restore_vcpu(&r->mig, vm_vcpu(&r->vm, i), T_MOVE + i * GAP_NS);
}

static void rig_down(struct rig *r)
{
	if (r->mig.ops && r->mig.ops->fini)
		r->mig.ops->fini(&r->mig);
	free(r->mig.state);
	free(r->w->vcpus);
	free(r->w);
	host_free(&r->src);
	host_free(&r->dst);
}

static uint64_t guest_at(struct rig *r, unsigned i, sim_ns t)
{
	return fake_guest_tsc(&r->policy, vm_vcpu(&r->vm, i), t);
}

/* The guest TSC a continuous vCPU i reads at t: its value at the save + 2 cycles per ns. */
static uint64_t continuous(unsigned i, sim_ns t)
{
	return (i == 0 ? 20001000000u : 20001000500u) + 2 * (t - T_SAVE);
}

static void assert_op(const struct rig *r, unsigned k, enum fake_op_kind kind, unsigned vcpu,
		      uint64_t value, sim_ns t)
{
	ck_assert_uint_gt(r->kvm.nops, k);
	ck_assert_int_eq(r->kvm.op[k].kind, kind);
	ck_assert_uint_eq(r->kvm.op[k].vcpu, vcpu);
	ck_assert_uint_eq(r->kvm.op[k].value, value);
	ck_assert_uint_eq(r->kvm.op[k].t, t);
	if (kind == OP_WRITE)
		ck_assert_int_eq(r->kvm.op[k].who, TSC_WRITE_HOST);
}

/* ---- the rig itself -------------------------------------------------------------------------- */

/* The numbers of the file comment, read back from the rig before any algorithm runs. */
START_TEST(test_rig_numbers)
{
	struct rig r;

	rig_up(&r, 2600000000u, 0);
	ck_assert_uint_eq(host_tsc(&r.src, 0, T_SAVE), 20000000000u);
	ck_assert_uint_eq(host_tsc(&r.src, 1, T_SAVE), 20000000000u);
	ck_assert_uint_eq(guest_at(&r, 0, T_SAVE), 20001000000u);
	ck_assert_uint_eq(guest_at(&r, 1, T_SAVE), 20001000500u);
	ck_assert_uint_eq(host_tsc(&r.dst, 0, T_MOVE), 16259999999u);
	ck_assert_uint_eq(host_tsc(&r.dst, 1, T_MOVE + GAP_NS), 16262599999u);
	ck_assert_uint_eq(r.dst.raw.tsc_khz, 2600000u);
	/* The destination KVM creates the vCPUs at T_MOVE: ratio 2.0 / 2.6, both offsets
	 * -floor(16,259,999,999 * 216,519,212,854,350 / 2^48) = -12,507,692,306. */
	r.vm.host = &r.dst;
	fake_on_migrate(&r.policy, T_MOVE);
	ck_assert_uint_eq(r.kvm.ratio, RATIO_2_ON_26);
	ck_assert_uint_eq(r.kvm.offset[1], (uint64_t)0 - 12507692306u);
	ck_assert_uint_eq(guest_at(&r, 0, T_MOVE), 0);
	rig_down(&r);
}
END_TEST

/* ---- tsc-msr --------------------------------------------------------------------------------- */

/*
 * adjust = none (QEMU): KVM_SET_MSRS writes exactly what KVM_GET_MSRS read, 20,001,000,000 to
 * vCPU 0 at T_MOVE and 20,001,000,500 to vCPU 1 at T_MOVE + 1 ms, host-initiated, on either
 * destination (a value is scaling-independent). Each vCPU then reads its value at its write: the
 * guest lost the downtime, 100 ms = 200,000,000 cycles for vCPU 0, 101 ms for vCPU 1.
 */
START_TEST(test_tsc_msr_none)
{
	static const uint64_t dst_hz[] = { 2000000000u, 2600000000u };

	for (unsigned h = 0; h < VT_ARRAY_SIZE(dst_hz); h++) {
		struct rig r;

		rig_up(&r, dst_hz[h], 0);
		rig_algorithm(&r, "tsc-msr", NULL, 0);
		rig_migrate(&r);
		ck_assert_uint_eq(r.kvm.nops, 2);
		assert_op(&r, 0, OP_WRITE, 0, 20001000000u, T_MOVE);
		assert_op(&r, 1, OP_WRITE, 1, 20001000500u, T_MOVE + GAP_NS);
		ck_assert_uint_eq(guest_at(&r, 0, T_MOVE), 20001000000u);
		ck_assert_uint_eq(guest_at(&r, 1, T_MOVE + GAP_NS), 20001000500u);
		ck_assert_uint_eq(continuous(0, T_MOVE) - guest_at(&r, 0, T_MOVE), 200000000u);
		ck_assert_uint_eq(continuous(1, T_MOVE + GAP_NS) - guest_at(&r, 1, T_MOVE + GAP_NS),
				  202000000u);
		rig_down(&r);
	}
}
END_TEST

/*
 * adjust = realtime: the value plus the CLOCK_REALTIME span from the save to the write at
 * 2,000,000 kHz: vCPU 0 20,001,000,000 + 100 ms * 2 = 20,201,000,000, vCPU 1 20,001,000,500 +
 * 101 ms * 2 = 20,203,000,500: both continuous. A destination whose realtime runs 2 ms ahead of
 * the source's makes both 2 ms * 2 GHz = 4,000,000 cycles too high: 20,205,000,000 and
 * 20,207,000,500.
 */
START_TEST(test_tsc_msr_realtime)
{
	struct rig r;

	rig_up(&r, 2600000000u, 0);
	rig_algorithm(&r, "tsc-msr", "adjust", 1 /* realtime */);
	rig_migrate(&r);
	ck_assert_uint_eq(r.kvm.nops, 2);
	assert_op(&r, 0, OP_WRITE, 0, 20201000000u, T_MOVE);
	assert_op(&r, 1, OP_WRITE, 1, 20203000500u, T_MOVE + GAP_NS);
	ck_assert_uint_eq(guest_at(&r, 0, T_MOVE), continuous(0, T_MOVE));
	ck_assert_uint_eq(guest_at(&r, 1, T_MOVE + GAP_NS), continuous(1, T_MOVE + GAP_NS));
	rig_down(&r);

	rig_up(&r, 2000000000u, 2 * (int64_t)NS_PER_MS);
	rig_algorithm(&r, "tsc-msr", "adjust", 1);
	rig_migrate(&r);
	assert_op(&r, 0, OP_WRITE, 0, 20205000000u, T_MOVE);
	assert_op(&r, 1, OP_WRITE, 1, 20207000500u, T_MOVE + GAP_NS);
	rig_down(&r);
}
END_TEST

/*
 * tsc-msr-offset (cloud-hypervisor before PR 8437) on the 2.0 GHz destination, the writes as
 * PR 8383's kvm_write_tsc_offset trace shows them:
 *   vCPU 0  value 20,001,000,000 at host 13,200,000,000: prev = creation offset -13,200,000,000,
 *           next A = 6,801,000,000; then offset 1,000,000: prev A, next B = 1,000,000
 *   vCPU 1  value 20,001,000,500 at host 13,202,000,000: next 6,799,000,500 (this fake KVM does
 *           not match; real KVM would take B, check_migrate.c); then offset 1,000,500
 * The offsets end as the source had them, 1,000,000 and 1,000,500: vCPU 0 reads 13,200,000,000 +
 * 1,000,000 = 13,201,000,000 at T_MOVE, 7,000,000,000 cycles (3.5 s) behind continuity: the
 * hosts' TSC difference 6,800,000,000 plus the 200,000,000 of downtime.
 */
START_TEST(test_tsc_msr_offset)
{
	struct rig r;

	rig_up(&r, 2000000000u, 0);
	rig_algorithm(&r, "tsc-msr-offset", NULL, 0);
	rig_migrate(&r);
	ck_assert_uint_eq(r.kvm.nops, 4);
	assert_op(&r, 0, OP_WRITE, 0, 20001000000u, T_MOVE);
	ck_assert_uint_eq(r.kvm.op[0].prev, (uint64_t)0 - 13200000000u);
	ck_assert_uint_eq(r.kvm.op[0].next, 6801000000u);
	assert_op(&r, 1, OP_OFFSET, 0, 1000000u, T_MOVE);
	ck_assert_uint_eq(r.kvm.op[1].prev, 6801000000u);
	ck_assert_uint_eq(r.kvm.op[1].next, 1000000u);
	assert_op(&r, 2, OP_WRITE, 1, 20001000500u, T_MOVE + GAP_NS);
	ck_assert_uint_eq(r.kvm.op[2].next, 6799000500u);
	assert_op(&r, 3, OP_OFFSET, 1, 1000500u, T_MOVE + GAP_NS);
	ck_assert_uint_eq(r.kvm.offset[0], 1000000u);
	ck_assert_uint_eq(r.kvm.offset[1], 1000500u);
	ck_assert_uint_eq(guest_at(&r, 0, T_MOVE), 13201000000u);
	ck_assert_uint_eq(continuous(0, T_MOVE) - guest_at(&r, 0, T_MOVE), 7000000000u);
	rig_down(&r);
}
END_TEST

/* ---- old-doc --------------------------------------------------------------------------------- */

/*
 * The continuity error (REFERENCE 6) of vCPU i measured at t, through models/migrate.c: the
 * source side as saved, the destination side at t, the offset the fake KVM holds.
 */
static int64_t continuity_error(struct rig *r, unsigned i, sim_ns t)
{
	struct vcpu *v = vm_vcpu(&r->vm, i);
	struct migrate_side src = { 20000000000u, 0, 0, GUEST_KHZ };
	struct migrate_side dst = { host_tsc(&r->dst, v->pcpu, t), 0, 0, GUEST_KHZ };
	struct migrate_vcpu vs = { i == 0 ? 1000000u : 1000500u, VMX_ONE, VMX_TSC_FRAC_BITS };
	struct migrate_vcpu vd = { 0, r->kvm.ratio, VMX_TSC_FRAC_BITS };

	return migrate_continuity_error(&src, &vs, &dst, &vd, r->kvm.offset[i],
					(int64_t)(t - T_SAVE));
}

/* REFERENCE 6's bound for the destination's ratio over the host cycles since T_MOVE. */
static bool continuity_ok(struct rig *r, unsigned i, sim_ns t)
{
	uint64_t h = host_tsc(&r->dst, i, t) - host_tsc(&r->dst, i, T_MOVE);

	return migrate_continuity_ok(continuity_error(r, i, t),
				     migrate_ratio_rounding(h, r->kvm.ratio, VMX_TSC_FRAC_BITS,
							    GUEST_KHZ, r->kvm.host_khz));
}

/*
 * 2.0 -> 2.0 GHz, KVM_SET_CLOCK with KVM_CLOCK_REALTIME (kvmclock 4,100,000,000 at T_MOVE):
 *   vCPU 0  1,000,000 + (4.1e9 - 4.0e9) * 2 + (20,000,000,000 - 13,200,000,000) = 7,001,000,000
 *   vCPU 1  1,000,500 + (4.101e9 - 4.0e9) * 2 + (20,000,000,000 - 13,202,000,000) = 7,001,000,500
 * vCPU 0 reads 13,200,000,000 + 7,001,000,000 = 20,201,000,000 at T_MOVE: continuous, error 0,
 * and still 0 an hour later (no scaling, both at 2 cycles per ns).
 */
START_TEST(test_old_doc_equal)
{
	struct rig r;

	rig_up(&r, 2000000000u, 0);
	rig_algorithm(&r, "old-doc", NULL, 0);
	rig_migrate(&r);
	ck_assert_uint_eq(r.kvm.nops, 2);
	assert_op(&r, 0, OP_OFFSET, 0, 7001000000u, T_MOVE);
	assert_op(&r, 1, OP_OFFSET, 1, 7001000500u, T_MOVE + GAP_NS);
	ck_assert_uint_eq(guest_at(&r, 0, T_MOVE), 20201000000u);
	ck_assert_uint_eq(guest_at(&r, 1, T_MOVE + GAP_NS), continuous(1, T_MOVE + GAP_NS));
	for (unsigned i = 0; i < NV; i++) {
		ck_assert_int_eq(continuity_error(&r, i, T_MOVE + i * GAP_NS), 0);
		ck_assert_int_eq(continuity_error(&r, i, T_MOVE + 3600 * NS_PER_SEC), 0);
		ck_assert(continuity_ok(&r, i, T_MOVE + 3600 * NS_PER_SEC));
	}
	rig_down(&r);
}
END_TEST

/*
 * 2.0 -> 2.6 GHz with VMX scaling: the old formula adds the host TSC difference unscaled:
 *   vCPU 0  1,000,000 + 200,000,000 + (20,000,000,000 - 16,259,999,999) = 3,941,000,001
 *   vCPU 1  1,000,500 + 202,000,000 + (20,000,000,000 - 16,262,599,999) = 3,940,400,501
 * vCPU 0 reads raw + offset = 12,507,692,306 + 3,941,000,001 = 16,448,692,307 at T_MOVE against a
 * continuous 20,201,000,000: off by raw_dst - host_dst = 12,507,692,306 - 16,259,999,999 =
 * -3,752,307,693 cycles (1.9 s back), what scaling did to the destination's counter (the source
 * ran unscaled). vCPU 1: 12,509,692,306 - 16,262,599,999 = -3,752,907,693. Far outside REFERENCE
 * 6's criterion: the documented procedure is continuous only without scaling (seed 004).
 */
START_TEST(test_old_doc_scaled)
{
	struct rig r;

	rig_up(&r, 2600000000u, 0);
	rig_algorithm(&r, "old-doc", NULL, 0);
	rig_migrate(&r);
	assert_op(&r, 0, OP_OFFSET, 0, 3941000001u, T_MOVE);
	assert_op(&r, 1, OP_OFFSET, 1, 3940400501u, T_MOVE + GAP_NS);
	ck_assert_uint_eq(guest_at(&r, 0, T_MOVE), 16448692307u);
	ck_assert_int_eq(continuity_error(&r, 0, T_MOVE), -3752307693);
	ck_assert_int_eq(continuity_error(&r, 1, T_MOVE + GAP_NS), -3752907693);
	ck_assert(!continuity_ok(&r, 0, T_MOVE));
	rig_down(&r);
}
END_TEST

/*
 * The same 2.0 -> 2.0 move with a plain KVM_SET_CLOCK (no KVM_CLOCK_REALTIME): kvmclock resumes at
 * 4,000,000,000 at T_MOVE, so its span is 0 for vCPU 0 and 1 ms for vCPU 1, and the TSC follows it:
 *   vCPU 0  1,000,000 + 0 + 6,800,000,000 = 6,801,000,000 -> reads 20,001,000,000 at T_MOVE
 *   vCPU 1  1,000,500 + 2,000,000 + 6,798,000,000 = 6,801,000,500 -> 20,003,000,500 at T_MOVE+1ms
 * both exactly the 100 ms downtime (200,000,000 cycles) behind continuity.
 */
START_TEST(test_old_doc_plain_set_clock)
{
	struct rig r;

	rig_up(&r, 2000000000u, 0);
	r.clk.realtime_flag = false;
	rig_algorithm(&r, "old-doc", NULL, 0);
	rig_migrate(&r);
	assert_op(&r, 0, OP_OFFSET, 0, 6801000000u, T_MOVE);
	assert_op(&r, 1, OP_OFFSET, 1, 6801000500u, T_MOVE + GAP_NS);
	ck_assert_uint_eq(guest_at(&r, 0, T_MOVE), 20001000000u);
	ck_assert_uint_eq(guest_at(&r, 1, T_MOVE + GAP_NS), 20003000500u);
	ck_assert_int_eq(continuity_error(&r, 0, T_MOVE), -200000000);
	ck_assert_int_eq(continuity_error(&r, 1, T_MOVE + GAP_NS), -200000000);
	rig_down(&r);
}
END_TEST

/* ---- seed004 --------------------------------------------------------------------------------- */

/*
 * corrected, 2.0 -> 2.0: tsc_src = 20,001,000,000 (vCPU 0), dT = 100 ms, tsc_dst =
 * 20,201,000,000, raw_dst = 13,200,000,000, ofs = 7,001,000,000; vCPU 1: tsc_dst = 20,001,000,500
 * + 202,000,000, raw_dst = 13,202,000,000, ofs = 7,001,000,500. The same offsets as old-doc's
 * (without scaling the two agree), error 0 at the restore and an hour later.
 */
START_TEST(test_seed004_equal)
{
	struct rig r;

	rig_up(&r, 2000000000u, 0);
	rig_algorithm(&r, "seed004", NULL, 0);
	rig_migrate(&r);
	ck_assert_uint_eq(r.kvm.nops, 2);
	assert_op(&r, 0, OP_OFFSET, 0, 7001000000u, T_MOVE);
	assert_op(&r, 1, OP_OFFSET, 1, 7001000500u, T_MOVE + GAP_NS);
	for (unsigned i = 0; i < NV; i++) {
		ck_assert_int_eq(continuity_error(&r, i, T_MOVE + i * GAP_NS), 0);
		ck_assert(continuity_ok(&r, i, T_MOVE + 3600 * NS_PER_SEC));
	}
	rig_down(&r);
}
END_TEST

/*
 * corrected, 2.0 -> 2.6 GHz (ratio 216,519,212,854,350):
 *   vCPU 0  raw_dst = floor(16,259,999,999 * r / 2^48) = 12,507,692,306;
 *           ofs = 20,201,000,000 - 12,507,692,306 = 7,693,307,694
 *   vCPU 1  raw_dst = floor(16,262,599,999 * r / 2^48) = 12,509,692,306;
 *           ofs = 20,203,000,500 - 12,509,692,306 = 7,693,308,194
 * Error 0 at each restore. An hour after T_MOVE (t = 3,605,100,000,000 ns) the host reads
 * 3e9 + 2.6 t - 1 = 9,376,259,999,999 (9,360,000,000,000 cycles since T_MOVE), scaled
 * 7,212,507,692,306, + ofs = 7,220,201,000,000 = 20,001,000,000 + 2 * 3,600,100,000,000: error 0;
 * 7 ns later +1 (the floors of the scaled reading and of the ideal's), within 1 cycle + the
 * ratio rounding over 9.36e12 host cycles (1 cycle, check_migrate.c test_criterion).
 */
START_TEST(test_seed004_scaled)
{
	struct rig r;
	const sim_ns hour = T_MOVE + 3600 * NS_PER_SEC;

	rig_up(&r, 2600000000u, 0);
	rig_algorithm(&r, "seed004", "variant", 0 /* corrected */);
	rig_migrate(&r);
	assert_op(&r, 0, OP_OFFSET, 0, 7693307694u, T_MOVE);
	assert_op(&r, 1, OP_OFFSET, 1, 7693308194u, T_MOVE + GAP_NS);
	ck_assert_uint_eq(guest_at(&r, 0, T_MOVE), 20201000000u);
	ck_assert_int_eq(continuity_error(&r, 0, T_MOVE), 0);
	ck_assert_int_eq(continuity_error(&r, 1, T_MOVE + GAP_NS), 0);
	ck_assert_uint_eq(guest_at(&r, 0, hour), 7220201000000u);
	ck_assert_int_eq(continuity_error(&r, 0, hour), 0);
	ck_assert_int_eq(continuity_error(&r, 0, hour + 7), 1);
	ck_assert(continuity_ok(&r, 0, hour + 7));
	ck_assert(continuity_ok(&r, 1, hour));
	rig_down(&r);
}
END_TEST

/*
 * printed (step 8d's sign): ofs = tsc_dst + raw_dst, 2 * raw_dst above the corrected offset, and
 * the guest TSC that far ahead of continuity:
 *   2.0 GHz: vCPU 0 ofs 20,201,000,000 + 13,200,000,000 = 33,401,000,000, error 2 * 13.2e9 =
 *            26,400,000,000 (13.2 s); vCPU 1 error 2 * 13,202,000,000 = 26,404,000,000
 *   2.6 GHz: vCPU 0 error 2 * 12,507,692,306 = 25,015,384,612; vCPU 1 2 * 12,509,692,306 =
 *            25,019,384,612
 */
START_TEST(test_seed004_printed)
{
	static const struct {
		uint64_t hz;
		uint64_t ofs0;
		int64_t err[NV];
	} cases[] = {
		{ 2000000000u, 33401000000u, { 26400000000, 26404000000 } },
		{ 2600000000u, 20201000000u + 12507692306u, { 25015384612, 25019384612 } },
	};

	for (unsigned c = 0; c < VT_ARRAY_SIZE(cases); c++) {
		struct rig r;

		rig_up(&r, cases[c].hz, 0);
		rig_algorithm(&r, "seed004", "variant", 1 /* printed */);
		rig_migrate(&r);
		assert_op(&r, 0, OP_OFFSET, 0, cases[c].ofs0, T_MOVE);
		for (unsigned i = 0; i < NV; i++) {
			sim_ns t = T_MOVE + i * GAP_NS;

			ck_assert_int_eq(continuity_error(&r, i, t), cases[c].err[i]);
			ck_assert(!continuity_ok(&r, i, t));
		}
		rig_down(&r);
	}
}
END_TEST

/* The destination's realtime 2 ms ahead: dT reads 102 ms for a true 100 ms, vCPU 0 lands 2 ms *
 * 2 GHz = 4,000,000 cycles ahead: ofs 7,005,000,000 (vcpu.rst's caveat on realtime agreement). */
START_TEST(test_seed004_realtime_skew)
{
	struct rig r;

	rig_up(&r, 2000000000u, 2 * (int64_t)NS_PER_MS);
	rig_algorithm(&r, "seed004", NULL, 0);
	rig_migrate(&r);
	assert_op(&r, 0, OP_OFFSET, 0, 7005000000u, T_MOVE);
	ck_assert_int_eq(continuity_error(&r, 0, T_MOVE), 4000000);
	rig_down(&r);
}
END_TEST

/*
 * No host TSC from KVM_GET_CLOCK (get_clock false, e.g. no master clock): old-doc and seed004
 * cannot follow their procedures and write nothing; the vCPUs keep the destination's creation
 * offsets (the guest reads 0 at T_MOVE on vCPU 0's CPU).
 */
START_TEST(test_no_clock)
{
	static const char *const names[] = { "old-doc", "seed004" };

	for (unsigned n = 0; n < VT_ARRAY_SIZE(names); n++) {
		struct rig r;

		rig_up(&r, 2000000000u, 0);
		r.clk.ok = false;
		rig_algorithm(&r, names[n], NULL, 0);
		rig_migrate(&r);
		ck_assert_uint_eq(r.kvm.nops, 0);
		ck_assert_uint_eq(guest_at(&r, 0, T_MOVE), 0);
		rig_down(&r);
	}
}
END_TEST

/* An option value outside the choices is refused with a reason (config.c never passes one). */
START_TEST(test_seed004_bad_variant)
{
	struct rig r;
	const struct migration_ops *ops = registry_migration("seed004");

	rig_up(&r, 2000000000u, 0);
	r.val[0] = (struct opt_val){ &ops->options[0], 2, 1 };
	r.opts = (struct opt_set){ 1, r.val };
	r.mig = (struct migration){ .ops = ops, .vm = &r.vm, .policy = &r.policy, .page = &r.page };
	r.mig.state = calloc(1, ops->state_size);
	ck_assert_int_eq(ops->init(&r.mig, &r.opts), VT_EINPUT);
	ck_assert_str_eq(r.mig.err, "variant: expected corrected or printed");
	r.mig.ops = NULL; /* init failed: no fini */
	rig_down(&r);
}
END_TEST

/* ---- arm64 ----------------------------------------------------------------------------------- */

/* arm64: one VM-wide counter offset (REFERENCE 5), no scaling; both vCPUs at offset 1,000,000 on
 * the source, so the counter reads 20,001,000,000 at the save. A 2 GHz counter on both hosts. */
static void arm64_rig(struct rig *r, const char *name, const char *opt, int64_t value)
{
	rig_up(r, 2000000000u, 0);
	r->kvm.vm_wide = true;
	r->kvm.offset[1] = r->kvm.offset[0];
	rig_algorithm(r, name, opt, value);
	rig_migrate(r);
}

/*
 * arm64-value (QEMU): 20,001,000,000 written through vCPU 0 at T_MOVE (offset 20,001,000,000 -
 * 13,200,000,000 = 6,801,000,000) and again through vCPU 1 at T_MOVE + 1 ms, which moves the
 * whole VM: offset 20,001,000,000 - 13,202,000,000 = 6,799,000,000, vCPU 0 stepped back by
 * 2,000,000 cycles. Last writer wins: both vCPUs read 20,001,000,000 at T_MOVE + 1 ms, the 101 ms
 * to the last write (202,000,000 cycles) lost, and the vCPUs agree.
 */
START_TEST(test_arm64_value)
{
	struct rig r;

	arm64_rig(&r, "arm64-value", NULL, 0);
	ck_assert_uint_eq(r.kvm.nops, 2);
	assert_op(&r, 0, OP_WRITE, 0, 20001000000u, T_MOVE);
	assert_op(&r, 1, OP_WRITE, 1, 20001000000u, T_MOVE + GAP_NS);
	ck_assert_uint_eq(r.kvm.op[0].next, 6801000000u);
	ck_assert_uint_eq(r.kvm.op[1].prev, 6801000000u);
	ck_assert_uint_eq(r.kvm.offset[0], 6799000000u);
	ck_assert_uint_eq(r.kvm.offset[1], 6799000000u);
	ck_assert_uint_eq(guest_at(&r, 0, T_MOVE + GAP_NS), 20001000000u);
	ck_assert_uint_eq(guest_at(&r, 1, T_MOVE + GAP_NS), 20001000000u);
	rig_down(&r);
}
END_TEST

/*
 * arm64-offset, one KVM_ARM_SET_COUNTER_OFFSET at vCPU 0's restore, none at vCPU 1's:
 *   count_downtime = yes: target 20,001,000,000 + 100 ms * 2 = 20,201,000,000, offset
 *     20,201,000,000 - 13,200,000,000 = 7,001,000,000; vCPU 1 reads 13,202,000,000 +
 *     7,001,000,000 = 20,203,000,000 at T_MOVE + 1 ms: wall time kept (the saved counter + 101 ms)
 *   count_downtime = no: offset 20,001,000,000 - 13,200,000,000 = 6,801,000,000; vCPU 0 reads
 *     20,001,000,000 at T_MOVE: continuity (QEMU's choice), the 100 ms lost
 */
START_TEST(test_arm64_offset)
{
	struct rig r;

	arm64_rig(&r, "arm64-offset", NULL, 0); /* default: count_downtime = yes */
	ck_assert_uint_eq(r.kvm.nops, 1);
	assert_op(&r, 0, OP_OFFSET, 0, 7001000000u, T_MOVE);
	ck_assert_uint_eq(r.kvm.offset[1], 7001000000u);
	ck_assert_uint_eq(guest_at(&r, 0, T_MOVE), 20201000000u);
	ck_assert_uint_eq(guest_at(&r, 1, T_MOVE + GAP_NS), 20203000000u);
	rig_down(&r);

	arm64_rig(&r, "arm64-offset", "count_downtime", 0);
	ck_assert_uint_eq(r.kvm.nops, 1);
	assert_op(&r, 0, OP_OFFSET, 0, 6801000000u, T_MOVE);
	ck_assert_uint_eq(guest_at(&r, 0, T_MOVE), 20001000000u);
	ck_assert_uint_eq(guest_at(&r, 1, T_MOVE + GAP_NS), 20003000000u);
	rig_down(&r);
}
END_TEST

Suite *migration_suite(void)
{
	Suite *s = suite_create("migration");
	TCase *tc = tcase_create("algorithms");

	tcase_add_test(tc, test_rig_numbers);
	tcase_add_test(tc, test_tsc_msr_none);
	tcase_add_test(tc, test_tsc_msr_realtime);
	tcase_add_test(tc, test_tsc_msr_offset);
	tcase_add_test(tc, test_old_doc_equal);
	tcase_add_test(tc, test_old_doc_scaled);
	tcase_add_test(tc, test_old_doc_plain_set_clock);
	tcase_add_test(tc, test_seed004_equal);
	tcase_add_test(tc, test_seed004_scaled);
	tcase_add_test(tc, test_seed004_printed);
	tcase_add_test(tc, test_seed004_realtime_skew);
	tcase_add_test(tc, test_no_clock);
	tcase_add_test(tc, test_seed004_bad_variant);
	tcase_add_test(tc, test_arm64_value);
	tcase_add_test(tc, test_arm64_offset);
	suite_add_tcase(s, tc);
	return s;
}
