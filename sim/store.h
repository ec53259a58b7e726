/*
 * store.h: the results database (SQLite, sim/store.c).
 *
 * Every run writes to one database (default results.db). The run row is written first, in a
 * transaction of its own, with status 'running'; the results follow in ONE transaction that also
 * sets the status to 'complete'. A process killed in between leaves the run 'running' (shown as
 * incomplete) and every earlier run intact. WAL journal, a busy timeout, prepared statements.
 *
 * A check run (bin/sim check, issue 7) has the same run row (duration_ns 0); its results are one
 * trails row per arm explored, written with the status change by store_finish_check.
 *
 * Schema (README "Results database"); PRAGMA user_version is its version, and store_open brings
 * an older database to the current one in one transaction:
 *   1  every table and view below but those marked v2 or v3
 *   2  adds arms.migration (issue 6)
 *   3  adds the table trails and the view check_verdicts (issue 7)
 *   4  adds runs.sweep_id and runs.sweep_point (issue 8: bin/sim sweep)
 *   5  keys the bulk rows by an integer: arms.arm_key, the tables series_rows and timeline_rows,
 *      and series and timeline as views with the columns the tables had (issue 8)
 *
 *   runs(run_id TEXT PRIMARY KEY,        -- 32 hex digits from the OS's random source
 *        scenario TEXT, path TEXT,
 *        scenario_text TEXT,             -- the fully expanded scenario (includes inlined)
 *        scenario_hash TEXT,             -- FNV-1a 64 of scenario_text, 16 hex digits
 *        seed INTEGER, overrides TEXT,   -- the --set arguments, one per line
 *        version TEXT, plugin_hashes TEXT, -- "arm=hash" per line
 *        host TEXT, started_at TEXT, finished_at TEXT,   -- ISO 8601 UTC
 *        status TEXT CHECK (status IN ('running','complete')),
 *        duration_ns INTEGER, expectations_failed INTEGER,
 *        sweep_id TEXT, sweep_point TEXT) -- the sweep and its grid point, NULL otherwise (v4)
 *   arms(arm_key INTEGER PRIMARY KEY,   -- the bulk rows' key (v5)
 *        run_id, arm, ord, policy, page, reader, options, host_tsc_stable, host_clocksource,
 *        host_tsc_khz, series_interval_ns, violations_dropped, timeline_dropped,
 *        migration,                     -- the migration algorithm, NULL when none (v2)
 *        UNIQUE (run_id, arm))          -- the primary key before v5
 *   metrics(run_id, arm, metric, value, unit, PRIMARY KEY (run_id, arm, metric))
 *        -- long format: every metric and every layer fact (unit 'fact'); integers stored as
 *        -- INTEGER, drift_ppm as REAL
 *   series_rows(arm_key, seq, vcpu, t_ns, guest_ns, error_ns,
 *        PRIMARY KEY (arm_key, seq)) WITHOUT ROWID   -- seq: 0, 1, ... as recorded (v5)
 *   violations(run_id, arm, kind, t_ns, vcpu, pcpu, prev_vcpu, prev_ns, value_ns, delta_ns,
 *        context)          -- kind: warp, backstep, expectation
 *   timeline_rows(arm_key, seq, kind, t_ns, length_ns, vcpu, from_cpu, to_cpu,
 *        PRIMARY KEY (arm_key, seq)) WITHOUT ROWID   -- (v5)
 *   expectations(run_id, ord, text, held, lhs, rhs)
 *   trails(run_id, arm, ord, policy, page, reader,    -- one per arm a check explored (v3)
 *        property,                      -- the property violated, NULL when it holds
 *        verdict, expected,             -- 'holds' or 'violated': found, and what the scenario
 *                                       -- expects (check.expect)
 *        strategy, schedules, exhausted, shrink_runs,  -- the exploration: dfs/bfs/random/pct,
 *                                       -- schedules run, 1 when the bounded space was covered
 *        message, choices,              -- the counterexample: what went wrong, the explorer's
 *                                       -- answers ("3 0 1 2"); NULL when it holds
 *        trail,                         -- the whole trail file (bin/sim replay), or NULL
 *        PRIMARY KEY (run_id, arm))
 * Views:
 *   series             -- series_rows with run_id and arm: (run_id, arm, vcpu, t_ns, guest_ns,
 *                         error_ns, seq), the table's columns before v5, then seq
 *   timeline           -- timeline_rows the same way: (run_id, arm, kind, t_ns, length_ns,
 *                         vcpu, from_cpu, to_cpu, seq)
 *   metrics_wide       -- one row per (run_id, arm), one column per metric
 *   latest_runs        -- the latest complete run of each scenario
 *   arms_side_by_side  -- per (run_id, metric): "arm=value" for every arm
 *   incomplete_runs    -- runs still 'running' (killed, or in progress)
 *   check_verdicts     -- per (scenario, arm): the verdict of the latest complete check run
 *                         that explored the arm, with as_expected (v3)
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
	const char *sweep_id;       /* bin/sim sweep: the sweep (NULL: a run of its own) ... */
	const char *sweep_point;    /* ... and this run's grid point ("k=v k=v seed=N") */
};

#define STORE_SCHEMA_VERSION 5
#define STORE_BUSY_TIMEOUT_MS 5000

/* The busy timeout every connection to a results database uses: STORE_BUSY_TIMEOUT_MS, or
 * $VTSIM_DB_BUSY_MS (milliseconds, for tests). */
int store_busy_timeout_ms(void);

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

/*
 * The same rows written as they become ready (bin/sim, from its writer thread, sim/writer.h):
 * store_put_arm writes one arm (r->arms[ord] of the finished run; its row, metrics, facts, series,
 * violations, timeline) in a transaction of its own, the run staying 'running'; after every arm,
 * store_complete_run writes the expectations and sets the run 'complete' in one more. On failure
 * nothing of that transaction is written: the arms written before stay, and the run stays
 * 'running' (incomplete: reports and latest_runs never count it).
 */
int store_put_arm(struct store *s, const char *run_id, unsigned ord, const struct arm_result *a,
		  const struct recording *rec, char *err, size_t errlen);

/*
 * The same arm streamed while it runs, each call a transaction of its own: store_arm_begin
 * writes the arm's row with only run_id, arm and ord (its rows refer to it) and returns its
 * arm_key; store_arm_rows writes the recorded rows from *done up to `upto` (final rows only, see
 * record.h) and advances *done; store_arm_end writes the rest from *done, fills in the arm's row
 * and writes its metrics and facts. The rows end up exactly as store_put_arm writes them. On
 * failure the call's transaction is rolled back and *done is unchanged.
 */
int store_arm_begin(struct store *s, const char *run_id, unsigned ord, const char *name,
		    int64_t *key, char *err, size_t errlen);
int store_arm_rows(struct store *s, const char *run_id, const char *name, int64_t key,
		   const struct recording *rec, struct record_pos *done,
		   const struct record_pos *upto, char *err, size_t errlen);
int store_arm_end(struct store *s, const char *run_id, int64_t key, const struct arm_result *a,
		  const struct recording *rec, struct record_pos *done, char *err, size_t errlen);
int store_complete_run(struct store *s, const char *run_id, const struct results *r, char *err,
		       size_t errlen);

/* One arm's verdict from a check run (a trails row); its strings are read during the call only. */
struct trail_row {
	const char *arm;
	unsigned ord;                /* the arm's index in the scenario */
	const char *policy, *page, *reader;
	const char *property;        /* the property violated; NULL when it holds */
	bool violated;               /* the verdict */
	bool expected_violation;     /* the scenario's check.expect */
	const char *strategy;        /* "dfs", "bfs", "random", "pct" */
	uint64_t schedules;          /* schedules explored */
	bool exhausted;              /* the bounded space was covered (not a budget stop) */
	uint64_t shrink_runs;        /* runs spent shrinking the counterexample */
	const char *message;         /* what the counterexample shows; may be NULL */
	const char *choices;         /* the explorer's answers, "3 0 1 2", or NULL */
	const char *trail;           /* the whole trail file text, or NULL */
};

/*
 * Writes rows[0..n) as trails rows and sets the run 'complete' with expectations_failed = failed
 * (the arms whose verdict is not the expected one), all in one transaction, as store_finish_run
 * does. On failure nothing of it is written and the run stays 'running'; err names the database,
 * the run and the problem.
 */
int store_finish_check(struct store *s, const char *run_id, const struct trail_row *rows,
		       unsigned n, unsigned failed, char *err, size_t errlen);

/* Our words for an SQLite result code's primary code ("the disk is full", "the database is
 * locked by another process; gave up after N ms"), for messages about any results database. */
void store_describe_error(int rc, int busy_ms, char *buf, size_t len);

#endif /* VT_STORE_H */
