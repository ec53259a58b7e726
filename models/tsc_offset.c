/*
 * tsc_offset.c: the `tsc-offset` TSC policy: one constant offset for the whole VM.
 *
 * What KVM does on a host whose TSC it trusts (arch/x86/kvm/x86.c, Linux 6.12): at vCPU
 * creation kvm_synchronize_tsc() writes 0 and matches every later vCPU's write to the first, so
 * all vCPUs share one offset and one generation, and the guest TSC is the host TSC of whatever CPU
 * the vCPU runs on plus that offset, never rewritten on migration (RDTSC not trapped, no scaling
 * here). DragonFly's NVMM port does the same. On a host whose TSCs are synchronized this is
 * perfect; on a skewed host the guest sees the skew between host CPUs whenever a vCPU migrates
 * (a jump back or forward by the offset difference) and vCPUs disagree by it.
 *
 * The offset makes the guest TSC read 0 at guest boot on the CPU that created the VM (vCPU 0's
 * initial host CPU): offset = -host_tsc(cpu, 0) mod 2^64.
 */
#include "policy.h"

struct tsc_offset {
	uint64_t offset; /* guest - host, modulo 2^64 */
	bool restore;    /* restore = value: the VMM writes the TSC saved at a pause back */
	uint64_t saved;  /* the guest TSC the VMM read at the pause */
	bool adjusted;   /* a backwards host TSC was compensated ... */
	sim_ns adjusted_at; /* ... at this instant (all CPUs reset together: adjust once) */
};

static int tsco_init(struct policy *p, const struct opt_set *opts)
{
	struct tsc_offset *s = p->state;
	unsigned cpu = vm_vcpu(p->vm, 0)->pcpu;

	s->restore = opt_get(opts, "restore") == 1;
	s->offset = 0 - host_tsc(p->vm->host, cpu, 0);
	return VT_OK;
}

static uint64_t tsco_guest_tsc(struct policy *p, const struct vcpu *v, sim_ns t)
{
	const struct tsc_offset *s = p->state;

	return host_tsc(p->vm->host, v->pcpu, t) + s->offset;
}

/* KVM: a host-initiated write sets the offset VM-wide when it matches (REFERENCE 1); a guest
 * write moves this vCPU only, but the spine's scenarios issue none. */
static void tsco_on_tsc_write(struct policy *p, struct vcpu *v, uint64_t value, enum tsc_writer who,
			      sim_ns t)
{
	struct tsc_offset *s = p->state;

	(void)who;
	s->offset = value - host_tsc(p->vm->host, v->pcpu, t);
}

/*
 * A host TSC that went backwards (suspend resets it): KVM's kvm_arch_enable_virtualization_cpu
 * (x86.c, 6.12) finds the TSC below what it saw before and adds the difference to every vCPU's
 * offset, so guest TSCs do not go back (the suspended time is not counted), and marks the TSC
 * unstable for good (the kvmclock provider leaves master-clock mode). One VM-wide offset: when
 * every CPU resets at one instant, the first decides.
 */
static void tsco_on_host_change(struct policy *p, const struct host_change *c, sim_ns t)
{
	struct tsc_offset *s = p->state;

	if (c->kind == HOST_CHANGE_RESET && c->after < c->before &&
	    !(s->adjusted && s->adjusted_at == t)) {
		s->offset += c->before - c->after;
		s->adjusted = true;
		s->adjusted_at = t;
	}
}

/*
 * restore = value: a VMM that snapshots the VM (Firecracker, QEMU savevm) reads every vCPU's TSC
 * MSR at the pause and writes the values back at the restore. The writes come 60 s (the pause)
 * after the last, far outside KVM's +-1 s matching window, so KVM takes the value literally:
 * the guest TSC resumes where it was and the pause is lost to TSC readers (REFERENCE 10:
 * "64 s skew with raw TSC"). One VM-wide offset: the vCPUs' writes match each other.
 */
static void tsco_on_pause(struct policy *p, sim_ns t)
{
	struct tsc_offset *s = p->state;

	s->saved = host_tsc(p->vm->host, vm_vcpu(p->vm, 0)->pcpu, t) + s->offset;
}

static void tsco_on_resume(struct policy *p, sim_ns t)
{
	struct tsc_offset *s = p->state;

	if (s->restore)
		s->offset = s->saved - host_tsc(p->vm->host, vm_vcpu(p->vm, 0)->pcpu, t);
}

static const struct opt_desc tsco_options[] = {
	{ "restore", OPT_ENUM, "none", "none|value",
	  "after a pause: nothing (the TSC ran on), or the VMM writes back the TSC saved at the pause" },
	{ 0 },
};

const struct policy_ops policy_tsc_offset = {
	.version = POLICY_OPS_VERSION,
	.name = "tsc-offset",
	.describe = "KVM on a trusted TSC: one VM-wide offset, never rewritten (host skew shows)",
	.state_size = sizeof(struct tsc_offset),
	.promises = POLICY_ONE_GENERATION,
	.init = tsco_init,
	.guest_tsc = tsco_guest_tsc,
	.on_tsc_write = tsco_on_tsc_write,
	.on_host_change = tsco_on_host_change,
	.on_pause = tsco_on_pause,
	.on_resume = tsco_on_resume,
	.options = tsco_options,
};
