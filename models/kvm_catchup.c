/*
 * kvm_catchup.c: the `kvm-catchup` TSC policy: KVM on a host whose TSC it deems unstable.
 *
 * What KVM does when check_tsc_unstable() is true (arch/x86/kvm/x86.c, Linux 6.12; the catch-up
 * mode came with Zachary Amsden's "KVM timekeeping 25/35: Add clock catchup mode", seed 001;
 * REFERENCE 7). The guest TSC is the host TSC of whatever CPU the vCPU runs on plus a per-vCPU
 * offset (not trapped, not scaled here), and:
 *  - at every VM exit vcpu_enter_guest() saves last_guest_tsc = kvm_read_l1_tsc(vcpu, rdtsc());
 *  - kvm_arch_vcpu_load() runs its TSC block on EVERY load (the condition is `vcpu->cpu != cpu
 *    || kvm_check_tsc_unstable()`): it writes the offset so that the guest TSC resumes at
 *    last_guest_tsc (kvm_compute_l1_tsc_offset(vcpu, last_guest_tsc)), sets tsc_catchup = 1, and
 *    requests a clock update (KVM_REQ_GLOBAL_CLOCK_UPDATE -> kvm_gen_kvmclock_update, which asks
 *    KVM_REQ_CLOCK_UPDATE of this vCPU at once);
 *  - that update runs before the guest does (kvm_guest_time_update): with tsc_catchup set it
 *    computes compute_guest_tsc(kernel_ns) = pvclock_scale_delta(kernel_ns - this_tsc_nsec,
 *    virtual_tsc_mult, virtual_tsc_shift) + this_tsc_write, the TSC the guest would have read had
 *    it run at its advertised rate since its TSC was written, and if that is ahead of the current
 *    guest TSC moves the offset forward by the difference (adjust_tsc_offset_guest); never back.
 * this_tsc_nsec / this_tsc_write are the host clock and the value of the VM's last TSC write
 * (kvm_synchronize_tsc at vCPU creation: the raw clock at guest boot and 0), and
 * virtual_tsc_mult/shift are kvm_get_time_scale(guest Hz, 1e9): ns to guest cycles, floored.
 *
 * Trade-off: monotonic per vCPU whatever the host TSCs do (the rebase hides skew, backwards and
 * reset host TSCs), and the off-CPU time the rebase throws away is given back at once, so on an
 * exact host the guest clock is never behind when it runs: the time lost shows as forward jumps at
 * loads instead. On a non-invariant host TSC (rate following P-states) the guest TSC follows the
 * host's wrong rate only between loads: every load pulls it forward to the host raw clock (never
 * back: a TSC running fast stays ahead). vCPUs disagree by whatever each gained since its last
 * load.
 *
 * Modelling notes. The rebase happens at the load; the catch-up at the entry that follows, where
 * KVM serves the clock update the load requested (vtsim calls the policy's entry hook before the
 * page provider's, so a kvmclock update at that entry reads the caught-up TSC, as one
 * kvm_guest_time_update computes both). The 100 ms global update (kvmclock_update_fn) also catches up the other vCPUs
 * in KVM; this policy does not, as it would move the TSC under a kvmclock page that is not
 * rewritten at that instant (the kvmclock provider has its own timer); between loads a running
 * vCPU's TSC simply follows its host CPU. Option `catchup = no` is KVM before the catch-up
 * patch: the rebase alone, so every off-CPU interval is lost.
 */
#include <stdlib.h>

#include "policy.h"
#include "timescale.h"

struct kc_vcpu {
	uint64_t offset;         /* guest TSC - host TSC, modulo 2^64 */
	uint64_t last_guest_tsc; /* guest TSC at the last VM exit (vcpu->arch.last_guest_tsc) */
	uint64_t this_tsc_write; /* guest TSC written last (0 at vCPU creation) */
	uint64_t this_tsc_nsec;  /* host raw clock at that write */
	bool update;             /* KVM_REQ_CLOCK_UPDATE from the load, served at the entry */
};

struct kvm_catchup {
	struct kc_vcpu *v;
	uint32_t mul;            /* virtual_tsc_mult: ns -> guest cycles, 0.32 fixed point */
	int8_t shift;            /* virtual_tsc_shift */
	bool catchup;            /* option: the catch-up step of kvm_guest_time_update */
};

static const struct opt_desc kc_options[] = {
	{ "catchup", OPT_BOOL, "yes", NULL,
	  "catch up to the host clock at each load (no: the rebase alone, before the catch-up patch)" },
	{ 0 },
};

static int kc_init(struct policy *p, const struct opt_set *opts)
{
	struct kvm_catchup *s = p->state;
	const struct host *h = p->vm->host;
	unsigned cpu = vm_vcpu(p->vm, 0)->pcpu;
	uint64_t boot_ns = host_raw_ns(h, cpu, 0);
	uint64_t offset = 0 - host_tsc(h, cpu, 0);

	s->catchup = opt_get(opts, "catchup") != 0;
	/* kvm_set_tsc_khz: kvm_get_time_scale(user_tsc_khz * 1000, NSEC_PER_SEC). */
	kvm_get_time_scale(p->vm->guest_tsc_hz, NS_PER_SEC, &s->shift, &s->mul);
	s->v = calloc(p->vm->nvcpus, sizeof(*s->v));
	if (!s->v)
		return VT_ENOMEM;
	/* kvm_synchronize_tsc(vcpu, 0) at creation: every vCPU reads 0 at guest boot. */
	for (unsigned i = 0; i < p->vm->nvcpus; i++) {
		s->v[i].offset = offset;
		s->v[i].this_tsc_nsec = boot_ns;
	}
	return VT_OK;
}

static void kc_fini(struct policy *p)
{
	struct kvm_catchup *s = p->state;

	free(s->v);
}

/*
 * kvm_guest_time_update's catch-up on host CPU pcpu at t: compute_guest_tsc(kernel_ns) and, if
 * ahead of the guest TSC, add the difference to the offset. The comparison is of the signed
 * difference (KVM compares u64 values; the guest TSC here never nears 2^63).
 */
static void catch_up(struct kvm_catchup *s, const struct host *h, struct kc_vcpu *g,
		     unsigned pcpu, sim_ns t)
{
	uint64_t now = g->offset + host_tsc(h, pcpu, t);
	uint64_t ns = host_raw_ns(h, pcpu, t);
	uint64_t target;

	if (ns < g->this_tsc_nsec)
		return;
	target = pvclock_scale_delta(ns - g->this_tsc_nsec, s->mul, s->shift) + g->this_tsc_write;
	if ((int64_t)(target - now) > 0)
		g->offset += target - now;
}

/* kvm_arch_vcpu_load on an unstable TSC: resume at last_guest_tsc, then the clock update. */
static void kc_on_load(struct policy *p, struct vcpu *v, unsigned pcpu, sim_ns t)
{
	struct kvm_catchup *s = p->state;
	struct kc_vcpu *g = &s->v[v->id];
	const struct host *h = p->vm->host;

	g->offset = g->last_guest_tsc - host_tsc(h, pcpu, t);
	g->update = s->catchup;
}

/* vcpu_enter_guest serves the load's KVM_REQ_CLOCK_UPDATE: kvm_guest_time_update catches up. */
static void kc_on_entry(struct policy *p, struct vcpu *v, unsigned pcpu, sim_ns t)
{
	struct kvm_catchup *s = p->state;
	struct kc_vcpu *g = &s->v[v->id];

	if (g->update) {
		g->update = false;
		catch_up(s, p->vm->host, g, pcpu, t);
	}
}

/* vcpu_enter_guest after the VM exit: last_guest_tsc = kvm_read_l1_tsc(vcpu, rdtsc()). */
static void kc_on_exit(struct policy *p, struct vcpu *v, sim_ns t)
{
	struct kc_vcpu *g = &((struct kvm_catchup *)p->state)->v[v->id];

	g->last_guest_tsc = g->offset + host_tsc(p->vm->host, v->pcpu, t);
}

static uint64_t kc_guest_tsc(struct policy *p, const struct vcpu *v, sim_ns t)
{
	const struct kc_vcpu *g = &((struct kvm_catchup *)p->state)->v[v->id];

	return g->offset + host_tsc(p->vm->host, v->pcpu, t);
}

/*
 * A TSC write (kvm_synchronize_tsc): the writing vCPU's TSC becomes `value` now and the
 * catch-up target restarts from it (this_tsc_write, this_tsc_nsec). The matching of a host
 * write to other vCPUs' writes is not modelled: the scenarios issue no writes.
 */
static void kc_on_tsc_write(struct policy *p, struct vcpu *v, uint64_t value,
			    enum tsc_writer who, sim_ns t)
{
	struct kc_vcpu *g = &((struct kvm_catchup *)p->state)->v[v->id];
	const struct host *h = p->vm->host;

	(void)who;
	g->offset = value - host_tsc(h, v->pcpu, t);
	g->last_guest_tsc = value;
	g->this_tsc_write = value;
	g->this_tsc_nsec = host_raw_ns(h, v->pcpu, t);
}

const struct policy_ops policy_kvm_catchup = {
	.version = POLICY_OPS_VERSION,
	.name = "kvm-catchup",
	.describe = "KVM on an unstable TSC: resume at the last guest TSC on every load, then catch "
		    "up to the host clock (tsc_catchup)",
	.state_size = sizeof(struct kvm_catchup),
	.options = kc_options,
	.promises = POLICY_MONOTONIC_VCPU,
	.init = kc_init,
	.fini = kc_fini,
	.on_load = kc_on_load,
	.on_entry = kc_on_entry,
	.on_exit = kc_on_exit,
	.guest_tsc = kc_guest_tsc,
	.on_tsc_write = kc_on_tsc_write,
};
