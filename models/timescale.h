/*
 * timescale.h: the host-side fixed-point time arithmetic of real hypervisors (REFERENCE 1, 2.3,
 * 2.4, 3): KVM's (shift, mul) pair for pvclock, the pvclock scaling itself, the Hyper-V reference
 * TSC page scale KVM derives from it, the hardware TSC scaling ratios of Intel VMX and AMD SVM and
 * KVM's decision not to scale within a tolerance. Pure functions of their arguments, no state.
 *
 * Units: frequencies in Hz (kvm_get_time_scale) or kHz (the ratio and tolerance functions, as
 * KVM's tsc_khz), TSC values in cycles, mul a 0.32 fixed-point fraction, ratios in 16.48 (VMX)
 * or 8.32 (SVM) fixed point, the Hyper-V scale in 64.64 fixed point of 100 ns units per cycle.
 */
#ifndef VT_TIMESCALE_H
#define VT_TIMESCALE_H

#include "vt.h"

/* Intel VMX TSC multiplier: 16.48 fixed point (1.0 = 2^48); KVM's KVM_VMX_TSC_MULTIPLIER_MAX. */
#define VMX_TSC_FRAC_BITS 48u
#define VMX_TSC_RATIO_MAX UINT64_MAX
/* AMD SVM TSC ratio MSR: 8.32 fixed point (1.0 = 2^32), bits 63:40 reserved; KVM's
 * SVM_TSC_RATIO_MAX. */
#define SVM_TSC_FRAC_BITS 32u
#define SVM_TSC_RATIO_MAX 0xffffffffffULL
/* KVM's default tsc_tolerance_ppm (module parameter of kvm.ko, arch/x86/kvm/x86.c). */
#define KVM_TSC_TOLERANCE_PPM 250u

/*
 * (shift, mul) such that x ticks at base_hz are ((x shifted by shift) * mul) >> 32 units at
 * scaled_hz, as KVM's kvm_get_time_scale (arch/x86/kvm/x86.c, Linux 6.12). The result runs slow
 * (mul is a floor). Domain: 1 <= scaled_hz < 2^63 and base_hz >= 1; outside it (where KVM would
 * loop forever) the result is shift 0, mul 0.
 */
void kvm_get_time_scale(uint64_t scaled_hz, uint64_t base_hz, int8_t *shift, uint32_t *mul);

/*
 * floor(((delta shifted by shift) * mul) / 2^32) mod 2^64, as Linux's pvclock_scale_delta
 * (arch/x86/include/asm/pvclock.h, 6.12); a shift by 64 or more either way gives 0.
 */
uint64_t pvclock_scale_delta(uint64_t delta, uint32_t mul, int8_t shift);

/*
 * The Hyper-V reference TSC page scale from kvmclock's (mul, shift), as KVM's
 * compute_tsc_page_parameters (arch/x86/kvm/hyperv.c, 6.12): floor(2^(32+shift) * mul / 100).
 * False (the page stays invalid, sequence 0) when that is 2^64 or more, i.e. when
 * mul >= 100 << (32 - shift), and for shift < -32 where 2^(32+shift) is not an integer.
 */
bool hv_tsc_scale(uint32_t mul, int8_t shift, uint64_t *scale);

/*
 * The hardware TSC scaling ratio floor(2^frac_bits * guest_khz / host_khz), as KVM's
 * set_tsc_khz (arch/x86/kvm/x86.c, 6.12). False (KVM refuses the frequency) when the ratio is 0
 * or >= max_ratio, or host_khz is 0. frac_bits <= 63.
 */
bool tsc_ratio(uint64_t guest_khz, uint64_t host_khz, unsigned frac_bits, uint64_t max_ratio,
	       uint64_t *ratio);

/* The guest TSC before the offset: floor(host_tsc * ratio / 2^frac_bits) mod 2^64, as KVM's
 * kvm_scale_tsc / __scale_tsc (arch/x86/kvm/x86.c, 6.12) and the hardware. frac_bits <= 63. */
uint64_t tsc_scale(uint64_t host_tsc, uint64_t ratio, unsigned frac_bits);

/*
 * True when KVM would not scale a guest of guest_khz on a host of host_khz: guest_khz lies in
 * [adjust(host_khz, -ppm), adjust(host_khz, +ppm)] with adjust(k, p) = floor(k * (1e6 + p) / 1e6),
 * as kvm_set_tsc_khz and adjust_tsc_khz (arch/x86/kvm/x86.c, 6.12).
 */
bool kvm_tsc_within_tolerance(uint64_t guest_khz, uint64_t host_khz, unsigned ppm);

#endif /* VT_TIMESCALE_H */
