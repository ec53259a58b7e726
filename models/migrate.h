/*
 * migrate.h: the arithmetic of moving a guest's TSC and kvmclock across a live migration or a
 * snapshot restore (REFERENCE 1 and 6, issue 6): the old documented KVM_VCPU_TSC_OFFSET formula,
 * seed 004's algorithm as printed and corrected, the continuity criterion that judges them, KVM's
 * TSC write matching (generations, master-clock eligibility) and KVM_SET_CLOCK with and without
 * KVM_CLOCK_REALTIME. Pure functions of their arguments; the only state is the matching state the
 * caller owns and passes in. Nothing here knows the engine; scenarios wire these in.
 *
 * Units: TSC values and offsets in cycles, u64 modulo 2^64 as the hardware adds them (an offset
 * is a guest-cycle count, "negative" offsets are their two's complement); host and guest times in
 * ns; frequencies in kHz as KVM_GET_TSC_KHZ reports them, so a frequency in cycles per ns is the
 * exact rational khz / 10^6; scaling ratios in fixed point with frac_bits fraction bits
 * (VMX 16.48, SVM 8.32; 1.0 = 2^frac_bits, see timescale.h).
 */
#ifndef VT_MIGRATE_H
#define VT_MIGRATE_H

#include "vt.h"

#define MIGRATE_KHZ_PER_CYCLE_PER_NS 1000000u /* 1 cycle per ns = 10^6 kHz */

/*
 * One host's view of the VM at its reference instant (Tsrc on the source, Tdst on the
 * destination), as the VMM reads it with KVM_GET_CLOCK and KVM_GET_TSC_KHZ (seed 004 steps 1, 4,
 * 6; the old documentation's steps 1, 3, 5).
 */
struct migrate_side {
	uint64_t host_tsc;     /* host TSC at the instant, cycles at the host's rate */
	uint64_t realtime_ns;  /* host CLOCK_REALTIME at the instant, ns since the epoch */
	uint64_t kvmclock_ns;  /* the VM's kvmclock at the instant, ns */
	uint32_t guest_khz;    /* the guest TSC frequency (KVM_GET_TSC_KHZ), kHz */
};

/* One vCPU on one side: KVM_VCPU_TSC_OFFSET and seed 004's KVM_VCPU_TSC_SCALE. */
struct migrate_vcpu {
	uint64_t ofs;          /* TSC offset, guest cycles, mod 2^64 */
	uint64_t ratio;        /* scaling ratio, 1.0 = 2^frac_bits (2^48 on VMX with no scaling) */
	unsigned frac_bits;    /* 48 (VMX) or 32 (SVM); <= 63 */
};

/* Seed 004's two readings (REFERENCE 6). */
enum migrate_seed004 {
	MIGRATE_SEED004_PRINTED,   /* step 8d as printed: ofs = tsc_dst[i] + raw_dst[i] */
	MIGRATE_SEED004_CORRECTED  /* what the algebra needs: ofs = tsc_dst[i] - raw_dst[i] */
};

/*
 * floor(delta_ns * khz / 10^6) mod 2^64: a signed span of ns converted to guest cycles at khz
 * (khz / 10^6 cycles per ns, exact rational), rounded toward minus infinity. Exact for any s64
 * span and u32 khz (the product is below 2^95 in an s128). A negative result is returned as its
 * two's complement, ready to be added to a TSC modulo 2^64.
 */
uint64_t migrate_ns_to_cycles(int64_t delta_ns, uint32_t khz);

/* The guest TSC a vCPU reads at a side's instant: floor(host_tsc * ratio / 2^frac) + ofs mod 2^64
 * (REFERENCE 1; seed 004 step 2c). */
uint64_t migrate_guest_tsc(const struct migrate_side *side, const struct migrate_vcpu *v);

/*
 * The old documented KVM_VCPU_TSC_OFFSET algorithm (Documentation/virt/kvm/devices/vcpu.rst
 * before seed 004; REFERENCE 6), ignoring scaling:
 *   ofs_dst = ofs_src - (guest_src - guest_dst) * freq + (tsc_src - tsc_dst)
 * with guest_* the kvmclock ns, tsc_* the host TSCs and freq = src->guest_khz / 10^6 cycles per ns.
 * The kvmclock span (guest_dst - guest_src) is converted by migrate_ns_to_cycles (floor), so
 * ofs_dst = ofs_src + floor((guest_dst - guest_src) * khz / 10^6) + tsc_src - tsc_dst, mod 2^64.
 * The span is taken as a signed s64 (kvmclock may have been set back).
 */
uint64_t migrate_old_doc_offset(const struct migrate_side *src, const struct migrate_side *dst,
				uint64_t ofs_src);

/*
 * Seed 004's algorithm for one vCPU (the patch to vcpu.rst, steps 2c, 7, 8b-8d), all mod 2^64:
 *   tsc_src = floor(host_tsc_src * ratio_src / 2^frac_src) + ofs_src         (2c, cycles)
 *   dT      = realtime_dst - realtime_src                                     (7, signed ns)
 *   tsc_dst = tsc_src + floor(dT * freq_khz / 10^6)                           (8b, cycles)
 *   raw_dst = floor(host_tsc_dst * ratio_dst / 2^frac_dst)                    (8c, cycles)
 *   ofs_dst = tsc_dst - raw_dst (corrected)  or  tsc_dst + raw_dst (printed)  (8d)
 * freq_khz is the source's guest_khz (KVM_GET_TSC_KHZ, which 8b calls freq[i]). The printed
 * variant's other slips are read as intended (REFERENCE 6): 8b's tsc_tsc[i] is tsc_src[i], its
 * dT * freq[i] is converted from kHz, and 8c's "at time Tsrc" uses host_tsc_dst.
 * raw_dst_out (may be NULL) receives raw_dst, which a test needs to predict the printed error.
 */
uint64_t migrate_seed004_offset(const struct migrate_side *src, const struct migrate_vcpu *vsrc,
				const struct migrate_side *dst, const struct migrate_vcpu *vdst,
				enum migrate_seed004 variant, uint64_t *raw_dst_out);

/*
 * The continuity error (REFERENCE 6) of one vCPU, in guest cycles, signed: the guest TSC the
 * destination gives at its instant, floor(dst->host_tsc * vdst->ratio / 2^frac) + ofs_dst, minus
 * the ideal, the guest TSC at the source instant plus the true downtime at the guest frequency,
 * migrate_guest_tsc(src, vsrc) + floor(downtime_ns * src->guest_khz / 10^6). The difference is
 * taken mod 2^64 and read as an s64 (a difference of 2^63 or more reads negative).
 * downtime_ns is true time between the two instants; it equals realtime_dst - realtime_src only
 * when the hosts' CLOCK_REALTIME agree.
 */
int64_t migrate_continuity_error(const struct migrate_side *src, const struct migrate_vcpu *vsrc,
				 const struct migrate_side *dst, const struct migrate_vcpu *vdst,
				 uint64_t ofs_dst, int64_t downtime_ns);

/*
 * The scaling ratio's rounding over host_cycles host cycles, in guest cycles: how far scaling H
 * host cycles by ratio falls short of the exact guest rate guest_khz / host_khz, rounded up:
 *   ceil(H * (2^frac * guest_khz - ratio * host_khz) / (host_khz * 2^frac))
 * For KVM's ratio floor(2^frac * g / h) (tsc_ratio) the shortfall per host cycle is below 2^-frac,
 * so this is at most ceil(H / 2^frac), and 0 when the ratio is exact (g == h, ratio 2^frac).
 * Exact in u128 (H < 2^64, the bracket below host_khz < 2^32 for KVM's ratio). 0 when ratio is
 * at or above the exact rate, or host_khz is 0. frac_bits <= 63.
 */
uint64_t migrate_ratio_rounding(uint64_t host_cycles, uint64_t ratio, unsigned frac_bits,
				uint32_t guest_khz, uint32_t host_khz);

/* The criterion (REFERENCE 6): |err| <= 1 cycle + ratio_rounding cycles. */
bool migrate_continuity_ok(int64_t err, uint64_t ratio_rounding);

/*
 * KVM's TSC write matching (REFERENCE 1; arch/x86/kvm/x86.c kvm_synchronize_tsc,
 * __kvm_synchronize_tsc and kvm_arch_tsc_set_attr, Linux 6.12). The VM-wide fields are KVM's
 * kvm->arch ones of the same meaning; vcpu_gen is the caller's array of nvcpus per-vCPU
 * generations (vcpu->arch.this_tsc_generation), 0 = never written (KVM writes every vCPU at
 * creation, so 0 never survives there).
 */
struct kvm_tsc_match {
	uint64_t last_write;   /* last_tsc_write: guest TSC value of the last write, cycles */
	uint64_t last_ns;      /* last_tsc_nsec: host kvmclock-base ns of the last write */
	uint32_t last_khz;     /* last_tsc_khz: the writing vCPU's guest frequency, kHz */
	uint64_t last_offset;  /* last_tsc_offset: the offset the last write set, cycles */
	uint64_t cur_gen;      /* cur_tsc_generation (0 before any write) */
	uint64_t cur_offset;   /* cur_tsc_offset: the offset that opened the generation, cycles */
	bool user_set;         /* user_set_tsc: userspace has set a TSC once */
	unsigned nvcpus;
	uint64_t *vcpu_gen;    /* [nvcpus], caller-owned */
};

/* Zeroes the state (KVM's at VM creation) and vcpu_gen[0..nvcpus). */
void kvm_tsc_match_init(struct kvm_tsc_match *st, uint64_t *vcpu_gen, unsigned nvcpus);

/*
 * A host-initiated write of guest TSC `value` to MSR_IA32_TSC of `vcpu` (KVM_SET_MSRS from
 * userspace; user = false for KVM's own write at vCPU creation, kvm_arch_vcpu_postcreate, which
 * passes value 0). raw is floor(host_tsc * ratio / 2^frac) of that vCPU at the write (cycles),
 * host_ns the host's kvmclock base (CLOCK_MONOTONIC_RAW + boot) at the write, khz the vCPU's
 * guest frequency, stable whether the host TSC is stable (!kvm_check_tsc_unstable()).
 * Synchronizing when khz != 0 and value == 0, or when userspace had already set a TSC and
 * tsc_exp - hz < value < tsc_exp + hz (KVM's u64 comparisons, wrapping as KVM's do) with
 * tsc_exp = last_write + nsec_to_cycles(host_ns - last_ns) and hz = khz * 1000 cycles;
 * nsec_to_cycles is KVM's pvclock_scale_delta with kvm_get_time_scale(khz * 1000, 10^9).
 * Matched when synchronizing and khz == last_khz: the offset becomes cur_offset (stable) or
 * value + nsec_to_cycles(elapsed) - raw (unstable: 6.12 adds the elapsed cycles to the value
 * written, which for a creation write of 0 is the elapsed cycles alone), and the vCPU joins the
 * current generation; otherwise offset = value - raw and a new generation starts. Every write
 * then records last_write (the value, plus the elapsed cycles when unstable and matched),
 * last_ns = host_ns, last_khz = khz and last_offset.
 * *offset_out gets the offset KVM writes. Returns whether the write matched.
 */
bool kvm_tsc_write(struct kvm_tsc_match *st, unsigned vcpu, uint64_t value, uint64_t raw,
		   uint64_t host_ns, uint32_t khz, bool stable, bool user, uint64_t *offset_out);

/*
 * A write of the KVM_VCPU_TSC_OFFSET attribute (kvm_arch_tsc_set_attr): matched only when khz is
 * not 0, equals last_khz and `offset` equals last_offset exactly; sets user_set. raw and host_ns as
 * for kvm_tsc_write. Returns whether it matched.
 */
bool kvm_tsc_set_offset(struct kvm_tsc_match *st, unsigned vcpu, uint64_t offset, uint64_t raw,
			uint64_t host_ns, uint32_t khz);

/* True when vCPUs 0..nvcpus-1 are all in the current generation (KVM's
 * nr_vcpus_matched_tsc + 1 == online_vcpus, which master-clock mode requires). */
bool kvm_all_one_generation(const struct kvm_tsc_match *st, unsigned nvcpus);

/*
 * KVM_SET_CLOCK (x86.c kvm_vm_ioctl_set_clock, 6.12): the kvmclock value (ns) the VM gets.
 * With realtime_flag (KVM_CLOCK_REALTIME) and now_real_ns > saved_real_ns: saved_clock_ns +
 * (now_real_ns - saved_real_ns) (mod 2^64, as KVM's u64 data.clock); otherwise saved_clock_ns
 * ("avoid stepping the kvmclock backwards": a destination realtime behind the source's adds 0).
 */
uint64_t kvm_set_clock(uint64_t saved_clock_ns, uint64_t saved_real_ns, uint64_t now_real_ns,
		       bool realtime_flag);

#endif /* VT_MIGRATE_H */
