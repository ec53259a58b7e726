/*
 * xen_emulate.c: the `xen-emulate` TSC policy: Xen's tsc_mode 1, "always emulate".
 *
 * Xen's x86 time code (xen/arch/x86/include/asm/time.h: "1 = guest rdtsc/p always emulated at
 * 1GHz (kernel and user)"; REFERENCE 7) traps every guest RDTSC and answers it from Xen's system
 * time, made strictly increasing by ONE last value kept for the whole domain:
 *  - HVM: hvm_get_guest_time_fixed() (xen/arch/x86/hvm/vpt.c) takes the domain's
 *    pl_time->pl_time_lock, computes now = get_s_time() + pl->stime_offset (ns since the domain
 *    was created: hvm_init_guest_time sets stime_offset = -get_s_time() and last_guest_time = 0),
 *    and "if ((int64_t)(now - pl->last_guest_time) > 0) pl->last_guest_time = now; else now =
 *    ++pl->last_guest_time";
 *  - PV: pv_soft_rdtsc() (xen/arch/x86/time.c; soft_rdtsc() in pv/emul-priv-op.c since the 2019
 *    "update vtsc_last with cmpxchg and drop vtsc_lock" patch) does the same with the domain's
 *    d->arch.vtsc_last ("previous TSC value (guarantee monotonicity)", struct arch_domain).
 * So the value is max(now, last + 1) with `last` shared by every vCPU of the VM: strictly
 * increasing across all vCPUs, in any order of reads, whatever the host TSCs do.
 *
 * Model: now = the host's CLOCK_MONOTONIC_RAW read on the vCPU's host CPU (host_raw_ns; Xen's
 * get_s_time is its own per-CPU TSC extrapolation of the platform timer, a raw clock of the same
 * kind) minus its value at guest boot; the emulated TSC runs at 1 GHz, one cycle per ns, whatever
 * the host's TSC frequency, so value = max(now, last + 1) in ns = cycles. An MSR write of the TSC
 * adds a per-vCPU offset after the clamp (Xen adds v->arch.hvm.cache_tsc_offset to the emulated
 * value). guest_tsc() (page providers, the trace) is the unclamped now + offset, as Xen's
 * hvm_get_guest_time_fixed with an at_tsc argument skips the clamp. Each read costs a VM exit
 * (option exit_ns).
 *
 * The guest must be told 1 GHz: scenarios using this policy set `vm.tsc_freq = 1GHz` (the TSC
 * frequency the guest reader converts with); with another vm.tsc_freq the guest clock runs at
 * 1 GHz / vm.tsc_freq of real time. (Current Xen's tsc_set_info in fact emulates at
 * d->arch.tsc_khz, the host's cpu_khz unless the toolstack passes one, scaling ns with
 * gtime_to_gtsc; the 1 GHz of the mode's definition is what REFERENCE 7 and time.h state.)
 *
 * Trade-off: the strongest guarantee of all policies here (no warps, no stalls, on any host) for
 * a VM exit per read, a VM-wide serialization point (Xen's lock / cmpxchg), and a guest clock
 * that runs ahead of real time by 1 ns per read whenever reads come faster than the clock moves.
 */
#include <stdio.h>
#include <stdlib.h>

#include "policy.h"

struct xen_emulate {
	sim_ns exit_ns;
	uint64_t boot_ns;  /* the raw clock at guest boot (pl->stime_offset's role) */
	uint64_t last;     /* the domain's last value (pl->last_guest_time / d->arch.vtsc_last) */
	uint64_t *adj;     /* per vCPU: TSC MSR write offset, cycles, modulo 2^64 */
};

static const struct opt_desc xen_options[] = {
	{ "exit_ns", OPT_TIME, "1000ns", NULL, "cost of one trapped RDTSC (VM exit + emulation)" },
	{ 0 },
};

/* ns since guest boot on the vCPU's host CPU; a raw clock reading below the boot value (another
 * CPU's skewed TSC) counts as 0, the clamp then makes the value last + 1. */
static uint64_t now_ns(const struct policy *p, const struct vcpu *v, sim_ns t)
{
	const struct xen_emulate *s = p->state;
	uint64_t raw = host_raw_ns(p->vm->host, v->pcpu, t);

	return raw > s->boot_ns ? raw - s->boot_ns : 0;
}

static int xen_init(struct policy *p, const struct opt_set *opts)
{
	struct xen_emulate *s = p->state;

	/* The emulated TSC counts at 1 GHz: a guest told another frequency would convert it wrongly
	 * and silently run slow or fast, so the arm must say vm.tsc_freq = 1GHz. */
	if (p->vm->guest_tsc_hz != NS_PER_SEC) {
		snprintf(p->err, sizeof(p->err),
			 "xen-emulate's TSC runs at 1 GHz: set vm.tsc_freq = 1GHz for this arm (it is %llu Hz)",
			 (unsigned long long)p->vm->guest_tsc_hz);
		return VT_EINPUT;
	}
	s->exit_ns = (sim_ns)opt_get(opts, "exit_ns");
	s->boot_ns = host_raw_ns(p->vm->host, vm_vcpu(p->vm, 0)->pcpu, 0);
	s->last = 0; /* hvm_init_guest_time: last_guest_time = 0 */
	s->adj = calloc(p->vm->nvcpus, sizeof(*s->adj));
	if (!s->adj)
		return VT_ENOMEM;
	return VT_OK;
}

static void xen_fini(struct policy *p)
{
	struct xen_emulate *s = p->state;

	free(s->adj);
}

static uint64_t xen_guest_tsc(struct policy *p, const struct vcpu *v, sim_ns t)
{
	const struct xen_emulate *s = p->state;

	return now_ns(p, v, t) + s->adj[v->id];
}

/* The trapped RDTSC: max(now, last + 1) VM-wide, in signed comparison as Xen does. */
static uint64_t xen_on_rdtsc(struct policy *p, struct vcpu *v, sim_ns t, sim_ns *cost_ns)
{
	struct xen_emulate *s = p->state;
	uint64_t now = now_ns(p, v, t);

	if ((int64_t)(now - s->last) > 0)
		s->last = now;
	else
		s->last++;
	*cost_ns = s->exit_ns;
	return s->last + s->adj[v->id];
}

/* A write of the TSC MSR moves this vCPU's emulated TSC to `value` (hvm_set_guest_tsc: a per-vCPU
 * offset from the domain's emulated time, which itself is untouched). */
static void xen_on_tsc_write(struct policy *p, struct vcpu *v, uint64_t value, enum tsc_writer who,
			     sim_ns t)
{
	struct xen_emulate *s = p->state;
	uint64_t now = now_ns(p, v, t);

	(void)who;
	s->adj[v->id] = value - (now > s->last ? now : s->last);
}

const struct policy_ops policy_xen_emulate = {
	.version = POLICY_OPS_VERSION,
	.name = "xen-emulate",
	.guest_hz = 1000000000,
	.describe = "Xen tsc_mode 1: RDTSC trapped, 1 GHz, max(now, VM-wide last + 1) per read "
		    "(set vm.tsc_freq = 1GHz)",
	.state_size = sizeof(struct xen_emulate),
	.options = xen_options,
	.promises = POLICY_MONOTONIC_VCPU,
	.init = xen_init,
	.fini = xen_fini,
	.guest_tsc = xen_guest_tsc,
	.on_rdtsc = xen_on_rdtsc,
	.on_tsc_write = xen_on_tsc_write,
};
