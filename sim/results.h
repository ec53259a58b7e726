/*
 * results.h: the outcome of a run: each arm's metrics and load, the expectations' verdicts, and
 * their presentation (the summary table on stdout, the --json object).
 */
#ifndef VT_RESULTS_H
#define VT_RESULTS_H

#include <stdio.h>

#include "config.h"
#include "metrics.h"
#include "world.h"

/* What the host kernel concluded at boot. */
struct host_facts {
	bool tsc_stable;
	enum host_clocksource cs;
	uint32_t tsc_khz, mult, shift;
};

struct arm_result {
	const struct arm_cfg *arm;
	struct host_facts host;      /* per arm (arms may override host keys); after a migration
					the destination's */
	bool migrated;               /* the arm's scenario migrates the VM (migration.at) */
	unsigned nfacts;             /* the page provider's facts */
	const struct layer_fact *fact;
	int64_t fact_value[LAYER_MAX_FACTS];
	int64_t m[M_COUNT];          /* stored metric values (metric_info.scale) */
	struct load_stats load;
	unsigned nvcpus;
	struct vcpu_metrics *vcpu;   /* per-vCPU records (copied from the world) */
	double wall_s;               /* wall-clock seconds the arm took (stats only, never output
					in results) */
};

struct expect_result {
	const struct scn_expect *e;
	double lhs, rhs;
	bool held;
	bool undefined;              /* a division by zero: counted as failed */
};

struct results {
	const struct config *cfg;
	unsigned narms;
	struct arm_result *arms;
	unsigned nexpect;
	struct expect_result *expect;
	unsigned failed;             /* expectations that did not hold */
};

/* Evaluates every expect clause against the arms' metrics. */
void results_check(struct results *r);
/* The human-readable summary: arms side by side, then the expectations. */
void results_print_table(const struct results *r, FILE *out);
/* One JSON object (README "Output"). */
void results_print_json(const struct results *r, FILE *out);
void results_free(struct results *r);

#endif /* VT_RESULTS_H */
