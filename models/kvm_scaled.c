/*
 * kvm_scaled.c: the `kvm-scaled` TSC policy: KVM giving the guest a TSC frequency (vm.tsc_freq)
 * other than the host's, with or without hardware TSC scaling.
 *
 * As KVM_SET_TSC_KHZ does it (arch/x86/kvm/x86.c, Linux 6.12; REFERENCE 1 and 6):
 *  - kvm_set_tsc_khz(vcpu, user_tsc_khz) compares the requested kHz with the host's calibrated
 *    tsc_khz: within [adjust_tsc_khz(tsc_khz, -250 ppm), adjust_tsc_khz(tsc_khz, +250 ppm)]
 *    (tsc_tolerance_ppm) it does not scale at all: the guest TSC runs at the host's rate while the
 *    guest is told (CPUID, kvmclock) the rate it asked for, so the difference shows as drift;
 *  - otherwise set_tsc_khz(): with hardware scaling (kvm_caps.has_tsc_control) the ratio is
 *    mul_u64_u32_div(1 << frac_bits, user_tsc_khz, tsc_khz), floor, refused when 0 or >= the
 *    maximum; Intel VMX 16.48 (the TSC multiplier), AMD SVM 8.32 (MSR_AMD64_TSC_RATIO). The
 *    hardware then computes guest = (host * ratio) >> frac_bits + offset (kvm_scale_tsc /
 *    __scale_tsc for KVM's own reads), so the ratio's floor is a rate error: below 1 ns/day with
 *    48 fraction bits, up to ~20 us/day with 32;
 *  - without hardware scaling a guest faster than the host gets tsc_catchup = tsc_always_catchup
 *    = 1: after every exit vcpu_enter_guest requests KVM_REQ_CLOCK_UPDATE, whose
 *    kvm_guest_time_update moves the offset forward to compute_guest_tsc(kernel_ns) (the guest
 *    rate applied to the host clock since the TSC write) when that is ahead. Between entries the
 *    guest TSC runs at the host's, slower, rate: it falls behind, then jumps forward at the next
 *    entry. A guest slower than the host cannot be given without scaling: set_tsc_khz warns
 *    "user requested TSC rate below hardware speed" and fails the ioctl (a VMM then refuses to
 *    start or runs the guest at the host rate); this policy runs it at the host rate, as within
 *    the tolerance. A ratio the hardware refuses is treated the same way.
 * The offset (in guest cycles) makes the guest TSC read 0 at guest boot on vCPU 0's CPU and is
 * one for the whole VM (KVM's matched writes at vCPU creation). Under software catch-up each
 * vCPU's offset moves forward on its own, while KVM's matching (the write generation) still
 * counts the vCPUs as matched.
 *
 * Trade-off: hardware scaling keeps the rate right to the ratio's quantum (and shows the host's
 * cross-CPU skew, scaled, like tsc-offset); the tolerance saves a multiplier at the cost of up to
 * 250 ppm (21.6 s/day) of drift; software catch-up keeps the long-run rate right but the guest
 * TSC runs slow between exits and jumps at entries.
 */
#include <stdlib.h>

#include "policy.h"
#include "timescale.h"

enum { HW_VMX, HW_SVM, HW_NONE };

enum ks_mode {
	KS_HOST_RATE, /* within tolerance, or refused: unscaled */
	KS_SCALED,    /* hardware ratio */
	KS_CATCHUP,   /* no hardware scaling, guest faster: tsc_always_catchup */
};

struct kvm_scaled {
	enum ks_mode mode;
	uint64_t ratio;          /* KS_SCALED: frac_bits fixed point */
	unsigned frac_bits;
	uint64_t *offset;        /* per vCPU, guest cycles; equal except under KS_CATCHUP */
	uint32_t mul;            /* virtual_tsc_mult: ns -> guest cycles (KS_CATCHUP) */
	int8_t shift;            /* virtual_tsc_shift */
	uint64_t boot_ns;        /* this_tsc_nsec: host raw clock at guest boot (this_tsc_write 0) */
};

static const struct opt_desc ks_options[] = {
	{ "hw", OPT_ENUM, "vmx", "vmx|svm|none",
	  "hardware TSC scaling: Intel 16.48 ratio, AMD 8.32 ratio, or none (software catch-up)" },
	{ 0 },
};

/* The guest TSC before the offset: the host TSC, scaled when the hardware scales it. */
static uint64_t base_tsc(const struct kvm_scaled *s, const struct host *h, unsigned cpu, sim_ns t)
{
	uint64_t host = host_tsc(h, cpu, t);

	return s->mode == KS_SCALED ? tsc_scale(host, s->ratio, s->frac_bits) : host;
}

static int ks_init(struct policy *p, const struct opt_set *opts)
{
	struct kvm_scaled *s = p->state;
	const struct host *h = p->vm->host;
	unsigned cpu = vm_vcpu(p->vm, 0)->pcpu;
	uint64_t guest_khz = p->vm->guest_tsc_hz / 1000, host_khz = h->raw.tsc_khz;
	int64_t hw = opt_get(opts, "hw");
	uint64_t offset;

	s->mode = KS_HOST_RATE;
	if (!kvm_tsc_within_tolerance(guest_khz, host_khz, KVM_TSC_TOLERANCE_PPM)) {
		if (hw == HW_VMX) {
			s->frac_bits = VMX_TSC_FRAC_BITS;
			if (tsc_ratio(guest_khz, host_khz, VMX_TSC_FRAC_BITS, VMX_TSC_RATIO_MAX,
				      &s->ratio))
				s->mode = KS_SCALED;
		} else if (hw == HW_SVM) {
			s->frac_bits = SVM_TSC_FRAC_BITS;
			if (tsc_ratio(guest_khz, host_khz, SVM_TSC_FRAC_BITS, SVM_TSC_RATIO_MAX,
				      &s->ratio))
				s->mode = KS_SCALED;
		} else if (guest_khz > host_khz) {
			s->mode = KS_CATCHUP;
		}
	}
	/* virtual_tsc_mult/shift = kvm_get_time_scale(user_tsc_khz * 1000, NSEC_PER_SEC). */
	kvm_get_time_scale(guest_khz * 1000, NS_PER_SEC, &s->shift, &s->mul);
	s->boot_ns = host_raw_ns(h, cpu, 0);
	s->offset = calloc(p->vm->nvcpus, sizeof(*s->offset));
	if (!s->offset)
		return VT_ENOMEM;
	offset = 0 - base_tsc(s, h, cpu, 0);
	for (unsigned i = 0; i < p->vm->nvcpus; i++)
		s->offset[i] = offset;
	return VT_OK;
}

static void ks_fini(struct policy *p)
{
	struct kvm_scaled *s = p->state;

	free(s->offset);
}

/* tsc_always_catchup: the clock update at every entry moves the offset forward to
 * compute_guest_tsc(kernel_ns) when that is ahead (signed difference, as in kvm-catchup). */
static void ks_on_entry(struct policy *p, struct vcpu *v, unsigned pcpu, sim_ns t)
{
	struct kvm_scaled *s = p->state;
	const struct host *h = p->vm->host;
	uint64_t now, ns, target;

	if (s->mode != KS_CATCHUP)
		return;
	now = s->offset[v->id] + host_tsc(h, pcpu, t);
	ns = host_raw_ns(h, pcpu, t);
	if (ns < s->boot_ns)
		return;
	target = pvclock_scale_delta(ns - s->boot_ns, s->mul, s->shift);
	if ((int64_t)(target - now) > 0)
		s->offset[v->id] += target - now;
}

static uint64_t ks_guest_tsc(struct policy *p, const struct vcpu *v, sim_ns t)
{
	const struct kvm_scaled *s = p->state;

	return base_tsc(s, p->vm->host, v->pcpu, t) + s->offset[v->id];
}

/* A TSC write sets this vCPU's offset so that it reads `value` now (a host write would match
 * the others; the scenarios issue none). */
static void ks_on_tsc_write(struct policy *p, struct vcpu *v, uint64_t value, enum tsc_writer who,
			    sim_ns t)
{
	struct kvm_scaled *s = p->state;

	(void)who;
	s->offset[v->id] = value - base_tsc(s, p->vm->host, v->pcpu, t);
}

const struct policy_ops policy_kvm_scaled = {
	.version = POLICY_OPS_VERSION,
	.name = "kvm-scaled",
	.describe = "KVM with another guest TSC frequency: VMX/SVM ratio, 250 ppm tolerance, or "
		    "software catch-up (kvm_set_tsc_khz)",
	.state_size = sizeof(struct kvm_scaled),
	.options = ks_options,
	.promises = POLICY_ONE_GENERATION | POLICY_SCALES_TSC,
	.init = ks_init,
	.fini = ks_fini,
	.on_entry = ks_on_entry,
	.guest_tsc = ks_guest_tsc,
	.on_tsc_write = ks_on_tsc_write,
};
