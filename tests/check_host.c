/*
 * check_host.c: tests of sim/host.c: the 64.64 TSC rate and segment evaluation against an exact
 * 128-bit reference, continuity across segment changes, Linux's mult/shift for the TSC, HPET and
 * ACPI PM clocksources, the host raw clock's drift as the calibration error predicts, the HPET's
 * continuity across its 32-bit wrap, the derived TSC stability rules one by one, and the coarse
 * clock's steps at ticks.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "host.h"
#include "rng.h"

Suite *host_suite(void);

#define E18 1000000000000000000ULL
#define SEC NS_PER_SEC

/* ---- the reference -------------------------------------------------------------------------- */

/*
 * The counter of a segment after dt ns, from first principles: the exact rate is R = A / 1e18
 * cycles per ns with A = hz * (1e9 + ppb). The model uses R' = I + F / 2^64 with
 * F = floor((A mod 1e18) 2^64 / 1e18); writing (A mod 1e18) 2^64 = F 1e18 + e (0 <= e < 1e18),
 * R - R' = e / (1e18 2^64), so dt R' = dt R - delta with delta = dt e / (1e18 2^64) in [0, 1)
 * for dt < 2^64. Hence floor(dt R') = floor(dt R) - 1 exactly when frac(dt R) < delta, that is
 * when (dt A mod 1e18) 2^64 < dt e, and floor(dt R) otherwise. All products fit 128 bits for
 * dt < 2^63 and A < 2^62.2 (hz <= 5e9, |ppb| <= 6e5).
 */
static uint64_t ref_count(uint64_t hz, int64_t ppb, uint64_t dt)
{
	u128 a = (u128)hz * (u128)((int64_t)NS_PER_SEC + ppb);
	u128 dta = (u128)dt * a;
	u128 floor_exact = dta / E18;
	u128 rem = dta % E18;
	u128 e = ((a % E18) << 64) % E18;
	bool below = (rem << 64) < (u128)dt * e;

	return (uint64_t)(floor_exact - (below ? 1 : 0)); /* modulo 2^64, as the counter */
}

/* A host configuration of ncpus (<= 4) CPUs at hz, everything else neutral; cpus[4] is the
 * caller's array, reset here, that the configuration points to. */
static struct host_cfg base_cfg(struct host_cpu_cfg *cpus, unsigned ncpus, uint64_t hz)
{
	struct host_cfg c = {
		.ncpus = ncpus,
		.cpu = cpus,
		.wander_interval = SEC,
		.clocksource = CS_AUTO,
		.tsc_stable = -1,
		.tsc_sync_tolerance = 300,
		.calibration_error_ppb = 0,
		.hpet_skew_ppb = 0,
		.hz = 1000,
	};

	for (unsigned i = 0; i < 4; i++)
		cpus[i] = (struct host_cpu_cfg){ .freq_hz = hz };
	return c;
}

/* ---- TSC segments ----------------------------------------------------------------------------- */

START_TEST(test_tsc_rate_known)
{
	uint64_t i, f;

	tsc_rate(2500000000ULL, 0, &i, &f); /* 2.5 cycles/ns */
	ck_assert_uint_eq(i, 2);
	ck_assert_uint_eq(f, 0x8000000000000000ULL);
	tsc_rate(1000000000ULL, 1000, &i, &f); /* 1.000001: floor(2^64 / 1e6) */
	ck_assert_uint_eq(i, 1);
	ck_assert_uint_eq(f, 18446744073709ULL);
	tsc_rate(3000000000ULL, -1000000000LL, &i, &f); /* -100%: stopped */
	ck_assert_uint_eq(i, 0);
	ck_assert_uint_eq(f, 0);
	tsc_rate(HPET_HZ, 0, &i, &f); /* 0.01431818 cycles/ns */
	ck_assert_uint_eq(i, 0);
	ck_assert_uint_eq(f, (uint64_t)(((u128)HPET_HZ << 64) / NS_PER_SEC));
}
END_TEST

/*
 * One million random segments: hz in [1e6, 5e9], ppb in [-600000, 600000], dt from 0 to 2^63 - 1
 * with every magnitude equally likely, tsc0 random and, one time in four, within 2^40 of 2^64
 * (the counter wraps).
 */
START_TEST(test_seg_eval_random)
{
	struct rng r;

	rng_seed(&r, 2718, 0);
	for (int i = 0; i < 1000000; i++) {
		uint64_t hz = 1000000 + rng_below(&r, 5000000000ULL - 1000000 + 1);
		int64_t ppb = (int64_t)rng_below(&r, 1200001) - 600000;
		uint64_t dt = i % 1000 ? rng_next(&r) >> (1 + rng_below(&r, 63)) : 0;
		uint64_t tsc0 = i % 4 ? rng_next(&r) : UINT64_MAX - rng_below(&r, 1ULL << 40);
		sim_ns t0 = rng_below(&r, 1ULL << 62);
		struct tsc_seg s = { .t0 = t0, .tsc0 = tsc0 };
		uint64_t got, want;

		tsc_rate(hz, ppb, &s.rate_int, &s.rate_frac);
		got = tsc_seg_eval(&s, t0 + dt);
		want = tsc0 + ref_count(hz, ppb, dt);
		if (got != want) /* assert only on failure: each Check assertion costs a pipe write */
			ck_assert_uint_eq(got, want);
	}
}
END_TEST

/*
 * A chain of 200,000 random segment changes on one CPU (rate changes, wander steps, resets), each
 * at a random later time (at least 1 ns later): the counter is continuous at a rate change or
 * wander step (the new segment starts from the old segment's value at t), equals the reset value at a reset, and later
 * values match the reference for the new segment's frequency and error.
 */
START_TEST(test_segment_changes)
{
	struct host_cpu_cfg cpus[4];
	struct host_cfg cfg = base_cfg(cpus, 1, 3000000000ULL);
	uint64_t hz = 3000000000ULL;
	int64_t ppb = 25000;
	struct host h;
	struct rng r;
	sim_ns t = 0;

	cpus[0].skew_ppb = ppb;
	cpus[0].offset = UINT64_MAX - 1000000; /* wraps after 0.3 ms */
	ck_assert_int_eq(host_init(&h, &cfg), VT_OK);
	rng_seed(&r, 31415, 0);
	for (int i = 0; i < 200000; i++) {
		sim_ns dt = rng_below(&r, 1ULL << 40); /* up to 18 minutes */
		sim_ns later = rng_below(&r, 1ULL << 40);
		uint64_t before, at, just_before, old_rate, later_got, later_want;
		bool ok;
		unsigned what = (unsigned)rng_below(&r, 3);

		t += dt + 1;
		before = host_tsc(&h, 0, t); /* the old segment at t */
		just_before = host_tsc(&h, 0, t - 1);
		old_rate = h.cpu[0].seg.rate_int;
		if (what == 0) {
			hz = 1000000 + rng_below(&r, 5000000000ULL);
			host_tsc_set_rate(&h, 0, t, hz);
		} else if (what == 1) {
			int64_t d = (int64_t)rng_below(&r, 2001) - 1000;

			if (ppb + d > 600000 || ppb + d < -600000)
				d = -d;
			ppb += d;
			host_tsc_wander(&h, 0, t, d);
		} else {
			before = rng_next(&r);
			host_tsc_reset(&h, 0, t, before);
		}
		at = host_tsc(&h, 0, t);
		later_got = host_tsc(&h, 0, t + later);
		later_want = at + ref_count(hz, ppb, later);
		/* continuous at a rate change or wander step: one ns earlier is at most one ns of
		 * cycles behind */
		ok = h.cpu[0].seg.t0 == t && at == before && later_got == later_want &&
		     h.cpu[0].freq_hz == hz && h.cpu[0].err_ppb == ppb &&
		     (what == 2 || at - just_before <= old_rate + 1);
		if (!ok) { /* assert only on failure, with the details */
			ck_assert_uint_eq(h.cpu[0].seg.t0, t);
			ck_assert_uint_eq(at, before);
			ck_assert_uint_eq(later_got, later_want);
			ck_assert_uint_eq(h.cpu[0].freq_hz, hz);
			ck_assert_int_eq(h.cpu[0].err_ppb, ppb);
			ck_assert_uint_le(at - just_before, old_rate + 1);
		}
	}
	host_free(&h);
}
END_TEST

/* ---- mult/shift ------------------------------------------------------------------------------ */

/*
 * Worked by hand from the algorithm (clocks_calc_mult_shift, Linux kernel/time/clocksource.c):
 *
 * TSC at 2,500,000 kHz (clocksource_register_khz, scale 1000, 64-bit mask): sec = (2^64 - 1) /
 * 2500000 / 1000 = 7.4e9, capped at 600; maxsec = 600000; 600000 * 2500000 = 1.5e12, >> 32 = 349
 * (9 bits), so sftacc = 23. mult = round(1e6 2^sft / 2.5e6) = 0.4 * 2^sft must be below 2^23:
 * sft = 24 gives 6710886.4 -> 6710886 (sft = 25 would give 13421773 >= 2^23).
 * TSC at 3,000,000 kHz: 600000 * 3e6 >> 32 = 419 (9 bits), sftacc 23; 2^24 / 3 = 5592405.33 ->
 * 5592405, shift 24.
 * TSC at 4,000,000 kHz: 600000 * 4e6 >> 32 = 558 (10 bits), sftacc 22; at 24, 2^24 / 4 = 2^22
 * does not fit 22 bits; at 23, 2097152 does: shift 23.
 * HPET (register_hz, 32-bit mask): sec = 0xffffffff / 14318180 = 299; 299 * 14318180 < 2^32, so
 * sftacc = 32; mult = 1e9 2^sft / 14318180 = 69.842 * 2^sft < 2^32 first at sft = 25:
 * 2343484437 (69.842 * 2^26 would be 4.69e9).
 * ACPI PM (24-bit mask, 3579545 Hz): sec = 16777215 / 3579545 = 4; sftacc 32; 279.37 * 2^sft
 * < 2^32 first at sft = 23: 2343484437 again (3579545 * 4 = 14318180).
 * Tiny: from = to = 1000, maxsec 1: sftacc 32; at 32, mult = 2^32 does not fit; at 31, 2^31.
 */
START_TEST(test_mult_shift_known)
{
	uint32_t mult, shift;

	host_calc_mult_shift(&mult, &shift, 2500000, 1000000, 600000);
	ck_assert_uint_eq(mult, 6710886);
	ck_assert_uint_eq(shift, 24);
	host_calc_mult_shift(&mult, &shift, 3000000, 1000000, 600000);
	ck_assert_uint_eq(mult, 5592405);
	ck_assert_uint_eq(shift, 24);
	host_calc_mult_shift(&mult, &shift, 4000000, 1000000, 600000);
	ck_assert_uint_eq(mult, 2097152);
	ck_assert_uint_eq(shift, 23);
	host_calc_mult_shift(&mult, &shift, (uint32_t)HPET_HZ, 1000000000, 299);
	ck_assert_uint_eq(mult, 2343484437U);
	ck_assert_uint_eq(shift, 25);
	host_calc_mult_shift(&mult, &shift, (uint32_t)ACPI_PM_HZ, 1000000000, 4);
	ck_assert_uint_eq(mult, 2343484437U);
	ck_assert_uint_eq(shift, 23);
	host_calc_mult_shift(&mult, &shift, 1000, 1000, 1);
	ck_assert_uint_eq(mult, 1U << 31);
	ck_assert_uint_eq(shift, 31);
}
END_TEST

/* host_init registers the clocksource it resolved with Linux's parameters. */
START_TEST(test_host_clocksources)
{
	struct host_cpu_cfg cpus[4];
	struct host_cfg cfg = base_cfg(cpus, 1, 2500000000ULL);
	struct host h;

	ck_assert_int_eq(host_init(&h, &cfg), VT_OK);
	ck_assert_int_eq(h.raw.cs, CS_TSC);
	ck_assert_uint_eq(h.raw.tsc_khz, 2500000);
	ck_assert_uint_eq(h.raw.mult, 6710886);
	ck_assert_uint_eq(h.raw.shift, 24);
	ck_assert_uint_eq(h.raw.mask, UINT64_MAX);
	ck_assert_uint_eq(h.tick_ns, 1000000);
	host_free(&h);

	cfg.clocksource = CS_HPET;
	ck_assert_int_eq(host_init(&h, &cfg), VT_OK);
	ck_assert_int_eq(h.raw.cs, CS_HPET);
	ck_assert_uint_eq(h.raw.mult, 2343484437U);
	ck_assert_uint_eq(h.raw.shift, 25);
	ck_assert_uint_eq(h.raw.mask, 0xffffffffULL);
	ck_assert_uint_eq(h.raw.tsc_khz, 2500000); /* calibrated all the same */
	host_free(&h);

	cfg.clocksource = CS_ACPI_PM;
	ck_assert_int_eq(host_init(&h, &cfg), VT_OK);
	ck_assert_uint_eq(h.raw.mult, 2343484437U);
	ck_assert_uint_eq(h.raw.shift, 23);
	ck_assert_uint_eq(h.raw.mask, 0xffffffULL);
	host_free(&h);
}
END_TEST

/* Bad input is refused with VT_EINPUT and leaves nothing to free. */
START_TEST(test_host_bad_input)
{
	struct host_cpu_cfg cpus[4];
	struct host_cfg cfg = base_cfg(cpus, 2, 2500000000ULL);
	struct host h;

	cpus[1].freq_hz = 0;
	ck_assert_int_eq(host_init(&h, &cfg), VT_EINPUT);
	ck_assert_ptr_null(h.cpu);
	cfg = base_cfg(cpus, 2, 2500000000ULL);
	cpus[0].skew_ppb = -1000000000LL;
	ck_assert_int_eq(host_init(&h, &cfg), VT_EINPUT);
	cfg = base_cfg(cpus, 2, 2500000000ULL);
	cfg.ncpus = 0;
	ck_assert_int_eq(host_init(&h, &cfg), VT_EINPUT);
	cfg = base_cfg(cpus, 2, 2500000000ULL);
	cfg.hz = 0;
	ck_assert_int_eq(host_init(&h, &cfg), VT_EINPUT);
	cfg = base_cfg(cpus, 2, 2500000000ULL);
	cfg.clocksource = (enum host_clocksource)9;
	ck_assert_int_eq(host_init(&h, &cfg), VT_EINPUT);
	cfg = base_cfg(cpus, 2, 400); /* 400 Hz calibrates to 0 kHz */
	ck_assert_int_eq(host_init(&h, &cfg), VT_EINPUT);
	cfg = base_cfg(cpus, 2, 2500000000ULL);
	cfg.calibration_error_ppb = 1000000000LL;
	ck_assert_int_eq(host_init(&h, &cfg), VT_EINPUT);
}
END_TEST

/* ---- the raw clock -------------------------------------------------------------------------- */

/*
 * 2.5 GHz, no skew, calibration +100 ppm: tsc_khz = round(2.5e9 * 1.0001 / 1000) = 2500250,
 * mult = round(2^24 1e6 / 2500250) = 6710215 (shift 24, as above). After 100 s of true time the
 * TSC counts exactly 2.5e11, and the raw clock reads floor(2.5e11 * 6710215 / 2^24) =
 * 99,989,995,360 ns: the predicted 100 s / 1.0001 = 99,990,000,999.9 ns (10 ms slow) less 5.6 us
 * of mult rounding; mult is within 0.5 of exact, so that term is at most 100 s * 0.5 / mult
 * = 7.45 us.
 */
START_TEST(test_raw_calibration_drift)
{
	struct host_cpu_cfg cpus[4];
	struct host_cfg cfg = base_cfg(cpus, 1, 2500000000ULL);
	const double bound = 100e9 * 0.5 / 6710215.0 + 1.0;
	struct host h;
	uint64_t raw;

	cfg.calibration_error_ppb = 100000;
	ck_assert_int_eq(host_init(&h, &cfg), VT_OK);
	ck_assert_uint_eq(h.raw.tsc_khz, 2500250);
	ck_assert_uint_eq(h.raw.mult, 6710215);
	ck_assert_uint_eq(h.raw.shift, 24);
	ck_assert_uint_eq(host_tsc(&h, 0, 100 * SEC), 250000000000ULL);
	raw = host_raw_ns(&h, 0, 100 * SEC);
	ck_assert_uint_eq(raw, 99989995360ULL);
	ck_assert_double_le(fabs((double)raw - 100e9 / 1.0001), bound);
	host_free(&h);

	/* Exact calibration: the raw clock keeps true time but for mult rounding (0.06 ppm here):
	 * floor(2.5e11 * 6710886 / 2^24) = 99,999,994,039. */
	cfg.calibration_error_ppb = 0;
	ck_assert_int_eq(host_init(&h, &cfg), VT_OK);
	raw = host_raw_ns(&h, 0, 100 * SEC);
	ck_assert_uint_eq(raw, 99999994039ULL);
	ck_assert_double_le(fabs((double)raw - 100e9), 100e9 * 0.5 / 6710886.0 + 1.0);
	host_free(&h);

	/* +50 ppm oscillator, exact calibration: the host measures the true 2,500,125 kHz, so its raw
	 * clock still keeps true time (mult 6710551, shift 24): the skew is invisible to the host. */
	cpus[0].skew_ppb = 50000;
	ck_assert_int_eq(host_init(&h, &cfg), VT_OK);
	ck_assert_uint_eq(h.raw.tsc_khz, 2500125);
	ck_assert_uint_eq(h.raw.mult, 6710551);
	raw = host_raw_ns(&h, 0, 100 * SEC);
	ck_assert_uint_eq(raw, 100000001900ULL);
	ck_assert_double_le(fabs((double)raw - 100e9), 100e9 * 0.5 / 6710551.0 + 1.0);
	host_free(&h);
}
END_TEST

/*
 * CPU 1's TSC is 1000 cycles (400 ns) behind CPU 0's, CPU 2's 1000 ahead (forced stable, so the
 * raw clock reads the TSC): a reader on CPU 1 sees delta "negative" (top bit set) and reads the
 * base, 0, until its TSC passes the base; a reader on CPU 2 reads 400 ns ahead.
 */
START_TEST(test_raw_skewed_cpu)
{
	struct host_cpu_cfg cpus[4];
	struct host_cfg cfg = base_cfg(cpus, 3, 2500000000ULL);
	struct host h;

	cpus[0].offset = 1000000;
	cpus[1].offset = 1000000 - 1000;
	cpus[2].offset = 1000000 + 1000;
	cfg.tsc_stable = 1;
	ck_assert_int_eq(host_init(&h, &cfg), VT_OK);
	ck_assert_uint_eq(h.raw.base_cycles, 1000000);
	ck_assert_uint_eq(host_raw_ns(&h, 1, 0), 0);
	ck_assert_uint_eq(host_raw_ns(&h, 1, 399), 0); /* 997.5 cycles: still behind */
	ck_assert_uint_eq(host_raw_ns(&h, 1, 400), 0); /* exactly at the base: delta 0 */
	ck_assert_uint_eq(host_raw_ns(&h, 1, SEC), host_raw_ns(&h, 0, SEC - 400));
	ck_assert_uint_eq(host_raw_ns(&h, 2, 0), (1000ULL * 6710886) >> 24); /* 399 ns */
	ck_assert_uint_eq(host_raw_ns(&h, 2, SEC), host_raw_ns(&h, 0, SEC + 400));
	host_free(&h);
}
END_TEST

/* The HPET (32 bits, +20 ppm) wraps at 2^32 / 14318466.36 Hz = 299.96 s: the raw clock is
 * continuous and steady through it and through the next three wraps (t = 0 .. 1000 s, 1 ms
 * steps). Each 1 ms step is 14318.47 counts: 14318 or 14319, so the raw clock advances by
 * 1,000,020 ns within one count (69.84 ns) plus 1 ns of flooring. At 1000 s: 14,318,466,363
 * counts, raw = floor(14318466363 * 2343484437 / 2^25) = 1,000,019,999,843 ns. The same for ACPI
 * PM (24 bits, wraps every 4.69 s) over 0 .. 20 s. */
START_TEST(test_raw_hpet_wrap)
{
	struct host_cpu_cfg cpus[4];
	struct host_cfg cfg = base_cfg(cpus, 2, 2500000000ULL);
	struct host h;
	uint64_t prev = 0;

	cfg.clocksource = CS_HPET;
	cfg.hpet_skew_ppb = 20000;
	ck_assert_int_eq(host_init(&h, &cfg), VT_OK);
	for (sim_ns t = NS_PER_MS; t <= 1000 * SEC; t += NS_PER_MS) {
		uint64_t raw = host_raw_ns(&h, 0, t);
		uint64_t step = raw - prev;

		if (raw < prev || step < 1000020 - 71 || step > 1000020 + 71) {
			ck_assert_uint_ge(raw, prev);
			ck_assert_uint_ge(step, 1000020 - 71);
			ck_assert_uint_le(step, 1000020 + 71);
		}
		prev = raw;
	}
	ck_assert_uint_eq(tsc_seg_eval(&h.raw.ext, 1000 * SEC), 14318466363ULL);
	ck_assert_uint_eq(host_raw_ns(&h, 0, 1000 * SEC), 1000019999843ULL);
	/* the same on every CPU: one counter */
	ck_assert_uint_eq(host_raw_ns(&h, 1, 777 * SEC), host_raw_ns(&h, 0, 777 * SEC));
	host_free(&h);

	cfg.clocksource = CS_ACPI_PM;
	cfg.hpet_skew_ppb = 0;
	ck_assert_int_eq(host_init(&h, &cfg), VT_OK);
	prev = 0;
	for (sim_ns t = NS_PER_MS; t <= 20 * SEC; t += NS_PER_MS) {
		uint64_t raw = host_raw_ns(&h, 0, t);

		/* one count = 279.4 ns */
		if (raw - prev < 1000000 - 281 || raw - prev > 1000000 + 281) {
			ck_assert_uint_ge(raw - prev, 1000000 - 281);
			ck_assert_uint_le(raw - prev, 1000000 + 281);
		}
		prev = raw;
	}
	/* within one count (the counter floors), plus mult rounding (20 s * 0.5 / mult = 4 ns) */
	ck_assert_uint_le(prev > 20 * SEC ? prev - 20 * SEC : 20 * SEC - prev, 280 + 4 + 1);
	host_free(&h);
}
END_TEST

/* A rate change (non-invariant TSC halving its rate) goes unnoticed by the host: its raw clock
 * just runs at half speed; a reset of every CPU (suspend) re-bases it so it stays continuous. */
START_TEST(test_raw_rate_and_reset)
{
	struct host_cpu_cfg cpus[4];
	struct host_cfg cfg = base_cfg(cpus, 2, 2000000000ULL);
	struct host h;
	uint64_t r10, r20, at, after;

	cfg.tsc_stable = 1;
	ck_assert_int_eq(host_init(&h, &cfg), VT_OK);
	r10 = host_raw_ns(&h, 0, 10 * SEC);
	ck_assert_uint_eq(r10, 10 * SEC); /* 2 GHz: mult 2^22, shift 23 is exact */
	ck_assert_uint_eq(h.raw.mult, 1U << 22);
	ck_assert_uint_eq(h.raw.shift, 23);
	host_tsc_set_rate(&h, 0, 10 * SEC, 1000000000ULL);
	ck_assert_uint_eq(host_raw_ns(&h, 0, 10 * SEC), r10);
	r20 = host_raw_ns(&h, 0, 20 * SEC);
	ck_assert_uint_eq(r20, 15 * SEC);

	at = host_raw_ns(&h, 0, 30 * SEC);
	host_tsc_reset(&h, 0, 30 * SEC, 5);
	host_tsc_reset(&h, 1, 30 * SEC, 7);
	ck_assert_uint_eq(host_raw_ns(&h, 0, 30 * SEC), at);
	ck_assert_uint_eq(h.raw.base_ns, at);
	ck_assert_uint_eq(h.raw.base_cycles, 5);
	after = host_raw_ns(&h, 0, 31 * SEC); /* CPU 0 still at 1 GHz: 0.5 s of raw time */
	ck_assert_uint_eq(after, at + SEC / 2);
	ck_assert_uint_eq(host_raw_ns(&h, 1, 31 * SEC), at + SEC + 1); /* 2 cycles ahead: 1 ns */
	host_free(&h);
}
END_TEST

/* ---- derived stability ------------------------------------------------------------------------ */

/* Resolves stability and the clocksource for cfg; returns tsc_stable. */
static bool stable_of(const struct host_cfg *cfg, enum host_clocksource *cs)
{
	struct host h;
	bool s;

	ck_assert_int_eq(host_init(&h, cfg), VT_OK);
	s = h.tsc_stable;
	*cs = h.raw.cs;
	host_free(&h);
	return s;
}

/* Two CPUs, identical but for boot offsets 300 cycles apart (= the tolerance): stable. */
static struct host_cfg stable_cfg(struct host_cpu_cfg *cpus)
{
	struct host_cfg cfg = base_cfg(cpus, 2, 2500000000ULL);

	cpus[0].skew_ppb = cpus[1].skew_ppb = 30000;
	cpus[0].offset = 1000;
	cpus[1].offset = 1300;
	return cfg;
}

START_TEST(test_stable_baseline)
{
	struct host_cpu_cfg cpus[4];
	struct host_cfg cfg = stable_cfg(cpus);
	enum host_clocksource cs;

	ck_assert(stable_of(&cfg, &cs));
	ck_assert_int_eq(cs, CS_TSC);
}
END_TEST

START_TEST(test_unstable_rate_event)
{
	static const struct host_tsc_event ev = { .at = SEC, .kind = HOST_EV_RATE, .value = 1 };
	struct host_cpu_cfg cpus[4];
	struct host_cfg cfg = stable_cfg(cpus);
	enum host_clocksource cs;

	cpus[1].nevents = 1;
	cpus[1].events = &ev;
	ck_assert(!stable_of(&cfg, &cs));
	ck_assert_int_eq(cs, CS_HPET);
}
END_TEST

START_TEST(test_unstable_reset_event)
{
	static const struct host_tsc_event ev = { .at = SEC, .kind = HOST_EV_RESET, .value = 0 };
	struct host_cpu_cfg cpus[4];
	struct host_cfg cfg = stable_cfg(cpus);
	enum host_clocksource cs;

	cpus[0].nevents = 1;
	cpus[0].events = &ev;
	ck_assert(!stable_of(&cfg, &cs));
	ck_assert_int_eq(cs, CS_HPET);
}
END_TEST

START_TEST(test_unstable_skew)
{
	struct host_cpu_cfg cpus[4];
	struct host_cfg cfg = stable_cfg(cpus);
	enum host_clocksource cs;

	cpus[1].skew_ppb = 30001;
	ck_assert(!stable_of(&cfg, &cs));
	ck_assert_int_eq(cs, CS_HPET);
}
END_TEST

START_TEST(test_unstable_freq)
{
	struct host_cpu_cfg cpus[4];
	struct host_cfg cfg = stable_cfg(cpus);
	enum host_clocksource cs;

	cpus[1].freq_hz = 2500000001ULL;
	ck_assert(!stable_of(&cfg, &cs));
	ck_assert_int_eq(cs, CS_HPET);
}
END_TEST

START_TEST(test_unstable_offset)
{
	struct host_cpu_cfg cpus[4];
	struct host_cfg cfg = stable_cfg(cpus);
	enum host_clocksource cs;

	cpus[1].offset = 1301; /* 301 > 300 cycles apart */
	ck_assert(!stable_of(&cfg, &cs));
	ck_assert_int_eq(cs, CS_HPET);
	cpus[1].offset = 700; /* 300 apart the other way: stable */
	ck_assert(stable_of(&cfg, &cs));
}
END_TEST

START_TEST(test_unstable_wander)
{
	struct host_cpu_cfg cpus[4];
	struct host_cfg cfg = stable_cfg(cpus);
	enum host_clocksource cs;

	cpus[0].wander_ppb = 500;
	ck_assert(!stable_of(&cfg, &cs));
	ck_assert_int_eq(cs, CS_HPET);
}
END_TEST

/* The configuration's tsc_stable wins over the derivation either way; an explicit clocksource
 * wins over the stability (CS_TSC on an untrusted TSC is the user's choice). */
START_TEST(test_stable_overrides)
{
	struct host_cpu_cfg cpus[4];
	struct host_cfg cfg = stable_cfg(cpus);
	enum host_clocksource cs;

	cfg.tsc_stable = 0;
	ck_assert(!stable_of(&cfg, &cs));
	ck_assert_int_eq(cs, CS_HPET);
	cpus[1].skew_ppb = 99;
	cfg.tsc_stable = 1;
	ck_assert(stable_of(&cfg, &cs));
	ck_assert_int_eq(cs, CS_TSC);
	cfg.tsc_stable = -1;
	cfg.clocksource = CS_TSC;
	ck_assert(!stable_of(&cfg, &cs));
	ck_assert_int_eq(cs, CS_TSC);
	cpus[1].skew_ppb = cpus[0].skew_ppb;
	cfg.clocksource = CS_ACPI_PM;
	ck_assert(stable_of(&cfg, &cs));
	ck_assert_int_eq(cs, CS_ACPI_PM);
}
END_TEST

/* ---- the coarse clock ------------------------------------------------------------------------ */

/* At hz = 100 and 1000 the coarse clock equals the raw clock at each tick instant k * 1e9 / hz,
 * holds that value until the next tick, and steps there (on a skewed TSC, so raw != true). */
static void check_ticks(unsigned hz)
{
	struct host_cpu_cfg cpus[4];
	struct host_cfg cfg = base_cfg(cpus, 1, 2900000000ULL);
	sim_ns tick = NS_PER_SEC / hz;
	struct host h;

	cpus[0].skew_ppb = -37000;
	cpus[0].offset = 123456789;
	cfg.hz = hz;
	ck_assert_int_eq(host_init(&h, &cfg), VT_OK);
	ck_assert_uint_eq(h.tick_ns, tick);
	for (uint64_t k = 1; k < 3000; k++) {
		sim_ns tk = k * tick;
		uint64_t at = host_raw_ns(&h, 0, tk);

		ck_assert_uint_eq(host_coarse_ns(&h, tk - 1), host_raw_ns(&h, 0, tk - tick));
		ck_assert_uint_eq(host_coarse_ns(&h, tk), at);
		ck_assert_uint_eq(host_coarse_ns(&h, tk + tick / 2), at);
		ck_assert_uint_eq(host_coarse_ns(&h, tk + tick - 1), at);
		ck_assert_uint_gt(host_coarse_ns(&h, tk + tick), at);
	}
	host_free(&h);
}

START_TEST(test_coarse_hz100)
{
	check_ticks(100);
}
END_TEST

START_TEST(test_coarse_hz1000)
{
	check_ticks(1000);
}
END_TEST

/*
 * A segment change or reset in the middle of a tick interval: the coarse clock keeps the value
 * of the tick before it (computed from the old segment), and the next tick reads the new one.
 * And at hz = 300, where ticks fall between whole ns, tick 1 (due at 3,333,333.3 ns) happens at
 * 3,333,334.
 */
START_TEST(test_coarse_mid_tick_changes)
{
	struct host_cpu_cfg cpus[4];
	struct host_cfg cfg = base_cfg(cpus, 2, 2500000000ULL);
	struct host h;
	uint64_t tick_val;

	cfg.hz = 100;
	cfg.tsc_stable = 1;
	ck_assert_int_eq(host_init(&h, &cfg), VT_OK);
	tick_val = host_raw_ns(&h, 0, 50 * NS_PER_MS); /* tick 5 */
	host_tsc_set_rate(&h, 0, 55 * NS_PER_MS, 1000000000ULL);
	ck_assert_uint_eq(host_coarse_ns(&h, 55 * NS_PER_MS), tick_val);
	host_tsc_wander(&h, 0, 57 * NS_PER_MS, 1000);
	host_tsc_wander(&h, 1, 58 * NS_PER_MS, 1000);
	ck_assert_uint_eq(host_coarse_ns(&h, 59 * NS_PER_MS), tick_val);
	ck_assert_uint_eq(host_coarse_ns(&h, 60 * NS_PER_MS), host_raw_ns(&h, 0, 60 * NS_PER_MS));

	tick_val = host_raw_ns(&h, 0, 70 * NS_PER_MS);
	host_tsc_reset(&h, 0, 73 * NS_PER_MS, 0);
	host_tsc_reset(&h, 1, 73 * NS_PER_MS, 0);
	ck_assert_uint_eq(host_coarse_ns(&h, 79 * NS_PER_MS), tick_val);
	ck_assert_uint_eq(host_coarse_ns(&h, 80 * NS_PER_MS), host_raw_ns(&h, 0, 80 * NS_PER_MS));
	ck_assert_uint_gt(host_coarse_ns(&h, 80 * NS_PER_MS), tick_val);
	host_free(&h);

	cfg.hz = 300;
	ck_assert_int_eq(host_init(&h, &cfg), VT_OK);
	ck_assert_uint_eq(h.tick_ns, 3333333);
	ck_assert_uint_eq(host_coarse_ns(&h, 3333333), 0);
	ck_assert_uint_eq(host_coarse_ns(&h, 3333334), host_raw_ns(&h, 0, 3333334));
	ck_assert_uint_eq(host_coarse_ns(&h, 6666667), host_raw_ns(&h, 0, 6666667));
	ck_assert_uint_eq(host_coarse_ns(&h, 6666666), host_raw_ns(&h, 0, 3333334));
	ck_assert_uint_eq(host_coarse_ns(&h, SEC), host_raw_ns(&h, 0, SEC)); /* tick 300 */
	host_free(&h);
}
END_TEST

Suite *host_suite(void)
{
	Suite *s = suite_create("host");
	TCase *seg = tcase_create("segments");
	TCase *cs = tcase_create("clocksource");
	TCase *raw = tcase_create("raw_clock");
	TCase *stab = tcase_create("stability");
	TCase *coarse = tcase_create("coarse");

	tcase_set_timeout(seg, 30);
	tcase_add_test(seg, test_tsc_rate_known);
	tcase_add_test(seg, test_seg_eval_random);
	tcase_add_test(seg, test_segment_changes);
	suite_add_tcase(s, seg);

	tcase_add_test(cs, test_mult_shift_known);
	tcase_add_test(cs, test_host_clocksources);
	tcase_add_test(cs, test_host_bad_input);
	suite_add_tcase(s, cs);

	tcase_set_timeout(raw, 20);
	tcase_add_test(raw, test_raw_calibration_drift);
	tcase_add_test(raw, test_raw_skewed_cpu);
	tcase_add_test(raw, test_raw_hpet_wrap);
	tcase_add_test(raw, test_raw_rate_and_reset);
	suite_add_tcase(s, raw);

	tcase_add_test(stab, test_stable_baseline);
	tcase_add_test(stab, test_unstable_rate_event);
	tcase_add_test(stab, test_unstable_reset_event);
	tcase_add_test(stab, test_unstable_skew);
	tcase_add_test(stab, test_unstable_freq);
	tcase_add_test(stab, test_unstable_offset);
	tcase_add_test(stab, test_unstable_wander);
	tcase_add_test(stab, test_stable_overrides);
	suite_add_tcase(s, stab);

	tcase_add_test(coarse, test_coarse_hz100);
	tcase_add_test(coarse, test_coarse_hz1000);
	tcase_add_test(coarse, test_coarse_mid_tick_changes);
	suite_add_tcase(s, coarse);
	return s;
}
