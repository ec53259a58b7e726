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
 * one for the whole VM (KVM's matched writes at vCPU creation, kvm_synchronize_tsc). Under
 * software catch-up each vCPU's offset moves forward on its own, while KVM's matching (the write
 * generation) still counts the vCPUs as matched.
 *
 * Migration (policy.h): host writes of the TSC MSR and of KVM_VCPU_TSC_OFFSET go through KVM's
 * matching (models/migrate.h) with raw = the scaled host TSC, and on_migrate redoes
 * KVM_SET_TSC_KHZ against the destination's tsc_khz (the mode may change: a 2.0 GHz guest is
 * unscaled on a 2.0 GHz source and scaled, or refused, on a 2.6 GHz destination) before the
 * destination's creation writes.
 *
 * Trade-off: hardware scaling keeps the rate right to the ratio's quantum (and shows the host's
 * cross-CPU skew, scaled, like tsc-offset); the tolerance saves a multiplier at the cost of up to
 * 250 ppm (21.6 s/day) of drift; software catch-up keeps the long-run rate right but the guest
 * TSC runs slow between exits and jumps at entries.
 */
#include <stdlib.h>

#include "migrate.h"
#include "policy.h"
#include "timescale.h"

enum { HW_VMX, HW_SVM, HW_NONE };

enum ks_mode {
	KS_HOST_RATE, /* within tolerance, or refused: unscaled */
	KS_SCALED,    /* hardware ratio */
	KS_CATCHUP,   /* no hardware scaling, guest faster: tsc_always_catchup */
};

/* One vCPU: its offset and its catch-up reference (KVM's vcpu->arch fields of the same role). */
struct ks_vcpu {
	uint64_t offset;         /* l1_tsc_offset, guest cycles mod 2^64; equal across vCPUs except
				    under KS_CATCHUP or after unmatched writes */
	uint64_t this_tsc_nsec;  /* host raw clock (ns) of its generation's first write */
	uint64_t this_tsc_write; /* guest TSC (cycles) that write wrote */
};

struct kvm_scaled {
	int hw;                  /* option hw: HW_VMX, HW_SVM or HW_NONE */
	enum ks_mode mode;
	uint64_t ratio;          /* frac_bits fixed point: the hardware ratio under KS_SCALED,
				    1.0 = 2^frac_bits otherwise (kvm_caps.default_tsc_scaling_ratio) */
	unsigned frac_bits;      /* 48 (hw = vmx or none) or 32 (svm) */
	struct ks_vcpu *v;       /* [nvcpus] */
	uint64_t *gen;           /* [nvcpus] this_tsc_generation (match.vcpu_gen) */
	struct kvm_tsc_match match; /* KVM's kvm->arch TSC matching state */
	uint64_t cur_tsc_nsec;   /* the current generation's first write: host raw ns ... */
	uint64_t cur_tsc_write;  /* ... and the guest TSC it wrote, cycles */
	uint32_t mul;            /* virtual_tsc_mult: ns -> guest cycles (KS_CATCHUP) */
	int8_t shift;            /* virtual_tsc_shift */
};

static const struct opt_desc ks_options[] = {
	{ "hw", OPT_ENUM, "vmx", "vmx|svm|none",
	  "hardware TSC scaling: Intel 16.48 ratio, AMD 8.32 ratio, or none (software catch-up)" },
	{ 0 },
};

/* The guest TSC before the offset: the host TSC, scaled when the hardware scales it (cycles). */
static uint64_t base_tsc(const struct kvm_scaled *s, const struct host *h, unsigned cpu, sim_ns t)
{
	uint64_t host = host_tsc(h, cpu, t);

	return s->mode == KS_SCALED ? tsc_scale(host, s->ratio, s->frac_bits) : host;
}

/* Every vCPU's virtual_tsc_khz: the guest frequency truncated to kHz (vm.tsc_freq <= 100 GHz). */
static uint32_t guest_khz(const struct policy *p)
{
	return (uint32_t)(p->vm->guest_tsc_hz / 1000u);
}

/*
 * KVM_SET_TSC_KHZ of want_khz (the guest's frequency, kHz) on a host whose calibrated tsc_khz is
 * host_khz (kHz) (kvm_set_tsc_khz and set_tsc_khz, x86.c, Linux 6.12): the mode and ratio, and
 * the catch-up constants virtual_tsc_mult/shift = kvm_get_time_scale(user_tsc_khz * 1000,
 * NSEC_PER_SEC) (ns -> guest cycles, floor). A ratio KVM refuses, and a guest slower than a host
 * without scaling, leave the unscaled 1.0.
 */
static void set_tsc_khz(struct kvm_scaled *s, uint64_t want_khz, uint64_t host_khz)
{
	uint64_t ratio;

	s->mode = KS_HOST_RATE;
	s->frac_bits = s->hw == HW_SVM ? SVM_TSC_FRAC_BITS : VMX_TSC_FRAC_BITS;
	s->ratio = 1ULL << s->frac_bits;
	if (!kvm_tsc_within_tolerance(want_khz, host_khz, KVM_TSC_TOLERANCE_PPM)) {
		if (s->hw == HW_VMX || s->hw == HW_SVM) {
			uint64_t max = s->hw == HW_VMX ? VMX_TSC_RATIO_MAX : SVM_TSC_RATIO_MAX;

			if (tsc_ratio(want_khz, host_khz, s->frac_bits, max, &ratio)) {
				s->ratio = ratio;
				s->mode = KS_SCALED;
			}
		} else if (want_khz > host_khz) {
			s->mode = KS_CATCHUP;
		}
	}
	kvm_get_time_scale(want_khz * 1000, NS_PER_SEC, &s->shift, &s->mul);
}

/*
 * After a write through vCPU id went through KVM's matching: __kvm_synchronize_tsc (x86.c, Linux
 * 6.12) opens a generation on an unmatched write, recording cur_tsc_nsec / cur_tsc_write as this
 * write's host ns and value (kvm_tsc_match's last_ns / last_write right after it), and sets the
 * vCPU's this_tsc_nsec / this_tsc_write to the generation's, matched or not. compute_guest_tsc
 * then counts the catch-up target from there: a host write restarts the catch-up of every vCPU
 * that joins its generation at the generation's first write (ns, cycles).
 */
static void track_generation(struct kvm_scaled *s, unsigned id, bool matched)
{
	if (!matched) {
		s->cur_tsc_nsec = s->match.last_ns;
		s->cur_tsc_write = s->match.last_write;
	}
	s->v[id].this_tsc_nsec = s->cur_tsc_nsec;
	s->v[id].this_tsc_write = s->cur_tsc_write;
}

/*
 * KVM's creation writes at t on the VM's current host: kvm_arch_vcpu_postcreate ->
 * kvm_synchronize_tsc(vcpu, NULL) for each vCPU in order, value 0, not userspace's; raw = the
 * scaled TSC of vCPU 0's CPU at t (kvm_scale_tsc(rdtsc(), l1_tsc_scaling_ratio), cycles), host_ns
 * its raw clock (ns). Every vCPU gets 0 - raw and one generation, whose first write (host_ns, 0)
 * is every vCPU's catch-up reference.
 */
static void creation_writes(struct policy *p, sim_ns t)
{
	struct kvm_scaled *s = p->state;
	const struct host *h = p->vm->host;
	unsigned cpu = vm_vcpu(p->vm, 0)->pcpu;
	uint64_t raw = base_tsc(s, h, cpu, t);
	uint64_t ns = host_raw_ns(h, cpu, t);

	kvm_tsc_match_init(&s->match, s->gen, p->vm->nvcpus);
	for (unsigned i = 0; i < p->vm->nvcpus; i++) {
		bool matched = kvm_tsc_write(&s->match, i, 0, raw, ns, guest_khz(p),
					     h->tsc_stable, false, &s->v[i].offset);

		track_generation(s, i, matched);
	}
}

static int ks_init(struct policy *p, const struct opt_set *opts)
{
	struct kvm_scaled *s = p->state;

	s->hw = (int)opt_get(opts, "hw");
	set_tsc_khz(s, p->vm->guest_tsc_hz / 1000, p->vm->host->raw.tsc_khz);
	s->v = calloc(p->vm->nvcpus, sizeof(*s->v));
	s->gen = calloc(p->vm->nvcpus, sizeof(*s->gen));
	if (!s->v || !s->gen)
		return VT_ENOMEM;
	creation_writes(p, 0);
	return VT_OK;
}

static void ks_fini(struct policy *p)
{
	struct kvm_scaled *s = p->state;

	free(s->v);
	free(s->gen);
}

/* tsc_always_catchup: the clock update at every entry moves the offset forward to
 * compute_guest_tsc(kernel_ns) = pvclock_scale_delta(kernel_ns - this_tsc_nsec, virtual_tsc_mult,
 * virtual_tsc_shift) + this_tsc_write (cycles) when that is ahead (signed difference, as in
 * kvm-catchup). */
static void ks_on_entry(struct policy *p, struct vcpu *v, unsigned pcpu, sim_ns t)
{
	struct kvm_scaled *s = p->state;
	struct ks_vcpu *g = &s->v[v->id];
	const struct host *h = p->vm->host;
	uint64_t now, ns, target;

	if (s->mode != KS_CATCHUP)
		return;
	now = g->offset + host_tsc(h, pcpu, t);
	ns = host_raw_ns(h, pcpu, t);
	if (ns < g->this_tsc_nsec)
		return;
	target = pvclock_scale_delta(ns - g->this_tsc_nsec, s->mul, s->shift) + g->this_tsc_write;
	if ((int64_t)(target - now) > 0)
		g->offset += target - now;
}

static uint64_t ks_guest_tsc(struct policy *p, const struct vcpu *v, sim_ns t)
{
	const struct kvm_scaled *s = p->state;

	return base_tsc(s, p->vm->host, v->pcpu, t) + s->v[v->id].offset;
}

/*
 * A write of MSR_IA32_TSC through vCPU v at t (kvm_set_msr_common, x86.c, Linux 6.12), raw = the
 * scaled host TSC of v's CPU (cycles):
 *  - host-initiated: kvm_synchronize_tsc with KVM's matching (host_ns = v's CPU's raw clock, ns),
 *    v's offset becomes what KVM writes, and v's catch-up reference its generation's first write;
 *  - from the guest: adjust_tsc_offset_guest moves v's offset alone to value - raw; matching
 *    state, generation and this_tsc_nsec / this_tsc_write are untouched.
 */
static void ks_on_tsc_write(struct policy *p, struct vcpu *v, uint64_t value, enum tsc_writer who,
			    sim_ns t)
{
	struct kvm_scaled *s = p->state;
	const struct host *h = p->vm->host;
	uint64_t raw = base_tsc(s, h, v->pcpu, t);
	bool matched;

	if (who == TSC_WRITE_GUEST) {
		s->v[v->id].offset = value - raw;
		return;
	}
	matched = kvm_tsc_write(&s->match, v->id, value, raw, host_raw_ns(h, v->pcpu, t),
				guest_khz(p), h->tsc_stable, true, &s->v[v->id].offset);
	track_generation(s, v->id, matched);
}

/* KVM_VCPU_TSC_OFFSET, seed 004's KVM_VCPU_TSC_SCALE (l1_tsc_scaling_ratio: 1.0 unless the
 * hardware scales) and KVM_GET_TSC_KHZ, against the current host's tsc_khz. */
static void ks_get_tsc_attr(struct policy *p, const struct vcpu *v, sim_ns t, struct tsc_attr *a)
{
	const struct kvm_scaled *s = p->state;

	(void)t;
	a->offset = s->v[v->id].offset;
	a->ratio = s->ratio;
	a->frac_bits = s->frac_bits;
	a->khz = guest_khz(p);
	a->host_khz = p->vm->host->raw.tsc_khz;
}

/* KVM_SET_DEVICE_ATTR(KVM_VCPU_TSC_OFFSET) (kvm_arch_tsc_set_attr, x86.c, Linux 6.12): exact
 * offset matching, recorded write raw + offset with raw the scaled TSC of v's CPU (cycles); the
 * offset is written either way, and the catch-up reference follows the generation. */
static void ks_set_tsc_offset(struct policy *p, struct vcpu *v, uint64_t offset, sim_ns t)
{
	struct kvm_scaled *s = p->state;
	const struct host *h = p->vm->host;
	bool matched = kvm_tsc_set_offset(&s->match, v->id, offset, base_tsc(s, h, v->pcpu, t),
					  host_raw_ns(h, v->pcpu, t), guest_khz(p));

	s->v[v->id].offset = offset;
	track_generation(s, v->id, matched);
}

/* KVM's nr_vcpus_matched_tsc + 1 == online_vcpus (kvm_track_tsc_matching, x86.c, 6.12). */
static bool ks_one_generation(struct policy *p)
{
	const struct kvm_scaled *s = p->state;

	return kvm_all_one_generation(&s->match, p->vm->nvcpus);
}

/* The destination's fresh VM at t: the VMM's KVM_SET_TSC_KHZ (the VM ioctl, kvm->arch
 * default_tsc_khz, taken by every vCPU at kvm_arch_vcpu_create) against the destination's
 * tsc_khz, then the creation writes: the guest TSC reads 0 at t on vCPU 0's CPU. */
static void ks_on_migrate(struct policy *p, sim_ns t)
{
	struct kvm_scaled *s = p->state;

	set_tsc_khz(s, p->vm->guest_tsc_hz / 1000, p->vm->host->raw.tsc_khz);
	creation_writes(p, t);
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
	.get_tsc_attr = ks_get_tsc_attr,
	.set_tsc_offset = ks_set_tsc_offset,
	.one_generation = ks_one_generation,
	.on_migrate = ks_on_migrate,
};
