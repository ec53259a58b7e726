/*
 * sqlutil.h: SQL helpers the results-database suites share (check_store.c, check_merge.c, and
 * schema_v4.h): run a statement, read one integer or text, step through rows, each failing the
 * test with SQLite's message. Each suite opens its connections itself (raw_open: the store's
 * suite through the real VFS, under its fault-injecting one).
 */
#ifndef VT_TEST_SQLUTIL_H
#define VT_TEST_SQLUTIL_H

#include <check.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

static inline void raw_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, msg ? msg : "?");
}

/* raw_exec of an sqlite3_mprintf-formatted statement. */
static inline void raw_execf(sqlite3 *db, const char *fmt, ...)
{
	va_list ap;
	char *sql;

	va_start(ap, fmt);
	sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	raw_exec(db, sql);
	sqlite3_free(sql);
}

/* Prepares a query formatted with sqlite3_mprintf (%Q, %q, %lld ...). */
static inline sqlite3_stmt *qprep(sqlite3 *db, const char *fmt, va_list ap)
{
	char *sql = sqlite3_vmprintf(fmt, ap);
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_free(sql);
	return st;
}

/* The integer in the first column of the first row (the query must return a row). */
static inline int64_t qi(sqlite3 *db, const char *fmt, ...)
{
	va_list ap;
	sqlite3_stmt *st;
	int64_t v;

	va_start(ap, fmt);
	st = qprep(db, fmt, ap);
	va_end(ap);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The text of the first column of the first row, into buf ("<null>" for NULL). */
static inline const char *qs(sqlite3 *db, char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	sqlite3_stmt *st;
	const unsigned char *t;

	va_start(ap, fmt);
	st = qprep(db, fmt, ap);
	va_end(ap);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	t = sqlite3_column_text(st, 0);
	snprintf(buf, len, "%s", t ? (const char *)t : "<null>");
	sqlite3_finalize(st);
	return buf;
}

static inline sqlite3_stmt *qrows(sqlite3 *db, const char *fmt, ...)
{
	va_list ap;
	sqlite3_stmt *st;

	va_start(ap, fmt);
	st = qprep(db, fmt, ap);
	va_end(ap);
	return st;
}

/* Column c of the current row as text ("<null>" for NULL). */
static inline const char *col_text(sqlite3_stmt *st, int c)
{
	const unsigned char *t = sqlite3_column_text(st, c);

	return t ? (const char *)t : "<null>";
}

#endif /* VT_TEST_SQLUTIL_H */
