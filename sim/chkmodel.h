/*
 * chkmodel.h: the model bin/sim check explores: one arm's real layers (TSC policy, clock page
 * provider, guest reader) in a small world of threads (sim/chkmodel.c, issue 7).
 *
 * Threads, each advanced one step at a time at the explorer's choice (CHK_THREAD):
 *   - one reader per reading vCPU (check.readers), a coroutine running the arm's reader
 *     check.reads times; a step runs it to its next environment call (env.h yield point);
 *   - the host writer (check.updates > 0): a step either asks the page provider for an update
 *     (page on_update: a new master snapshot and every running vCPU's entry rewritten, issued as
 *     stores) or lands the oldest store in flight; so each store of an update may land between
 *     any two steps of any reader;
 *   - the environment (check.stalls, check.migrate): a step injects an EPT stall (which vCPU and
 *     which host CPU it resumes on are CHK_VALUE choices) or performs the scenario's migration.
 * Time is one global clock advanced by each step's cost (REFERENCE 9's costs, as sim/genv.c)
 * and by the environment's stalls and downtimes. The default answer 0 keeps the current thread
 * running, so a schedule's deviations are its preemptions. The scheduler is fair: a reader that
 * took 16 steps in a row while another thread could run must let one run (a reader spinning on
 * an odd version does not starve the writer it waits for).
 *
 * Properties (check.properties), judged at each read's return unless said otherwise:
 *   monotonic  a vCPU's read is not below its previous read;
 *   no_warp    a read is not below any read that returned before it started (the lock order
 *              kvm-unit-tests uses: a warp across vCPUs);
 *   strict     both of the above with "not below" replaced by "above";
 *   bound      |guest - true| <= check.bound, true time taken at the read's last rdtsc;
 *   no_torn    the value equals what the reader returns when run alone, from its state at the
 *              read's start, with the same TSC, against the page memory as it was at some moment
 *              during the read, every structure it looks at (a vCPU's entry, the Hyper-V page)
 *              holding one version then, none half-written (one reading vCPU only; a read that
 *              fell back to another clock is not judged);
 *   terminates every read returns within check.max_calls environment calls (loops are bounded
 *              at yield points: a livelocked reader is a violation, never a hung search);
 *   continuity after a migration every vCPU's TSC meets REFERENCE 6's criterion.
 */
#ifndef VT_CHKMODEL_H
#define VT_CHKMODEL_H

#include <stdio.h>

#include "explore.h"
#include "config.h"

enum chk_prop {
	CHKP_MONOTONIC,
	CHKP_NO_WARP,
	CHKP_STRICT,
	CHKP_BOUND,
	CHKP_NO_TORN,
	CHKP_TERMINATES,
	CHKP_CONTINUITY,
	CHKP_COUNT
};

extern const char *const chk_prop_names[CHKP_COUNT];

struct chkmodel;

/*
 * A model of arm `arm` of cfg (the arm's own config when it overrides keys). log (may be NULL)
 * receives the timeline of every execution (used when replaying a counterexample). Returns
 * VT_OK, VT_ENOMEM, or VT_EINPUT with a message in err (e.g. updates with a page provider that
 * has no on_update).
 */
int chkmodel_new(struct chkmodel **out, const struct config *cfg, const struct arm_cfg *arm,
		 FILE *log, char *err, size_t errlen);
void chkmodel_free(struct chkmodel *m);
/* The explorer's view of it. */
void chkmodel_as_model(struct chkmodel *m, struct chk_model *out);
/* Where the timeline goes (NULL: nowhere); takes effect at the next execution. */
void chkmodel_set_log(struct chkmodel *m, FILE *log);
/* Guest reads completed in the last execution. */
uint64_t chkmodel_reads(const struct chkmodel *m);

#endif /* VT_CHKMODEL_H */
