/*
 * store.h: the results database (SQLite, sim/store.c).
 *
 * Every run writes to one database (default results.db). The run row is written first, in a
 * transaction of its own, with status 'running'; the results follow in ONE transaction that also
 * sets the status to 'complete'. A process killed in between leaves the run 'running' (shown as
 * incomplete) and every earlier run intact. WAL journal, a busy timeout, prepared statements.
 *
 * Schema (user_version 1; README "Results database"):
 *
 *   runs(run_id TEXT PRIMARY KEY,        -- 32 hex digits from the OS's random source
 *        scenario TEXT, path TEXT,
 *        scenario_text TEXT,             -- the fully expanded scenario (includes inlined)
 *        scenario_hash TEXT,             -- FNV-1a 64 of scenario_text, 16 hex digits
 *        seed INTEGER, overrides TEXT,   -- the --set arguments, one per line
 *        version TEXT, plugin_hashes TEXT, -- "arm=hash" per line
 *        host TEXT, started_at TEXT, finished_at TEXT,   -- ISO 8601 UTC
 *        status TEXT CHECK (status IN ('running','complete')),
 *        duration_ns INTEGER, expectations_failed INTEGER)
 *   arms(run_id, arm, ord, policy, page, reader, options, host_tsc_stable, host_clocksource,
 *        host_tsc_khz, series_interval_ns, violations_dropped, timeline_dropped,
 *        PRIMARY KEY (run_id, arm))
 *   metrics(run_id, arm, metric, value, unit, PRIMARY KEY (run_id, arm, metric))
 *        -- long format: every metric and every layer fact (unit 'fact'); integers stored as
 *        -- INTEGER, drift_ppm as REAL
 *   series(run_id, arm, vcpu, t_ns, guest_ns, error_ns)
 *   violations(run_id, arm, kind, t_ns, vcpu, pcpu, prev_vcpu, prev_ns, value_ns, delta_ns,
 *        context)          -- kind: warp, backstep, expectation
 *   timeline(run_id, arm, kind, t_ns, length_ns, vcpu, from_cpu, to_cpu)
 *   expectations(run_id, ord, text, held, lhs, rhs)
 * Views:
 *   metrics_wide       -- one row per (run_id, arm), one column per metric
 *   latest_runs        -- the latest complete run of each scenario
 *   arms_side_by_side  -- per (run_id, metric): "arm=value" for every arm
 *   incomplete_runs    -- runs still 'running' (killed, or in progress)
 */
#ifndef VT_STORE_H
#define VT_STORE_H

#include "record.h"
#include "results.h"

struct store;

/* What the run row records. */
struct run_info {
	const char *scenario;       /* name */
	const char *path;
	const char *scenario_text;  /* expanded */
	uint64_t seed;
	const char *overrides;      /* "\n"-separated --set arguments ("" when none) */
	const char *plugin_hashes;  /* "arm=hash\n"... ("" when none) */
	sim_ns duration_ns;
};

#define STORE_SCHEMA_VERSION 2
#define STORE_BUSY_TIMEOUT_MS 5000

/*
 * Opens (creating if needed) the database at path and brings its schema to the current version
 * (migrating older ones). Returns VT_OK, or VT_EIO with err saying what failed: cannot open, not a
 * database, locked longer than the busy timeout, read-only, disk full, a newer schema.
 */
int store_open(struct store **out, const char *path, char *err, size_t errlen);
void store_close(struct store *s);

/* Writes the run row (status 'running') in its own transaction; run_id gets 33 bytes. */
int store_begin_run(struct store *s, const struct run_info *ri, char run_id[33], char *err,
		    size_t errlen);

/*
 * Writes every arm's layers, options, metrics, facts, series, violations and timeline, the
 * expectations (failed ones also as 'expectation' violations), and sets the run 'complete', all
 * in one transaction. recs[i] belongs to r->arms[i] (NULL: nothing recorded). On failure nothing
 * of it is written and the run stays 'running'.
 */
int store_finish_run(struct store *s, const char *run_id, const struct results *r,
		     const struct recording *const *recs, char *err, size_t errlen);

#endif /* VT_STORE_H */
