/*
 * migrate.c: the arithmetic of TSC and kvmclock migration declared in migrate.h: the old
 * documented KVM_VCPU_TSC_OFFSET formula and seed 004's algorithm (REFERENCE 6), the continuity
 * criterion, KVM's TSC write matching (REFERENCE 1) and KVM_SET_CLOCK.
 *
 * Sources: Documentation/virt/kvm/devices/vcpu.rst (KVM_VCPU_TSC_OFFSET, before and after seed
 * 004's patch); arch/x86/kvm/x86.c of Linux 6.12: kvm_synchronize_tsc, __kvm_synchronize_tsc,
 * kvm_arch_tsc_set_attr, kvm_vm_ioctl_set_clock, nsec_to_cycles. Every TSC sum is modulo 2^64 as
 * the hardware's offset addition is; products go through 128-bit intermediates and are exact.
 */
#include "migrate.h"

#include "timescale.h"

/*
 * floor(a / b) for b > 0, rounding toward minus infinity (C's / truncates toward zero, which for
 * a negative a is one too high whenever the division is inexact).
 */
static s128 floor_div(s128 a, s128 b)
{
	s128 q = a / b;

	if (a % b != 0 && a < 0)
		q--;
	return q;
}

/*
 * delta_ns ns * khz kHz = delta_ns * khz / 10^6 cycles (1 kHz = 10^3 cycles per 10^9 ns).
 * |delta_ns * khz| < 2^63 * 2^32 = 2^95: exact in s128. The quotient is below 2^76 in magnitude;
 * its low 64 bits (two's complement) are the value mod 2^64, the form a TSC sum wants.
 */
uint64_t migrate_ns_to_cycles(int64_t delta_ns, uint32_t khz)
{
	s128 cycles = floor_div((s128)delta_ns * (s128)khz, MIGRATE_KHZ_PER_CYCLE_PER_NS);

	return (uint64_t)(u128)cycles;
}

/* REFERENCE 1: guest_tsc = floor(host_tsc * ratio / 2^frac) + offset, mod 2^64. */
uint64_t migrate_guest_tsc(const struct migrate_side *side, const struct migrate_vcpu *v)
{
	return tsc_scale(side->host_tsc, v->ratio, v->frac_bits) + v->ofs;
}

/*
 * vcpu.rst (before seed 004), step 6:
 *   ofs_dst = ofs_src - (guest_src - guest_dest) * freq + (tsc_src - tsc_dest)
 * Rewritten as ofs_src + (guest_dest - guest_src) * freq + (tsc_src - tsc_dest) so the one
 * rounding (floor of the kvmclock span in cycles, migrate_ns_to_cycles) applies to the span as it
 * runs forward. The span guest_dst - guest_src is the u64 difference read as s64 (ns). The host TSC
 * difference is in host cycles added to guest cycles: right only without scaling (ratio 1.0),
 * which is the documentation's silent assumption.
 */
uint64_t migrate_old_doc_offset(const struct migrate_side *src, const struct migrate_side *dst,
				uint64_t ofs_src)
{
	int64_t kvmclock_span_ns = (int64_t)(dst->kvmclock_ns - src->kvmclock_ns);
	uint64_t span_cycles = migrate_ns_to_cycles(kvmclock_span_ns, src->guest_khz);

	return ofs_src + span_cycles + (src->host_tsc - dst->host_tsc);
}

/*
 * Seed 004 (the patch to vcpu.rst), per vCPU i; units and rounding of each step:
 *   2c: tsc_src = floor(host_tsc_src * ratio_src / 2^frac_src) + ofs_src     guest cycles, floor
 *    7: dT = realtime_dst - realtime_src                                      ns, s64 (u64 diff)
 *   8b: tsc_dst = tsc_src + floor(dT * freq_khz / 10^6)                       guest cycles, floor
 *   8c: raw_dst = floor(host_tsc_dst * ratio_dst / 2^frac_dst)                guest cycles, floor
 *   8d: ofs_dst = tsc_dst - raw_dst  (corrected)
 *       ofs_dst = tsc_dst + raw_dst  (as printed: "ofs_src[i] = tsc_dst[i] + raw_dst[i]")
 * With the corrected 8d the destination reads raw_dst + ofs_dst = tsc_dst at Tdst exactly. The
 * printed 8d reads tsc_dst + 2 * raw_dst: off by 2 * raw_dst mod 2^64.
 */
uint64_t migrate_seed004_offset(const struct migrate_side *src, const struct migrate_vcpu *vsrc,
				const struct migrate_side *dst, const struct migrate_vcpu *vdst,
				enum migrate_seed004 variant, uint64_t *raw_dst_out)
{
	uint64_t tsc_src = migrate_guest_tsc(src, vsrc);
	int64_t dt_ns = (int64_t)(dst->realtime_ns - src->realtime_ns);
	uint64_t tsc_dst = tsc_src + migrate_ns_to_cycles(dt_ns, src->guest_khz);
	uint64_t raw_dst = tsc_scale(dst->host_tsc, vdst->ratio, vdst->frac_bits);

	if (raw_dst_out != NULL)
		*raw_dst_out = raw_dst;
	if (variant == MIGRATE_SEED004_PRINTED)
		return tsc_dst + raw_dst;
	return tsc_dst - raw_dst;
}

/*
 * REFERENCE 6's criterion, measured at the destination's instant:
 *   got   = floor(host_tsc_dst * ratio_dst / 2^frac_dst) + ofs_dst          guest cycles
 *   ideal = tsc_src + floor(downtime_ns * guest_khz / 10^6)                  guest cycles
 * err = got - ideal mod 2^64, read as s64 (the conversion of an out-of-range u64 to s64 is
 * implementation-defined in C11; gcc and clang, the only compilers vt.h supports, wrap).
 */
int64_t migrate_continuity_error(const struct migrate_side *src, const struct migrate_vcpu *vsrc,
				 const struct migrate_side *dst, const struct migrate_vcpu *vdst,
				 uint64_t ofs_dst, int64_t downtime_ns)
{
	uint64_t got = tsc_scale(dst->host_tsc, vdst->ratio, vdst->frac_bits) + ofs_dst;
	uint64_t ideal = migrate_guest_tsc(src, vsrc) +
			 migrate_ns_to_cycles(downtime_ns, src->guest_khz);

	return (int64_t)(got - ideal);
}

/*
 * exact rate - ratio = (2^frac g - ratio h) / (h 2^frac) guest cycles per host cycle; times H,
 * rounded up. Both 2^frac g (< 2^95) and ratio h (< 2^96) fit u128; the excess e is below h <
 * 2^32 for KVM's floor ratio, so H e < 2^96. A ratio so low that e >= 2^64 (not KVM's) is
 * clamped to the all-ones bound rather than overflowing.
 */
uint64_t migrate_ratio_rounding(uint64_t host_cycles, uint64_t ratio, unsigned frac_bits,
				uint32_t guest_khz, uint32_t host_khz)
{
	u128 exact = (u128)guest_khz << frac_bits;
	u128 got = (u128)ratio * host_khz;
	u128 den = (u128)host_khz << frac_bits;
	u128 e, num;

	if (host_khz == 0 || got >= exact)
		return 0;
	e = exact - got;
	if (e >> 64 != 0)
		return UINT64_MAX;
	num = (u128)host_cycles * e;
	num = num / den + (num % den != 0 ? 1 : 0);
	return num >> 64 != 0 ? UINT64_MAX : (uint64_t)num;
}

/* |err| <= 1 + ratio_rounding, compared in s128 so neither INT64_MIN nor a huge bound wraps. */
bool migrate_continuity_ok(int64_t err, uint64_t ratio_rounding)
{
	s128 bound = (s128)1 + (s128)ratio_rounding;
	s128 e = err;

	return e <= bound && -e <= bound;
}

/* ---- KVM TSC write matching ------------------------------------------------------------------ */

void kvm_tsc_match_init(struct kvm_tsc_match *st, uint64_t *vcpu_gen, unsigned nvcpus)
{
	*st = (struct kvm_tsc_match){ .nvcpus = nvcpus, .vcpu_gen = vcpu_gen };
	for (unsigned i = 0; i < nvcpus; i++)
		vcpu_gen[i] = 0;
}

/*
 * KVM's nsec_to_cycles: pvclock_scale_delta(ns, virtual_tsc_mult, virtual_tsc_shift) with the
 * (shift, mult) kvm_set_tsc_khz computes, kvm_get_time_scale(khz * 1000, NSEC_PER_SEC): ns to
 * cycles at khz, floor, slow by at most about 2^-31 relative (timescale.h). khz 0 gives mult 0,
 * hence 0 cycles (KVM never converts for a vCPU without a frequency).
 */
static uint64_t kvm_nsec_to_cycles(uint64_t ns, uint32_t khz)
{
	int8_t shift;
	uint32_t mult;

	kvm_get_time_scale((uint64_t)khz * 1000u, NS_PER_SEC, &shift, &mult);
	return pvclock_scale_delta(ns, mult, shift);
}

/*
 * __kvm_synchronize_tsc: record the write (last_*), then either open a new generation with this
 * write's offset or, when matched, count the vCPU into the current one (KVM's
 * nr_vcpus_matched_tsc, which kvm_all_one_generation recomputes from vcpu_gen).
 */
static void track_write(struct kvm_tsc_match *st, unsigned vcpu, uint64_t offset, uint64_t tsc,
			uint64_t host_ns, uint32_t khz, bool matched)
{
	st->last_ns = host_ns;
	st->last_write = tsc;
	st->last_khz = khz;
	st->last_offset = offset;
	if (!matched) {
		st->cur_gen++;
		st->cur_offset = offset;
	}
	if (vcpu < st->nvcpus)
		st->vcpu_gen[vcpu] = st->cur_gen;
}

/*
 * kvm_synchronize_tsc (6.12). The window test is KVM's expression in u64:
 *   value < tsc_exp + hz && value + hz > tsc_exp
 * i.e. |value - tsc_exp| < hz cycles (1 s at khz) away from the wrap; kept wrapping as KVM's is.
 * offset = value - raw is kvm_compute_l1_tsc_offset (guest cycles, mod 2^64).
 */
bool kvm_tsc_write(struct kvm_tsc_match *st, unsigned vcpu, uint64_t value, uint64_t raw,
		   uint64_t host_ns, uint32_t khz, bool stable, bool user, uint64_t *offset_out)
{
	uint64_t elapsed_ns = host_ns - st->last_ns;
	uint64_t offset = value - raw;
	bool synchronizing = false;
	bool matched = false;

	if (khz != 0) {
		if (value == 0) {
			synchronizing = true;
		} else if (st->user_set) {
			uint64_t tsc_exp = st->last_write + kvm_nsec_to_cycles(elapsed_ns, khz);
			uint64_t hz = (uint64_t)khz * 1000u;

			synchronizing = value < tsc_exp + hz && value + hz > tsc_exp;
		}
	}
	if (user)
		st->user_set = true;
	if (synchronizing && khz == st->last_khz) {
		if (stable) {
			offset = st->cur_offset;
		} else {
			value += kvm_nsec_to_cycles(elapsed_ns, khz);
			offset = value - raw;
		}
		matched = true;
	}
	track_write(st, vcpu, offset, value, host_ns, khz, matched);
	if (offset_out != NULL)
		*offset_out = offset;
	return matched;
}

/* kvm_arch_tsc_set_attr, KVM_VCPU_TSC_OFFSET: exact-offset matching; tsc = raw + offset. */
bool kvm_tsc_set_offset(struct kvm_tsc_match *st, unsigned vcpu, uint64_t offset, uint64_t raw,
			uint64_t host_ns, uint32_t khz)
{
	bool matched = khz != 0 && st->last_khz == khz && st->last_offset == offset;

	st->user_set = true;
	track_write(st, vcpu, offset, raw + offset, host_ns, khz, matched);
	return matched;
}

/* Every vCPU carries the current generation, and some write has opened one. */
bool kvm_all_one_generation(const struct kvm_tsc_match *st, unsigned nvcpus)
{
	if (st->cur_gen == 0 || nvcpus > st->nvcpus)
		return false;
	for (unsigned i = 0; i < nvcpus; i++)
		if (st->vcpu_gen[i] != st->cur_gen)
			return false;
	return true;
}

/* ---- KVM_SET_CLOCK --------------------------------------------------------------------------- */

/*
 * kvm_vm_ioctl_set_clock: with KVM_CLOCK_REALTIME, "avoid stepping the kvmclock backwards":
 * data.clock += now_real_ns - data.realtime only when now_real_ns > data.realtime (u64 ns).
 */
uint64_t kvm_set_clock(uint64_t saved_clock_ns, uint64_t saved_real_ns, uint64_t now_real_ns,
		       bool realtime_flag)
{
	if (realtime_flag && now_real_ns > saved_real_ns)
		return saved_clock_ns + (now_real_ns - saved_real_ns);
	return saved_clock_ns;
}
