/*
 * tsc_offset.c: the `tsc-offset` TSC policy: KVM on a trusted TSC, one offset per vCPU that its
 * write matching keeps equal across the VM.
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
 * initial host CPU): offset = -host_tsc(cpu, 0) mod 2^64, reached through KVM's own creation
 * writes (kvm_arch_vcpu_postcreate -> kvm_synchronize_tsc(vcpu, NULL): value 0, every vCPU).
 *
 * Each vCPU keeps its own offset (KVM's vcpu->arch.l1_tsc_offset) because host writes of the TSC
 * MSR and of the KVM_VCPU_TSC_OFFSET attribute go through KVM's matching (models/migrate.h):
 * a write that matches the current generation takes its offset, one that does not opens a new
 * generation, and only then do vCPUs hold different offsets. Without writes every offset is the
 * creation offset, bit for bit what the single VM-wide offset of earlier versions gave.
 */
#include <stdlib.h>

#include "migrate.h"
#include "policy.h"

struct tsc_offset {
	uint64_t *offset;   /* [nvcpus] guest - host TSC, cycles mod 2^64 (l1_tsc_offset) */
	uint64_t *gen;      /* [nvcpus] this_tsc_generation of each vCPU (match.vcpu_gen) */
	struct kvm_tsc_match match; /* KVM's kvm->arch TSC matching state */
	bool restore;       /* restore = value: the VMM writes the TSC saved at a pause back */
	uint64_t saved;     /* the guest TSC the VMM read at the pause, cycles */
	bool adjusted;      /* a backwards host TSC was compensated ... */
	sim_ns adjusted_at; /* ... at this instant (all CPUs reset together: adjust once) */
};

/* The guest frequency every vCPU has (vcpu->arch.virtual_tsc_khz), kHz: the frequency the guest
 * is told, truncated to kHz as KVM_SET_TSC_KHZ takes it (vm.tsc_freq <= 100 GHz fits u32). */
static uint32_t guest_khz(const struct policy *p)
{
	return (uint32_t)(p->vm->guest_tsc_hz / 1000u);
}

/*
 * KVM's creation writes at t on the VM's current host (init: the source at 0; on_migrate: the
 * destination): kvm_arch_vcpu_postcreate calls kvm_synchronize_tsc(vcpu, NULL) for each vCPU in
 * creation order, a host-initiated write of 0 that is not userspace's (user_set_tsc untouched).
 * All writes are taken in one go on the creating thread, on vCPU 0's CPU: raw = that CPU's TSC
 * at t (cycles), host_ns its CLOCK_MONOTONIC_RAW (KVM's get_kvmclock_base_ns, ns). The first
 * write opens a generation with offset 0 - raw; the others, writes of 0 with the same kHz, are
 * synchronizing and matched: stable host, cur_tsc_offset; unstable, 0 + nsec_to_cycles(0) - raw.
 * Either way every vCPU gets 0 - raw, one generation.
 */
static void creation_writes(struct policy *p, sim_ns t)
{
	struct tsc_offset *s = p->state;
	const struct host *h = p->vm->host;
	unsigned cpu = vm_vcpu(p->vm, 0)->pcpu;
	uint64_t raw = host_tsc(h, cpu, t);
	uint64_t ns = host_raw_ns(h, cpu, t);

	kvm_tsc_match_init(&s->match, s->gen, p->vm->nvcpus);
	for (unsigned i = 0; i < p->vm->nvcpus; i++)
		kvm_tsc_write(&s->match, i, 0, raw, ns, guest_khz(p), h->tsc_stable, false,
			      &s->offset[i]);
}

static int tsco_init(struct policy *p, const struct opt_set *opts)
{
	struct tsc_offset *s = p->state;

	s->restore = opt_get(opts, "restore") == 1;
	s->offset = calloc(p->vm->nvcpus, sizeof(*s->offset));
	s->gen = calloc(p->vm->nvcpus, sizeof(*s->gen));
	if (!s->offset || !s->gen)
		return VT_ENOMEM;
	creation_writes(p, 0);
	return VT_OK;
}

static void tsco_fini(struct policy *p)
{
	struct tsc_offset *s = p->state;

	free(s->offset);
	free(s->gen);
}

static uint64_t tsco_guest_tsc(struct policy *p, const struct vcpu *v, sim_ns t)
{
	const struct tsc_offset *s = p->state;

	return host_tsc(p->vm->host, v->pcpu, t) + s->offset[v->id];
}

/*
 * A write of MSR_IA32_TSC through vCPU v at t (kvm_set_msr_common, x86.c, Linux 6.12):
 *  - host-initiated (KVM_SET_MSRS from the VMM): kvm_synchronize_tsc(vcpu, &data) with KVM's
 *    matching: raw = the host TSC of the CPU the ioctl runs on (v's, cycles), host_ns its
 *    CLOCK_MONOTONIC_RAW (ns); v's offset becomes what KVM writes (the generation's offset when
 *    matched on a stable host, value - raw otherwise) and the matching state moves on;
 *  - from the guest (WRMSR): KVM adds kvm_compute_l1_tsc_offset(vcpu, data) - l1_tsc_offset to
 *    this vCPU's offset only (adjust_tsc_offset_guest), i.e. offset = value - raw; the matching
 *    state and the vCPU's generation are untouched, so KVM keeps counting it as matched.
 */
static void tsco_on_tsc_write(struct policy *p, struct vcpu *v, uint64_t value, enum tsc_writer who,
			      sim_ns t)
{
	struct tsc_offset *s = p->state;
	const struct host *h = p->vm->host;
	uint64_t raw = host_tsc(h, v->pcpu, t);

	if (who == TSC_WRITE_GUEST) {
		s->offset[v->id] = value - raw;
		return;
	}
	kvm_tsc_write(&s->match, v->id, value, raw, host_raw_ns(h, v->pcpu, t), guest_khz(p),
		      h->tsc_stable, true, &s->offset[v->id]);
}

/* KVM_GET_DEVICE_ATTR(KVM_VCPU_TSC_OFFSET) and KVM_GET_TSC_KHZ: no scaling here, so the ratio is
 * VMX's 1.0 (kvm_caps.default_tsc_scaling_ratio = 1 << 48, 16.48 fixed point). */
static void tsco_get_tsc_attr(struct policy *p, const struct vcpu *v, sim_ns t,
			      struct tsc_attr *a)
{
	const struct tsc_offset *s = p->state;

	(void)t;
	a->offset = s->offset[v->id];
	a->ratio = 1ULL << 48;
	a->frac_bits = 48;
	a->khz = guest_khz(p);
	a->host_khz = p->vm->host->raw.tsc_khz;
}

/*
 * KVM_SET_DEVICE_ATTR(KVM_VCPU_TSC_OFFSET) at t (kvm_arch_tsc_set_attr, x86.c, Linux 6.12):
 * matched when the kHz equals last_tsc_khz and the offset equals last_tsc_offset exactly; the
 * recorded write is tsc = raw + offset with raw the host TSC where the ioctl runs (v's CPU,
 * cycles). KVM writes the offset whether or not it matched.
 */
static void tsco_set_tsc_offset(struct policy *p, struct vcpu *v, uint64_t offset, sim_ns t)
{
	struct tsc_offset *s = p->state;
	const struct host *h = p->vm->host;

	kvm_tsc_set_offset(&s->match, v->id, offset, host_tsc(h, v->pcpu, t),
			   host_raw_ns(h, v->pcpu, t), guest_khz(p));
	s->offset[v->id] = offset;
}

/* KVM's nr_vcpus_matched_tsc + 1 == online_vcpus (kvm_track_tsc_matching, x86.c, 6.12). */
static bool tsco_one_generation(struct policy *p)
{
	const struct tsc_offset *s = p->state;

	return kvm_all_one_generation(&s->match, p->vm->nvcpus);
}

/* The destination KVM's fresh VM (kvm_arch_init_vm zeroes the matching state, then the vCPUs'
 * creation writes): at t every vCPU's offset is 0 - host_tsc(vCPU 0's CPU, t) on the destination,
 * so the guest TSC reads 0 there until the migration algorithm writes the saved state. */
static void tsco_on_migrate(struct policy *p, sim_ns t)
{
	struct tsc_offset *s = p->state;

	s->adjusted = false;
	creation_writes(p, t);
}

/*
 * A host TSC that went backwards (suspend resets it): KVM's kvm_arch_enable_virtualization_cpu
 * (x86.c, 6.12) finds the TSC below what it saw before and adds the difference (cycles) to every
 * vCPU's offset (tsc_offset_adjustment, applied at the next vcpu_load), so guest TSCs do not go
 * back (the suspended time is not counted), and marks the TSC unstable for good (the kvmclock
 * provider leaves master-clock mode). It also clears last_tsc_nsec and last_tsc_write ("we have
 * to disable TSC offset matching"), which only later host writes see. When every CPU resets at
 * one instant, the first decides (one adjustment for all).
 */
static void tsco_on_host_change(struct policy *p, const struct host_change *c, sim_ns t)
{
	struct tsc_offset *s = p->state;

	if (c->kind == HOST_CHANGE_RESET && c->after < c->before &&
	    !(s->adjusted && s->adjusted_at == t)) {
		for (unsigned i = 0; i < p->vm->nvcpus; i++)
			s->offset[i] += c->before - c->after;
		s->match.last_ns = 0;
		s->match.last_write = 0;
		s->adjusted = true;
		s->adjusted_at = t;
	}
}

/*
 * restore = value: a VMM that snapshots the VM (Firecracker, QEMU savevm) reads every vCPU's TSC
 * MSR at the pause and writes the values back at the restore. The writes come 60 s (the pause)
 * after the last, far outside KVM's +-1 s matching window, so KVM takes the value literally:
 * the guest TSC resumes where it was and the pause is lost to TSC readers (REFERENCE 10:
 * "64 s skew with raw TSC"). The vCPUs' writes match each other: one offset for the VM, computed
 * on vCPU 0's CPU, for every vCPU.
 *
 * This option models exactly that outcome and does not run the value writes through the window
 * test (a pause shorter than 1 s would match in KVM and keep the old offset): it writes the
 * offset to every vCPU as KVM_VCPU_TSC_OFFSET writes would (kvm_tsc_set_offset), so the matching
 * state records what KVM ends with after such writes: one new generation holding every vCPU, with
 * last_tsc_write the restored value.
 */
static void tsco_on_pause(struct policy *p, sim_ns t)
{
	struct tsc_offset *s = p->state;

	s->saved = host_tsc(p->vm->host, vm_vcpu(p->vm, 0)->pcpu, t) + s->offset[0];
}

static void tsco_on_resume(struct policy *p, sim_ns t)
{
	struct tsc_offset *s = p->state;
	const struct host *h = p->vm->host;
	unsigned cpu = vm_vcpu(p->vm, 0)->pcpu;
	uint64_t raw, ns, offset;

	if (!s->restore)
		return;
	raw = host_tsc(h, cpu, t);
	ns = host_raw_ns(h, cpu, t);
	offset = s->saved - raw;
	for (unsigned i = 0; i < p->vm->nvcpus; i++) {
		kvm_tsc_set_offset(&s->match, i, offset, raw, ns, guest_khz(p));
		s->offset[i] = offset;
	}
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
	.fini = tsco_fini,
	.guest_tsc = tsco_guest_tsc,
	.on_tsc_write = tsco_on_tsc_write,
	.on_host_change = tsco_on_host_change,
	.on_pause = tsco_on_pause,
	.on_resume = tsco_on_resume,
	.get_tsc_attr = tsco_get_tsc_attr,
	.set_tsc_offset = tsco_set_tsc_offset,
	.one_generation = tsco_one_generation,
	.on_migrate = tsco_on_migrate,
	.options = tsco_options,
};
