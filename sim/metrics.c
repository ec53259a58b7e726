/*
 * metrics.c: the streaming metrics of one arm (definitions: README "Metrics").
 *
 * Per read: a handful of integer updates on the reading vCPU's record and the arm's totals; per
 * sample tick: one pass over the vCPUs. Memory is O(vCPUs), whatever the run length.
 */
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

#define DRIFT_E_MAX ((int64_t)1 << 52)

const struct metric_info metric_info[M_COUNT] = {
	[M_READS] = { "reads", "", 0, false, "guest clock reads performed" },
	[M_FALLBACKS] = { "fallbacks", "", 0, true,
			  "reads the reader refused (it fell back to a slower clock)" },
	[M_WARPS] = { "warps", "", 0, true,
		      "serialized reads (lock or hopping task) smaller than the previous one" },
	[M_WORST_WARP_NS] = { "worst_warp_ns", "ns", 0, true,
			      "largest such backward difference" },
	[M_STALLS] = { "stalls", "", 0, true,
		       "serialized reads equal to the previous one" },
	[M_BACKSTEPS] = { "backsteps", "", 0, true,
			  "reads smaller than the same vCPU's previous read" },
	[M_MAX_BACKSTEP_NS] = { "max_backstep_ns", "ns", 0, true,
				"largest such backward difference on one vCPU" },
	[M_MAX_FORWARD_JUMP_NS] = { "max_forward_jump_ns", "ns", 0, true,
				    "largest excess of guest over true time between two reads of a vCPU" },
	[M_MAX_ABS_ERROR_NS] = { "max_abs_error_ns", "ns", 0, true,
				 "largest |guest - true| over all reads" },
	[M_RMS_ERROR_NS] = { "rms_error_ns", "ns", 0, true,
			     "root mean square of guest - true over all reads (floor)" },
	[M_FINAL_ERROR_NS] = { "final_error_ns", "ns", 0, true,
			       "guest - true at the last read of the run" },
	[M_DRIFT_PPM] = { "drift_ppm", "ppm", 3, true,
			  "least-squares slope of guest - true against true time" },
	[M_LOST_TIME_NS] = { "lost_time_ns", "ns", 0, true,
			     "true time a vCPU's clock stood still and never caught up (worst vCPU)" },
	[M_MAX_VCPU_SKEW_NS] = { "max_vcpu_skew_ns", "ns", 0, true,
				 "largest spread of the vCPUs' clock errors at a sample tick" },
	[M_MAX_SLEEP_OVERSHOOT_NS] = { "max_sleep_overshoot_ns", "ns", 0, true,
				       "largest delay of a guest sleep's wake past what it asked" },
	[M_MEAN_SLEEP_OVERSHOOT_NS] = { "mean_sleep_overshoot_ns", "ns", 0, true,
					"mean of that delay over all sleeps (floor)" },
	[M_WATCHDOG_TRIPS] = { "watchdog_trips", "", 0, true,
			       "times the guest's clocksource watchdog marked its clock unstable" },
	[M_MIG_TSC_ERROR] = { "mig_tsc_error_cycles", "cycles", 0, true,
			      "migration: guest TSC at resume minus (TSC at stop + stopped time "
			      "at the guest rate), largest magnitude over vCPUs" },
	[M_MIG_TSC_BREAKS] = { "mig_tsc_breaks", "", 0, true,
			       "migration: vCPU restores outside the continuity criterion "
			       "(REFERENCE 6: 1 cycle plus the ratio's rounding)" },
	[M_MIG_TSC_SPREAD] = { "mig_tsc_spread_cycles", "cycles", 0, true,
			       "migration: largest spread of the vCPUs' guest TSCs at a resume" },
	[M_MIG_CLOCK_JUMP_NS] = { "mig_clock_jump_ns", "ns", 0, true,
				  "migration: a vCPU's first read after minus its last before, "
				  "minus the true time between them, largest magnitude" },
};

int metric_lookup(const char *name)
{
	for (int i = 0; i < M_COUNT; i++)
		if (strcmp(metric_info[i].name, name) == 0)
			return i;
	return -1;
}

int metrics_init(struct metrics *m, unsigned nvcpus, sim_ns sample_interval,
		 sim_ns jump_threshold)
{
	memset(m, 0, sizeof(*m));
	m->v = calloc(nvcpus ? nvcpus : 1, sizeof(*m->v));
	if (!m->v)
		return VT_ENOMEM;
	m->nvcpus = nvcpus;
	m->sample_interval = sample_interval;
	m->jump_threshold = (int64_t)jump_threshold;
	return VT_OK;
}

void metrics_free(struct metrics *m)
{
	free(m->v);
	m->v = NULL;
}

static inline uint64_t abs64(int64_t x)
{
	return x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
}

unsigned metrics_read(struct metrics *m, unsigned vi, int chain, sim_ns t, uint64_t g,
		      bool fallback, struct read_prev *prev)
{
	unsigned flags = 0;
	struct vcpu_metrics *v = &m->v[vi];
	/* Error against true time, both counted from guest boot; the difference of two u64 read as
	 * signed: exact while |g - t| < 2^63 ns. */
	int64_t e = (int64_t)(g - t);
	uint64_t ae = abs64(e);

	m->reads++;
	m->fallbacks += fallback;
	if (ae > m->max_abs_error_ns)
		m->max_abs_error_ns = ae;
	/* Saturating: an absurd error (a guest clock wrapped to ~2^64) must not wrap the sum. */
	{
		u128 sq = (u128)ae * ae;

		m->sum_sq_error = m->sum_sq_error > ~(u128)0 - sq ? ~(u128)0 : m->sum_sq_error + sq;
	}
	m->final_error_ns = e;
	if (VT_UNLIKELY(m->mig_watching) && v->mig_watch) {
		/* The first read after a migration: its step against true time since the last
		 * read before (mod 2^64 differences read as signed). */
		v->mig_watch = false;
		m->mig_watching--;
		if (v->mig_has_last) {
			int64_t jump = (int64_t)(g - v->mig_g) - (int64_t)(t - v->mig_t);

			if (abs64(jump) > abs64(m->mig_clock_jump))
				m->mig_clock_jump = jump;
		}
	}

	if (v->has_last) {
		/* Per-vCPU monotonicity and steps against true time. */
		int64_t dg = (int64_t)(g - v->last_g);
		int64_t dt = (int64_t)(t - v->last_t);
		int64_t behind = dt - dg; /* > 0: the clock advanced less than true time */

		if (dg < 0) {
			flags |= METRIC_BACKSTEP;
			if (prev)
				prev->vcpu_g = v->last_g;
			v->backsteps++;
			if (abs64(dg) > v->max_backstep_ns)
				v->max_backstep_ns = abs64(dg);
		}
		if (-behind > v->max_forward_jump_ns)
			v->max_forward_jump_ns = -behind;
		/* Lost time: a debt grown by steps that fell behind by more than the threshold and
		 * repaid by steps that jumped ahead by more than it, never below zero. */
		if (behind > m->jump_threshold)
			v->debt_ns += (uint64_t)behind;
		else if (-behind > m->jump_threshold)
			v->debt_ns = v->debt_ns > (uint64_t)-behind ? v->debt_ns - (uint64_t)-behind : 0;
	}
	v->has_last = true;
	v->last_t = t;
	v->last_g = g;
	v->last_err = e;
	v->read_since_sample = true;
	v->reads++;

	if (chain >= 0) {
		/* kvm-unit-tests kvmclock_test: under the lock, t0 = last; last = t1. */
		struct chain_state *c = &m->chain[chain];

		if (c->has_last) {
			if (g < c->last) {
				flags |= METRIC_WARP;
				if (prev)
					prev->chain_g = c->last;
				m->warps++;
				if (c->last - g > m->worst_warp_ns)
					m->worst_warp_ns = c->last - g;
			} else if (g == c->last) {
				m->stalls++;
			}
		}
		c->has_last = true;
		c->last = g;
	}
	return flags;
}

void metrics_sleep(struct metrics *m, sim_ns requested, sim_ns delivered)
{
	uint64_t over = delivered > requested ? delivered - requested : 0;

	m->sleeps++;
	m->sum_overshoot += over;
	if (over > m->max_overshoot)
		m->max_overshoot = over;
}

void metrics_sample(struct metrics *m, sim_ns t)
{
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	int64_t k = (int64_t)m->nsamples++;
	bool any = false;

	(void)t;
	for (unsigned i = 0; i < m->nvcpus; i++) {
		struct vcpu_metrics *v = &m->v[i];

		if (!v->has_last)
			continue;
		any = true;
		if (v->last_err < lo)
			lo = v->last_err;
		if (v->last_err > hi)
			hi = v->last_err;
		if (v->read_since_sample) {
			/* A drift point (k, e), e clamped to +-2^52 ns (52 days: beyond that the clock
			 * is broken anyway); the sums are exact in 128 bits for k < 2^40 and fewer than
			 * 2^34 points. */
			int64_t e = v->last_err > DRIFT_E_MAX ? DRIFT_E_MAX
				    : v->last_err < -DRIFT_E_MAX ? -DRIFT_E_MAX : v->last_err;

			m->npoints++;
			m->sum_k += k;
			m->sum_kk += (s128)k * k;
			m->sum_e += e;
			m->sum_ke += (s128)k * e;
			v->read_since_sample = false;
		}
	}
	/* The spread in unsigned arithmetic: exact for any two int64 errors. */
	if (any && (uint64_t)hi - (uint64_t)lo > m->max_vcpu_skew_ns)
		m->max_vcpu_skew_ns = (uint64_t)hi - (uint64_t)lo;
}

/* floor(sqrt(x)) for a 128-bit x, by Newton's method from above. */
static uint64_t isqrt128(u128 x)
{
	u128 r, y;

	if (x < 2)
		return (uint64_t)x;
	r = x;
	y = (r + 1) / 2;
	/* Start from 2^ceil(bits/2) to keep the iteration short. */
	{
		unsigned bits = 0;
		u128 tmp = x;

		while (tmp) {
			bits++;
			tmp >>= 1;
		}
		r = (u128)1 << ((bits + 1) / 2);
		y = (r + x / r) / 2;
	}
	while (y < r) {
		r = y;
		y = (r + x / r) / 2;
	}
	return (uint64_t)r;
}

void metrics_mark_migration(struct metrics *m)
{
	for (unsigned i = 0; i < m->nvcpus; i++) {
		struct vcpu_metrics *v = &m->v[i];

		m->mig_watching += !v->mig_watch;
		v->mig_watch = true;
		v->mig_has_last = v->has_last;
		v->mig_t = v->last_t;
		v->mig_g = v->last_g;
	}
}

void metrics_finish(const struct metrics *m, int64_t out[M_COUNT])
{
	uint64_t lost = 0, backsteps = 0, max_back = 0;
	int64_t max_fwd = 0;

	for (unsigned i = 0; i < m->nvcpus; i++) {
		const struct vcpu_metrics *v = &m->v[i];

		if (v->debt_ns > lost)
			lost = v->debt_ns;
		backsteps += v->backsteps;
		if (v->max_backstep_ns > max_back)
			max_back = v->max_backstep_ns;
		if (v->max_forward_jump_ns > max_fwd)
			max_fwd = v->max_forward_jump_ns;
	}
	out[M_READS] = (int64_t)m->reads;
	out[M_FALLBACKS] = (int64_t)m->fallbacks;
	out[M_WARPS] = (int64_t)m->warps;
	out[M_WORST_WARP_NS] = (int64_t)m->worst_warp_ns;
	out[M_STALLS] = (int64_t)m->stalls;
	out[M_BACKSTEPS] = (int64_t)backsteps;
	out[M_MAX_BACKSTEP_NS] = (int64_t)max_back;
	out[M_MAX_FORWARD_JUMP_NS] = max_fwd;
	out[M_MAX_ABS_ERROR_NS] = (int64_t)m->max_abs_error_ns;
	out[M_RMS_ERROR_NS] = m->reads ? (int64_t)isqrt128(m->sum_sq_error / m->reads) : 0;
	out[M_FINAL_ERROR_NS] = m->final_error_ns;
	out[M_LOST_TIME_NS] = (int64_t)lost;
	out[M_MAX_VCPU_SKEW_NS] = (int64_t)m->max_vcpu_skew_ns;
	out[M_MAX_SLEEP_OVERSHOOT_NS] = (int64_t)m->max_overshoot;
	out[M_MEAN_SLEEP_OVERSHOOT_NS] = m->sleeps ? (int64_t)(m->sum_overshoot / m->sleeps) : 0;
	out[M_WATCHDOG_TRIPS] = (int64_t)m->watchdog_trips;
	out[M_MIG_TSC_ERROR] = m->mig_tsc_error;
	out[M_MIG_TSC_BREAKS] = (int64_t)m->mig_tsc_breaks;
	out[M_MIG_TSC_SPREAD] = (int64_t)m->mig_tsc_spread;
	out[M_MIG_CLOCK_JUMP_NS] = m->mig_clock_jump;

	/*
	 * Drift: slope of e (ns) against k (sample ticks of sample_interval ns) by least squares,
	 * slope = (n*Ske - Sk*Se) / (n*Skk - Sk^2) ns per tick; ppm = slope / interval * 1e6.
	 * Numerator and denominator are exact integers; the one division is done in double
	 * (each i128 -> double conversion and the division correctly rounded), then rounded to the
	 * nearest ppb for storage.
	 */
	out[M_DRIFT_PPM] = 0;
	if (m->npoints >= 2 && m->sample_interval > 0) {
		s128 n = (s128)m->npoints, a, b, num, den;
		double ppb;

		/* n*Ske and Sk*Se stay within 128 bits unless the run is absurdly long; if a product
		 * would overflow, the slope is computed in double from the same sums instead. */
		if (!__builtin_mul_overflow(n, m->sum_ke, &a) &&
		    !__builtin_mul_overflow(m->sum_k, m->sum_e, &b) &&
		    !__builtin_sub_overflow(a, b, &num) &&
		    !__builtin_mul_overflow(n, m->sum_kk, &a) &&
		    !__builtin_mul_overflow(m->sum_k, m->sum_k, &b) &&
		    !__builtin_sub_overflow(a, b, &den)) {
			ppb = den != 0 ? (double)num / (double)den / (double)m->sample_interval * 1e9
				       : 0.0;
		} else {
			double dn = (double)n;
			double dnum = dn * (double)m->sum_ke - (double)m->sum_k * (double)m->sum_e;
			double dden = dn * (double)m->sum_kk - (double)m->sum_k * (double)m->sum_k;

			ppb = dden != 0 ? dnum / dden / (double)m->sample_interval * 1e9 : 0.0;
		}
		/* Rounded to the nearest ppb, clamped to the int64 range. */
		if (ppb >= 9.2e18)
			out[M_DRIFT_PPM] = INT64_MAX;
		else if (ppb <= -9.2e18)
			out[M_DRIFT_PPM] = -INT64_MAX;
		else
			out[M_DRIFT_PPM] = (int64_t)(ppb < 0 ? ppb - 0.5 : ppb + 0.5);
	}
}

double metric_as_double(enum metric_id id, int64_t stored)
{
	/* One correctly rounded division, so "-16521.115" in an expect equals the value printed. */
	return metric_info[id].scale == 3 ? (double)stored / 1000.0 : (double)stored;
}

void metric_format(enum metric_id id, int64_t stored, char *buf, size_t len)
{
	if (metric_info[id].scale == 3) {
		uint64_t a = abs64(stored);

		snprintf(buf, len, "%s%llu.%03llu", stored < 0 ? "-" : "",
			 (unsigned long long)(a / 1000), (unsigned long long)(a % 1000));
	} else {
		snprintf(buf, len, "%lld", (long long)stored);
	}
}
