/*
 * merge.h: combining results databases (bin/sim merge, and bin/sim sweep's per-worker shards;
 * sim/merge.c, issue 8).
 */
#ifndef VT_MERGE_H
#define VT_MERGE_H

#include <stdio.h>

#include "vt.h"

struct merge_stats {
	unsigned inputs;          /* input databases read */
	uint64_t runs_added;      /* runs copied into the output */
	uint64_t runs_skipped;    /* runs the output already had (same run_id) */
	uint64_t runs_incomplete; /* runs copied while still 'running' (a killed writer's) */
};

/*
 * Copies every run of each input database into `out` (created if needed, brought to the current
 * schema), with all its rows (arms, metrics, series, violations, timeline, expectations, trails),
 * keeping each run exactly once by its run_id: a run the output already has is skipped, so
 * merging the same input twice adds nothing. Inputs older than the current schema are read
 * through a migrated copy, never modified; a newer one is refused. One transaction per input: a
 * failure leaves the output as it was before that input. Returns VT_OK, or VT_EIO / VT_EINPUT
 * with err naming the file and what failed.
 */
int merge_databases(const char *out, const char *const *in, unsigned nin,
		    struct merge_stats *stats, char *err, size_t errlen);

/* bin/sim merge OUT.db IN.db...: argv[0] is "merge". Returns the exit code. */
int merge_main(int argc, char **argv, FILE *out, FILE *err);

#endif /* VT_MERGE_H */
