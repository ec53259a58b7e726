/*
 * xen_pvclock.c: the `xen-pvclock` clock-page provider: Xen's writer of each vCPU's
 * vcpu_time_info (xen/arch/x86/time.c: update_vcpu_system_time, __update_vcpu_system_time,
 * version_update_begin/_end, set_time_scale, time_calibration and its rendezvous; REFERENCE 7).
 *
 * Xen keeps, per physical CPU, a calibration stamp (cpu_time.stamp: local_tsc, local_stime) and a
 * scale (tsc_scale). A vCPU's entry is a copy of the stamp of the CPU it runs on:
 *   tsc_timestamp = that CPU's local_tsc as the vCPU's guest TSC (for HVM: + the vCPU's current
 *                   TSC offset, cache_tsc_offset; with hardware TSC scaling: hvm_scale_tsc),
 *   system_time   = that CPU's local_stime (ns),
 *   mul, shift    = that CPU's tsc_scale (with TSC scaling: the domain's vtsc_to_ns),
 *   flags         = XEN_PVCLOCK_TSC_STABLE_BIT when Xen's clocksource is the TSC.
 * So an entry does not describe "now" but the CPU's last calibration point, and the guest
 * extrapolates from it with its own TSC. Every EPOCH (1 s) time_calibration re-stamps every CPU
 * (the rendezvous) and each CPU then updates the vCPU it runs (local_time_calibration ->
 * update_vcpu_system_time(current)); a vCPU not running gets its new entry when it is next
 * switched onto a CPU (context_switch / schedule_tail -> update_vcpu_system_time).
 *
 * vtsim's model of a stamp: (host TSC of the CPU, the host's CLOCK_MONOTONIC_RAW as read on that
 * CPU), both taken at the calibration instant, and the scale of the CPU's calibrated frequency
 * (the host's tsc_khz * 1000, per CPU after a rate change). Simplification, stated: real Xen also
 * nudges each CPU's tsc_scale every epoch so its local time converges on the platform time; here
 * the scale stays the nominal one, so between calibrations each CPU's entries extrapolate at that
 * CPU's own oscillator rate, entries of vCPUs on different CPUs drift apart (by the CPUs' skew
 * difference times the time since the epoch), and each calibration steps them back together.
 * That drift is what a guest reader has to cope with (NetBSD's global stamp; a raw reader warps).
 *
 * Writes: Xen computes the new record, and skips the write when it equals the current one
 * (`if ( !force && !memcmp(u, &_u, sizeof(_u)) ) return;`, option `skip_unchanged`); otherwise
 * version = (version + 1) | 1 (version_update_begin: "Explicitly OR with 1 just in case version
 * number gets out of sync"), the fields, version + 1 (version_update_end), as stores (vm_store)
 * spread over `write_ns`, from the vCPU's own context, as kvmclock.c does.
 *
 * Not modelled: Xen's emulated TSC (vtsc, tsc_mode 1: tsc_timestamp = gtime_to_gtsc(stime));
 * with the xen-emulate policy the entry is still written from the guest TSC the policy returns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "page.h"
#include "timescale.h"

enum { TIMER_CALIBRATION = 1 };
enum { STABLE_AUTO, STABLE_ON, STABLE_OFF };

/* One physical CPU's calibration stamp (Xen's per-CPU cpu_time). */
struct xen_cpu_time {
	uint64_t local_tsc;    /* host TSC at the stamp */
	uint64_t local_stime;  /* host raw clock (ns) read on this CPU at the stamp */
	uint64_t khz;          /* calibrated TSC frequency, kHz (tsc_scale is derived from it) */
};

struct xen_vcpu {
	bool requested;        /* an update is due at the next entry */
	bool written;          /* `last` holds a record that was written */
	struct pvclock_vcpu_time_info last; /* the record last written (Xen's memcmp compares it) */
};

struct xen_pvclock {
	unsigned char *mem;            /* the vcpu_time_info entries, PVCLOCK_STRIDE_LINUX apart */
	struct xen_vcpu *v;
	struct xen_cpu_time *cpu;      /* per host CPU */
	sim_ns epoch_ns;               /* calibration period (0: never) */
	sim_ns write_ns;
	int stable_mode;               /* STABLE_* option */
	bool skip_unchanged;
	uint64_t updates;              /* entries written */
};

static const struct opt_desc xen_options[] = {
	{ "calibration", OPT_TIME, "1s", NULL,
	  "time_calibration period (Xen's EPOCH): every CPU re-stamped, running vCPUs updated" },
	{ "tsc_stable_bit", OPT_ENUM, "auto", "auto|on|off",
	  "XEN_PVCLOCK_TSC_STABLE_BIT: when the clocksource is a reliable TSC, always, never" },
	{ "skip_unchanged", OPT_BOOL, "yes", NULL,
	  "do not rewrite an entry whose contents would not change (Xen's memcmp test)" },
	{ "write_ns", OPT_TIME, "20ns", NULL, "time from the odd to the even version store" },
	{ 0 },
};

static struct pvclock_vcpu_time_info *entry(struct xen_pvclock *x, unsigned vcpu)
{
	return (struct pvclock_vcpu_time_info *)(x->mem + (size_t)vcpu * PVCLOCK_STRIDE_LINUX);
}

/* The rendezvous tail on CPU cpu at t: a new (local_tsc, local_stime) stamp. */
static void stamp_cpu(struct page *pg, unsigned cpu, sim_ns t)
{
	struct xen_pvclock *x = pg->state;
	const struct host *h = pg->vm->host;

	x->cpu[cpu].local_tsc = host_tsc(h, cpu, t);
	x->cpu[cpu].local_stime = host_raw_ns(h, cpu, t);
}

/*
 * The guest TSC of v corresponding to CPU pcpu's stamp: Xen adds the vCPU's current TSC offset
 * to local_tsc (scaling it first under hardware TSC scaling). vtsim's policies give the guest
 * TSC only as a function of "now", and a host TSC segment cannot be evaluated before its start
 * (wander), so: guest TSC now minus the host cycles since the stamp (scaled by the guest/host
 * frequency ratio, floor, when the policy scales the TSC). Exact for an offset-only policy.
 */
static uint64_t guest_tsc_at_stamp(struct page *pg, const struct vcpu *v, unsigned pcpu, sim_ns t)
{
	const struct xen_pvclock *x = pg->state;
	const struct host *h = pg->vm->host;
	struct vcpu tmp = *v;
	uint64_t now, since;

	tmp.pcpu = pcpu;
	now = pg->policy->ops->guest_tsc(pg->policy, &tmp, t);
	since = host_tsc(h, pcpu, t) - x->cpu[pcpu].local_tsc; /* mod 2^64: wraps are fine */
	if ((pg->policy->ops->promises & POLICY_SCALES_TSC) && h->cpu[pcpu].freq_hz != 0)
		since = (uint64_t)((u128)since * pg->vm->guest_tsc_hz / h->cpu[pcpu].freq_hz);
	return now - since;
}

/* clocksource_is_tsc(): Xen's platform time is the TSC only when the TSC is reliable. */
static bool stable_bit(const struct page *pg)
{
	const struct xen_pvclock *x = pg->state;
	const struct host *h = pg->vm->host;

	if (x->stable_mode == STABLE_ON)
		return true;
	if (x->stable_mode == STABLE_OFF)
		return false;
	return h->raw.cs == CS_TSC && h->tsc_stable;
}

/* __update_vcpu_system_time(v, 0) for vCPU v on host CPU pcpu at t. */
static void write_entry(struct page *pg, struct vcpu *v, unsigned pcpu, sim_ns t)
{
	struct xen_pvclock *x = pg->state;
	struct xen_vcpu *xv = &x->v[v->id];
	const struct xen_cpu_time *ct = &x->cpu[pcpu];
	struct pvclock_vcpu_time_info *g = entry(x, v->id), u;
	sim_ns step = x->write_ns / 6;
	uint64_t hz;
	uint32_t odd, mul;
	int8_t shift;

	memset(&u, 0, sizeof(u));
	u.tsc_timestamp = guest_tsc_at_stamp(pg, v, pcpu, t);
	u.system_time = ct->local_stime;
	/*
	 * set_time_scale(ts, hz): shift and mul with ns = ((cycles << shift) * mul) >> 32, mul a
	 * 0.32 fraction: halve hz (shift--) while above 2e9, double it (shift++) while <= 1e9, then
	 * mul = floor(1e9 * 2^32 / hz'). For a target of 1e9 that is exactly kvm_get_time_scale's
	 * loop: its extra guards (tps64 >= 2^32, tps32 bit 31 set, target >= 2^32) cannot fire,
	 * as hz' <= 2e9 < 2^31 after halving and <= 1e9 while doubling, so we call it.
	 * Under TSC scaling the domain's vtsc_to_ns, from the guest's frequency.
	 */
	if (pg->policy->ops->promises & POLICY_SCALES_TSC)
		hz = pg->vm->guest_tsc_hz;
	else
		hz = ct->khz * 1000;
	kvm_get_time_scale(NS_PER_SEC, hz, &shift, &mul); /* locals: the ABI struct is packed */
	u.tsc_to_system_mul = mul;
	u.tsc_shift = shift;
	u.flags = stable_bit(pg) ? PVCLOCK_TSC_STABLE_BIT : 0;

	/* "Don't bother unless timestamp record has changed or we are forced." */
	if (x->skip_unchanged && xv->written && xv->last.tsc_timestamp == u.tsc_timestamp &&
	    xv->last.system_time == u.system_time &&
	    xv->last.tsc_to_system_mul == u.tsc_to_system_mul &&
	    xv->last.tsc_shift == u.tsc_shift && xv->last.flags == u.flags)
		return;
	xv->last = u;
	xv->written = true;

	/* A new update from this vCPU's context follows the previous one. */
	vm_store_flush_owner(pg->vm, v->id);
	odd = (g->version + 1) | 1; /* version_update_begin */
	vm_store(pg->vm, v->id, t, &g->version, odd, 4);
	vm_store(pg->vm, v->id, t + step, &g->tsc_timestamp, u.tsc_timestamp, 8);
	vm_store(pg->vm, v->id, t + 2 * step, &g->system_time, u.system_time, 8);
	vm_store(pg->vm, v->id, t + 3 * step, &g->tsc_to_system_mul, u.tsc_to_system_mul, 4);
	vm_store(pg->vm, v->id, t + 4 * step, &g->tsc_shift, (uint8_t)u.tsc_shift, 1);
	vm_store(pg->vm, v->id, t + 5 * step, &g->flags, u.flags, 1);
	vm_store(pg->vm, v->id, t + 6 * step, &g->version, odd + 1, 4); /* version_update_end */
	x->updates++;
}

static int xen_init(struct page *pg, const struct opt_set *opts)
{
	struct xen_pvclock *x = pg->state;
	const struct host *h = pg->vm->host;
	unsigned n = pg->vm->nvcpus;

	x->epoch_ns = (sim_ns)opt_get(opts, "calibration");
	if (x->epoch_ns != 0 && x->epoch_ns < NS_PER_MS) {
		snprintf(pg->err, sizeof(pg->err),
			 "xen-pvclock: page.calibration must be 0 (off) or at least 1ms (Xen's is 1s)");
		return VT_EINPUT;
	}
	x->stable_mode = (int)opt_get(opts, "tsc_stable_bit");
	x->skip_unchanged = opt_get(opts, "skip_unchanged") != 0;
	x->write_ns = (sim_ns)opt_get(opts, "write_ns");
	x->mem = aligned_alloc(64, (size_t)n * PVCLOCK_STRIDE_LINUX);
	x->v = calloc(n, sizeof(*x->v));
	x->cpu = calloc(h->ncpus, sizeof(*x->cpu));
	if (!x->mem || !x->v || !x->cpu)
		return VT_ENOMEM;
	memset(x->mem, 0, (size_t)n * PVCLOCK_STRIDE_LINUX);
	/* init_percpu_time: every CPU stamped at boot, at the calibrated tsc_khz. */
	for (unsigned c = 0; c < h->ncpus; c++) {
		x->cpu[c].khz = h->raw.tsc_khz;
		stamp_cpu(pg, c, 0);
	}
	if (x->epoch_ns > 0)
		vm_timer(pg->vm, pg, x->epoch_ns, TIMER_CALIBRATION);
	return VT_OK;
}

static void xen_fini(struct page *pg)
{
	struct xen_pvclock *x = pg->state;

	free(x->mem);
	free(x->v);
	free(x->cpu);
}

/* Every vCPU, served now when it runs (the CPU updates `current`), else at its next entry. */
static void request_all(struct page *pg)
{
	struct xen_pvclock *x = pg->state;

	for (unsigned i = 0; i < pg->vm->nvcpus; i++)
		x->v[i].requested = true;
	for (unsigned i = 0; i < pg->vm->nvcpus; i++)
		vm_kick(pg->vm, i);
}

/* The guest registered its vcpu_info: the first contents are due before it runs. */
static void xen_on_register(struct page *pg, struct vcpu *v, sim_ns t)
{
	struct xen_pvclock *x = pg->state;

	(void)t;
	x->v[v->id].requested = true;
}

/* context_switch / schedule_tail onto a CPU: update_vcpu_system_time(next). */
static void xen_on_load(struct page *pg, struct vcpu *v, unsigned pcpu, sim_ns t)
{
	struct xen_pvclock *x = pg->state;

	(void)pcpu;
	(void)t;
	x->v[v->id].requested = true;
}

static void xen_on_entry(struct page *pg, struct vcpu *v, unsigned pcpu, sim_ns t)
{
	struct xen_pvclock *x = pg->state;

	if (x->v[v->id].requested) {
		x->v[v->id].requested = false;
		write_entry(pg, v, pcpu, t);
	}
}

/* time_calibration every EPOCH: the rendezvous re-stamps every CPU, then each updates the vCPU
 * it runs; re-armed for the next epoch. */
static void xen_on_timer(struct page *pg, uint32_t arg, sim_ns t)
{
	struct xen_pvclock *x = pg->state;

	if (arg != TIMER_CALIBRATION)
		return;
	for (unsigned c = 0; c < pg->vm->host->ncpus; c++)
		stamp_cpu(pg, c, t);
	request_all(pg);
	vm_timer(pg->vm, pg, t + x->epoch_ns, TIMER_CALIBRATION);
}

static void xen_on_resume(struct page *pg, sim_ns t)
{
	(void)t;
	request_all(pg);
}

/*
 * A rate change (non-invariant TSC: cpu_frequency_change) re-stamps the CPU at its new frequency
 * and updates the vCPU on it; a TSC reset (host suspend, time_resume) re-stamps it too.
 */
static void xen_on_host_change(struct page *pg, const struct host_change *c, sim_ns t)
{
	struct xen_pvclock *x = pg->state;
	const struct host *h = pg->vm->host;

	if (c->kind == HOST_CHANGE_RATE)
		x->cpu[c->pcpu].khz = (uint64_t)h->raw.tsc_khz * h->cpu[c->pcpu].freq_hz /
				      h->cfg.cpu[0].freq_hz;
	stamp_cpu(pg, c->pcpu, t);
	for (unsigned i = 0; i < pg->vm->nvcpus; i++) {
		if (vm_vcpu(pg->vm, i)->pcpu == c->pcpu) {
			x->v[i].requested = true;
			vm_kick(pg->vm, i);
		}
	}
}

static struct pvclock_vcpu_time_info *xen_pvti(struct page *pg, unsigned vcpu)
{
	return entry(pg->state, vcpu);
}

/* Xen is not KVM: no KVM CPUID leaf, so readers that look for KVM features find none. */
static uint32_t xen_kvm_features(struct page *pg)
{
	(void)pg;
	return 0;
}

static const struct layer_fact xen_facts[] = {
	{ "page_updates", "vcpu_time_info entries written" },
	{ 0 },
};

static void xen_get_facts(struct page *pg, int64_t *v)
{
	const struct xen_pvclock *x = pg->state;

	v[0] = (int64_t)x->updates;
}

const struct page_ops page_xen_pvclock = {
	.version = PAGE_OPS_VERSION,
	.name = "xen-pvclock",
	.describe = "Xen's vcpu_time_info writer: per-CPU calibration stamps, 1 s epochs, context "
		    "switches (xen/arch/x86/time.c)",
	.state_size = sizeof(struct xen_pvclock),
	.options = xen_options,
	.init = xen_init,
	.fini = xen_fini,
	.on_register = xen_on_register,
	.on_load = xen_on_load,
	.on_entry = xen_on_entry,
	.on_resume = xen_on_resume,
	.on_timer = xen_on_timer,
	.on_host_change = xen_on_host_change,
	.pvti = xen_pvti,
	.kvm_features = xen_kvm_features,
	.facts = xen_facts,
	.get_facts = xen_get_facts,
};
