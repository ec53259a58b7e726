/*
 * timescale.c: the fixed-point arithmetic hypervisors use on the host side to present time, as
 * declared in timescale.h: KVM's kvm_get_time_scale (REFERENCE 2.3), the pvclock scaling every
 * guest applies (2.4), the Hyper-V reference TSC page scale KVM derives from kvmclock's (3), and
 * the VMX/SVM hardware TSC scaling ratios with KVM's tolerance rule (1).
 *
 * Each function follows the named Linux 6.12 function step by step and states the rounding and
 * range of each step. Where the kernel's expression would be undefined or loop (inputs no caller
 * in the kernel passes), the comment says what we do instead. All arithmetic is integer; 128-bit
 * intermediates replace the kernel's mul_u64_u32_div / mul_u64_u64_shr helpers, which compute
 * the same exact products.
 */
#include "timescale.h"

#define PPM_ONE 1000000u /* parts per million in 1 */

/*
 * As KVM's kvm_get_time_scale (arch/x86/kvm/x86.c, Linux 6.12). It finds shift and a 32-bit mul
 * such that  scaled = ((base_ticks shifted by shift) * mul) >> 32,  with mul >= 2^31 - 1 (31 or
 * 32 significant bits) for the most precision a 32-bit multiplier allows.
 *
 * Step 1: halve b = base_hz (floor; shift -= 1 each) until b <= 2 * s and b < 2^32. b stays >= 1:
 *         a halving starts from b > 2s >= 2 or from b >= 2^32. At most 63 halvings.
 * Step 2: with b32 = b (exact, b < 2^32), while b32 <= s or s >= 2^32: halve s (floor) if
 *         s >= 2^32 or b32 has bit 31 set (doubling it would overflow), else double b32
 *         (exact); shift += 1 each. It ends with s < b32 < 2^32.
 * Step 3: mul = floor(s * 2^32 / b32) (the kernel's div_frac, a 64/32 divl): s << 32 < 2^64
 *         exactly, and the quotient < 2^32 because s < b32.
 * Rounding: step 3's floor makes the conversion slow by under 1/mul (about 2^-31) relative, and
 * so does step 2's halving of s (only when scaled_hz >= 2^31), by under 1/s. Step 1's halvings
 * drop low bits of base_hz, which makes it fast by under 1/b (b after step 1); they are exact for
 * KVM's inputs (kHz * 1000 = kHz * 8 * 125, needing at most 3 halvings below 2^35 Hz = 34 GHz),
 * so kvmclock runs slow, by under 1 ns per second for scaled_hz = 1e9 (REFERENCE 2.3). Whatever
 * the rounding, base_hz ticks convert to at most scaled_hz and, when s is never halved
 * (scaled_hz < 2^31), at least scaled_hz - 1: the reader truncates the ticks exactly as step 1
 * truncated b, so it computes floor(b32 * floor(s 2^32 / b32) / 2^32).
 * The shift stays within [-63, 63], so it fits the s8. The kernel computes 2 * s in 64 bits
 * (wrapping for s >= 2^63) and loops forever when scaled_hz or base_hz is 0 (b or b32 reaches
 * 0); no caller passes those, and we return shift 0, mul 0 for them instead.
 */
void kvm_get_time_scale(uint64_t scaled_hz, uint64_t base_hz, int8_t *shift, uint32_t *mul)
{
	uint64_t s = scaled_hz;
	uint64_t b = base_hz;
	uint32_t b32;
	int sh = 0;

	*shift = 0;
	*mul = 0;
	if (scaled_hz == 0 || scaled_hz >= (1ULL << 63) || base_hz == 0)
		return;
	while (b > 2 * s || (b >> 32) != 0) { /* 2 * s < 2^64: no wrap in our domain */
		b >>= 1;
		sh--;
	}
	b32 = (uint32_t)b;
	while (b32 <= s || (s >> 32) != 0) {
		if ((s >> 32) != 0 || (b32 & 0x80000000u) != 0)
			s >>= 1;
		else
			b32 <<= 1;
		sh++;
	}
	*shift = (int8_t)sh;
	*mul = (uint32_t)((s << 32) / b32);
}

/*
 * As Linux's pvclock_scale_delta (arch/x86/include/asm/pvclock.h, 6.12), which FreeBSD and NetBSD
 * replicate: delta is shifted first (left: exact mod 2^64, high bits lost; right: floor), then
 * multiplied by the 0.32 fraction mul: ((u128)delta * mul) >> 32 is below 2^96 >> 32 = 2^64, so
 * the final floor is exact, no wrap. A shift of 64 or more either way, undefined in C and never
 * produced by kvm_get_time_scale, gives delta 0.
 */
uint64_t pvclock_scale_delta(uint64_t delta, uint32_t mul, int8_t shift)
{
	if (shift <= -64 || shift >= 64)
		delta = 0;
	else if (shift < 0)
		delta >>= -shift;
	else
		delta <<= shift;
	return (uint64_t)(((u128)delta * mul) >> 32);
}

/*
 * As KVM's compute_tsc_page_parameters (arch/x86/kvm/hyperv.c, 6.12). kvmclock gives
 * ns = tsc * 2^shift * mul / 2^32, so 100 ns units per cycle are 2^shift * mul / (100 * 2^32),
 * and as a 64.64 fraction scale = 2^(32 + shift) * mul / 100, floor (mul_u64_u32_div: a 96-bit
 * product, floor division). The page is refused when scale >= 2^64; KVM tests that before
 * dividing as  mul >= 100 << (32 - shift), the same condition exactly (floor(x) >= 2^64 iff
 * x >= 2^64, since 2^64 is an integer).
 * Here: for -32 <= shift <= 63 the product mul << (32 + shift) < 2^32 * 2^95 fits 128 bits and
 * the quotient is exact; the kernel's shifts are defined only for -25 <= shift <= 31, where the
 * results agree bit for bit. shift < -32 (2^(32+shift) not an integer) or > 63 gives false.
 */
bool hv_tsc_scale(uint32_t mul, int8_t shift, uint64_t *scale)
{
	u128 v;

	*scale = 0;
	if (shift < -32 || shift > 63)
		return false;
	v = ((u128)mul << (32 + shift)) / 100; /* floor */
	if ((v >> 64) != 0)
		return false;
	*scale = (uint64_t)v;
	return true;
}

/*
 * As KVM's set_tsc_khz (arch/x86/kvm/x86.c, 6.12): ratio = mul_u64_u32_div(1 << frac_bits,
 * guest_khz, host_khz) = floor(2^frac_bits * guest_khz / host_khz), refused when 0 or >= the
 * vendor's maximum (VMX 2^64 - 1, SVM 0xffffffffff). The product is below 2^63 * 2^64 and exact
 * in 128 bits. The kernel keeps only the low 64 bits of the quotient (a ratio of 2^64 or more, a
 * VMX guest 65536 times faster than the host, would wrap there); we compare the exact quotient,
 * so such a ratio is refused.
 */
bool tsc_ratio(uint64_t guest_khz, uint64_t host_khz, unsigned frac_bits, uint64_t max_ratio,
	       uint64_t *ratio)
{
	u128 r;

	*ratio = 0;
	if (host_khz == 0 || frac_bits > 63)
		return false;
	r = ((u128)guest_khz << frac_bits) / host_khz; /* floor */
	if (r == 0 || r >= max_ratio)
		return false;
	*ratio = (uint64_t)r;
	return true;
}

/*
 * As KVM's kvm_scale_tsc / __scale_tsc (arch/x86/kvm/x86.c, 6.12), mul_u64_u64_shr(tsc, ratio,
 * frac_bits), and what VMX/SVM hardware computes: the full 128-bit product host_tsc * ratio,
 * shifted right by frac_bits (floor), truncated to 64 bits (mod 2^64, the counter wraps). With
 * the identity ratio 2^frac_bits this is host_tsc exactly, as KVM's shortcut returns.
 */
uint64_t tsc_scale(uint64_t host_tsc, uint64_t ratio, unsigned frac_bits)
{
	return (uint64_t)(((u128)host_tsc * ratio) >> (frac_bits & 127u));
}

/*
 * As KVM's kvm_set_tsc_khz with adjust_tsc_khz (arch/x86/kvm/x86.c, 6.12):
 *   thresh_lo = floor(host_khz * (1e6 - ppm) / 1e6),  thresh_hi = floor(host_khz * (1e6 + ppm)
 *   / 1e6); no scaling when thresh_lo <= guest_khz <= thresh_hi.
 * Both floors: the band is not symmetric to the kHz. The products are exact in 128 bits (the
 * kernel's u64 product is exact for its u32 kHz); the kernel then stores the thresholds as u32,
 * which matters only above 4.29 THz. ppm >= 1e6 makes thresh_lo 0 (the kernel's s32 factor would
 * go negative there).
 */
bool kvm_tsc_within_tolerance(uint64_t guest_khz, uint64_t host_khz, unsigned ppm)
{
	u128 lo = 0, hi;

	if (ppm < PPM_ONE)
		lo = (u128)host_khz * (PPM_ONE - ppm) / PPM_ONE;
	hi = (u128)host_khz * ((uint64_t)PPM_ONE + ppm) / PPM_ONE;
	return guest_khz >= lo && guest_khz <= hi;
}
