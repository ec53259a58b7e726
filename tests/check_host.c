/*
 * check_host.c: tests of sim/host.c: the 64.64 TSC rate and segment evaluation against an exact
 * 128-bit reference, continuity across segment changes, Linux's mult/shift for the TSC, HPET and
 * ACPI PM clocksources, the host raw clock's drift as the calibration error predicts, the HPET's
 * continuity across its 32-bit wrap, the derived TSC stability rules one by one, and the coarse
 * clock's steps at ticks. Nested hosts (seed 003): the Hyper-V reference TSC page and kvmclock as
 * raw clocksources and their tsc_khz, the outer hypervisor migrating the host, the host's
 * recalibration, and CLOCK_REALTIME.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "host.h"
#include "rng.h"
#include "util.h"

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


/* ---- nested hosts (seed 003) ---------------------------------------------------------------- */

/*
 * CS_HYPERV on a 2 GHz host (CPU 0 at offset 0, CPU 1 2000 cycles = 1 us ahead).
 * scale = floor(2^64 * 1e7 / 2e9) = floor(2^64 / 200) = 92233720368547758 (2^64 / 200 is
 * ...758.08); offset = 0 - floor(0 * scale / 2^64) = 0.
 * mult/shift of a 10 MHz clocksource (register_hz, 64-bit mask): sec 600, 600 * 1e7 >> 32 = 1,
 * sftacc 31, mult = 100 * 2^24 = 1677721600 < 2^31, shift 24: 100 ns per unit exactly.
 * At t = 1 s CPU 0's TSC is 2e9: page = floor(2e9 * scale / 2^64) = floor(1e7 - 2e9 * 0.08 /
 * 2^64) = 9,999,999 (just under 1e7), so the raw clock reads 999,999,900 ns: 100 ns below 1 s.
 * At 1 s + k ns (k = 1 .. 100) the exact count is 1e7 + k / 100 less ~1e-11: 1e7, i.e. 1e9 ns;
 * at k = 101 it is 1e7 + 1: 1,000,000,100 ns. CPU 1 at 1 s: floor((2e9 + 2000) scale / 2^64) =
 * floor(1e7 + 10 - tiny) = 10,000,009: 1,000,000,900 ns, 1 us ahead: its skew shows through.
 * tsc_khz = HV_X64_MSR_TSC_FREQUENCY / 1000 = 2,000,000, whatever the calibration error.
 */
START_TEST(test_hyperv_raw)
{
	struct host_cpu_cfg cpus[4];
	struct host_cfg cfg = base_cfg(cpus, 2, 2000000000ULL);
	struct host h;
	uint64_t prev;

	cpus[1].offset = 2000;
	cfg.clocksource = CS_HYPERV;
	cfg.calibration_error_ppb = 300000; /* ignored: the frequency comes from the MSR */
	ck_assert_int_eq(host_init(&h, &cfg), VT_OK);
	ck_assert_int_eq(h.raw.cs, CS_HYPERV);
	ck_assert_uint_eq(h.raw.tsc_khz, 2000000);
	ck_assert_uint_eq(h.raw.mult, 1677721600U);
	ck_assert_uint_eq(h.raw.shift, 24);
	ck_assert_uint_eq(h.raw.mask, UINT64_MAX);
	ck_assert_uint_eq(h.raw.page.hv_scale, 92233720368547758ULL);
	ck_assert_int_eq(h.raw.page.hv_offset, 0);
	ck_assert_uint_eq(host_raw_ns(&h, 0, 0), 0);
	ck_assert_uint_eq(host_raw_ns(&h, 0, SEC), 999999900ULL);
	ck_assert_uint_le(SEC - host_raw_ns(&h, 0, SEC), 100);
	for (sim_ns k = 1; k <= 100; k++)
		ck_assert_uint_eq(host_raw_ns(&h, 0, SEC + k), SEC);
	ck_assert_uint_eq(host_raw_ns(&h, 0, SEC + 101), SEC + 100);
	/* 100 ns granularity: over 10 us every reading is a multiple of 100 and each 1 ns step
	 * advances by 0 or 100 */
	prev = host_raw_ns(&h, 0, 2 * SEC);
	for (sim_ns t = 2 * SEC + 1; t <= 2 * SEC + 10000; t++) {
		uint64_t raw = host_raw_ns(&h, 0, t);

		if (raw % 100 != 0 || (raw != prev && raw != prev + 100)) {
			ck_assert_uint_eq(raw % 100, 0);
			ck_assert_uint_le(raw - prev, 100);
		}
		prev = raw;
	}
	ck_assert_uint_eq(host_raw_ns(&h, 1, SEC), 1000000900ULL);
	ck_assert_str_eq(util_clocksource_name(h.raw.cs), "hyperv_clocksource_tsc_page");
	host_free(&h);

	/* The same configuration with CS_AUTO never picks the nested clocksource. */
	cfg.clocksource = CS_AUTO;
	cfg.tsc_stable = 1;
	ck_assert_int_eq(host_init(&h, &cfg), VT_OK);
	ck_assert_int_eq(h.raw.cs, CS_TSC);
	host_free(&h);
	cfg.tsc_stable = 0;
	ck_assert_int_eq(host_init(&h, &cfg), VT_OK);
	ck_assert_int_eq(h.raw.cs, CS_HPET);
	host_free(&h);

	/* f / 1000 floors: 2,999,999,999 Hz gives 2,999,999 kHz. A 10 MHz TSC cannot be described
	 * by the page (scale would be 2^64): refused. */
	cfg = base_cfg(cpus, 1, 2999999999ULL);
	cfg.clocksource = CS_HYPERV;
	ck_assert_int_eq(host_init(&h, &cfg), VT_OK);
	ck_assert_uint_eq(h.raw.tsc_khz, 2999999);
	host_free(&h);
	cfg = base_cfg(cpus, 1, HV_REF_HZ);
	cfg.clocksource = CS_HYPERV;
	ck_assert_int_eq(host_init(&h, &cfg), VT_EINPUT);
}
END_TEST

/*
 * Skew in both directions through one page. CPU 0's TSC starts at 1,000,000, CPU 1 2000 cycles
 * ahead, CPU 2 2000 behind; 2 GHz, scale as above. offset = -floor(1e6 * scale / 2^64) =
 * -floor(5000 - tiny) = -4999, so CPU 0's page reads 0 at t = 0. At t = 1 s: CPU 0 floor((2e9 +
 * 1e6) scale / 2^64) - 4999 = 10,004,999 - 4999 = 1e7 -> 1e9 ns; CPU 1 10,000,010 -> 1,000,001,000;
 * CPU 2 9,999,990 -> 999,999,000. At t = 0 CPU 2's page reads -10 (mod 2^64): behind the base,
 * so clocksource_delta's check makes it read the base, 0; CPU 1 reads 10 units = 1000 ns.
 */
START_TEST(test_hyperv_skew)
{
	struct host_cpu_cfg cpus[4];
	struct host_cfg cfg = base_cfg(cpus, 3, 2000000000ULL);
	struct host h;

	cpus[0].offset = 1000000;
	cpus[1].offset = 1002000;
	cpus[2].offset = 998000;
	cfg.clocksource = CS_HYPERV;
	ck_assert_int_eq(host_init(&h, &cfg), VT_OK);
	ck_assert_int_eq(h.raw.page.hv_offset, -4999);
	ck_assert_uint_eq(h.raw.base_cycles, 0);
	ck_assert_uint_eq(host_raw_ns(&h, 0, 0), 0);
	ck_assert_uint_eq(host_raw_ns(&h, 1, 0), 1000);
	ck_assert_uint_eq(host_raw_ns(&h, 2, 0), 0);
	ck_assert_uint_eq(host_raw_ns(&h, 0, SEC), SEC);
	ck_assert_uint_eq(host_raw_ns(&h, 1, SEC), SEC + 1000);
	ck_assert_uint_eq(host_raw_ns(&h, 2, SEC), SEC - 1000);
	host_free(&h);
}
END_TEST

/*
 * CS_KVMCLOCK. At 2 GHz kvm_get_time_scale(1e9, 2e9) = (shift 0, mul 2^31): ns = tsc / 2 exactly;
 * pvclock_tsc_khz = (1e6 << 32) / 2^31 = 2,000,000. The 1 GHz clocksource's mult/shift: sec 600,
 * 600e9 >> 32 = 139 (8 bits), sftacc 24, mult = 2^23 < 2^24 at shift 23: 1 ns per ns. So the raw
 * clock reads exactly 1e9 at 1 s.
 * At 2.6 GHz: 2.6e9 > 2e9, one halving to 1.3e9 (shift -1); mul = floor(1e9 2^32 / 1.3e9) =
 * 3303820996; tsc_khz = floor(1e6 2^32 / 3303820996) = 1,300,000 (1300000.0002), << 1 =
 * 2,600,000. At 10 s the TSC reads 25,999,999,999, not 2.6e10: the segment's rate 2.6 cycles/ns
 * is floored to 2^-64 (0.6 is not a binary fraction), so 1e10 ns count 2.6e10 less a hair, and
 * the counter floors (the same at every 2.6 GHz TSC below). (25999999999 >> 1) * 3303820996 /
 * 2^32 = 9,999,999,996.4 -> 9,999,999,996 ns: 4 ns slow (mul's floor, under 1 ns/s, plus the
 * cycle and the halving's dropped bit).
 * At 2,999,999,999 Hz the halving drops the low bit (b = 1,499,999,999): mul = floor(1e9 2^32 /
 * 1499999999) = 2863311532, khz = floor(1e6 2^32 / 2863311532) = 1,499,999, << 1 = 2,999,998:
 * one kHz below Hyper-V's 2,999,999 for the same TSC.
 */
START_TEST(test_kvmclock_raw)
{
	struct host_cpu_cfg cpus[4];
	struct host_cfg cfg = base_cfg(cpus, 2, 2000000000ULL);
	struct host h;

	cfg.clocksource = CS_KVMCLOCK;
	cfg.calibration_error_ppb = -500000; /* ignored: the frequency comes from the page */
	ck_assert_int_eq(host_init(&h, &cfg), VT_OK);
	ck_assert_int_eq(h.raw.cs, CS_KVMCLOCK);
	ck_assert_int_eq(h.raw.page.shift, 0);
	ck_assert_uint_eq(h.raw.page.mul, 1U << 31);
	ck_assert_uint_eq(h.raw.tsc_khz, 2000000);
	ck_assert_uint_eq(h.raw.mult, 1U << 23);
	ck_assert_uint_eq(h.raw.shift, 23);
	ck_assert_uint_eq(h.raw.mask, UINT64_MAX);
	ck_assert_uint_eq(host_raw_ns(&h, 0, 0), 0);
	ck_assert_uint_eq(host_raw_ns(&h, 0, SEC), SEC);
	ck_assert_uint_eq(host_raw_ns(&h, 1, SEC), SEC);
	ck_assert_str_eq(util_clocksource_name(h.raw.cs), "kvm-clock");
	host_free(&h);

	cfg = base_cfg(cpus, 1, 2600000000ULL);
	cfg.clocksource = CS_KVMCLOCK;
	ck_assert_int_eq(host_init(&h, &cfg), VT_OK);
	ck_assert_int_eq(h.raw.page.shift, -1);
	ck_assert_uint_eq(h.raw.page.mul, 3303820996U);
	ck_assert_uint_eq(h.raw.tsc_khz, 2600000);
	ck_assert_uint_eq(host_tsc(&h, 0, 10 * SEC), 25999999999ULL);
	ck_assert_uint_eq(host_raw_ns(&h, 0, 10 * SEC), 9999999996ULL);
	ck_assert_uint_le(10 * SEC - host_raw_ns(&h, 0, 10 * SEC), 4);
	host_free(&h);

	cfg = base_cfg(cpus, 1, 2999999999ULL);
	cfg.clocksource = CS_KVMCLOCK;
	ck_assert_int_eq(host_init(&h, &cfg), VT_OK);
	ck_assert_uint_eq(h.raw.page.mul, 2863311532U);
	ck_assert_uint_eq(h.raw.tsc_khz, 2999998);
	host_free(&h);

	/* 400 Hz: pvclock_tsc_khz is 0 kHz, refused as a calibration to 0 is */
	cfg = base_cfg(cpus, 1, 400);
	cfg.clocksource = CS_KVMCLOCK;
	ck_assert_int_eq(host_init(&h, &cfg), VT_EINPUT);
}
END_TEST

/*
 * The outer hypervisor moves a 2 GHz Hyper-V-nested host to a 2.6 GHz machine at t = 10 s.
 * TSC: 2e10 at 10 s on either side; 2e10 + 2,599,999,999 at 11 s: the new segment's rate is 2.6
 * cycles/ns floored to 2^-64 (0.6 is not a binary fraction), so one second counts 2.6e9 less
 * under 1e-9 cycles, and the counter floors; over 2 s it counts 5,199,999,999.
 * Page before: floor(2e10 * 92233720368547758 / 2^64) = floor(1e8 - tiny) = 99,999,999 units,
 * raw 9,999,999,900 ns. Republish: scale = floor(2^64 1e7 / 2.6e9) = 70949015668113660;
 * floor(2e10 * scale / 2^64) = 76,923,076 (76923076.92), offset = 99,999,999 - 76,923,076 =
 * 23,076,923: the page reads 99,999,999 at 10 s again (raw unchanged, exactly). At 11 s:
 * floor((2.26e10 - 1) * scale / 2^64) = 86,923,076 (86923076.92), + offset = 109,999,999: raw
 * 10,999,999,900 ns, exactly 1 s later. tsc_khz stays 2,000,000 until host_recalibrate, which
 * makes it 2,600,000 and leaves this raw clock alone.
 */
START_TEST(test_outer_migrate_hyperv)
{
	struct host_cpu_cfg cpus[4];
	struct host_cfg cfg = base_cfg(cpus, 2, 2000000000ULL);
	struct host h;
	uint64_t r10, r11, r12;

	cfg.clocksource = CS_HYPERV;
	ck_assert_int_eq(host_init(&h, &cfg), VT_OK);
	r10 = host_raw_ns(&h, 0, 10 * SEC);
	ck_assert_uint_eq(r10, 9999999900ULL);
	ck_assert_uint_eq(host_tsc(&h, 0, 10 * SEC), 20000000000ULL);
	host_outer_migrate(&h, 10 * SEC, 2600000000ULL, 0);
	for (unsigned i = 0; i < 2; i++) {
		ck_assert_uint_eq(h.cpu[i].freq_hz, 2600000000ULL);
		ck_assert_int_eq(h.cpu[i].err_ppb, 0);
		ck_assert_uint_eq(h.cpu[i].seg.t0, 10 * SEC);
		ck_assert_uint_eq(host_tsc(&h, i, 10 * SEC), 20000000000ULL);
		ck_assert_uint_eq(host_tsc(&h, i, 11 * SEC), 22599999999ULL);
		ck_assert_uint_eq(host_tsc(&h, i, 12 * SEC), 25199999999ULL);
	}
	ck_assert_uint_eq(h.raw.page.hv_scale, 70949015668113660ULL);
	ck_assert_int_eq(h.raw.page.hv_offset, 23076923);
	ck_assert_uint_eq(host_raw_ns(&h, 0, 10 * SEC), r10);
	r11 = host_raw_ns(&h, 0, 11 * SEC);
	ck_assert_uint_eq(r11, 10999999900ULL);
	ck_assert_uint_ge(r11 - r10, SEC - 100);
	ck_assert_uint_le(r11 - r10, SEC + 100);
	ck_assert_uint_eq(h.raw.tsc_khz, 2000000); /* the host does not know yet */

	r12 = host_raw_ns(&h, 0, 12 * SEC);
	host_recalibrate(&h, 12 * SEC);
	ck_assert_uint_eq(h.raw.tsc_khz, 2600000);
	ck_assert_uint_eq(h.raw.mult, 1677721600U); /* the 10 MHz clocksource's, unchanged */
	ck_assert_uint_eq(host_raw_ns(&h, 0, 12 * SEC), r12);
	ck_assert_uint_eq(host_raw_ns(&h, 0, 13 * SEC), r12 + SEC);
	host_free(&h);
}
END_TEST

/*
 * The same migration under kvmclock. Before: mul 2^31, shift 0, raw(10 s) = 2e10 / 2 = 1e10 ns.
 * Republish: tsc_timestamp = 2e10, system_time = 1e10, (shift -1, mul 3303820996) as for 2.6 GHz
 * above. At 11 s the TSC has counted 2,599,999,999 (see test_outer_migrate_hyperv):
 * 1e10 + (2599999999 >> 1) * 3303820996 / 2^32 = 1e10 + 999,999,998 (999999998.95): 1 s less
 * 2 ns (mul's floor, the cycle, the dropped bit).
 */
START_TEST(test_outer_migrate_kvmclock)
{
	struct host_cpu_cfg cpus[4];
	struct host_cfg cfg = base_cfg(cpus, 2, 2000000000ULL);
	struct host h;

	cfg.clocksource = CS_KVMCLOCK;
	ck_assert_int_eq(host_init(&h, &cfg), VT_OK);
	ck_assert_uint_eq(host_raw_ns(&h, 0, 10 * SEC), 10 * SEC);
	host_outer_migrate(&h, 10 * SEC, 2600000000ULL, 0);
	ck_assert_uint_eq(h.raw.page.tsc_timestamp, 20000000000ULL);
	ck_assert_uint_eq(h.raw.page.system_time, 10 * SEC);
	ck_assert_int_eq(h.raw.page.shift, -1);
	ck_assert_uint_eq(h.raw.page.mul, 3303820996U);
	ck_assert_uint_eq(host_raw_ns(&h, 0, 10 * SEC), 10 * SEC);
	ck_assert_uint_eq(host_raw_ns(&h, 0, 11 * SEC), 11 * SEC - 2);
	ck_assert_uint_eq(host_raw_ns(&h, 1, 11 * SEC), 11 * SEC - 2);
	ck_assert_uint_eq(h.raw.tsc_khz, 2000000);
	host_recalibrate(&h, 11 * SEC);
	ck_assert_uint_eq(h.raw.tsc_khz, 2600000);
	ck_assert_uint_eq(host_raw_ns(&h, 0, 11 * SEC), 11 * SEC - 2);
	host_free(&h);
}
END_TEST

/*
 * A bare TSC clocksource through the same migration: 2 GHz, mult 2^22 shift 23 (exact, as in
 * test_raw_rate_and_reset), raw(10 s) = 1e10. After the move 2.6e9 cycles per second are still
 * converted at 0.5 ns per cycle: raw(11 s) = 1e10 + floor(2,599,999,999 / 2) = 1e10 +
 * 1,299,999,999 (the 2.6 GHz count floors, see test_outer_migrate_hyperv): 1.3 s per second, to
 * 1 ns. A host clock step of
 * +50 ms at 10.5 s, then host_recalibrate at 11 s: tsc_khz 2,600,000 and
 * clocks_calc_mult_shift(2600000, 1e6, 600000): 600000 * 2.6e6 >> 32 = 363 (9 bits), sftacc 23;
 * mult = round(2^24 / 2.6) = round(6452775.38) = 6452775 at shift 24 (shift 25 would need
 * 12905551 >= 2^23). Re-based at 11 s (raw 11,349,999,999 with the step, counted once), it
 * advances by floor(2.6e9 * 6452775 / 2^24) = 999,999,940 ns (999999940.4; the TSC counts
 * 5,199,999,999 - 2,599,999,999 = 2.6e9 cycles from 11 to 12 s) over the next second: right again
 * but for mult rounding (0.06 ppm).
 */
START_TEST(test_outer_migrate_tsc)
{
	struct host_cpu_cfg cpus[4];
	struct host_cfg cfg = base_cfg(cpus, 2, 2000000000ULL);
	struct host h;

	cfg.clocksource = CS_TSC;
	ck_assert_int_eq(host_init(&h, &cfg), VT_OK);
	ck_assert_uint_eq(h.raw.mult, 1U << 22);
	ck_assert_uint_eq(h.raw.shift, 23);
	ck_assert_uint_eq(host_raw_ns(&h, 0, 10 * SEC), 10 * SEC);
	host_outer_migrate(&h, 10 * SEC, 2600000000ULL, 0);
	ck_assert_uint_eq(host_raw_ns(&h, 0, 10 * SEC), 10 * SEC);
	ck_assert_uint_eq(host_raw_ns(&h, 0, 11 * SEC), 11299999999ULL);
	ck_assert_uint_eq(host_raw_ns(&h, 1, 11 * SEC), 11299999999ULL);
	ck_assert_uint_eq(h.raw.tsc_khz, 2000000);
	ck_assert_uint_eq(h.raw.mult, 1U << 22);

	host_clock_step(&h, 10 * SEC + SEC / 2, 50 * (int64_t)NS_PER_MS);
	ck_assert_uint_eq(host_raw_ns(&h, 0, 11 * SEC), 11349999999ULL);
	host_recalibrate(&h, 11 * SEC);
	ck_assert_uint_eq(h.raw.tsc_khz, 2600000);
	ck_assert_uint_eq(h.raw.mult, 6452775);
	ck_assert_uint_eq(h.raw.shift, 24);
	ck_assert_uint_eq(host_raw_ns(&h, 0, 11 * SEC), 11349999999ULL);
	ck_assert_uint_eq(host_raw_ns(&h, 0, 12 * SEC), 11349999999ULL + 999999940);
	host_free(&h);
}
END_TEST

/*
 * HPET and ACPI PM raw clocks do not read the TSC: a migration leaves them exactly as they were
 * (the TSCs still move to the new rate). And a -1e9 + 1 ppb error is accepted as given.
 */
START_TEST(test_outer_migrate_hpet)
{
	static const enum host_clocksource which[] = { CS_HPET, CS_ACPI_PM };
	struct host_cpu_cfg cpus[4];

	for (unsigned k = 0; k < 2; k++) {
		struct host_cfg cfg = base_cfg(cpus, 2, 2000000000ULL);
		struct host h;
		uint64_t r11, c;

		cfg.clocksource = which[k];
		ck_assert_int_eq(host_init(&h, &cfg), VT_OK);
		r11 = host_raw_ns(&h, 1, 11 * SEC);
		c = host_coarse_ns(&h, 11 * SEC);
		host_outer_migrate(&h, 10 * SEC, 2600000000ULL, 25000);
		ck_assert_uint_eq(host_raw_ns(&h, 1, 11 * SEC), r11);
		ck_assert_uint_eq(host_coarse_ns(&h, 11 * SEC), c);
		ck_assert_int_eq(h.cpu[1].err_ppb, 25000);
		/* 2.6e9 * (1 + 25e-6) = 2,600,065,000 cycles in the second after the move, less a
		 * hair of the rate's floor to 2^-64 cycles/ns: 2,600,064,999 */
		ck_assert_uint_eq(host_tsc(&h, 1, 11 * SEC), 20000000000ULL + 2600064999ULL);
		host_free(&h);
	}
}
END_TEST

/*
 * A migration in the middle of a tick interval (hz 1000, at 10 s + 0.4 ms): the coarse clock
 * keeps the raw value of the tick at 10 s, computed from the old segment and page, until the
 * tick at 10.001 s, which reads the new ones. Also for a bare TSC clocksource and a
 * recalibration at 10.5004 s.
 */
START_TEST(test_outer_migrate_coarse)
{
	static const enum host_clocksource which[] = { CS_HYPERV, CS_KVMCLOCK, CS_TSC };
	struct host_cpu_cfg cpus[4];

	for (unsigned k = 0; k < 3; k++) {
		struct host_cfg cfg = base_cfg(cpus, 2, 2000000000ULL);
		struct host h;
		uint64_t tick_val;

		cfg.clocksource = which[k];
		cpus[0].skew_ppb = 40000; /* raw != true time, so a stale value would show */
		ck_assert_int_eq(host_init(&h, &cfg), VT_OK);
		tick_val = host_raw_ns(&h, 0, 10 * SEC);
		host_outer_migrate(&h, 10 * SEC + 400 * NS_PER_US, 2600000000ULL, -20000);
		ck_assert_uint_eq(host_coarse_ns(&h, 10 * SEC + 900 * NS_PER_US), tick_val);
		ck_assert_uint_eq(host_coarse_ns(&h, 10 * SEC + NS_PER_MS),
				  host_raw_ns(&h, 0, 10 * SEC + NS_PER_MS));
		ck_assert_uint_ne(host_coarse_ns(&h, 10 * SEC + NS_PER_MS), tick_val);

		tick_val = host_raw_ns(&h, 0, 10 * SEC + 500 * NS_PER_MS);
		host_recalibrate(&h, 10 * SEC + 500 * NS_PER_MS + 400 * NS_PER_US);
		ck_assert_uint_eq(host_coarse_ns(&h, 10 * SEC + 500 * NS_PER_MS + 999 * NS_PER_US),
				  tick_val);
		ck_assert_uint_eq(host_coarse_ns(&h, 10 * SEC + 501 * NS_PER_MS),
				  host_raw_ns(&h, 0, 10 * SEC + 501 * NS_PER_MS));
		host_free(&h);
	}
}
END_TEST

/*
 * A reset of CPU 0's TSC (to 12345 at 5 s) on a nested host: the outer page is republished, so
 * the raw clock stays continuous on CPU 0 and advances at the right rate after. Hyper-V: the page
 * reads floor(1e10 * scale / 2^64) = 49,999,999 at 5 s (4,999,999,900 ns); republished, offset =
 * 49,999,999 - floor(12345 * scale / 2^64) = 49,999,999 - 61 = 49,999,938; at 6 s (TSC 12345 +
 * 2e9) floor((2e9 + 12345) * scale / 2^64) = 10,000,061, + offset = 59,999,999: exactly 1 s.
 * kvmclock: tsc_timestamp 12345, system_time 5e9; at 6 s 2e9 cycles later, exactly 1 s later.
 */
START_TEST(test_nested_reset)
{
	static const enum host_clocksource which[] = { CS_HYPERV, CS_KVMCLOCK };
	struct host_cpu_cfg cpus[4];

	for (unsigned k = 0; k < 2; k++) {
		struct host_cfg cfg = base_cfg(cpus, 1, 2000000000ULL);
		struct host h;
		uint64_t at, after;

		cfg.clocksource = which[k];
		ck_assert_int_eq(host_init(&h, &cfg), VT_OK);
		at = host_raw_ns(&h, 0, 5 * SEC);
		ck_assert_uint_eq(at, k == 0 ? 4999999900ULL : 5 * SEC);
		host_tsc_reset(&h, 0, 5 * SEC, 12345);
		ck_assert_uint_eq(host_tsc(&h, 0, 5 * SEC), 12345);
		ck_assert_uint_eq(host_raw_ns(&h, 0, 5 * SEC), at);
		after = host_raw_ns(&h, 0, 6 * SEC);
		ck_assert_uint_eq(after, at + SEC);
		host_free(&h);
	}
}
END_TEST

/*
 * A host clock step then a TSC reset (bare TSC, 2 GHz, exact mult): the re-base keeps the step
 * once. +50 ms at 5 s; at 6 s the raw clock reads 6.05e9; CPU 0 resets to 0 there and the raw
 * clock still reads 6.05e9, then 7.05e9 at 7 s (not 6.1e9 / 7.1e9: the step counted twice).
 */
START_TEST(test_reset_after_step)
{
	struct host_cpu_cfg cpus[4];
	struct host_cfg cfg = base_cfg(cpus, 1, 2000000000ULL);
	struct host h;

	ck_assert_int_eq(host_init(&h, &cfg), VT_OK);
	ck_assert_int_eq(h.raw.cs, CS_TSC);
	host_clock_step(&h, 5 * SEC, 50 * (int64_t)NS_PER_MS);
	ck_assert_uint_eq(host_raw_ns(&h, 0, 6 * SEC), 6050000000ULL);
	host_tsc_reset(&h, 0, 6 * SEC, 0);
	ck_assert_uint_eq(host_raw_ns(&h, 0, 6 * SEC), 6050000000ULL);
	ck_assert_uint_eq(host_raw_ns(&h, 0, 7 * SEC), 7050000000ULL);
	host_free(&h);
}
END_TEST

/*
 * CLOCK_REALTIME = HOST_REALTIME_EPOCH_NS + t + realtime_offset_ns (+ host clock steps). With an
 * offset of -123,456,789 ns at t = 5 s: 1,700,000,000,000,000,000 + 5e9 - 123,456,789 =
 * 1,700,000,004,876,543,211. After a +50 ms host clock step, at 7 s: 1.7e18 + 7e9 - 123,456,789
 * + 5e7 = 1,700,000,006,926,543,211. A positive offset of 2 s at t = 0: 1,700,000,002,000,000,000.
 */
START_TEST(test_realtime)
{
	struct host_cpu_cfg cpus[4];
	struct host_cfg cfg = base_cfg(cpus, 1, 2000000000ULL);
	struct host h;

	cfg.realtime_offset_ns = -123456789;
	ck_assert_int_eq(host_init(&h, &cfg), VT_OK);
	ck_assert_uint_eq(host_realtime_ns(&h, 5 * SEC), 1700000004876543211ULL);
	host_clock_step(&h, 6 * SEC, 50 * (int64_t)NS_PER_MS);
	ck_assert_uint_eq(host_realtime_ns(&h, 7 * SEC), 1700000006926543211ULL);
	host_free(&h);

	cfg.realtime_offset_ns = 2 * (int64_t)SEC;
	ck_assert_int_eq(host_init(&h, &cfg), VT_OK);
	ck_assert_uint_eq(host_realtime_ns(&h, 0), 1700000002000000000ULL);
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
	TCase *nested = tcase_create("nested");

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

	tcase_add_test(nested, test_hyperv_raw);
	tcase_add_test(nested, test_hyperv_skew);
	tcase_add_test(nested, test_kvmclock_raw);
	tcase_add_test(nested, test_outer_migrate_hyperv);
	tcase_add_test(nested, test_outer_migrate_kvmclock);
	tcase_add_test(nested, test_outer_migrate_tsc);
	tcase_add_test(nested, test_outer_migrate_hpet);
	tcase_add_test(nested, test_outer_migrate_coarse);
	tcase_add_test(nested, test_nested_reset);
	tcase_add_test(nested, test_reset_after_step);
	tcase_add_test(nested, test_realtime);
	suite_add_tcase(s, nested);
	return s;
}
