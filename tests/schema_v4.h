/*
 * schema_v4.h: a genuine version 4 results database, for the tests of the migration to version 5
 * (check_store.c, check_merge.c): the version 4 tables as the store's migrations created them,
 * and sv4_downgrade, which turns a current database into one, every row kept.
 */
#ifndef VT_TEST_SCHEMA_V4_H
#define VT_TEST_SCHEMA_V4_H

#include <check.h>
#include <sqlite3.h>

#include "sqlutil.h"

/*
 * Version 4's tables as schema_v1 (sim/store.c) created them, word for word, and arms.migration
 * as schema_v2 added it: arms keyed by (run_id, arm), series and timeline tables with their
 * indexes, the IN-list CHECKs; and arms_side_by_side as version 1 created it.
 */
static const char V4_TABLES[] =
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
	"ALTER TABLE arms ADD COLUMN migration TEXT;\n"
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
	"CREATE VIEW arms_side_by_side AS SELECT run_id, metric, unit,"
	" group_concat(arm || '=' || value, ' ') AS arms"
	" FROM (SELECT m.run_id AS run_id, m.metric AS metric, m.unit AS unit, m.arm AS arm,"
	" m.value AS value FROM metrics AS m JOIN arms AS a ON a.run_id = m.run_id AND a.arm = m.arm"
	" ORDER BY m.run_id, m.metric, a.ord)"
	" GROUP BY run_id, metric;\n";

/* The columns arms has in both versions, in version 4's order. */
#define V4_ARM_COLUMNS \
	"run_id, arm, ord, policy, page, reader, options, host_tsc_stable, host_clocksource," \
	" host_tsc_khz, series_interval_ns, violations_dropped, timeline_dropped, migration"
#define VIOLATION_COLUMNS \
	"run_id, arm, kind, t_ns, vcpu, pcpu, prev_vcpu, prev_ns, value_ns, delta_ns, context"

/* The first column of the first row of `sql`, copied (sqlite3_free it). */
static inline char *sv4_text(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	char *v;

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_mprintf("%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	ck_assert_ptr_nonnull(v);
	return v;
}

/*
 * Makes a current (version 5) database a genuine version 4 one, every row kept: arms without
 * arm_key, keyed by (run_id, arm), each row at the rowid that was its arm_key; series and
 * timeline tables again, their rows in (arm_key, seq) order, so an arm's rowids follow its seq;
 * series_rows and timeline_rows gone; violations with version 1's CHECK, its rows at their
 * rowids; arms_side_by_side as version 1 made it. metrics_wide, which reads arms, comes back as
 * the store made it (a version 4 database has it too). Foreign keys are off, as a migration has
 * them: with them on, dropping arms would delete every arm's metrics (ON DELETE CASCADE).
 */
static inline void sv4_downgrade(sqlite3 *db)
{
	char *wide;

	ck_assert_int_eq(qi(db, "PRAGMA user_version"), 5);
	wide = sv4_text(db, "SELECT sql FROM sqlite_master WHERE type = 'view'"
			    " AND name = 'metrics_wide'");
	/* Off on a new connection unless SQLite was built otherwise: made sure of. */
	raw_exec(db, "PRAGMA foreign_keys = OFF");
	ck_assert_int_eq(qi(db, "PRAGMA foreign_keys"), 0);
	raw_exec(db, "BEGIN; DROP VIEW series; DROP VIEW timeline; DROP VIEW arms_side_by_side;"
		     " DROP VIEW metrics_wide;"
		     " CREATE TEMP TABLE arms_v5 AS SELECT * FROM main.arms;"
		     " CREATE TEMP TABLE violations_v5 AS SELECT rowid AS rid, * FROM main.violations;"
		     " DROP TABLE main.arms; DROP TABLE main.violations");
	raw_exec(db, V4_TABLES);
	raw_exec(db, "INSERT INTO main.arms (rowid, " V4_ARM_COLUMNS ") SELECT arm_key, "
		     V4_ARM_COLUMNS " FROM temp.arms_v5 ORDER BY arm_key;"
		     " INSERT INTO main.series (run_id, arm, vcpu, t_ns, guest_ns, error_ns)"
		     " SELECT a.run_id, a.arm, s.vcpu, s.t_ns, s.guest_ns, s.error_ns"
		     " FROM main.series_rows AS s JOIN temp.arms_v5 AS a ON a.arm_key = s.arm_key"
		     " ORDER BY s.arm_key, s.seq;"
		     " INSERT INTO main.timeline (run_id, arm, kind, t_ns, length_ns, vcpu, from_cpu,"
		     " to_cpu) SELECT a.run_id, a.arm, t.kind, t.t_ns, t.length_ns, t.vcpu,"
		     " t.from_cpu, t.to_cpu"
		     " FROM main.timeline_rows AS t JOIN temp.arms_v5 AS a ON a.arm_key = t.arm_key"
		     " ORDER BY t.arm_key, t.seq;"
		     " INSERT INTO main.violations (rowid, " VIOLATION_COLUMNS ") SELECT rid, "
		     VIOLATION_COLUMNS " FROM temp.violations_v5 ORDER BY rid;"
		     " DROP TABLE main.series_rows; DROP TABLE main.timeline_rows;"
		     " DROP TABLE temp.arms_v5; DROP TABLE temp.violations_v5");
	raw_exec(db, wide);
	raw_exec(db, "PRAGMA user_version = 4; COMMIT");
	sqlite3_free(wide);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM pragma_table_info('arms')"
				 " WHERE name IN ('arm_key', 'migration')"), 1);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM pragma_table_info('arms')"
				 " WHERE name = 'migration'"), 1);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
				 " AND name IN ('series', 'timeline')"), 2);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM sqlite_master"
				 " WHERE name IN ('series_rows', 'timeline_rows')"), 0);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM sqlite_master WHERE type = 'view'"
				 " AND name = 'metrics_wide'"), 1);
	ck_assert_int_eq(qi(db, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
}

#endif /* VT_TEST_SCHEMA_V4_H */
