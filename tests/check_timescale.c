/*
 * check_timescale.c: tests of models/timescale.c: KVM's kvm_get_time_scale against the table of
 * REFERENCE 2.3 and its properties on random frequencies, pvclock_scale_delta against an
 * independent reference on millions of random inputs, the Hyper-V TSC page scale and its overflow
 * rule, the VMX and SVM TSC scaling ratios and the scaling itself, and KVM's tolerance band.
 */
#include <check.h>
#include <stdlib.h>

#include "timescale.h"

Suite *timescale_suite(void);

/* ---- helpers ---------------------------------------------------------------------------------- */

/* splitmix64 (Steele, Lea, Flood): a small generator whose state the caller owns. */
static uint64_t next_u64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi] (the tiny modulo bias does not matter for a test). */
static uint64_t next_in(uint64_t *state, uint64_t lo, uint64_t hi)
{
	return lo + next_u64(state) % (hi - lo + 1);
}

/*
 * pvclock_scale_delta computed another way, with 64-bit arithmetic only: the shift as a
 * multiplication by 2^shift modulo 2^64 or a division by 2^-shift, and the product as
 * (hi * 2^32 + lo) * mul / 2^32 = hi * mul + floor(lo * mul / 2^32), both terms exact in 64 bits
 * (the sum is below 2^64 since the whole is below 2^96 / 2^32).
 */
static uint64_t ref_scale_delta(uint64_t delta, uint32_t mul, int shift)
{
	uint64_t hi, lo;

	if (shift >= 64 || shift <= -64)
		delta = 0;
	else if (shift >= 0)
		delta *= (uint64_t)1 << shift;
	else
		delta /= (uint64_t)1 << -shift;
	hi = delta >> 32;
	lo = delta & 0xffffffffu;
	return hi * mul + ((lo * mul) >> 32);
}

/* ---- kvm_get_time_scale ----------------------------------------------------------------------- */

/* REFERENCE 2.3: tsc->ns for these TSC frequencies, and what 1 s of ticks reads as. */
static const struct {
	uint64_t khz;
	int8_t shift;
	uint32_t mul;
	uint64_t one_second_ns;
} time_scale_table[] = {
	{ 1000000, 1, 0x80000000u, 1000000000 },
	{ 2345678, -1, 0xda461657u, 999999999 },
	{ 2500000, -1, 0xccccccccu, 999999999 },
	{ 3000000, -1, 0xaaaaaaaau, 999999999 },
	{ 3400000, -1, 0x96969696u, 999999999 },
	{ 100000, 4, 0xa0000000u, 1000000000 },
	{ 10000000, -3, 0xccccccccu, 999999999 },
};

START_TEST(test_time_scale_table)
{
	uint64_t hz = time_scale_table[_i].khz * 1000;
	int8_t shift;
	uint32_t mul;

	kvm_get_time_scale(NS_PER_SEC, hz, &shift, &mul);
	ck_assert_int_eq(shift, time_scale_table[_i].shift);
	ck_assert_uint_eq(mul, time_scale_table[_i].mul);
	ck_assert_uint_eq(pvclock_scale_delta(hz, mul, shift), time_scale_table[_i].one_second_ns);
}
END_TEST

/* ns->tsc (KVM's virtual_tsc_mult): known pairs, worked by hand through the three steps. */
START_TEST(test_time_scale_ns_to_tsc)
{
	int8_t shift;
	uint32_t mul;

	kvm_get_time_scale(2500000000ULL, NS_PER_SEC, &shift, &mul); /* 1e9 doubled twice: 4e9 */
	ck_assert_int_eq(shift, 2);
	ck_assert_uint_eq(mul, 0xa0000000u); /* 2.5e9 / 4e9 = 0.625 */
	ck_assert_uint_eq(pvclock_scale_delta(NS_PER_SEC, mul, shift), 2500000000ULL);
	kvm_get_time_scale(10000000000ULL, NS_PER_SEC, &shift, &mul); /* s halved twice, b doubled */
	ck_assert_int_eq(shift, 4);
	ck_assert_uint_eq(mul, 0xa0000000u);
	ck_assert_uint_eq(pvclock_scale_delta(NS_PER_SEC, mul, shift), 10000000000ULL);
	kvm_get_time_scale(3400000000ULL, NS_PER_SEC, &shift, &mul); /* floor: one cycle short */
	ck_assert_int_eq(shift, 2);
	ck_assert_uint_eq(mul, 0xd9999999u);
	ck_assert_uint_eq(pvclock_scale_delta(NS_PER_SEC, mul, shift), 3399999999ULL);
}
END_TEST

/* Edges: equal rates, extreme rates, the one case where mul is 2^31 - 1, the guarded domain. */
START_TEST(test_time_scale_edges)
{
	int8_t shift;
	uint32_t mul;

	kvm_get_time_scale(1, 1, &shift, &mul);
	ck_assert_int_eq(shift, 1);
	ck_assert_uint_eq(mul, 0x80000000u);
	kvm_get_time_scale(NS_PER_SEC, 1, &shift, &mul); /* a 1 Hz counter: b32 = 2^30 */
	ck_assert_int_eq(shift, 30);
	ck_assert_uint_eq(mul, 4000000000u);
	ck_assert_uint_eq(pvclock_scale_delta(1, mul, shift), NS_PER_SEC);
	kvm_get_time_scale(1, UINT64_MAX, &shift, &mul);
	ck_assert_int_eq(shift, -62);
	ck_assert_uint_eq(mul, 0x80000000u);
	kvm_get_time_scale((1ULL << 63) - 1, 1, &shift, &mul);
	ck_assert_int_eq(shift, 63);
	ck_assert_uint_eq(mul, 0xfffffffeu);
	kvm_get_time_scale((1ULL << 31) + 1, (1ULL << 31) + 1, &shift, &mul); /* s odd, halved */
	ck_assert_int_eq(shift, 1);
	ck_assert_uint_eq(mul, 0x7fffffffu);
	/* Outside the domain, where KVM would loop forever: shift 0, mul 0. */
	kvm_get_time_scale(0, NS_PER_SEC, &shift, &mul);
	ck_assert_int_eq(shift, 0);
	ck_assert_uint_eq(mul, 0);
	kvm_get_time_scale(NS_PER_SEC, 0, &shift, &mul);
	ck_assert_uint_eq(mul, 0);
	kvm_get_time_scale(1ULL << 63, 1, &shift, &mul);
	ck_assert_uint_eq(mul, 0);
}
END_TEST

/*
 * One million random TSC frequencies from 1 MHz to 10 GHz (any Hz, not only whole kHz): tsc->ns
 * converts 1 s of ticks to 1e9 - 1 or 1e9 ns, never more; ns->tsc converts 1e9 ns to at most hz
 * cycles and at most hz / 2^30 + 1 fewer; mul has at least 31 significant bits. For whole kHz
 * (KVM's inputs) the tsc->ns rate itself never exceeds the exact rate: 1 day of ticks reads at
 * most 86400e9 ns.
 */
START_TEST(test_time_scale_random)
{
	uint64_t st = 20251224;

	for (int i = 0; i < 1000000; i++) {
		uint64_t hz = next_in(&st, 1000000, 10000000000ULL);
		int8_t shift, shift2;
		uint32_t mul, mul2;
		uint64_t ns, ticks, day;

		if (i % 2)
			hz -= hz % 1000;
		kvm_get_time_scale(NS_PER_SEC, hz, &shift, &mul);
		ns = pvclock_scale_delta(hz, mul, shift);
		kvm_get_time_scale(hz, NS_PER_SEC, &shift2, &mul2);
		ticks = pvclock_scale_delta(NS_PER_SEC, mul2, shift2);
		day = pvclock_scale_delta(hz * 86400, mul, shift);
		if (ns > NS_PER_SEC || ns < NS_PER_SEC - 1 || mul < 0x7fffffffu || mul2 < 0x7fffffffu ||
		    ticks > hz || ticks < hz - (hz >> 30) - 1 ||
		    (hz % 1000 == 0 && day > 86400 * NS_PER_SEC))
			ck_abort_msg("hz %llu: tsc->ns shift %d mul %#x reads %llu; ns->tsc shift %d "
				     "mul %#x reads %llu; 1 day reads %llu",
				     (unsigned long long)hz, shift, mul, (unsigned long long)ns, shift2,
				     mul2, (unsigned long long)ticks, (unsigned long long)day);
	}
}
END_TEST

/* ---- pvclock_scale_delta ---------------------------------------------------------------------- */

/* Known values: the identity (mul 2^31, shift 1), truncation, wrap of the left shift. */
START_TEST(test_scale_delta_known)
{
	ck_assert_uint_eq(pvclock_scale_delta(12345, 0x80000000u, 1), 12345);
	ck_assert_uint_eq(pvclock_scale_delta(UINT64_MAX, 0xffffffffu, 0), 0xfffffffeffffffffULL);
	ck_assert_uint_eq(pvclock_scale_delta(3, 0x80000000u, 0), 1);          /* 1.5, floor */
	ck_assert_uint_eq(pvclock_scale_delta(7, 0x80000000u, -1), 1);         /* 7 >> 1 = 3, 1.5 */
	ck_assert_uint_eq(pvclock_scale_delta(1ULL << 63, 0x80000000u, 1), 0); /* bit 63 shifted out */
	ck_assert_uint_eq(pvclock_scale_delta(UINT64_MAX, 0xffffffffu, 64), 0);
	ck_assert_uint_eq(pvclock_scale_delta(UINT64_MAX, 0xffffffffu, -64), 0);
	ck_assert_uint_eq(pvclock_scale_delta(UINT64_MAX, 0xffffffffu, -63), 0); /* 1 * mul >> 32 */
	ck_assert_uint_eq(pvclock_scale_delta(0, 0xffffffffu, 5), 0);
}
END_TEST

/*
 * Four million random (delta, mul, shift) against the reference: delta with every bit length
 * equally likely, mul uniform (and, one time in eight, an extreme), shift uniform in [-70, 70]
 * (so beyond +-63 too) and, half the time, in kvmclock's usual [-8, 8].
 */
START_TEST(test_scale_delta_random)
{
	uint64_t st = 77;

	for (int i = 0; i < 4000000; i++) {
		uint64_t delta = next_u64(&st) >> next_in(&st, 0, 63);
		uint32_t mul = (uint32_t)next_u64(&st);
		int shift = i % 2 ? (int)next_in(&st, 0, 16) - 8 : (int)next_in(&st, 0, 140) - 70;
		uint64_t got, want;

		if (i % 8 == 0)
			mul = i % 16 ? 0xffffffffu : 0x80000000u;
		got = pvclock_scale_delta(delta, mul, (int8_t)shift);
		want = ref_scale_delta(delta, mul, shift);
		if (got != want)
			ck_abort_msg("delta %llu mul %#x shift %d: got %llu, want %llu",
				     (unsigned long long)delta, mul, shift, (unsigned long long)got,
				     (unsigned long long)want);
	}
}
END_TEST

/* ---- Hyper-V TSC page scale ------------------------------------------------------------------- */

/*
 * Known values, from kvmclock's (mul, shift) at the REFERENCE 2.3 frequencies: 2^(32+shift) * mul
 * / 100, floor. At 1 GHz that is 2^64 / 100 (0.01 100-ns units per cycle); at 10 MHz it would be
 * exactly 2^64 (one unit per cycle): mul equals 100 << 25 and the page is refused.
 */
START_TEST(test_hv_scale_known)
{
	uint64_t scale;
	int8_t shift;
	uint32_t mul;

	ck_assert(hv_tsc_scale(0x80000000u, 1, &scale));
	ck_assert_uint_eq(scale, 0x28f5c28f5c28f5cULL); /* floor(2^64 / 100) */
	ck_assert(hv_tsc_scale(0xda461657u, -1, &scale));
	ck_assert_uint_eq(scale, 0x11763f3a28f5c28ULL);
	ck_assert(hv_tsc_scale(0xccccccccu, -1, &scale));
	ck_assert_uint_eq(scale, 0x10624dd2e147ae1ULL);
	ck_assert(hv_tsc_scale(0xaaaaaaaau, -1, &scale));
	ck_assert_uint_eq(scale, 0xda740da6666666ULL);
	ck_assert(hv_tsc_scale(0x96969696u, -1, &scale));
	ck_assert_uint_eq(scale, 0xc0c0c0c0000000ULL);
	ck_assert(hv_tsc_scale(0xa0000000u, 4, &scale)); /* 100 MHz: 0.1 unit per cycle */
	ck_assert_uint_eq(scale, 0x1999999999999999ULL);
	ck_assert(hv_tsc_scale(0xccccccccu, -3, &scale));
	ck_assert_uint_eq(scale, 0x4189374b851eb8ULL);

	kvm_get_time_scale(NS_PER_SEC, 10000000, &shift, &mul);
	ck_assert_int_eq(shift, 7);
	ck_assert_uint_eq(mul, 100u << 25);
	ck_assert(!hv_tsc_scale(mul, shift, &scale));
	ck_assert_uint_eq(scale, 0);
	kvm_get_time_scale(NS_PER_SEC, 10000001, &shift, &mul); /* 1 Hz faster: just valid */
	ck_assert(hv_tsc_scale(mul, shift, &scale));
	ck_assert_uint_eq(scale, 18446742226530016952ULL); /* 1 - 1.0e-7 */
	ck_assert(!hv_tsc_scale(100u, 32, &scale));  /* 2^64 exactly */
	ck_assert(hv_tsc_scale(99u, 32, &scale));
	ck_assert_uint_eq(scale, (uint64_t)(((u128)99 << 64) / 100));
	ck_assert(!hv_tsc_scale(0x80000000u, -33, &scale)); /* outside KVM's range */
	ck_assert(!hv_tsc_scale(1u, 64, &scale));
	ck_assert(hv_tsc_scale(0xffffffffu, -32, &scale));
	ck_assert_uint_eq(scale, 0xffffffffu / 100);
}
END_TEST

/*
 * The overflow rule as KVM writes it, mul >= 100 << (32 - shift) (defined for shift in
 * [-25, 31]), against hv_tsc_scale on random (mul, shift), with every valid scale checked as
 * mul * 2^(32+shift) = 100 * scale + r, 0 <= r < 100; and at each shift the two muls around the
 * boundary.
 */
START_TEST(test_hv_scale_rule)
{
	uint64_t st = 4242;

	for (int i = 0; i < 1000000; i++) {
		int shift = (int)next_in(&st, 0, 56) - 25;
		uint32_t mul = (uint32_t)next_u64(&st) >> next_in(&st, 0, 31);
		uint64_t scale;
		bool ok = hv_tsc_scale(mul, (int8_t)shift, &scale);
		bool kvm_refuses = mul >= (100ULL << (32 - shift));
		u128 product = (u128)mul << (32 + shift);

		if (ok == kvm_refuses || (ok && (product < (u128)scale * 100 ||
						 product - (u128)scale * 100 >= 100)))
			ck_abort_msg("mul %#x shift %d: ok %d scale %llu", mul, shift, ok,
				     (unsigned long long)scale);
	}
	for (int shift = 7; shift <= 31; shift++) {
		uint64_t max_mul = 100ULL << (32 - shift), scale;

		if (max_mul - 1 > UINT32_MAX)
			continue;
		ck_assert(hv_tsc_scale((uint32_t)(max_mul - 1), (int8_t)shift, &scale));
		if (max_mul <= UINT32_MAX)
			ck_assert(!hv_tsc_scale((uint32_t)max_mul, (int8_t)shift, &scale));
	}
}
END_TEST

/* ---- TSC scaling ratios ----------------------------------------------------------------------- */

/*
 * A 2.6 GHz guest on a 2.0 GHz host: 1.3 is 1.0100110011... in binary, so the 16.48 ratio is
 * 0x1_4cccc_cccc_ccc and the 8.32 ratio 0x1_4ccc_cccc (floors). One host second (2e9 cycles)
 * gives 2599999999 guest cycles with either; one host day (1.728e14 cycles) loses 0.49 of a
 * cycle under VMX (floor: 224639999999999) and 32186.7 cycles (12 us) under SVM.
 */
START_TEST(test_ratio_known)
{
	uint64_t r;

	ck_assert(tsc_ratio(2600000, 2000000, VMX_TSC_FRAC_BITS, VMX_TSC_RATIO_MAX, &r));
	ck_assert_uint_eq(r, 0x14cccccccccccULL);
	ck_assert_uint_eq(tsc_scale(2000000000ULL, r, VMX_TSC_FRAC_BITS), 2599999999ULL);
	ck_assert_uint_eq(tsc_scale(172800000000000ULL, r, VMX_TSC_FRAC_BITS), 224639999999999ULL);
	ck_assert(tsc_ratio(2600000, 2000000, SVM_TSC_FRAC_BITS, SVM_TSC_RATIO_MAX, &r));
	ck_assert_uint_eq(r, 0x14cccccccULL);
	ck_assert_uint_eq(tsc_scale(2000000000ULL, r, SVM_TSC_FRAC_BITS), 2599999999ULL);
	ck_assert_uint_eq(tsc_scale(172800000000000ULL, r, SVM_TSC_FRAC_BITS), 224639999967813ULL);
	/* Slower guest: 1.0 GHz on 3.0 GHz, 1/3 = 0.0101... */
	ck_assert(tsc_ratio(1000000, 3000000, VMX_TSC_FRAC_BITS, VMX_TSC_RATIO_MAX, &r));
	ck_assert_uint_eq(r, 0x555555555555ULL);
	ck_assert(tsc_ratio(1000000, 3000000, SVM_TSC_FRAC_BITS, SVM_TSC_RATIO_MAX, &r));
	ck_assert_uint_eq(r, 0x55555555ULL);
}
END_TEST

/* The identity ratio is exactly 1.0 and scales every TSC value, the largest too, to itself. */
START_TEST(test_ratio_identity)
{
	uint64_t st = 9, r;

	ck_assert(tsc_ratio(2345678, 2345678, VMX_TSC_FRAC_BITS, VMX_TSC_RATIO_MAX, &r));
	ck_assert_uint_eq(r, 1ULL << 48);
	ck_assert(tsc_ratio(2345678, 2345678, SVM_TSC_FRAC_BITS, SVM_TSC_RATIO_MAX, &r));
	ck_assert_uint_eq(r, 1ULL << 32);
	ck_assert_uint_eq(tsc_scale(UINT64_MAX, 1ULL << 48, VMX_TSC_FRAC_BITS), UINT64_MAX);
	ck_assert_uint_eq(tsc_scale(UINT64_MAX, 1ULL << 32, SVM_TSC_FRAC_BITS), UINT64_MAX);
	for (int i = 0; i < 100000; i++) {
		uint64_t t = next_u64(&st);

		if (tsc_scale(t, 1ULL << 48, 48) != t || tsc_scale(t, 1ULL << 32, 32) != t)
			ck_abort_msg("identity changed %llu", (unsigned long long)t);
	}
	/* Scaling wraps like the counter: (2^64 - 1) * 2 mod 2^64. */
	ck_assert_uint_eq(tsc_scale(UINT64_MAX, 2ULL << 48, VMX_TSC_FRAC_BITS), UINT64_MAX - 1);
}
END_TEST

/* KVM refuses ratio 0 and ratios at or above the maximum; one below the maximum is accepted. */
START_TEST(test_ratio_rejects)
{
	uint64_t r;

	ck_assert(!tsc_ratio(0, 2000000, VMX_TSC_FRAC_BITS, VMX_TSC_RATIO_MAX, &r));
	ck_assert_uint_eq(r, 0);
	ck_assert(!tsc_ratio(2000000, 0, VMX_TSC_FRAC_BITS, VMX_TSC_RATIO_MAX, &r));
	ck_assert(!tsc_ratio(1, 1ULL << 33, SVM_TSC_FRAC_BITS, SVM_TSC_RATIO_MAX, &r)); /* 0.5 ulp */
	ck_assert(tsc_ratio(1, 1ULL << 32, SVM_TSC_FRAC_BITS, SVM_TSC_RATIO_MAX, &r));   /* 1 ulp */
	ck_assert_uint_eq(r, 1);
	/* SVM: 8.32, maximum 2^40 - 1 (a guest 256 times the host is out of range). */
	ck_assert(tsc_ratio((1ULL << 40) - 2, 1ULL << 32, SVM_TSC_FRAC_BITS, SVM_TSC_RATIO_MAX, &r));
	ck_assert_uint_eq(r, SVM_TSC_RATIO_MAX - 1);
	ck_assert(!tsc_ratio((1ULL << 40) - 1, 1ULL << 32, SVM_TSC_FRAC_BITS, SVM_TSC_RATIO_MAX,
			     &r));
	ck_assert(!tsc_ratio(256 * 2000000ULL, 2000000, SVM_TSC_FRAC_BITS, SVM_TSC_RATIO_MAX, &r));
	ck_assert(tsc_ratio(255 * 2000000ULL, 2000000, SVM_TSC_FRAC_BITS, SVM_TSC_RATIO_MAX, &r));
	ck_assert_uint_eq(r, 255ULL << 32);
	/* VMX: 16.48, maximum 2^64 - 1: a guest 65536 times the host (ratio 2^64) is refused, not
	 * wrapped; 2^64 - 2 is the largest accepted. */
	ck_assert(!tsc_ratio(65536ULL * 1000, 1000, VMX_TSC_FRAC_BITS, VMX_TSC_RATIO_MAX, &r));
	ck_assert(!tsc_ratio(UINT64_MAX, 1ULL << 48, VMX_TSC_FRAC_BITS, VMX_TSC_RATIO_MAX, &r));
	ck_assert(tsc_ratio(UINT64_MAX - 1, 1ULL << 48, VMX_TSC_FRAC_BITS, VMX_TSC_RATIO_MAX, &r));
	ck_assert_uint_eq(r, UINT64_MAX - 1);
}
END_TEST

/* ---- KVM's tolerance -------------------------------------------------------------------------- */

/*
 * On a 2,000,000 kHz host with 250 ppm the band is [1999500, 2000500] kHz, both ends inside. On
 * 2,345,678 kHz the exact bounds 2345091.58 and 2346264.42 are floored: [2345091, 2346264], so
 * 2345091 (250.2 ppm below) is still within. 0 ppm accepts only the host's own frequency.
 */
START_TEST(test_tolerance)
{
	ck_assert_uint_eq(KVM_TSC_TOLERANCE_PPM, 250);
	ck_assert(kvm_tsc_within_tolerance(1999500, 2000000, KVM_TSC_TOLERANCE_PPM));
	ck_assert(!kvm_tsc_within_tolerance(1999499, 2000000, KVM_TSC_TOLERANCE_PPM));
	ck_assert(kvm_tsc_within_tolerance(2000500, 2000000, KVM_TSC_TOLERANCE_PPM));
	ck_assert(!kvm_tsc_within_tolerance(2000501, 2000000, KVM_TSC_TOLERANCE_PPM));
	ck_assert(kvm_tsc_within_tolerance(2000000, 2000000, KVM_TSC_TOLERANCE_PPM));
	ck_assert(kvm_tsc_within_tolerance(2345091, 2345678, KVM_TSC_TOLERANCE_PPM));
	ck_assert(!kvm_tsc_within_tolerance(2345090, 2345678, KVM_TSC_TOLERANCE_PPM));
	ck_assert(kvm_tsc_within_tolerance(2346264, 2345678, KVM_TSC_TOLERANCE_PPM));
	ck_assert(!kvm_tsc_within_tolerance(2346265, 2345678, KVM_TSC_TOLERANCE_PPM));
	ck_assert(kvm_tsc_within_tolerance(2345678, 2345678, 0));
	ck_assert(!kvm_tsc_within_tolerance(2345679, 2345678, 0));
	ck_assert(!kvm_tsc_within_tolerance(2345677, 2345678, 0));
	ck_assert(kvm_tsc_within_tolerance(0, 2345678, 1000000)); /* +-100%: from 0 */
	ck_assert(kvm_tsc_within_tolerance(2 * 2345678, 2345678, 1000000));
	ck_assert(!kvm_tsc_within_tolerance(2 * 2345678 + 1, 2345678, 1000000));
}
END_TEST

Suite *timescale_suite(void)
{
	Suite *s = suite_create("timescale");
	TCase *tc = tcase_create("time_scale");
	TCase *tr = tcase_create("ratio");

	tcase_add_loop_test(tc, test_time_scale_table, 0, (int)VT_ARRAY_SIZE(time_scale_table));
	tcase_add_test(tc, test_time_scale_ns_to_tsc);
	tcase_add_test(tc, test_time_scale_edges);
	tcase_add_test(tc, test_time_scale_random);
	tcase_add_test(tc, test_scale_delta_known);
	tcase_add_test(tc, test_scale_delta_random);
	tcase_add_test(tc, test_hv_scale_known);
	tcase_add_test(tc, test_hv_scale_rule);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	tcase_add_test(tr, test_ratio_known);
	tcase_add_test(tr, test_ratio_identity);
	tcase_add_test(tr, test_ratio_rejects);
	tcase_add_test(tr, test_tolerance);
	tcase_set_timeout(tr, 30);
	suite_add_tcase(s, tr);
	return s;
}
