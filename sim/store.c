/*
 * store.c: the results database. This file implements the object behind sim/store.h: one SQLite
 * connection to a results database, its schema (created, migrated, or refused when newer), and the
 * two transactions of a run: the run row ('running') and everything the run measured (which also
 * sets it 'complete'). A check run's second transaction holds its verdicts (trails) instead.
 *
 * Durability comes from SQLite, not from us: the journal is a write-ahead log, so a process killed
 * while writing leaves frames without a commit record that the next opener ignores, and every
 * earlier run stays as it was. Each transaction starts with BEGIN IMMEDIATE so that waiting for
 * another writer happens at its first statement, under the busy timeout, never half-way.
 *
 * Storage conventions beyond store.h:
 *   - unsigned 64-bit quantities (seed, guest_ns, prev_ns, value_ns) are stored as the signed
 *     64-bit integer with the same bits: values above 2^63 - 1 (a seed, in practice) read back
 *     negative and come back exact through a cast to uint64_t;
 *   - "none" is NULL: prev_vcpu, a VM-wide event's vcpu, an unknown CPU (-1 in record.h), and an
 *     arm's series_interval_ns / *_dropped when nothing was recorded for it;
 *   - an expectation's violation row has arm, times and CPUs NULL (it is about the whole run);
 *   - a verdict is the text 'holds' or 'violated', never a boolean, so that a reader of trails
 *     need not know which way round 1 is.
 *
 * Errors name the database and the problem in words a user can act on ("locked", "read-only",
 * "the disk is full", "not an SQLite database"), then SQLite's own message and code.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "registry.h"
#include "store.h"
#include "util.h"

/* The prepared statements a store keeps for its whole life (bound per row, reset after). */
enum store_stmt {
	ST_INS_RUN,
	ST_INS_ARM,
	ST_UPD_ARM,
	ST_INS_METRIC,
	ST_INS_SERIES,
	ST_INS_VIOL,
	ST_INS_TL,
	ST_INS_EXPECT,
	ST_INS_TRAIL,
	ST_FINISH_RUN,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	[ST_INS_RUN] = "INSERT INTO runs (run_id, scenario, path, scenario_text, scenario_hash, seed, "
		       "overrides, version, plugin_hashes, host, started_at, status, duration_ns, "
		       "sweep_id, sweep_point) "
		       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)",
	/* An arm's row goes in when the arm starts (its rows refer to it) and is filled in when
	 * it ends: the host's facts and the dropped counts are known only then. */
	[ST_INS_ARM] = "INSERT INTO arms (run_id, arm, ord) VALUES (?, ?, ?)",
	[ST_UPD_ARM] = "UPDATE arms SET policy = ?, page = ?, reader = ?, options = ?, "
		       "host_tsc_stable = ?, host_clocksource = ?, host_tsc_khz = ?, "
		       "series_interval_ns = ?, violations_dropped = ?, timeline_dropped = ?, "
		       "migration = ? WHERE arm_key = ?",
	[ST_INS_METRIC] = "INSERT INTO metrics (run_id, arm, metric, value, unit) "
			  "VALUES (?, ?, ?, ?, ?)",
	[ST_INS_SERIES] = "INSERT INTO series_rows (arm_key, seq, vcpu, t_ns, guest_ns, error_ns) "
			  "VALUES (?, ?, ?, ?, ?, ?)",
	[ST_INS_VIOL] = "INSERT INTO violations (run_id, arm, kind, t_ns, vcpu, pcpu, prev_vcpu, "
			"prev_ns, value_ns, delta_ns, context) "
			"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[ST_INS_TL] = "INSERT INTO timeline_rows (arm_key, seq, kind, t_ns, length_ns, vcpu, "
		      "from_cpu, to_cpu) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	[ST_INS_EXPECT] = "INSERT INTO expectations (run_id, ord, text, held, lhs, rhs) "
			  "VALUES (?, ?, ?, ?, ?, ?)",
	[ST_INS_TRAIL] = "INSERT INTO trails (run_id, arm, ord, policy, page, reader, property, "
			 "verdict, expected, strategy, schedules, exhausted, shrink_runs, message, "
			 "choices, trail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[ST_FINISH_RUN] = "UPDATE runs SET status = 'complete', finished_at = ?, "
			  "expectations_failed = ? WHERE run_id = ? AND status = 'running'",
};

/* Bulk rows (series, timeline, violations) go BATCH_ROWS to a statement: one VDBE run per batch
 * instead of per row, a third of the insert time of a heavy run (bench/README.md). */
#define BATCH_ROWS 64

struct store {
	sqlite3 *db;
	char *path;
	int busy_ms;                  /* the busy timeout in force */
	sqlite3_stmt *st[ST_COUNT];
	sqlite3_stmt *series_batch;   /* ST_INS_SERIES for BATCH_ROWS rows */
	sqlite3_stmt *tl_batch;       /* ST_INS_TL for BATCH_ROWS rows */
	sqlite3_stmt *viol_batch;     /* ST_INS_VIOL for BATCH_ROWS rows */
};

/* A failure that is ours, not SQLite's: err already says what. */
#define STORE_RC_OWN (-1)

/* Per run and metric, "arm=value" for every arm in arm order, separated by one space. The
 * ORDERed subquery of an aggregate is never flattened, so group_concat sees arm order. (Version 1
 * creates it; version 5 drops it while rebuilding arms and creates it again.) */
#define ARMS_SIDE_BY_SIDE \
	"CREATE VIEW arms_side_by_side AS SELECT run_id, metric, unit," \
	" group_concat(arm || '=' || value, ' ') AS arms" \
	" FROM (SELECT m.run_id AS run_id, m.metric AS metric, m.unit AS unit, m.arm AS arm," \
	" m.value AS value FROM metrics AS m JOIN arms AS a ON a.run_id = m.run_id AND a.arm = m.arm" \
	" ORDER BY m.run_id, m.metric, a.ord)" \
	" GROUP BY run_id, metric;\n"

/*
 * Schema migrations. Entry i brings a database from user_version i to i + 1; version 0 is an
 * empty database, so entry 0 creates everything; a new version is one more entry here and
 * STORE_SCHEMA_VERSION in store.h one higher. The generated view metrics_wide is not in these: it
 * follows metric_info and the registry and is rebuilt at open whenever its text changed.
 */
static const char schema_v1[] =
	"CREATE TABLE runs ("
	" run_id TEXT PRIMARY KEY,"
	" scenario TEXT,"
	" path TEXT,"
	" scenario_text TEXT,"
	" scenario_hash TEXT,"
	" seed INTEGER,"
	" overrides TEXT,"
	" version TEXT,"
	" plugin_hashes TEXT,"
	" host TEXT,"
	" started_at TEXT NOT NULL,"
	" finished_at TEXT,"
	" status TEXT NOT NULL CHECK (status IN ('running', 'complete')),"
	" duration_ns INTEGER,"
	" expectations_failed INTEGER);\n"
	"CREATE INDEX runs_by_scenario ON runs (scenario, status, started_at);\n"
	"CREATE TABLE arms ("
	" run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,"
	" arm TEXT NOT NULL,"
	" ord INTEGER NOT NULL,"
	" policy TEXT,"
	" page TEXT,"
	" reader TEXT,"
	" options TEXT,"
	" host_tsc_stable INTEGER,"
	" host_clocksource TEXT,"
	" host_tsc_khz INTEGER,"
	" series_interval_ns INTEGER,"
	" violations_dropped INTEGER,"
	" timeline_dropped INTEGER,"
	" PRIMARY KEY (run_id, arm));\n"
	/* value has no declared type (no affinity): integers stay INTEGER and drift stays REAL. */
	"CREATE TABLE metrics ("
	" run_id TEXT NOT NULL,"
	" arm TEXT NOT NULL,"
	" metric TEXT NOT NULL,"
	" value,"
	" unit TEXT NOT NULL,"
	" PRIMARY KEY (run_id, arm, metric),"
	" FOREIGN KEY (run_id, arm) REFERENCES arms (run_id, arm) ON DELETE CASCADE);\n"
	"CREATE TABLE series ("
	" run_id TEXT NOT NULL,"
	" arm TEXT NOT NULL,"
	" vcpu INTEGER NOT NULL,"
	" t_ns INTEGER NOT NULL,"
	" guest_ns INTEGER NOT NULL,"
	" error_ns INTEGER NOT NULL,"
	" FOREIGN KEY (run_id, arm) REFERENCES arms (run_id, arm) ON DELETE CASCADE);\n"
	"CREATE INDEX series_by_arm ON series (run_id, arm, vcpu, t_ns);\n"
	"CREATE TABLE violations ("
	" run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,"
	" arm TEXT,"
	" kind TEXT NOT NULL CHECK (kind IN ('warp', 'backstep', 'expectation')),"
	" t_ns INTEGER,"
	" vcpu INTEGER,"
	" pcpu INTEGER,"
	" prev_vcpu INTEGER,"
	" prev_ns INTEGER,"
	" value_ns INTEGER,"
	" delta_ns INTEGER,"
	" context TEXT,"
	" FOREIGN KEY (run_id, arm) REFERENCES arms (run_id, arm) ON DELETE CASCADE);\n"
	"CREATE INDEX violations_by_arm ON violations (run_id, arm, t_ns);\n"
	"CREATE TABLE timeline ("
	" run_id TEXT NOT NULL,"
	" arm TEXT NOT NULL,"
	" kind TEXT NOT NULL CHECK (kind IN ('migration', 'stall', 'io-exit', 'preempt', 'pause')),"
	" t_ns INTEGER NOT NULL,"
	" length_ns INTEGER,"
	" vcpu INTEGER,"
	" from_cpu INTEGER,"
	" to_cpu INTEGER,"
	" FOREIGN KEY (run_id, arm) REFERENCES arms (run_id, arm) ON DELETE CASCADE);\n"
	"CREATE INDEX timeline_by_arm ON timeline (run_id, arm, t_ns);\n"
	"CREATE TABLE expectations ("
	" run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,"
	" ord INTEGER NOT NULL,"
	" text TEXT NOT NULL,"
	" held INTEGER NOT NULL,"
	" lhs REAL,"
	" rhs REAL,"
	" PRIMARY KEY (run_id, ord));\n"
	/* The latest complete run of each scenario: by started_at, then by insertion order. */
	"CREATE VIEW latest_runs AS SELECT r.* FROM runs AS r"
	" WHERE r.status = 'complete' AND NOT EXISTS (SELECT 1 FROM runs AS o"
	" WHERE o.status = 'complete' AND o.scenario IS r.scenario"
	" AND (o.started_at > r.started_at"
	" OR (o.started_at = r.started_at AND o.rowid > r.rowid)));\n"
	ARMS_SIDE_BY_SIDE
	"CREATE VIEW incomplete_runs AS SELECT * FROM runs WHERE status = 'running';\n";

/* Version 2 (issue 6): the arm's migration algorithm, NULL when the scenario migrates nothing;
 * its options join the options text as migration.K=V. */
static const char schema_v2[] = "ALTER TABLE arms ADD COLUMN migration TEXT;\n";

/*
 * Version 3 (issue 7): a check run's verdicts, one row per arm explored. A check run writes no
 * arms rows (it measures nothing), so arm names the scenario's arm without a foreign key to arms.
 * check_verdicts is latest_runs for checks: per scenario and arm, the row of the latest complete
 * run that checked that arm (by started_at, then insertion order), so checking one arm with
 * --arm does not hide the others' verdicts. The trail text stays in trails (join on run_id, arm).
 */
static const char schema_v3[] =
	"CREATE TABLE trails ("
	" run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,"
	" arm TEXT NOT NULL,"
	" ord INTEGER NOT NULL,"
	" policy TEXT,"
	" page TEXT,"
	" reader TEXT,"
	" property TEXT,"
	" verdict TEXT NOT NULL CHECK (verdict IN ('holds', 'violated')),"
	" expected TEXT NOT NULL CHECK (expected IN ('holds', 'violated')),"
	" strategy TEXT,"
	" schedules INTEGER,"
	" exhausted INTEGER,"
	" shrink_runs INTEGER,"
	" message TEXT,"
	" choices TEXT,"
	" trail TEXT,"
	" PRIMARY KEY (run_id, arm));\n"
	"CREATE VIEW check_verdicts AS SELECT r.scenario AS scenario, t.arm AS arm,"
	" t.run_id AS run_id, r.started_at AS started_at, t.ord AS ord, t.policy AS policy,"
	" t.page AS page, t.reader AS reader, t.property AS property, t.verdict AS verdict,"
	" t.expected AS expected, t.verdict = t.expected AS as_expected, t.strategy AS strategy,"
	" t.schedules AS schedules, t.exhausted AS exhausted, t.shrink_runs AS shrink_runs,"
	" t.message AS message, t.choices AS choices"
	" FROM trails AS t JOIN runs AS r ON r.run_id = t.run_id"
	" WHERE r.status = 'complete' AND NOT EXISTS (SELECT 1 FROM trails AS ot"
	" JOIN runs AS o ON o.run_id = ot.run_id"
	" WHERE ot.arm = t.arm AND o.status = 'complete' AND o.scenario IS r.scenario"
	" AND (o.started_at > r.started_at"
	" OR (o.started_at = r.started_at AND o.rowid > r.rowid)));\n";

/*
 * Version 4 (issue 8): a run made by `bin/sim sweep` names its sweep and its grid point
 * ("host.cpu.skew_ppm=40ppm seed=3", the --set arguments of the point, space-separated); NULL for
 * a run of its own. Reports group a sweep's runs by point; merges keep them with their run.
 */
static const char schema_v4[] =
	"ALTER TABLE runs ADD COLUMN sweep_id TEXT;\n"
	"ALTER TABLE runs ADD COLUMN sweep_point TEXT;\n"
	"CREATE INDEX runs_by_sweep ON runs (sweep_id);\n";

/*
 * Version 5 (issue 8: the database's share of a run): the bulk rows are keyed by an integer.
 * arms gets arm_key, an INTEGER PRIMARY KEY (a rowid alias, so VACUUM keeps it) AUTOINCREMENT
 * (never reused: rows left behind by an arm deleted with foreign keys off cannot attach to a
 * later arm), with
 * (run_id, arm) still unique for the tables that name an arm by its text; series and timeline
 * move to series_rows and timeline_rows, WITHOUT ROWID tables clustered on (arm_key, seq), seq
 * being the row's position in the arm's recording (0, 1, ...). A run's rows are appended at the
 * end of one B-tree, where version 4 kept the 32-character run id and the arm's name in every row
 * and in a second index: the bulk insert takes half the time and the rows a third of the space
 * (bench/README.md). series and timeline become views with the old columns, plus seq, so every
 * query that read the tables reads the views unchanged.
 *
 * Rebuilding arms needs foreign keys off (schema_update runs with them off): dropping the old
 * table would otherwise delete every arm's metrics through ON DELETE CASCADE. The views that read
 * arms go first and come back after the rename (metrics_wide is rebuilt by schema_update).
 */
#define ARMS_V4_COLUMNS \
	"run_id, arm, ord, policy, page, reader, options, host_tsc_stable, host_clocksource," \
	" host_tsc_khz, series_interval_ns, violations_dropped, timeline_dropped, migration"
static const char schema_v5[] =
	"DROP VIEW arms_side_by_side;\n"
	"CREATE TABLE arms_v5 ("
	" arm_key INTEGER PRIMARY KEY AUTOINCREMENT,"
	" run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,"
	" arm TEXT NOT NULL,"
	" ord INTEGER NOT NULL,"
	" policy TEXT,"
	" page TEXT,"
	" reader TEXT,"
	" options TEXT,"
	" host_tsc_stable INTEGER,"
	" host_clocksource TEXT,"
	" host_tsc_khz INTEGER,"
	" series_interval_ns INTEGER,"
	" violations_dropped INTEGER,"
	" timeline_dropped INTEGER,"
	" migration TEXT,"
	" UNIQUE (run_id, arm));\n"
	"INSERT INTO arms_v5 (" ARMS_V4_COLUMNS ") SELECT " ARMS_V4_COLUMNS
	" FROM arms ORDER BY rowid;\n"
	"CREATE TABLE series_rows ("
	" arm_key INTEGER NOT NULL REFERENCES arms (arm_key) ON DELETE CASCADE,"
	" seq INTEGER NOT NULL,"
	" vcpu INTEGER NOT NULL,"
	" t_ns INTEGER NOT NULL,"
	" guest_ns INTEGER NOT NULL,"
	" error_ns INTEGER NOT NULL,"
	" PRIMARY KEY (arm_key, seq)) WITHOUT ROWID;\n"
	"INSERT INTO series_rows (arm_key, seq, vcpu, t_ns, guest_ns, error_ns)"
	" SELECT a.arm_key, row_number() OVER (PARTITION BY a.arm_key ORDER BY s.rowid) - 1,"
	" s.vcpu, s.t_ns, s.guest_ns, s.error_ns"
	" FROM series AS s JOIN arms_v5 AS a ON a.run_id = s.run_id AND a.arm = s.arm;\n"
	"CREATE TABLE timeline_rows ("
	" arm_key INTEGER NOT NULL REFERENCES arms (arm_key) ON DELETE CASCADE,"
	" seq INTEGER NOT NULL,"
	" kind TEXT NOT NULL CHECK (kind = 'io-exit' OR kind = 'preempt' OR kind = 'stall'"
	" OR kind = 'migration' OR kind = 'pause'),"
	" t_ns INTEGER NOT NULL,"
	" length_ns INTEGER,"
	" vcpu INTEGER,"
	" from_cpu INTEGER,"
	" to_cpu INTEGER,"
	" PRIMARY KEY (arm_key, seq)) WITHOUT ROWID;\n"
	"INSERT INTO timeline_rows (arm_key, seq, kind, t_ns, length_ns, vcpu, from_cpu, to_cpu)"
	" SELECT a.arm_key, row_number() OVER (PARTITION BY a.arm_key ORDER BY t.rowid) - 1,"
	" t.kind, t.t_ns, t.length_ns, t.vcpu, t.from_cpu, t.to_cpu"
	" FROM timeline AS t JOIN arms_v5 AS a ON a.run_id = t.run_id AND a.arm = t.arm;\n"
	/* violations: the same table, its kind CHECK an OR of equalities (an IN list is
	 * evaluated through a temporary index built for every row: a tenth of the insert time). */
	"CREATE TABLE violations_v5 ("
	" run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,"
	" arm TEXT,"
	" kind TEXT NOT NULL CHECK (kind = 'warp' OR kind = 'backstep' OR kind = 'expectation'),"
	" t_ns INTEGER,"
	" vcpu INTEGER,"
	" pcpu INTEGER,"
	" prev_vcpu INTEGER,"
	" prev_ns INTEGER,"
	" value_ns INTEGER,"
	" delta_ns INTEGER,"
	" context TEXT,"
	" FOREIGN KEY (run_id, arm) REFERENCES arms (run_id, arm) ON DELETE CASCADE);\n"
	"INSERT INTO violations_v5 SELECT * FROM violations ORDER BY rowid;\n"
	"DROP TABLE violations;\n"
	"ALTER TABLE violations_v5 RENAME TO violations;\n"
	"CREATE INDEX violations_by_arm ON violations (run_id, arm, t_ns);\n"
	"DROP TABLE series;\n"
	"DROP TABLE timeline;\n"
	"DROP TABLE arms;\n"
	"ALTER TABLE arms_v5 RENAME TO arms;\n"
	"CREATE VIEW series AS SELECT a.run_id AS run_id, a.arm AS arm, s.vcpu AS vcpu,"
	" s.t_ns AS t_ns, s.guest_ns AS guest_ns, s.error_ns AS error_ns, s.seq AS seq"
	" FROM series_rows AS s JOIN arms AS a ON a.arm_key = s.arm_key;\n"
	"CREATE VIEW timeline AS SELECT a.run_id AS run_id, a.arm AS arm, t.kind AS kind,"
	" t.t_ns AS t_ns, t.length_ns AS length_ns, t.vcpu AS vcpu, t.from_cpu AS from_cpu,"
	" t.to_cpu AS to_cpu, t.seq AS seq"
	" FROM timeline_rows AS t JOIN arms AS a ON a.arm_key = t.arm_key;\n"
	ARMS_SIDE_BY_SIDE;

static const char *const migrations[] = {
	schema_v1, /* 0 -> 1: create everything */
	schema_v2, /* 1 -> 2: arms.migration */
	schema_v3, /* 2 -> 3: trails, check_verdicts */
	schema_v4, /* 3 -> 4: runs.sweep_id, runs.sweep_point */
	schema_v5, /* 4 -> 5: arms.arm_key, series_rows, timeline_rows */
};

_Static_assert(VT_ARRAY_SIZE(migrations) == STORE_SCHEMA_VERSION,
	       "one migration per schema version");

/* ---- small helpers ---------------------------------------------------------------------- */

/* A growable string (the options text, the generated view). */
struct strbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_printf(struct strbuf *b, const char *fmt, ...) VT_PRINTF(2, 3);

static void sb_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	if (!b->p || b->len + (size_t)n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *q;

		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		q = realloc(b->p, cap);
		if (!q) {
			b->oom = true;
			return;
		}
		b->p = q;
		b->cap = cap;
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

/* The text of b ("" when nothing was appended). */
static const char *sb_str(const struct strbuf *b)
{
	return b->p ? b->p : "";
}

/* FNV-1a 64 of a NUL-terminated text. */
static uint64_t fnv1a64(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}


/* The current UTC time as ISO 8601 with milliseconds: "2025-12-24T10:11:12.345Z". */
static void utc_now(char out[32])
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(out, 24, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + strlen(out), 8, ".%03dZ", (int)(ts.tv_nsec / 1000000));
}

int store_busy_timeout_ms(void)
{
	const char *e = getenv("VTSIM_DB_BUSY_MS");
	char *end;
	long v;

	if (!e || !*e)
		return STORE_BUSY_TIMEOUT_MS;
	errno = 0;
	v = strtol(e, &end, 10);
	if (errno || *end || v < 0 || v > INT_MAX)
		return STORE_BUSY_TIMEOUT_MS;
	return (int)v;
}

/* ---- error messages --------------------------------------------------------------------- */

void store_describe_error(int rc, int busy_ms, char *buf, size_t len)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		snprintf(buf, len, "the database is locked by another process; gave up after %d ms",
			 busy_ms);
		break;
	case SQLITE_READONLY:
		snprintf(buf, len, "the database is read-only");
		break;
	case SQLITE_FULL:
		snprintf(buf, len, "the disk is full");
		break;
	case SQLITE_IOERR:
		snprintf(buf, len, "I/O error");
		break;
	case SQLITE_NOTADB:
		snprintf(buf, len, "not an SQLite database");
		break;
	case SQLITE_CORRUPT:
		snprintf(buf, len, "the database is corrupt");
		break;
	case SQLITE_CANTOPEN:
		snprintf(buf, len, "cannot open the file");
		break;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		snprintf(buf, len, "permission denied");
		break;
	case SQLITE_NOMEM:
		snprintf(buf, len, "out of memory");
		break;
	case SQLITE_CONSTRAINT:
		snprintf(buf, len, "a row breaks a constraint");
		break;
	default:
		snprintf(buf, len, "%s", sqlite3_errstr(rc));
		break;
	}
}

/*
 * "PATH: WHAT failed: PROBLEM (SQLite: MESSAGE; code N[; errno E: TEXT])". PROBLEM is our words
 * for the primary result code, the rest is what SQLite said, for a bug report.
 */
static void db_error(const struct store *s, const char *path, const char *what, int rc, char *err,
		     size_t errlen)
{
	sqlite3 *db = s ? s->db : NULL;
	const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
	int sys = db ? sqlite3_system_errno(db) : 0;
	char problem[160], sysbuf[96] = "";

	store_describe_error(rc, s ? s->busy_ms : 0, problem, sizeof(problem));
	/* The OS error is meaningful only when the VFS just failed a system call. */
	if (sys > 0 && ((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_CANTOPEN ||
			(rc & 0xff) == SQLITE_FULL))
		snprintf(sysbuf, sizeof(sysbuf), "; errno %d: %s", sys, strerror(sys));
	snprintf(err, errlen, "%s: %s failed: %s (SQLite: %s; code %d%s)", path, what, problem, msg,
		 rc, sysbuf);
}

/* ---- statement helpers ------------------------------------------------------------------ */

/* Binds parameters 1, 2, ... in order; the first failure sticks. */
struct binder {
	sqlite3_stmt *st;
	int idx;
	int rc;
};

static struct binder bind_start(sqlite3_stmt *st)
{
	struct binder b = { st, 0, SQLITE_OK };

	return b;
}

static void b_text(struct binder *b, const char *v)
{
	int rc = v ? sqlite3_bind_text(b->st, ++b->idx, v, -1, SQLITE_STATIC)
		   : sqlite3_bind_null(b->st, ++b->idx);

	if (b->rc == SQLITE_OK)
		b->rc = rc;
}

static void b_int(struct binder *b, int64_t v)
{
	int rc = sqlite3_bind_int64(b->st, ++b->idx, v);

	if (b->rc == SQLITE_OK)
		b->rc = rc;
}

/* Unsigned 64-bit: the same bits as a signed integer (see the top of the file). */
static void b_u64(struct binder *b, uint64_t v)
{
	b_int(b, (int64_t)v);
}

static void b_real(struct binder *b, double v)
{
	int rc = sqlite3_bind_double(b->st, ++b->idx, v);

	if (b->rc == SQLITE_OK)
		b->rc = rc;
}

static void b_null(struct binder *b)
{
	int rc = sqlite3_bind_null(b->st, ++b->idx);

	if (b->rc == SQLITE_OK)
		b->rc = rc;
}

/* A non-negative id, or NULL for "none" (-1). */
static void b_id(struct binder *b, int64_t v)
{
	if (v < 0)
		b_null(b);
	else
		b_int(b, v);
}

/* Steps a bound INSERT/UPDATE to completion. Returns SQLITE_OK or the error (statement not yet
 * reset, so that sqlite3_errmsg still describes it). */
static int bind_exec(struct binder *b)
{
	int rc;

	if (b->rc != SQLITE_OK)
		return b->rc;
	rc = sqlite3_step(b->st);
	if (rc != SQLITE_DONE)
		return rc;
	sqlite3_reset(b->st);
	return SQLITE_OK;
}

static void reset_all(struct store *s)
{
	for (int i = 0; i < ST_COUNT; i++)
		if (s->st[i]) {
			sqlite3_reset(s->st[i]);
			sqlite3_clear_bindings(s->st[i]);
		}
}

/* Ends a failed transaction: nothing of it stays. SQLite rolls back by itself after some errors
 * (SQLITE_FULL, SQLITE_IOERR ...); then there is nothing left to roll back. */
static void rollback(struct store *s)
{
	reset_all(s);
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* One integer from a query such as "PRAGMA user_version". */
static int query_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		*out = 0;
		rc = SQLITE_OK;
	}
	/* Finalizing keeps a failed step's message in the connection for db_error(). */
	sqlite3_finalize(st);
	return rc;
}

/* ---- schema ----------------------------------------------------------------------------- */

/*
 * CREATE VIEW metrics_wide: one row per (run_id, arm), one column per metric in metric_info
 * order, then one per layer fact any registered page provider reports, in registry order
 * (masterclock, masterclock_ever, page_updates, tsc_page_valid today).
 */
static void metrics_wide_sql(struct strbuf *b)
{
	const char *seen[64];
	unsigned nseen = 0;

	sb_printf(b, "CREATE VIEW metrics_wide AS SELECT a.run_id AS run_id, a.arm AS arm");
	for (int m = 0; m < M_COUNT; m++)
		sb_printf(b, ", max(CASE WHEN m.metric = '%s' AND m.unit <> 'fact' THEN m.value END)"
			     " AS \"%s\"", metric_info[m].name, metric_info[m].name);
	for (unsigned p = 0; vt_pages[p]; p++) {
		const struct layer_fact *f = vt_pages[p]->facts;

		for (; f && f->name; f++) {
			bool dup = false;

			for (unsigned i = 0; i < nseen; i++)
				dup |= strcmp(seen[i], f->name) == 0;
			if (dup || nseen == VT_ARRAY_SIZE(seen))
				continue;
			seen[nseen++] = f->name;
			sb_printf(b, ", max(CASE WHEN m.metric = '%s' AND m.unit = 'fact'"
				     " THEN m.value END) AS \"%s\"", f->name, f->name);
		}
	}
	sb_printf(b, " FROM arms AS a LEFT JOIN metrics AS m ON m.run_id = a.run_id"
		     " AND m.arm = a.arm GROUP BY a.run_id, a.arm");
}

/* Whether the stored metrics_wide is exactly `want`. */
static int view_current(sqlite3 *db, const char *want, bool *current)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, "SELECT sql FROM sqlite_master WHERE type = 'view'"
				    " AND name = 'metrics_wide'", -1, &st, NULL);

	if (rc != SQLITE_OK)
		return rc;
	*current = false;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *have = sqlite3_column_text(st, 0);

		*current = have && strcmp((const char *)have, want) == 0;
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/*
 * Brings the schema to STORE_SCHEMA_VERSION: nothing to do when it is current (the common case,
 * no write and so no lock), else one IMMEDIATE transaction that re-reads the version (another
 * process may have migrated meanwhile), runs the missing steps, rebuilds metrics_wide and sets
 * user_version.
 */
static int schema_update(struct store *s, char *err, size_t errlen)
{
	struct strbuf view = { 0 };
	char what[96] = "reading the schema version";
	int64_t ver = 0, dangling = 0; /* rows referring to missing runs or arms */
	bool current = false;
	int rc;

	metrics_wide_sql(&view);
	if (view.oom) {
		snprintf(err, errlen, "%s: out of memory", s->path);
		rc = STORE_RC_OWN;
		goto out;
	}
	rc = query_int(s->db, "PRAGMA user_version", &ver);
	if (rc == SQLITE_OK && ver == STORE_SCHEMA_VERSION)
		rc = view_current(s->db, view.p, &current);
	if (rc != SQLITE_OK || (ver == STORE_SCHEMA_VERSION && current))
		goto out;

	snprintf(what, sizeof(what), "updating the schema");
	/* A table renamed by a migration (schema_v5) leaves the users' own views alone: they name
	 * series, timeline and arms, which exist again when it is done. (Indexes and triggers on
	 * a table a migration drops go with it; README says so.) */
	rc = sqlite3_exec(s->db, "PRAGMA legacy_alter_table = ON", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = query_int(s->db, "PRAGMA user_version", &ver);
	if (rc != SQLITE_OK)
		goto out;
	if (ver > STORE_SCHEMA_VERSION || ver < 0)
		goto out;
	if (ver == 0)
		snprintf(what, sizeof(what), "creating the schema");
	else if (ver < STORE_SCHEMA_VERSION)
		snprintf(what, sizeof(what), "migrating the schema from version %lld to %d",
			 (long long)ver, STORE_SCHEMA_VERSION);
	else
		snprintf(what, sizeof(what), "rebuilding the view metrics_wide");
	/*
	 * Foreign keys are off while the schema changes, so they are checked as a whole, before and
	 * after. Rows that refer to a run or arm that is gone (deleted by hand with foreign keys
	 * off) stop a migration before it starts: version 5 re-keys series and timeline rows by
	 * their arm, and would have to drop the ones without one. The user decides, not us.
	 */
	if (ver > 0 && ver < STORE_SCHEMA_VERSION) {
		rc = query_int(s->db, "SELECT count(*) FROM pragma_foreign_key_check", &dangling);
		if (rc == SQLITE_OK && dangling > 0)
			goto out;
	}
	/* The generated view goes first, so that no migration trips over it, and comes back last. */
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, "DROP VIEW IF EXISTS metrics_wide", NULL, NULL, NULL);
	for (int64_t v = ver; rc == SQLITE_OK && v < STORE_SCHEMA_VERSION; v++)
		rc = sqlite3_exec(s->db, migrations[v], NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, view.p, NULL, NULL, NULL);
	if (rc == SQLITE_OK && ver > 0 && ver < STORE_SCHEMA_VERSION) {
		rc = query_int(s->db, "SELECT count(*) FROM pragma_foreign_key_check", &dangling);
		if (rc == SQLITE_OK && dangling > 0)
			goto out;
	}
	if (rc == SQLITE_OK) {
		char sql[48];

		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
		rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
out:
	if (rc == SQLITE_OK && ver > STORE_SCHEMA_VERSION) {
		snprintf(err, errlen,
			 "%s: the database has schema version %lld, newer than this vtsim's %d: use a "
			 "newer vtsim or another database", s->path, (long long)ver,
			 STORE_SCHEMA_VERSION);
		rc = STORE_RC_OWN;
	} else if (rc == SQLITE_OK && dangling > 0) {
		snprintf(err, errlen, "%s: %s failed: %lld rows refer to runs or arms that are not in "
			 "the database (deleted with foreign keys off; PRAGMA foreign_key_check lists "
			 "them): delete them, then open it again; the database is unchanged", s->path,
			 what, (long long)dangling);
		rc = STORE_RC_OWN;
	} else if (rc == SQLITE_OK && ver < 0) {
		snprintf(err, errlen, "%s: the database has an invalid schema version %lld", s->path,
			 (long long)ver);
		rc = STORE_RC_OWN;
	} else if (rc != SQLITE_OK && rc != STORE_RC_OWN) {
		db_error(s, s->path, what, rc, err, errlen);
	}
	if (rc != SQLITE_OK && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_exec(s->db, "PRAGMA legacy_alter_table = OFF", NULL, NULL, NULL);
	free(view.p);
	return rc;
}

/* ---- open / close ----------------------------------------------------------------------- */

/* The single-row INSERT `which` extended to BATCH_ROWS rows ("... VALUES (?, ...), (?, ...)"). */
static int prepare_batch(struct store *s, int which, sqlite3_stmt **out)
{
	const char *one = stmt_sql[which], *values = strstr(one, "VALUES ");
	size_t head, tuple, len;
	char *sql;
	int rc;

	if (!values)
		return SQLITE_ERROR;
	head = (size_t)(values - one) + 7;
	tuple = strlen(values + 7);
	len = head + BATCH_ROWS * (tuple + 2) + 1;
	sql = malloc(len);
	if (!sql)
		return SQLITE_NOMEM;
	memcpy(sql, one, head);
	for (unsigned k = 0; k < BATCH_ROWS; k++) {
		if (k)
			memcpy(sql + head++, ",", 1);
		memcpy(sql + head, values + 7, tuple);
		head += tuple;
	}
	sql[head] = '\0';
	rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
	free(sql);
	return rc;
}

int store_open(struct store **out, const char *path, char *err, size_t errlen)
{
	struct store *s;
	const char *what = "opening";
	int rc;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s)
		s->path = strdup(path);
	if (!s || !s->path) {
		snprintf(err, errlen, "%s: out of memory", path);
		free(s);
		return VT_EIO;
	}
	s->busy_ms = store_busy_timeout_ms();

	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_extended_result_codes(s->db, 1);
	rc = sqlite3_busy_timeout(s->db, s->busy_ms);
	/* The first read of the header: a file that is not a database fails here. */
	if (rc == SQLITE_OK) {
		int64_t sv;

		what = "reading the database";
		rc = query_int(s->db, "PRAGMA schema_version", &sv);
	}
	if (rc == SQLITE_OK) {
		what = "setting the journal mode to WAL";
		rc = sqlite3_exec(s->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
	}
	if (rc == SQLITE_OK) {
		/* In WAL mode NORMAL syncs at checkpoints, not at every commit: a commit is as safe
		 * against a crash of the process (a killed run keeps every committed row) and the
		 * database never corrupts; only a power loss may drop the last commits. */
		what = "setting synchronous = NORMAL";
		rc = sqlite3_exec(s->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
	}
	if (rc == SQLITE_OK) {
		/* Off while the schema changes (a migration may rebuild a parent table, see
		 * schema_v5), on for everything after. */
		what = "disabling foreign keys";
		rc = sqlite3_exec(s->db, "PRAGMA foreign_keys = OFF", NULL, NULL, NULL);
	}
	if (rc != SQLITE_OK)
		goto fail;

	rc = schema_update(s, err, errlen);
	if (rc != SQLITE_OK)
		goto failed;
	what = "enabling foreign keys";
	rc = sqlite3_exec(s->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		goto fail;

	what = "preparing statements";
	for (int i = 0; i < ST_COUNT; i++) {
		rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
					NULL);
		if (rc != SQLITE_OK)
			goto fail;
	}
	rc = prepare_batch(s, ST_INS_SERIES, &s->series_batch);
	if (rc == SQLITE_OK)
		rc = prepare_batch(s, ST_INS_TL, &s->tl_batch);
	if (rc == SQLITE_OK)
		rc = prepare_batch(s, ST_INS_VIOL, &s->viol_batch);
	if (rc != SQLITE_OK)
		goto fail;
	*out = s;
	return VT_OK;

fail:
	if (s->db)
		db_error(s, path, what, rc, err, errlen);
	else
		snprintf(err, errlen, "%s: %s failed: out of memory", path, what);
failed:
	store_close(s);
	return VT_EIO;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_finalize(s->series_batch);
	sqlite3_finalize(s->tl_batch);
	sqlite3_finalize(s->viol_batch);
	/* Every statement is finalized, so this closes (and checkpoints the WAL when last). */
	sqlite3_close(s->db);
	free(s->path);
	free(s);
}

/* ---- the run row ------------------------------------------------------------------------ */

int store_begin_run(struct store *s, const struct run_info *ri, char run_id[33], char *err,
		    size_t errlen)
{
	char hash[17], started[32], host[256];
	const char *what = "writing the run row";
	struct binder b;
	int rc, e;

	e = util_random_hex(run_id, 16);
	if (e) {
		snprintf(err, errlen, "%s: no run id: cannot read the OS random source: %s", s->path,
			 strerror(e));
		return VT_EIO;
	}
	snprintf(hash, sizeof(hash), "%016llx",
		 (unsigned long long)fnv1a64(ri->scenario_text ? ri->scenario_text : ""));
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	utc_now(started);

	rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	b = bind_start(s->st[ST_INS_RUN]);
	b_text(&b, run_id);
	b_text(&b, ri->scenario);
	b_text(&b, ri->path);
	b_text(&b, ri->scenario_text);
	b_text(&b, hash);
	b_u64(&b, ri->seed);
	b_text(&b, ri->overrides ? ri->overrides : "");
	b_text(&b, VTSIM_VERSION);
	b_text(&b, ri->plugin_hashes ? ri->plugin_hashes : "");
	b_text(&b, host);
	b_text(&b, started);
	b_u64(&b, ri->duration_ns);
	b_text(&b, ri->sweep_id);
	b_text(&b, ri->sweep_point);
	rc = bind_exec(&b);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_clear_bindings(s->st[ST_INS_RUN]);
	return VT_OK;

fail:
	db_error(s, s->path, what, rc, err, errlen);
	rollback(s);
	return VT_EIO;
}

/* ---- the results ------------------------------------------------------------------------ */

/* The name of choice `idx` of an enum option's "a|b|c", into buf. False when out of range. */
static bool choice_name(const char *choices, int64_t idx, char *buf, size_t len)
{
	const char *p = choices;

	for (int64_t i = 0; p && i < idx; i++) {
		p = strchr(p, '|');
		if (p)
			p++;
	}
	if (!p || idx < 0)
		return false;
	snprintf(buf, len, "%.*s", (int)strcspn(p, "|"), p);
	return true;
}

/* One "prefix.name=value\n" line per option of a layer, in its table order. */
static void render_options(struct strbuf *b, const char *prefix, const struct opt_set *os)
{
	for (unsigned i = 0; os && i < os->n; i++) {
		const struct opt_val *v = &os->v[i];
		char buf[64];

		switch (v->desc->type) {
		case OPT_ENUM:
			if (!choice_name(v->desc->choices, v->value, buf, sizeof(buf)))
				snprintf(buf, sizeof(buf), "%lld", (long long)v->value);
			break;
		case OPT_BOOL:
			snprintf(buf, sizeof(buf), "%s", v->value ? "yes" : "no");
			break;
		case OPT_PPM: {
			/* ppb -> ppm exactly: the integer part, then up to 3 decimals, trailing zeros
			 * dropped ("-31.5", "2", "0.001"). */
			uint64_t a = v->value < 0 ? 0 - (uint64_t)v->value : (uint64_t)v->value;
			unsigned frac = (unsigned)(a % 1000);
			int w = 3;

			while (frac && frac % 10 == 0) {
				frac /= 10;
				w--;
			}
			if (frac)
				snprintf(buf, sizeof(buf), "%s%llu.%0*u", v->value < 0 ? "-" : "",
					 (unsigned long long)(a / 1000), w, frac);
			else
				snprintf(buf, sizeof(buf), "%s%llu", v->value < 0 ? "-" : "",
					 (unsigned long long)(a / 1000));
			break;
		}
		default:
			snprintf(buf, sizeof(buf), "%lld", (long long)v->value);
			break;
		}
		sb_printf(b, "%s.%s=%s\n", prefix, v->desc->name, buf);
	}
}

/* The context text of a violation: "lock chain after vCPU 2", "vCPU 3 on CPU 1". */
static void violation_context(const struct violation *v, char *buf, size_t len)
{
	if (v->kind == VIOL_BACKSTEP)
		snprintf(buf, len, "vCPU %u on CPU %u", v->vcpu, v->pcpu);
	else if (v->prev_vcpu >= 0)
		snprintf(buf, len, "%s chain after vCPU %d", v->chain ? v->chain : "serialized",
			 v->prev_vcpu);
	else
		snprintf(buf, len, "%s chain", v->chain ? v->chain : "serialized");
}

/* The arm's row, with only its keys: returns its arm_key in *key. */
static int arm_insert(struct store *s, const char *run_id, unsigned ord, const char *name,
		      int64_t *key)
{
	struct binder b = bind_start(s->st[ST_INS_ARM]);
	int rc;

	b_text(&b, run_id);
	b_text(&b, name);
	b_int(&b, ord);
	rc = bind_exec(&b);
	/* A rowid alias: the rowid just inserted. */
	if (rc == SQLITE_OK)
		*key = sqlite3_last_insert_rowid(s->db);
	return rc;
}

/*
 * The recorded rows of arm `key` (named `name`) from *from up to `to`, in recording order: series
 * and timeline rows get seq = their index in the recording. Advances *from as rows go in.
 */
static int put_rows(struct store *s, const char *run_id, const char *name, int64_t key,
		    const struct recording *rec, struct record_pos *from,
		    const struct record_pos *to)
{
	struct binder b;
	int rc = SQLITE_OK;

	for (uint32_t i = from->series; i < to->series && rc == SQLITE_OK;) {
		/* BATCH_ROWS rows per statement while that many are left, then one by one. */
		unsigned k = to->series - i >= BATCH_ROWS ? BATCH_ROWS : 1;

		b = bind_start(k > 1 ? s->series_batch : s->st[ST_INS_SERIES]);
		for (unsigned j = 0; j < k; j++, i++) {
			const struct series_row *r = &rec->series[i];

			b_int(&b, key);
			b_int(&b, i);
			b_int(&b, r->vcpu);
			b_u64(&b, r->t_ns);
			b_u64(&b, r->guest_ns);
			b_int(&b, r->error_ns);
		}
		rc = bind_exec(&b);
		if (rc == SQLITE_OK)
			from->series = i;
	}
	for (uint32_t i = from->viol; i < to->viol && rc == SQLITE_OK;) {
		unsigned k = to->viol - i >= BATCH_ROWS ? BATCH_ROWS : 1;
		/* The context texts stay alive until the statement has run (bound SQLITE_STATIC). */
		char ctx[BATCH_ROWS][96];

		b = bind_start(k > 1 ? s->viol_batch : s->st[ST_INS_VIOL]);
		for (unsigned j = 0; j < k; j++, i++) {
			const struct violation *v = &rec->viol[i];

			violation_context(v, ctx[j], sizeof(ctx[j]));
			b_text(&b, run_id);
			b_text(&b, name);
			b_text(&b, v->kind == VIOL_BACKSTEP ? "backstep" : "warp");
			b_u64(&b, v->t_ns);
			b_int(&b, v->vcpu);
			b_int(&b, v->pcpu);
			b_id(&b, v->prev_vcpu);
			b_u64(&b, v->prev_ns);
			b_u64(&b, v->value_ns);
			/* Modulo 2^64, as a signed step: exact while |value - prev| < 2^63. */
			b_int(&b, (int64_t)(v->value_ns - v->prev_ns));
			b_text(&b, ctx[j]);
		}
		rc = bind_exec(&b);
		if (rc == SQLITE_OK)
			from->viol = i;
	}
	for (uint32_t i = from->tl; i < to->tl && rc == SQLITE_OK;) {
		unsigned k = to->tl - i >= BATCH_ROWS ? BATCH_ROWS : 1;

		b = bind_start(k > 1 ? s->tl_batch : s->st[ST_INS_TL]);
		for (unsigned j = 0; j < k; j++, i++) {
			const struct timeline_event *e = &rec->tl[i];

			b_int(&b, key);
			b_int(&b, i);
			b_text(&b, timeline_kind_name(e->kind));
			b_u64(&b, e->t_ns);
			b_u64(&b, e->length_ns);
			b_id(&b, e->vcpu);
			b_id(&b, e->from_cpu);
			b_id(&b, e->to_cpu);
		}
		rc = bind_exec(&b);
		if (rc == SQLITE_OK)
			from->tl = i;
	}
	return rc;
}

/* The end of arm `key`: the rest of its row, its metrics and facts. */
static int arm_complete(struct store *s, const char *run_id, int64_t key,
			const struct arm_result *a, const struct recording *rec, char *err,
			size_t errlen)
{
	const struct arm_cfg *arm = a->arm;
	const char *name = arm->name;
	bool migrates = arm->migration && a->migrated;
	struct strbuf opts = { 0 };
	struct binder b;
	int rc;

	render_options(&opts, "policy", &arm->policy_opts);
	render_options(&opts, "page", &arm->page_opts);
	render_options(&opts, "reader", &arm->reader_opts);
	if (migrates)
		render_options(&opts, "migration", &arm->migration_opts);
	if (opts.oom) {
		snprintf(err, errlen, "%s: writing the results of run %s failed: out of memory",
			 s->path, run_id);
		free(opts.p);
		return STORE_RC_OWN;
	}
	b = bind_start(s->st[ST_UPD_ARM]);
	b_text(&b, arm->policy ? arm->policy->name : NULL);
	b_text(&b, arm->page ? arm->page->name : NULL);
	b_text(&b, arm->reader_name ? arm->reader_name : arm->reader ? arm->reader->name : NULL);
	b_text(&b, sb_str(&opts));
	b_int(&b, a->host.tsc_stable);
	b_text(&b, util_clocksource_name(a->host.cs));
	b_int(&b, a->host.tsc_khz);
	if (rec) {
		b_u64(&b, rec->series_interval);
		b_u64(&b, rec->viol_dropped);
		b_u64(&b, rec->tl_dropped);
	} else {
		b_null(&b);
		b_null(&b);
		b_null(&b);
	}
	b_text(&b, migrates ? arm->migration->name : NULL);
	b_int(&b, key);
	rc = bind_exec(&b);
	free(opts.p);
	if (rc != SQLITE_OK)
		return rc;
	for (int m = 0; m < M_COUNT && rc == SQLITE_OK; m++) {
		const struct metric_info *mi = &metric_info[m];

		b = bind_start(s->st[ST_INS_METRIC]);
		b_text(&b, run_id);
		b_text(&b, name);
		b_text(&b, mi->name);
		if (mi->scale == 0) {
			b_int(&b, a->m[m]);
		} else {
			double div = 1;

			for (int k = 0; k < mi->scale; k++)
				div *= 10;
			/* One correctly rounded division: the nearest double to the decimal. */
			b_real(&b, (double)a->m[m] / div);
		}
		b_text(&b, mi->unit ? mi->unit : "");
		rc = bind_exec(&b);
	}
	for (unsigned f = 0; f < a->nfacts && rc == SQLITE_OK; f++) {
		b = bind_start(s->st[ST_INS_METRIC]);
		b_text(&b, run_id);
		b_text(&b, name);
		b_text(&b, a->fact[f].name);
		b_int(&b, a->fact_value[f]);
		b_text(&b, "fact");
		rc = bind_exec(&b);
	}
	return rc;
}

/* One whole arm (store_finish_run, store_put_arm): its row, rows, metrics and facts. */
static int put_arm(struct store *s, const char *run_id, unsigned ord, const struct arm_result *a,
		   const struct recording *rec, char *err, size_t errlen)
{
	struct record_pos from = { 0, 0, 0 }, to = { 0, 0, 0 };
	int64_t key = 0;
	int rc = arm_insert(s, run_id, ord, a->arm->name, &key);

	if (rec)
		to = (struct record_pos){ rec->nseries, rec->nviol, rec->ntl };
	if (rc == SQLITE_OK && rec)
		rc = put_rows(s, run_id, a->arm->name, key, rec, &from, &to);
	if (rc == SQLITE_OK)
		rc = arm_complete(s, run_id, key, a, rec, err, errlen);
	return rc;
}

/* The expectations' verdicts; a failed one is also an 'expectation' violation. */
static int put_expectations(struct store *s, const char *run_id, const struct results *r)
{
	int rc = SQLITE_OK;

	for (unsigned i = 0; i < r->nexpect && rc == SQLITE_OK; i++) {
		const struct expect_result *x = &r->expect[i];
		const char *text = x->e && x->e->text ? x->e->text : "";
		struct binder b = bind_start(s->st[ST_INS_EXPECT]);

		b_text(&b, run_id);
		b_int(&b, i);
		b_text(&b, text);
		b_int(&b, x->held);
		/* NaN binds as NULL (an undefined operand). */
		b_real(&b, x->lhs);
		b_real(&b, x->rhs);
		rc = bind_exec(&b);
		if (rc != SQLITE_OK || x->held)
			continue;
		b = bind_start(s->st[ST_INS_VIOL]);
		b_text(&b, run_id);
		b_null(&b);            /* arm */
		b_text(&b, "expectation");
		for (int k = 0; k < 7; k++)
			b_null(&b);    /* t_ns, vcpu, pcpu, prev_vcpu, prev_ns, value_ns, delta_ns */
		b_text(&b, text);
		rc = bind_exec(&b);
	}
	return rc;
}

/*
 * The end of a results transaction (store_finish_run, store_finish_check), begun with BEGIN
 * IMMEDIATE; rc says how writing the results went. When it went well, sets the run 'complete'
 * with finished_at and expectations_failed = failed, and commits; a run that is not 'running'
 * (unknown, or finished already) fails the whole transaction. Any failure is reported in err
 * under `what` and rolled back, leaving the run 'running'. Returns VT_OK or VT_EIO.
 */
static int complete_run(struct store *s, const char *run_id, unsigned failed, int rc,
			const char *what, char *err, size_t errlen)
{
	char finished[32];
	struct binder b;

	if (rc == SQLITE_OK) {
		utc_now(finished);
		b = bind_start(s->st[ST_FINISH_RUN]);
		b_text(&b, finished);
		b_int(&b, failed);
		b_text(&b, run_id);
		rc = bind_exec(&b);
		if (rc == SQLITE_OK && sqlite3_changes(s->db) != 1) {
			snprintf(err, errlen, "%s: %s failed: no run %s in status 'running'", s->path,
				 what, run_id);
			rc = STORE_RC_OWN;
		}
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		return VT_OK;
	if (rc != STORE_RC_OWN)
		db_error(s, s->path, what, rc, err, errlen);
	rollback(s);
	return VT_EIO;
}

int store_finish_run(struct store *s, const char *run_id, const struct results *r,
		     const struct recording *const *recs, char *err, size_t errlen)
{
	char what[96];
	int rc;

	snprintf(what, sizeof(what), "writing the results of run %s", run_id);
	rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	for (unsigned i = 0; i < r->narms && rc == SQLITE_OK; i++)
		rc = put_arm(s, run_id, i, &r->arms[i], recs ? recs[i] : NULL, err, errlen);
	if (rc == SQLITE_OK)
		rc = put_expectations(s, run_id, r);
	return complete_run(s, run_id, r->failed, rc, what, err, errlen);
}

/*
 * The end of a transaction of one arm's rows, begun with BEGIN IMMEDIATE; rc says how writing
 * went. Commits, or reports the failure under `what` and rolls back. Returns VT_OK or VT_EIO.
 */
static int arm_tx_end(struct store *s, int rc, const char *run_id, const char *name, char *err,
		      size_t errlen)
{
	char what[128];

	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		return VT_OK;
	snprintf(what, sizeof(what), "writing arm %s of run %s", name, run_id);
	if (rc != STORE_RC_OWN)
		db_error(s, s->path, what, rc, err, errlen);
	rollback(s);
	return VT_EIO;
}

int store_put_arm(struct store *s, const char *run_id, unsigned ord, const struct arm_result *a,
		  const struct recording *rec, char *err, size_t errlen)
{
	int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);

	if (rc == SQLITE_OK)
		rc = put_arm(s, run_id, ord, a, rec, err, errlen);
	return arm_tx_end(s, rc, run_id, a->arm->name, err, errlen);
}

int store_arm_begin(struct store *s, const char *run_id, unsigned ord, const char *name,
		    int64_t *key, char *err, size_t errlen)
{
	int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);

	if (rc == SQLITE_OK)
		rc = arm_insert(s, run_id, ord, name, key);
	return arm_tx_end(s, rc, run_id, name, err, errlen);
}

int store_arm_rows(struct store *s, const char *run_id, const char *name, int64_t key,
		   const struct recording *rec, struct record_pos *done,
		   const struct record_pos *upto, char *err, size_t errlen)
{
	struct record_pos at = *done;
	int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);

	if (rc == SQLITE_OK)
		rc = put_rows(s, run_id, name, key, rec, &at, upto);
	rc = arm_tx_end(s, rc, run_id, name, err, errlen);
	/* Rolled back: none of this transaction's rows are in. */
	if (rc == VT_OK)
		*done = at;
	return rc;
}

int store_arm_end(struct store *s, const char *run_id, int64_t key, const struct arm_result *a,
		  const struct recording *rec, struct record_pos *done, char *err, size_t errlen)
{
	struct record_pos at = *done, to = { 0, 0, 0 };
	int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);

	if (rec)
		to = (struct record_pos){ rec->nseries, rec->nviol, rec->ntl };
	if (rc == SQLITE_OK && rec)
		rc = put_rows(s, run_id, a->arm->name, key, rec, &at, &to);
	if (rc == SQLITE_OK)
		rc = arm_complete(s, run_id, key, a, rec, err, errlen);
	rc = arm_tx_end(s, rc, run_id, a->arm->name, err, errlen);
	if (rc == VT_OK)
		*done = at;
	return rc;
}

int store_complete_run(struct store *s, const char *run_id, const struct results *r, char *err,
		       size_t errlen)
{
	char what[96];
	int rc;

	snprintf(what, sizeof(what), "writing the results of run %s", run_id);
	rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = put_expectations(s, run_id, r);
	return complete_run(s, run_id, r->failed, rc, what, err, errlen);
}

/* ---- a check run's verdicts ------------------------------------------------------------- */

static const char *verdict_name(bool violated)
{
	return violated ? "violated" : "holds";
}

int store_finish_check(struct store *s, const char *run_id, const struct trail_row *rows,
		       unsigned n, unsigned failed, char *err, size_t errlen)
{
	char what[96];
	int rc;

	snprintf(what, sizeof(what), "writing the verdicts of check run %s", run_id);
	rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	for (unsigned i = 0; i < n && rc == SQLITE_OK; i++) {
		const struct trail_row *t = &rows[i];
		struct binder b = bind_start(s->st[ST_INS_TRAIL]);

		b_text(&b, run_id);
		b_text(&b, t->arm);
		b_int(&b, t->ord);
		b_text(&b, t->policy);
		b_text(&b, t->page);
		b_text(&b, t->reader);
		b_text(&b, t->property);
		b_text(&b, verdict_name(t->violated));
		b_text(&b, verdict_name(t->expected_violation));
		b_text(&b, t->strategy);
		b_u64(&b, t->schedules);
		b_int(&b, t->exhausted);
		b_u64(&b, t->shrink_runs);
		b_text(&b, t->message);
		b_text(&b, t->choices);
		b_text(&b, t->trail);
		rc = bind_exec(&b);
	}
	return complete_run(s, run_id, failed, rc, what, err, errlen);
}
