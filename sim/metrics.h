/*
 * metrics.h: what the guest saw, measured as the run goes, in memory independent of run length.
 *
 * Every guest clock read reaches metrics_read() with its true time t (ns since guest boot, the
 * instant of the TSC read) and the guest clock value g (ns since guest boot); reads belong to one
 * of the workload's streams. All accumulation is in integers (64-bit, and 128-bit for sums of
 * squares and products), so results are bit-identical on every build; the single floating-point
 * step (drift's final division) is one correctly rounded IEEE operation. Exact definitions are in
 * README "Metrics".
 */
#ifndef VT_METRICS_H
#define VT_METRICS_H

#include <stdio.h>

#include "vt.h"

/* The arm-level metrics, in report order. */
enum metric_id {
	M_READS,
	M_FALLBACKS,
	M_WARPS,
	M_WORST_WARP_NS,
	M_STALLS,
	M_BACKSTEPS,
	M_MAX_BACKSTEP_NS,
	M_MAX_FORWARD_JUMP_NS,
	M_MAX_ABS_ERROR_NS,
	M_RMS_ERROR_NS,
	M_FINAL_ERROR_NS,
	M_DRIFT_PPM,
	M_LOST_TIME_NS,
	M_MAX_VCPU_SKEW_NS,
	M_MAX_SLEEP_OVERSHOOT_NS,
	M_MEAN_SLEEP_OVERSHOOT_NS,
	M_WATCHDOG_TRIPS,
	M_MIG_TSC_ERROR,
	M_MIG_TSC_BREAKS,
	M_MIG_TSC_SPREAD,
	M_MIG_CLOCK_JUMP_NS,
	M_COUNT
};

struct metric_info {
	const char *name;     /* as used in expect clauses and JSON */
	const char *unit;     /* "ns", "ppm", "" for counts */
	int scale;            /* the stored integer is value * 10^scale (drift: 3, in ppb) */
	bool lower_is_better;
	const char *doc;      /* one line */
};

extern const struct metric_info metric_info[M_COUNT];
/* The metric named `name`, or -1. */
int metric_lookup(const char *name);

/* Serialized streams whose consecutive reads are ordered by happens-before (warps, stalls). */
enum chain { CHAIN_LOCK, CHAIN_HOP, CHAIN_COUNT };

struct vcpu_metrics {
	bool has_last;
	sim_ns last_t;
	uint64_t last_g;
	int64_t last_err;        /* g - t of the latest read */
	bool read_since_sample;
	uint64_t reads;
	uint64_t backsteps;
	uint64_t max_backstep_ns;
	int64_t max_forward_jump_ns;
	uint64_t debt_ns;        /* lost time so far (see README) */
	bool mig_watch;          /* the next read measures the jump across a migration ... */
	bool mig_has_last;       /* ... against this read before it (when there was one) */
	sim_ns mig_t;
	uint64_t mig_g;
};

struct chain_state {
	bool has_last;
	uint64_t last;
};

struct metrics {
	unsigned nvcpus;
	struct vcpu_metrics *v;
	struct chain_state chain[CHAIN_COUNT];
	int64_t jump_threshold;  /* ns */

	uint64_t reads, fallbacks, warps, stalls;
	uint64_t worst_warp_ns;
	uint64_t max_abs_error_ns;
	u128 sum_sq_error;       /* sum of e^2 (ns^2): with |e| < 2^45 ns (9.7 h) room for 2^38 reads */
	int64_t final_error_ns;
	uint64_t max_vcpu_skew_ns;
	/* Drift: least squares of e against sample index k over (k, e) points. */
	uint64_t sleeps, max_overshoot;
	uint64_t watchdog_trips;  /* set by the engine's watchdog */
	/* Migrations (issue 6), set by the engine's migration (sim/world.c) except the jump. */
	int64_t mig_tsc_error;    /* signed continuity error of largest magnitude, guest cycles */
	uint64_t mig_tsc_breaks;  /* vCPU restores outside the continuity criterion */
	uint64_t mig_tsc_spread;  /* largest spread of the vCPUs' guest TSCs at a resume */
	int64_t mig_clock_jump;   /* signed guest-visible jump of largest magnitude, ns */
	unsigned mig_watching;    /* vCPUs whose mig_watch is set: 0 after their first reads */
	u128 sum_overshoot;
	uint64_t nsamples;       /* sample ticks so far */
	uint64_t npoints;
	s128 sum_k, sum_kk, sum_e, sum_ke;
	sim_ns sample_interval;
};

int metrics_init(struct metrics *m, unsigned nvcpus, sim_ns sample_interval,
		 sim_ns jump_threshold);
void metrics_free(struct metrics *m);

/* What metrics_read found wrong with a read (for the recording's violations). */
#define METRIC_BACKSTEP 1u /* below the same vCPU's previous read */
#define METRIC_WARP 2u     /* below the previous read of its chain */

/* The values a violating read was compared with (filled only when it violates). */
struct read_prev {
	uint64_t vcpu_g;   /* the same vCPU's previous read (METRIC_BACKSTEP) */
	uint64_t chain_g;  /* the chain's previous read (METRIC_WARP) */
};

/* One guest read on vCPU v at true time t returning g; chain is -1 for a free read. Returns
 * METRIC_* flags; prev (may be NULL) receives what the read was compared with. */
unsigned metrics_read(struct metrics *m, unsigned v, int chain, sim_ns t, uint64_t g,
		      bool fallback, struct read_prev *prev);
/* A migration stopped the VM: each vCPU's next read measures the jump of its clock against
 * true time since its last read before the stop (M_MIG_CLOCK_JUMP_NS). */
void metrics_mark_migration(struct metrics *m);
/* A guest sleep asked to end at `requested` and woken at `delivered` (true time). */
void metrics_sleep(struct metrics *m, sim_ns requested, sim_ns delivered);
/* The sampler's tick: vCPU skew and drift points. */
void metrics_sample(struct metrics *m, sim_ns t);

/* The final value of every metric (stored integers, see metric_info.scale). */
void metrics_finish(const struct metrics *m, int64_t out[M_COUNT]);
/* A metric's stored integer as a double in its unit (drift in ppm). */
double metric_as_double(enum metric_id id, int64_t stored);
/* Formats a stored value in its unit ("12345", "-0.123"). */
void metric_format(enum metric_id id, int64_t stored, char *buf, size_t len);

#endif /* VT_METRICS_H */
