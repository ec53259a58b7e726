/*
 * rng.h: the deterministic pseudo-random number generator and the duration distributions.
 *
 * Generator: xoshiro256** (Blackman and Vigna), seeded through splitmix64. Each subsystem draws
 * from its own stream, derived from (scenario seed, stream id), so that no arm, policy or reader
 * can perturb the numbers another subsystem sees (common random numbers across arms).
 *
 * Distributions draw from a word source (a callback giving uniformly random 64-bit words), so
 * that the engine can route every draw through its single choice-point function. Sampling uses
 * only IEEE-754 double additions, multiplications, divisions and square roots (each correctly
 * rounded), with our own log and exp built from them: the same seed gives the same durations, bit
 * for bit, with gcc or clang, on any x86-64 or arm64 machine (built with -ffp-contract=off).
 */
#ifndef VT_RNG_H
#define VT_RNG_H

#include "vt.h"

struct rng {
	uint64_t s[4];
};

/* Seeds `r` for stream `stream` of scenario seed `seed`; distinct streams are independent. */
void rng_seed(struct rng *r, uint64_t seed, uint64_t stream);
/* The next uniformly distributed 64-bit word. */
uint64_t rng_next(struct rng *r);
/* A uniform integer in [0, n), without modulo bias (n > 0). */
uint64_t rng_below(struct rng *r, uint64_t n);

/* A source of uniform 64-bit words: the engine's choice point, or an rng directly. */
typedef uint64_t (*rng_word_fn)(void *ctx);
uint64_t rng_word_of(void *rng); /* adapter: ctx is a struct rng * */

/* A uniform double in [0, 1) with 53 random bits, from one word. */
double rng_unit_from(uint64_t word);
/* Deterministic natural log and exp (x > 0 for log), correct to about 1 ulp. */
double det_log(double x);
double det_exp(double x);

enum dist_kind {
	DIST_FIXED,     /* a: the value */
	DIST_UNIFORM,   /* a..b inclusive */
	DIST_EXP,       /* exponential with mean a */
	DIST_LOGNORMAL, /* median a, shape sigma (dimensionless) */
	DIST_BURSTS,    /* with probability p a draw from sub[1] (a burst), else from sub[0] */
};

/* A distribution of non-negative durations (ns) or counts; `sub` only for DIST_BURSTS. */
struct dist {
	enum dist_kind kind;
	uint64_t a, b;
	double sigma; /* DIST_LOGNORMAL */
	double p;     /* DIST_BURSTS */
	const struct dist *sub[2];
};

/* One draw, rounded to the nearest integer (ties away from zero), clamped to [0, 2^63). */
uint64_t dist_sample(const struct dist *d, rng_word_fn word, void *ctx);
/* The rounding and clamping of dist_sample: nearest integer, ties away from zero, NaN and
 * negatives to 0, at or above 2^63 to 2^63 - 1. */
uint64_t rng_round_clamp(double v);
/* The distribution's exact mean, for tests and the README (as a double). */
double dist_mean(const struct dist *d);

/*
 * The exponential ziggurat (Marsaglia and Tsang 2000): 256 layers of area ZIG_V under exp(-x),
 * the base layer ending at ZIG_R. rng_ziggurat_tables computes the boundaries x[0..256] and
 * f[i] = exp(-x[i]) with det_exp/det_log; sim/ziggurat.h holds them as exact constants.
 */
#define ZIG_R 7.69711747013104972
#define ZIG_V 0.003949659822581572
void rng_ziggurat_tables(double x[257], double f[257]);
/* A standard exponential deviate (mean 1) by the ziggurat: one word and one multiply in ~99%
 * of draws. */
double rng_std_exp(rng_word_fn word, void *ctx);

/* Exponential inter-arrival time (ns) of a Poisson process with `rate_per_s` events per second. */
uint64_t rng_exp_interval(double rate_per_s, rng_word_fn word, void *ctx);
/* rng_exp_interval with words straight from stream r (the simulation's hot path: no callback);
 * the same value as rng_exp_interval with a word function returning rng_next(r). */
uint64_t rng_exp_interval_rng(double rate_per_s, struct rng *r);

#endif /* VT_RNG_H */
