/*
 * rng.c: the deterministic pseudo-random number generator (xoshiro256** seeded by splitmix64),
 * our own bit-reproducible log and exp, and the duration distributions of rng.h.
 *
 * Everything here must give the same bits for the same seed with gcc or clang on any IEEE-754
 * machine. Integer code is exact by construction. Floating-point code uses only +, -, *, / and
 * sqrt on doubles (each correctly rounded by IEEE-754, round to nearest even), conversions
 * between double and integers, and exact bit manipulation through memcpy; never libm's log or
 * exp, whose last bit differs between C libraries. The build passes -ffp-contract=off so no
 * compiler fuses a multiply and an add into an FMA (which rounds once instead of twice).
 * dist_mean is the one exception: it is for tests and documentation only and may use libm.
 */
#include "rng.h"

#include <math.h>
#include <string.h>

/* ---- splitmix64 and xoshiro256** ---------------------------------------------------------- */

/* splitmix64's increment: 2^64 / golden ratio, odd (Steele, Lea and Flood, "Fast splittable
 * pseudorandom number generators", OOPSLA 2014; Vigna's splitmix64.c). */
#define SPLITMIX_GAMMA 0x9e3779b97f4a7c15ULL

/* splitmix64's output function: a bijection of 64-bit words with good avalanche. */
static uint64_t splitmix_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* One step of splitmix64: advance the Weyl sequence *x by the gamma, return the mixed value. */
static uint64_t splitmix_next(uint64_t *x)
{
	*x += SPLITMIX_GAMMA;
	return splitmix_mix(*x);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/*
 * The stream id goes through one splitmix round (a bijection, so distinct streams give distinct
 * words) and is XORed into the seed; the result starts a splitmix64 sequence whose next four
 * outputs are the xoshiro state, as Vigna recommends for seeding xoshiro. Two streams would share
 * state words only if their starting points were within four gammas of each other on the Weyl
 * sequence, which for mixed (pseudo-random) starting points has probability about 2^-61. The
 * four outputs of one sequence come from four distinct Weyl values through a bijection, so they
 * are never all zero (the one state xoshiro must avoid).
 */
void rng_seed(struct rng *r, uint64_t seed, uint64_t stream)
{
	uint64_t x = seed ^ splitmix_mix(stream + SPLITMIX_GAMMA);

	for (size_t i = 0; i < VT_ARRAY_SIZE(r->s); i++)
		r->s[i] = splitmix_next(&x);
}

/* xoshiro256** 1.0 (Blackman and Vigna, "Scrambled linear pseudorandom number generators",
 * 2018): output rotl(s1 * 5, 7) * 9, then the linear state transition. */
uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

uint64_t rng_word_of(void *rng)
{
	return rng_next(rng);
}

/*
 * A uniform integer in [0, n) from words of `word`: Lemire's multiply-shift with rejection
 * ("Fast random integer generation in an interval", ACM TOMACS 2019). The high word of the
 * 128-bit product word * n is the result; the low word says where in its bucket the draw fell.
 * Of the 2^64 words, 2^64 mod n would make some buckets one larger; rejecting low words below
 * 2^64 mod n (computed as (2^64 - n) mod n = -n mod n in 64 bits) leaves exactly
 * floor(2^64 / n) words per result, so the result is exactly uniform. Expected words per draw
 * < 2. Requires n > 0.
 */
static uint64_t below_from(uint64_t n, rng_word_fn word, void *ctx)
{
	u128 m = (u128)word(ctx) * n;
	uint64_t low = (uint64_t)m;

	if (low < n) {
		uint64_t threshold = (0 - n) % n;

		while (low < threshold) {
			m = (u128)word(ctx) * n;
			low = (uint64_t)m;
		}
	}
	return (uint64_t)(m >> 64);
}

uint64_t rng_below(struct rng *r, uint64_t n)
{
	return below_from(n, rng_word_of, r);
}

/* The top 53 bits as a multiple of 2^-53 in [0, 1 - 2^-53]: exact (53 bits fit a double). */
double rng_unit_from(uint64_t word)
{
	return (double)(word >> 11) * 0x1p-53;
}

/* ---- log and exp from correctly rounded operations ---------------------------------------- */

/*
 * ln 2 split in two so that k * LN2_HI is exact: LN2_HI is ln 2 truncated to a multiple of 2^-33
 * (33 significant bits), so k * LN2_HI is exact for |k| < 2^20; LN2_LO is ln 2 - LN2_HI rounded
 * to a double. Derived from ln 2 = 0.693147180559945309417232121458176568... (60 digits, Python
 * decimal) as floor(ln2 * 2^33) / 2^33 and float(ln2 - that).
 */
#define LN2_HI 0x1.62e42fefp-1
#define LN2_LO 0x1.473de6af278edp-34
/* 1 / ln 2 rounded to nearest (only picks the reduction integer k; its error is harmless). */
#define INV_LN2 0x1.71547652b82fep+0
/* sqrt(2) rounded to nearest: the split point of the mantissa range for log. */
#define SQRT2 0x1.6a09e667f3bcdp+0

static uint64_t dbl_bits(double x)
{
	uint64_t b;

	memcpy(&b, &x, sizeof(b));
	return b;
}

static double bits_dbl(uint64_t b)
{
	double x;

	memcpy(&x, &b, sizeof(x));
	return x;
}

/* 2^k as a double, exact, for -1022 <= k <= 1023 (a normal number built from its bits). */
static double pow2i(int k)
{
	return bits_dbl((uint64_t)(k + 1023) << 52);
}

/*
 * Natural log. Method (the classic argument reduction, our own series):
 *   x = 2^e * m with m in [sqrt(2)/2, sqrt(2)), taken exactly from the bits;
 *   f = m - 1 (exact: Sterbenz), s = f / (2 + f), |s| <= 3 - 2 sqrt(2) < 0.1716;
 *   log(m) = log((1 + s) / (1 - s)) = 2 atanh(s) = 2s + 2s^3/3 + 2s^5/5 + ...
 *   With 2s = f - s f and s f = hfsq - s hfsq (hfsq = f^2 / 2):
 *   log(m) = f - (hfsq - s (hfsq + R)),  R = 2 s^2/3 + 2 s^4/5 + ... + 2 s^22/23.
 *   The first omitted term, 2 s^24 / 25, is below 2^-62 relative to s: far below one ulp.
 *   log(x) = e LN2_HI + (log(m) + e LN2_LO), with e LN2_HI exact; f dominates and is exact, so
 *   the rounding errors land in the small correction terms: within about 1 ulp of the true log
 *   (checked against glibc in tests/check_rng.c).
 * Edge cases: x = +0 or -0 gives -inf, x < 0 or NaN gives NaN, +inf gives +inf. Subnormal x is
 * scaled by 2^54 first. vtsim only calls it on (0, 1] (1 - u with u from 53 bits) and on the
 * polar method's s in (0, 1), so -inf is never produced in a simulation.
 */
double det_log(double x)
{
	uint64_t b = dbl_bits(x);
	int e;
	double m, f, s, z, hfsq, r, k;

	if (x != x)
		return x;
	if (x < 0)
		return NAN;
	if (x == 0)
		return -HUGE_VAL;
	if (x == HUGE_VAL)
		return x;
	e = 0;
	if ((b >> 52) == 0) { /* subnormal: scale into the normal range (exact) */
		x *= 0x1p54;
		e = -54;
		b = dbl_bits(x);
	}
	e += (int)(b >> 52) - 1023;
	m = bits_dbl((b & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL); /* [1, 2) */
	if (m >= SQRT2) {
		m *= 0.5; /* exact */
		e += 1;
	}
	f = m - 1.0;
	s = f / (2.0 + f);
	z = s * s;
	/* R = z * (2/3 + z * (2/5 + ... + z * 2/23)), Horner from the smallest term. */
	r = 2.0 / 23.0;
	r = 2.0 / 21.0 + z * r;
	r = 2.0 / 19.0 + z * r;
	r = 2.0 / 17.0 + z * r;
	r = 2.0 / 15.0 + z * r;
	r = 2.0 / 13.0 + z * r;
	r = 2.0 / 11.0 + z * r;
	r = 2.0 / 9.0 + z * r;
	r = 2.0 / 7.0 + z * r;
	r = 2.0 / 5.0 + z * r;
	r = 2.0 / 3.0 + z * r;
	r = z * r;
	hfsq = 0.5 * f * f;
	k = (double)e;
	return k * LN2_HI - ((hfsq - (s * (hfsq + r) + k * LN2_LO)) - f);
}

/*
 * exp. Method:
 *   k = round(x / ln 2) (ties away from zero), r = (x - k LN2_HI) - k LN2_LO, |r| <= 0.347;
 *   x - k LN2_HI is exact (both are multiples of min(ulp(x), 2^-33) and the difference is
 *   below 1 in magnitude, so it needs at most 53 bits);
 *   exp(r) = 1 + (r + r^2 P(r)), P(r) = 1/2! + r/3! + ... + r^12/14! (Taylor; the first omitted
 *   term r^15/15! is below 2^-63), with the 1 added last so its rounding is the final one;
 *   exp(x) = 2^k exp(r), scaled exactly through the exponent bits.
 *   About 1 ulp for normal results (checked against glibc in tests/check_rng.c).
 * Range: x > 709.782712893384 (ln of DBL_MAX) gives +inf; x < -745.13321910194122 gives +0;
 * subnormal results (x below about -708.4) are scaled in two steps and may be off by one ulp
 * (double rounding); vtsim needs [-700, 700], where the result is normal. NaN gives NaN.
 */
double det_exp(double x)
{
	double k, r, p, y;
	int ki;

	if (x != x)
		return x;
	if (x > 0x1.62e42fefa39efp+9)
		return HUGE_VAL; /* overflow */
	if (x < -0x1.74910d52d3051p+9)
		return 0.0;
	k = x * INV_LN2;
	ki = (int)(k < 0 ? k - 0.5 : k + 0.5); /* |k| < 1077: fits, conversion truncates */
	k = (double)ki;
	r = (x - k * LN2_HI) - k * LN2_LO;
	p = 1.0 / 87178291200.0; /* 1/14! */
	p = 1.0 / 6227020800.0 + r * p;
	p = 1.0 / 479001600.0 + r * p;
	p = 1.0 / 39916800.0 + r * p;
	p = 1.0 / 3628800.0 + r * p;
	p = 1.0 / 362880.0 + r * p;
	p = 1.0 / 40320.0 + r * p;
	p = 1.0 / 5040.0 + r * p;
	p = 1.0 / 720.0 + r * p;
	p = 1.0 / 120.0 + r * p;
	p = 1.0 / 24.0 + r * p;
	p = 1.0 / 6.0 + r * p;
	p = 0.5 + r * p;
	y = 1.0 + (r + r * r * p);
	/* y in [0.70, 1.42]: y 2^ki in steps that each stay within exact powers of two. */
	if (ki > 1023)
		return y * 2.0 * pow2i(ki - 1);
	if (ki < -1022)
		return y * pow2i(ki + 1000) * 0x1p-1000;
	return y * pow2i(ki);
}

/* ---- distributions ------------------------------------------------------------------------ */

/* 2^63 - 1: the largest sampled value (durations stay below 2^63 so sums of two fit). */
#define DIST_MAX 0x7fffffffffffffffULL

/*
 * Rounds v to the nearest integer, ties away from zero, and clamps to [0, 2^63): NaN and
 * negative values (including -0.0) give 0, values at or above 2^63 give 2^63 - 1.
 * Exact: for v < 2^52 the fraction v - trunc(v) is exact (Sterbenz); at or above 2^52 every
 * double is an integer.
 */
uint64_t rng_round_clamp(double v)
{
	uint64_t n;

	if (!(v > 0))
		return 0;
	if (v >= 0x1p63)
		return DIST_MAX;
	n = (uint64_t)v; /* truncation: v < 2^63 fits */
	if (v - (double)n >= 0.5)
		n++; /* only below 2^52, so n stays far below 2^63 */
	return n;
}

/* A standard normal deviate by Marsaglia's polar method (two words per attempt, accepted with
 * probability pi/4; one of the pair is kept, the other discarded so that draws stay stateless). */
static double std_normal(rng_word_fn word, void *ctx)
{
	double u, v, s;

	do {
		u = 2.0 * rng_unit_from(word(ctx)) - 1.0;
		v = 2.0 * rng_unit_from(word(ctx)) - 1.0;
		s = u * u + v * v;
	} while (s >= 1.0 || s == 0.0);
	return u * sqrt(-2.0 * det_log(s) / s);
}

/* An exponential deviate of mean `mean`: -mean log(1 - u); 1 - u is exact and in (0, 1]. */
void rng_ziggurat_tables(double x[257], double f[257])
{
	/* x[0] is the width of a rectangle of area v with height f(r): the base layer including
	 * the tail; then each layer of area v: f(x[i+1]) = f(x[i]) + v / x[i]. */
	x[0] = ZIG_V / det_exp(-ZIG_R);
	x[1] = ZIG_R;
	for (int i = 2; i < 256; i++)
		x[i] = -det_log(det_exp(-x[i - 1]) + ZIG_V / x[i - 1]);
	x[256] = 0.0;
	for (int i = 0; i < 257; i++)
		f[i] = det_exp(-x[i]);
}

#ifndef VT_ZIGGURAT_GEN
#include "ziggurat.h"

/* The ziggurat's body, inlined into its callers so that a known word source (the direct stream
 * of rng_exp_interval_rng) is called directly. */
static inline __attribute__((always_inline)) double std_exp_core(rng_word_fn word, void *ctx)
{
	for (;;) {
		uint64_t u = word(ctx);
		unsigned i = (unsigned)(u & 0xff);
		/* 53 bits above the layer index: a uniform in [0, 1). */
		double z = (double)(u >> 11) * 0x1p-53 * zig_x[i];

		if (z < zig_x[i + 1])
			return z; /* inside the part of the layer wholly under the curve */
		if (i == 0) /* the tail beyond r: r plus a fresh exponential (memoryless) */
			return ZIG_R - det_log(1.0 - rng_unit_from(word(ctx)));
		/* The wedge: accept if a uniform height in the layer falls under exp(-z). */
		if (zig_f[i] + rng_unit_from(word(ctx)) * (zig_f[i + 1] - zig_f[i]) < det_exp(-z))
			return z;
	}
}

double rng_std_exp(rng_word_fn word, void *ctx)
{
	return std_exp_core(word, ctx);
}
#else
/* The table generator has no tables yet: inversion (never used to generate them). */
static inline double std_exp_core(rng_word_fn word, void *ctx)
{
	return -det_log(1.0 - rng_unit_from(word(ctx)));
}

double rng_std_exp(rng_word_fn word, void *ctx)
{
	return std_exp_core(word, ctx);
}
#endif

static double exp_deviate(double mean, rng_word_fn word, void *ctx)
{
	return mean * rng_std_exp(word, ctx);
}

uint64_t dist_sample(const struct dist *d, rng_word_fn word, void *ctx)
{
	if (d == NULL)
		return 0; /* a missing sub-distribution of a burst draws 0 */
	switch (d->kind) {
	case DIST_FIXED:
		return d->a > DIST_MAX ? DIST_MAX : d->a;
	case DIST_UNIFORM: {
		uint64_t v;

		if (d->b <= d->a) /* empty or one-point range: the lower end */
			v = d->a;
		else if (d->b - d->a == UINT64_MAX) /* the whole 64-bit range: one raw word */
			v = word(ctx);
		else
			v = d->a + below_from(d->b - d->a + 1, word, ctx);
		return v > DIST_MAX ? DIST_MAX : v;
	}
	case DIST_EXP:
		return rng_round_clamp(exp_deviate((double)d->a, word, ctx));
	case DIST_LOGNORMAL:
		return rng_round_clamp((double)d->a * det_exp(d->sigma * std_normal(word, ctx)));
	case DIST_BURSTS:
		if (rng_unit_from(word(ctx)) < d->p)
			return dist_sample(d->sub[1], word, ctx);
		return dist_sample(d->sub[0], word, ctx);
	}
	return 0;
}

/* The mean of the continuous (unrounded) distribution; rounding to integers shifts a sample
 * mean by less than 0.5, clamping only matters near 2^63. Uses libm: tests and docs only. */
double dist_mean(const struct dist *d)
{
	if (d == NULL)
		return 0.0;
	switch (d->kind) {
	case DIST_FIXED:
		return (double)d->a;
	case DIST_UNIFORM:
		if (d->b <= d->a)
			return (double)d->a;
		return ((double)d->a + (double)d->b) / 2.0;
	case DIST_EXP:
		return (double)d->a;
	case DIST_LOGNORMAL:
		return (double)d->a * exp(d->sigma * d->sigma / 2.0);
	case DIST_BURSTS:
		return (1.0 - d->p) * dist_mean(d->sub[0]) + d->p * dist_mean(d->sub[1]);
	}
	return 0.0;
}

/* Mean 1e9 / rate ns, rounded to nearest, at least 1 ns (two events never share an instant
 * by construction); a rate that is not positive (or NaN) means "never": 2^63 - 1. */
static uint64_t stream_word(void *ctx)
{
	return rng_next(ctx);
}

uint64_t rng_exp_interval_rng(double rate_per_s, struct rng *r)
{
	uint64_t ns;

	if (!(rate_per_s > 0))
		return DIST_MAX;
	/* The same operations as rng_exp_interval with words from r: the same value. */
	ns = rng_round_clamp((1e9 / rate_per_s) * std_exp_core(stream_word, r));
	return ns == 0 ? 1 : ns;
}

uint64_t rng_exp_interval(double rate_per_s, rng_word_fn word, void *ctx)
{
	uint64_t ns;

	if (!(rate_per_s > 0))
		return DIST_MAX;
	ns = rng_round_clamp(exp_deviate(1e9 / rate_per_s, word, ctx));
	return ns == 0 ? 1 : ns;
}
