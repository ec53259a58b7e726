/*
 * merge.c: combining results databases. This file implements sim/merge.h: copying every run of
 * some input databases into one output database, each run exactly once by its run_id (issue 8:
 * bin/sim merge, and the shards bin/sim sweep's workers write).
 *
 * How one merge goes:
 *   1. Every input is checked before anything is written: it exists, is an SQLite database, is
 *      not the output itself, and has a schema this vtsim knows (PRAGMA user_version 1 ..
 *      STORE_SCHEMA_VERSION). A bad input refuses the whole merge with the output untouched (not
 *      even created).
 *   2. The output is opened with store_open (created, or migrated to the current schema), closed,
 *      and reopened as a plain connection with the store's busy timeout and foreign keys on.
 *   3. Per input, in the order given: an input at an older schema is copied to a temporary file
 *      next to the output (the SQLite backup API), the copy is migrated by store_open and read
 *      instead, and is deleted afterwards; the input itself is only ever opened read-only. The
 *      input (or the copy) is ATTACHed read-only, and ONE transaction (BEGIN IMMEDIATE) inserts
 *      the runs whose run_id the output lacks, then, for those runs only, their rows of every
 *      table below, in the input's row order. A failure rolls that input back whole: the output
 *      is as it was before it, with the inputs before it merged.
 *
 * A run is identified by its run_id alone: a run the output already has is skipped whatever its
 * status, so a run merged while 'running' (a killed writer's, or one still being written) stays
 * 'running' in the output even when a later merge sees it complete. Columns are named explicitly
 * (the output's own list, from PRAGMA table_info), so tables whose columns are in another order
 * in the input copy by name. Nothing else is rebuilt: the views read the merged tables.
 *
 * Errors name the file and the problem, as the store's do; a bad input is VT_EINPUT (exit 2),
 * everything the output or the system refuses (locked, read-only, full) is VT_EIO (exit 3).
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "merge.h"
#include "store.h"

/*
 * The tables that hold a run's rows, parents first: the foreign keys are checked as each row goes
 * in, so runs comes before everything and arms before metrics, series_rows, violations and
 * timeline_rows. A table names its run by run_id, or by arm_key (schema 5: an integer that arms
 * assigns, so the output gives every arm it adds a key of its own and the keyed rows are mapped
 * to it through the arm's (run_id, arm)). A new table with either column must be added here;
 * open_output refuses an output that has one this list lacks rather than silently dropping its
 * rows.
 */
static const struct merge_table {
	const char *name;
	bool by_arm_key;        /* keyed by arms.arm_key, not by run_id */
} merge_tables[] = {
	{ "runs", false },        { "arms", false },          { "metrics", false },
	{ "series_rows", true },  { "violations", false },    { "timeline_rows", true },
	{ "expectations", false }, { "trails", false },
};

/* The name the input is ATTACHed under on the output connection. */
#define MERGE_SRC "src"

struct merge {
	sqlite3 *db;                /* the output: a plain connection, NULL until opened */
	const char *out;            /* its path */
	int busy_ms;                /* the busy timeout in force */
	struct merge_stats *stats;
	char *err;
	size_t errlen;
};

/* ---- helpers ------------------------------------------------------------------------------ */

/*
 * Writes "PATH: WHAT failed: PROBLEM (SQLite: MESSAGE; code N)" into m->err, PROBLEM being our
 * words for the primary result code, and returns the VT_* code: a file that is not a database, is
 * corrupt, cannot be opened, has rows that break a constraint or a schema we cannot read is a bad
 * input when `input` (VT_EINPUT); everything else (locked, read-only, full, I/O) is VT_EIO.
 */
static int sql_fail(const struct merge *m, sqlite3 *db, int rc, const char *path, const char *what,
		    bool input)
{
	const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
	char problem[128];
	bool bad_input = false;

	store_describe_error(rc, m->busy_ms, problem, sizeof(problem));
	switch (rc & 0xff) {
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
	case SQLITE_CANTOPEN:
	case SQLITE_CONSTRAINT:
	case SQLITE_ERROR: /* in a merge: a table or column the input lacks (the message names it) */
		bad_input = true;
		break;
	default:
		break;
	}
	snprintf(m->err, m->errlen, "%s: %s failed: %s (SQLite: %s; code %d)", path, what, problem,
		 msg, rc);
	return input && bad_input ? VT_EINPUT : VT_EIO;
}

static int out_of_memory(const struct merge *m, const char *path)
{
	snprintf(m->err, m->errlen, "%s: out of memory", path);
	return VT_ENOMEM;
}

/*
 * The URI of a file ("file:" and the path with every byte outside [A-Za-z0-9/._~-] as %XX), with
 * "?mode=ro" when read_only. Going through a URI both allows mode=ro (for ATTACH too) and keeps
 * a path that happens to start with "file:" or hold '?' or '#' a plain path. An absolute path
 * gets an empty authority ("file:///tmp/x.db") so that "//host/x" stays a path. NULL when out of
 * memory; free with sqlite3_free.
 */
static char *path_uri(const char *path, bool read_only)
{
	sqlite3_str *s = sqlite3_str_new(NULL);

	sqlite3_str_appendall(s, path[0] == '/' ? "file://" : "file:");
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		unsigned c = *p;
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || c == '/' || c == '.' || c == '_' ||
			     c == '~' || c == '-';

		if (plain)
			sqlite3_str_appendchar(s, 1, (char)c);
		else
			sqlite3_str_appendf(s, "%%%02X", c);
	}
	if (read_only)
		sqlite3_str_appendall(s, "?mode=ro");
	return sqlite3_str_finish(s);
}

/* Opens path (through its URI) with flags, extended result codes and the busy timeout. On
 * failure *db may still be set (for its message); the caller closes it either way. */
static int open_db(const struct merge *m, const char *path, bool read_only, sqlite3 **db)
{
	char *uri = path_uri(path, read_only);
	int flags = SQLITE_OPEN_URI | (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE);
	int rc;

	*db = NULL;
	if (!uri)
		return SQLITE_NOMEM;
	rc = sqlite3_open_v2(uri, db, flags, NULL);
	sqlite3_free(uri);
	if (rc == SQLITE_OK)
		rc = sqlite3_extended_result_codes(*db, 1);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(*db, m->busy_ms);
	return rc;
}

/* One integer from a query ("PRAGMA user_version"); 0 when it returns no row. */
static int query_i64(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return rc;
	*out = 0;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		rc = SQLITE_OK;
	/* Finalizing keeps a failed step's message in the connection for sql_fail(). */
	sqlite3_finalize(st);
	return rc;
}

/* ---- step 1: the inputs, before anything is written ---------------------------------------- */

/*
 * Checks that input `path` can be merged into m->out, and reads its schema version. Only reads
 * (a read-only connection); the output is neither opened nor created. Returns VT_OK, VT_EINPUT
 * (missing, a directory, the output itself, not a database, a schema this vtsim does not know)
 * or VT_EIO (locked, an I/O error).
 */
static int check_input(const struct merge *m, const char *path, int64_t *version)
{
	struct stat in_st, out_st;
	sqlite3 *db = NULL;
	int rc, ret = VT_OK;

	if (stat(path, &in_st) != 0) {
		snprintf(m->err, m->errlen, "%s: cannot open: %s", path, strerror(errno));
		return VT_EINPUT;
	}
	if (S_ISDIR(in_st.st_mode)) {
		snprintf(m->err, m->errlen, "%s: cannot open: it is a directory", path);
		return VT_EINPUT;
	}
	/* The same file under any name (a link, "./x.db"): merging it into itself is a mistake. */
	if (stat(m->out, &out_st) == 0 && in_st.st_dev == out_st.st_dev &&
	    in_st.st_ino == out_st.st_ino) {
		snprintf(m->err, m->errlen, "%s: is the output database %s; an input cannot also be "
			 "the output", path, m->out);
		return VT_EINPUT;
	}

	rc = open_db(m, path, true, &db);
	/* The first read of the header: a file that is not a database fails here. */
	if (rc == SQLITE_OK)
		rc = query_i64(db, "PRAGMA user_version", version);
	if (rc != SQLITE_OK) {
		ret = rc == SQLITE_NOMEM ? out_of_memory(m, path)
					 : sql_fail(m, db, rc, path, "reading the database", true);
	} else if (*version > STORE_SCHEMA_VERSION) {
		snprintf(m->err, m->errlen, "%s: the database has schema version %lld, newer than "
			 "this vtsim's %d: merge it with a newer vtsim", path, (long long)*version,
			 STORE_SCHEMA_VERSION);
		ret = VT_EINPUT;
	} else if (*version < 1) {
		snprintf(m->err, m->errlen, "%s: not a vtsim results database (schema version %lld)",
			 path, (long long)*version);
		ret = VT_EINPUT;
	} else if (*version < STORE_SCHEMA_VERSION) {
		/* Its migrated copy would be refused (store.c schema_update): say so of the input,
		 * which is what the user can fix. */
		int64_t dangling = 0;

		rc = query_i64(db, "SELECT count(*) FROM pragma_foreign_key_check", &dangling);
		if (rc != SQLITE_OK) {
			ret = sql_fail(m, db, rc, path, "checking its foreign keys", true);
		} else if (dangling > 0) {
			snprintf(m->err, m->errlen, "%s: %lld rows refer to runs or arms that are not "
				 "in it (deleted with foreign keys off; PRAGMA foreign_key_check lists "
				 "them): it cannot be migrated to schema version %d; delete them first",
				 path, (long long)dangling, STORE_SCHEMA_VERSION);
			ret = VT_EINPUT;
		}
	}
	sqlite3_close(db);
	return ret;
}

/* ---- step 2: the output ------------------------------------------------------------------- */

/*
 * Checks that merge_tables names every table of the output that holds rows of runs (has a
 * run_id or an arm_key column). A table it lacks would be left behind by every merge, so it is
 * refused.
 */
static int check_tables(const struct merge *m)
{
	static const char sql[] =
		"SELECT t.name FROM main.sqlite_master AS t WHERE t.type = 'table'"
		" AND EXISTS (SELECT 1 FROM pragma_table_info(t.name, 'main') AS c"
		" WHERE c.name IN ('run_id', 'arm_key')) ORDER BY t.name";
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(m->db, sql, -1, &st, NULL);

	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		bool known = false;

		for (size_t i = 0; name && i < VT_ARRAY_SIZE(merge_tables); i++)
			known |= strcmp(name, merge_tables[i].name) == 0;
		if (!known) {
			snprintf(m->err, m->errlen, "%s: the table %s holds rows of runs, and this "
				 "vtsim does not know how to merge it", m->out, name ? name : "?");
			sqlite3_finalize(st);
			return VT_EIO;
		}
		rc = SQLITE_OK;
	}
	if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? VT_OK
			       : sql_fail(m, m->db, rc, m->out, "reading the schema", false);
}

/*
 * Creates or migrates the output through the store, then opens it as a plain connection (busy
 * timeout and foreign keys as the store sets them) with the scratch table temp.merge_new, the
 * run ids one input adds.
 */
static int open_output(struct merge *m)
{
	struct store *s;
	const char *what = "opening";
	int rc = store_open(&s, m->out, m->err, m->errlen);

	if (rc != VT_OK)
		return rc;
	store_close(s);

	rc = open_db(m, m->out, false, &m->db);
	if (rc == SQLITE_OK) {
		what = "enabling foreign keys";
		rc = sqlite3_exec(m->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	}
	if (rc == SQLITE_OK) {
		what = "creating the scratch table temp.merge_new";
		rc = sqlite3_exec(m->db, "CREATE TEMP TABLE merge_new (run_id TEXT PRIMARY KEY)",
				  NULL, NULL, NULL);
	}
	if (rc != SQLITE_OK)
		return rc == SQLITE_NOMEM && !m->db ? out_of_memory(m, m->out)
						    : sql_fail(m, m->db, rc, m->out, what, false);
	return check_tables(m);
}

/* ---- step 3: one input --------------------------------------------------------------------- */

/* Deletes a temporary copy and whatever SQLite left beside it; frees the name. */
static void remove_copy(char *copy)
{
	static const char *const suffix[] = { "-wal", "-shm", "-journal" };
	size_t n;

	if (!copy)
		return;
	n = strlen(copy);
	unlink(copy);
	for (size_t i = 0; i < VT_ARRAY_SIZE(suffix); i++) {
		char *p = malloc(n + strlen(suffix[i]) + 1);

		if (!p)
			continue;
		memcpy(p, copy, n);
		strcpy(p + n, suffix[i]);
		unlink(p);
		free(p);
	}
	free(copy);
}

/*
 * Copies input `in` (schema `version`, older than the current one) to a new temporary file
 * "OUT.merge-XXXXXX" beside the output, with the backup API from a read-only connection, and
 * migrates the copy with store_open; *copy gets its name (the caller removes it with
 * remove_copy). The copy lives beside the output because it is about the size of what the output
 * is about to receive: where the output fits, so does the copy, and /tmp may be a small tmpfs.
 */
static int copy_migrated(const struct merge *m, const char *in, int64_t version, char **copy)
{
	static const char tmpl[] = ".merge-XXXXXX";
	sqlite3 *src = NULL, *dst = NULL;
	sqlite3_backup *bk;
	struct store *s;
	char what[96];
	int fd, rc, ret = VT_OK;
	char *path = malloc(strlen(m->out) + sizeof(tmpl));

	*copy = NULL;
	if (!path)
		return out_of_memory(m, in);
	strcpy(path, m->out);
	strcat(path, tmpl);
	fd = mkstemp(path);
	if (fd < 0) {
		snprintf(m->err, m->errlen, "%s: cannot create a temporary copy of %s beside it: %s",
			 m->out, in, strerror(errno));
		free(path);
		return VT_EIO;
	}
	close(fd);
	*copy = path;

	/* mkstemp made an empty file: SQLite opens it as an empty database, the backup fills it. */
	rc = open_db(m, in, true, &src);
	if (rc != SQLITE_OK) {
		ret = sql_fail(m, src, rc, in, "opening the database to copy it", true);
		goto out;
	}
	rc = open_db(m, path, false, &dst);
	if (rc != SQLITE_OK) {
		ret = sql_fail(m, dst, rc, path, "opening a temporary copy", false);
		goto out;
	}
	bk = sqlite3_backup_init(dst, "main", src, "main");
	if (!bk) {
		ret = sql_fail(m, dst, sqlite3_errcode(dst), path, "starting the copy", false);
		goto out;
	}
	/* All pages in one step: one read transaction on the input, so a consistent snapshot. */
	rc = sqlite3_backup_step(bk, -1);
	if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
	if (sqlite3_backup_finish(bk) != SQLITE_OK && rc == SQLITE_OK)
		rc = sqlite3_errcode(dst);
	if (rc != SQLITE_OK) {
		snprintf(what, sizeof(what), "copying it to %s", path);
		/* Reading the input and writing the copy both end up here: name the input, the
		 * message says which. */
		ret = sql_fail(m, dst, rc, in, what, true);
		goto out;
	}
	sqlite3_close(dst);
	dst = NULL;
	sqlite3_close(src);
	src = NULL;

	if (store_open(&s, path, m->err, m->errlen) != VT_OK) {
		char inner[400];

		snprintf(inner, sizeof(inner), "%s", m->err);
		snprintf(m->err, m->errlen, "%s: migrating a copy from schema version %lld to %d "
			 "failed: %s", in, (long long)version, STORE_SCHEMA_VERSION, inner);
		ret = VT_EIO;
		goto out;
	}
	store_close(s);
out:
	sqlite3_close(dst);
	sqlite3_close(src);
	return ret;
}

/*
 * The output's columns of `table`, in its order, as a list of quoted names ("\"run_id\", ..."),
 * each preceded by `prefix` ("s." or ""), but for arm_key: left out when `key` is NULL (arms:
 * the output assigns its own), else `key` in its place (the keyed tables: the output arm's key).
 * *cols is NULL for a table the output lacks. Free with sqlite3_free.
 */
static int column_list(const struct merge *m, const char *table, const char *prefix,
		       const char *key, char **cols)
{
	sqlite3_str *s = sqlite3_str_new(m->db);
	sqlite3_stmt *st;
	unsigned n = 0;
	int rc = sqlite3_prepare_v2(m->db, "SELECT name FROM pragma_table_info(?1, 'main')"
				    " ORDER BY cid", -1, &st, NULL);

	*cols = NULL;
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);

		if (name && strcmp(name, "arm_key") == 0) {
			if (key)
				sqlite3_str_appendf(s, "%s%s", n++ ? ", " : "", key);
		} else {
			sqlite3_str_appendf(s, "%s%s\"%w\"", n++ ? ", " : "", prefix, name);
		}
		rc = SQLITE_OK;
	}
	if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
	sqlite3_finalize(st);
	if (rc == SQLITE_OK)
		rc = sqlite3_str_errcode(s);
	if (rc == SQLITE_OK && n > 0) {
		*cols = sqlite3_str_finish(s);
		return SQLITE_OK;
	}
	sqlite3_free(sqlite3_str_finish(s));
	return rc;
}

/*
 * Inserts into main.`table` the rows of src.`table` that belong to the runs in temp.merge_new,
 * every column by name, in the input's row order (rowid: it breaks latest_runs' ties and keeps
 * arms in the order they were written). A table keyed by arm_key takes the key of the output's
 * arm with the same (run_id, arm), and goes in (arm_key, seq) order.
 */
static int copy_table(const struct merge *m, const char *in, const struct merge_table *t)
{
	const char *table = t->name;
	char *cols = NULL, *from = NULL, *sql = NULL, what[96];
	int rc = column_list(m, table, "", t->by_arm_key ? "arm_key" : NULL, &cols);

	if (rc == SQLITE_OK && !cols) {
		snprintf(m->err, m->errlen, "%s: the output has no table %s", m->out, table);
		return VT_EIO;
	}
	if (rc == SQLITE_OK && t->by_arm_key)
		rc = column_list(m, table, "k.", "oa.arm_key", &from);
	if (rc == SQLITE_OK && t->by_arm_key)
		sql = sqlite3_mprintf("INSERT INTO main.\"%w\" (%s) SELECT %s FROM " MERGE_SRC
				      ".\"%w\" AS k JOIN " MERGE_SRC ".arms AS ia"
				      " ON ia.arm_key = k.arm_key JOIN main.arms AS oa"
				      " ON oa.run_id = ia.run_id AND oa.arm = ia.arm"
				      " WHERE ia.run_id IN (SELECT run_id FROM temp.merge_new)"
				      " ORDER BY k.arm_key, k.seq", table, cols, from, table);
	else if (rc == SQLITE_OK)
		sql = sqlite3_mprintf("INSERT INTO main.\"%w\" (%s) SELECT %s FROM " MERGE_SRC
				      ".\"%w\" WHERE run_id IN (SELECT run_id FROM temp.merge_new)"
				      " ORDER BY rowid", table, cols, cols, table);
	if (rc == SQLITE_OK)
		rc = sql ? sqlite3_exec(m->db, sql, NULL, NULL, NULL) : SQLITE_NOMEM;
	sqlite3_free(sql);
	sqlite3_free(from);
	sqlite3_free(cols);
	if (rc == SQLITE_OK)
		return VT_OK;
	snprintf(what, sizeof(what), "copying its table %s into %s", table, m->out);
	return sql_fail(m, m->db, rc, in, what, true);
}

/*
 * The transaction of one input, ATTACHed as src: the runs the output lacks, then their rows of
 * every other table. Adds to the counts in *added etc. only what is about to be committed.
 */
static int copy_runs(const struct merge *m, const char *in, uint64_t *added, uint64_t *skipped,
		     uint64_t *incomplete)
{
	int64_t ver, total = 0, n_new = 0, n_running = 0;
	char what[96];
	int rc, ret;

	snprintf(what, sizeof(what), "starting the transaction that merges %s", in);
	rc = sqlite3_exec(m->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return sql_fail(m, m->db, rc, m->out, what, false);

	/* Read under the transaction's snapshot: a writer may have moved the input on since the
	 * check (a shard still being written migrates at its next open). */
	rc = query_i64(m->db, "PRAGMA " MERGE_SRC ".user_version", &ver);
	if (rc != SQLITE_OK) {
		ret = sql_fail(m, m->db, rc, in, "reading the schema version", true);
		goto fail;
	}
	if (ver != STORE_SCHEMA_VERSION) {
		snprintf(m->err, m->errlen, "%s: the schema version changed to %lld while merging; "
			 "expected %d", in, (long long)ver, STORE_SCHEMA_VERSION);
		ret = VT_EINPUT;
		goto fail;
	}
	rc = sqlite3_exec(m->db, "DELETE FROM temp.merge_new;"
			  " INSERT INTO temp.merge_new (run_id) SELECT r.run_id FROM " MERGE_SRC
			  ".runs AS r WHERE r.run_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM"
			  " main.runs AS o WHERE o.run_id = r.run_id)", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = query_i64(m->db, "SELECT count(*) FROM " MERGE_SRC ".runs"
			       " WHERE run_id IS NOT NULL", &total);
	if (rc == SQLITE_OK)
		rc = query_i64(m->db, "SELECT count(*) FROM temp.merge_new", &n_new);
	if (rc == SQLITE_OK)
		rc = query_i64(m->db, "SELECT count(*) FROM " MERGE_SRC ".runs WHERE status ="
			       " 'running' AND run_id IN (SELECT run_id FROM temp.merge_new)",
			       &n_running);
	if (rc != SQLITE_OK) {
		ret = sql_fail(m, m->db, rc, in, "reading its runs", true);
		goto fail;
	}
	for (size_t i = 0; i < VT_ARRAY_SIZE(merge_tables); i++) {
		ret = copy_table(m, in, &merge_tables[i]);
		if (ret != VT_OK)
			goto fail;
	}
	snprintf(what, sizeof(what), "committing the runs of %s", in);
	rc = sqlite3_exec(m->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		ret = sql_fail(m, m->db, rc, m->out, what, false);
		goto fail;
	}
	*added += (uint64_t)n_new;
	*skipped += (uint64_t)(total - n_new);
	*incomplete += (uint64_t)n_running;
	return VT_OK;

fail:
	/* SQLite rolls back by itself after some errors (SQLITE_FULL, SQLITE_IOERR ...). */
	if (!sqlite3_get_autocommit(m->db))
		sqlite3_exec(m->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

/* Merges input `in` (schema `version`, checked by check_input) into the open output. */
static int merge_one(struct merge *m, const char *in, int64_t version)
{
	struct merge_stats *st = m->stats;
	char *copy = NULL, *uri = NULL;
	sqlite3_stmt *att = NULL;
	int rc, ret = VT_OK;

	if (version < STORE_SCHEMA_VERSION) {
		ret = copy_migrated(m, in, version, &copy);
		if (ret != VT_OK)
			goto out;
	}
	uri = path_uri(copy ? copy : in, true);
	if (!uri) {
		ret = out_of_memory(m, in);
		goto out;
	}
	rc = sqlite3_prepare_v2(m->db, "ATTACH ?1 AS " MERGE_SRC, -1, &att, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(att, 1, uri, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK && (rc = sqlite3_step(att)) == SQLITE_DONE)
		rc = SQLITE_OK;
	if (rc != SQLITE_OK) {
		ret = sql_fail(m, m->db, rc, in, copy ? "attaching its migrated copy" : "attaching it",
			       true);
		sqlite3_finalize(att);
		goto out;
	}
	sqlite3_finalize(att);

	ret = copy_runs(m, in, &st->runs_added, &st->runs_skipped, &st->runs_incomplete);
	/* After COMMIT or ROLLBACK no transaction is open, so DETACH cannot fail for a lock. */
	sqlite3_exec(m->db, "DETACH " MERGE_SRC, NULL, NULL, NULL);
out:
	sqlite3_free(uri);
	remove_copy(copy);
	return ret;
}

/* ---- the API ------------------------------------------------------------------------------ */

int merge_databases(const char *out, const char *const *in, unsigned nin,
		    struct merge_stats *stats, char *err, size_t errlen)
{
	struct merge_stats local;
	struct merge m = { NULL, out, store_busy_timeout_ms(), stats ? stats : &local, err, errlen };
	int64_t *version = calloc(nin ? nin : 1, sizeof(*version));
	int ret = VT_OK;

	memset(m.stats, 0, sizeof(*m.stats));
	if (!version)
		return out_of_memory(&m, out);
	for (unsigned i = 0; i < nin && ret == VT_OK; i++)
		ret = check_input(&m, in[i], &version[i]);
	if (ret == VT_OK)
		ret = open_output(&m);
	for (unsigned i = 0; i < nin && ret == VT_OK; i++) {
		ret = merge_one(&m, in[i], version[i]);
		if (ret == VT_OK)
			m.stats->inputs++;
	}
	/* Every statement is finalized: this closes (and checkpoints the log when last). */
	sqlite3_close(m.db);
	free(version);
	return ret;
}

/* ---- bin/sim merge ------------------------------------------------------------------------- */

#define MERGE_USAGE "usage: bin/sim merge OUT.db IN.db...\n"

static int usage_error(FILE *err, const char *what, const char *arg)
{
	fprintf(err, "merge: %s%s%s\n" MERGE_USAGE, what, arg ? " " : "", arg ? arg : "");
	return EXIT_BADINPUT;
}

static void usage(FILE *f)
{
	fputs(MERGE_USAGE
	      "\n"
	      "Copies every run of the databases IN.db... into OUT.db (created if needed), each run\n"
	      "once by its run id: runs OUT.db already has are skipped, so merging the same input\n"
	      "twice adds nothing. Runs still 'running' (a killed writer's) are copied as they are\n"
	      "and counted as incomplete. Inputs are never modified; one at an older schema is read\n"
	      "through a migrated temporary copy beside OUT.db, one at a newer schema is refused.\n"
	      "Each input is merged in one transaction: a failure keeps the inputs before it.\n"
	      "\n"
	      "Exit: 0 merged, 2 bad usage or a bad input (nothing merged), 3 I/O error (locked,\n"
	      "read-only or full output).\n", f);
}

int merge_main(int argc, char **argv, FILE *out, FILE *err)
{
	struct merge_stats st;
	const char **path;
	char msg[1024] = "";
	unsigned n = 0;
	bool options = true;
	int rc = VT_OK, code = -1;

	path = calloc((size_t)(argc > 0 ? argc : 1), sizeof(*path));
	if (!path) {
		fprintf(err, "merge: out of memory\n");
		return EXIT_IOERR;
	}
	for (int i = 1; i < argc && code < 0; i++) {
		const char *a = argv[i];

		if (options && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
			usage(out);
			code = fflush(out) == 0 && !ferror(out) ? EXIT_HELD : EXIT_IOERR;
		} else if (options && strcmp(a, "--") == 0) {
			options = false;
		} else if (options && a[0] == '-' && a[1] != '\0') {
			code = usage_error(err, "unknown option", a);
		} else if (a[0] == '\0') {
			code = usage_error(err, "an empty path", NULL);
		} else {
			path[n++] = a;
		}
	}
	if (code < 0 && n < 2)
		code = usage_error(err, n == 0 ? "no output database" : "no input database", NULL);
	if (code >= 0)
		goto done;

	rc = merge_databases(path[0], path + 1, n - 1, &st, msg, sizeof(msg));
	if (rc != VT_OK) {
		fprintf(err, "merge: %s\n", msg);
		if (st.inputs > 0)
			fprintf(err, "merge: the %u input%s before it %s merged: %llu runs added, %llu "
				"already present (%llu incomplete)\n", st.inputs,
				st.inputs == 1 ? "" : "s", st.inputs == 1 ? "was" : "were",
				(unsigned long long)st.runs_added,
				(unsigned long long)st.runs_skipped,
				(unsigned long long)st.runs_incomplete);
	} else {
		fprintf(out, "merged %u databases: %llu runs added, %llu already present (%llu "
			"incomplete)\n", st.inputs, (unsigned long long)st.runs_added,
			(unsigned long long)st.runs_skipped, (unsigned long long)st.runs_incomplete);
	}
	if (fflush(out) != 0 || ferror(out))
		code = EXIT_IOERR;
	else if (rc == VT_OK)
		code = EXIT_HELD;
	else
		code = rc == VT_EINPUT ? EXIT_BADINPUT : EXIT_IOERR;
done:
	free(path);
	return code;
}
