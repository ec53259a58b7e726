/*
 * report.c: `bin/sim report`, which turns runs kept in the results database (sim/store.h) into a
 * policy-comparison report a person reads: plots of what the guest clock did in each arm, the
 * arms' metrics side by side with the best value marked, the expectations' verdicts and the
 * scenario that was run.
 *
 * It opens the database read-only and selects runs (the latest complete run of every scenario,
 * one run by id, or the latest complete run of one scenario). For each run it writes into
 * DIR/<scenario>-<first 8 hex digits of the run id>/:
 *
 *   error.dat/.gp        guest clock error against true time, one colour per arm
 *   divergence-ARM.*     each vCPU's error against true time, one plot per arm
 *   warps.*              warps, stalls and backsteps per arm (bars, from the metrics)
 *   cdf.*                the distribution of |error| per arm
 *   timeline[-ARM].*     migrations, stalls and pauses per vCPU (one plot when every arm saw
 *                        the same load, else one per arm)
 *   report.md, index.html
 *
 * With --sweep it reports the runs of one bin/sim sweep instead: sim/report_sweep.c, which uses
 * the helpers here that both reports need (the database, the arena, output files, templates,
 * gnuplot, report.md and index.html), declared in sim/report_int.h.
 *
 * The data files are the database rows written back as whitespace-separated text, nothing
 * recomputed (the CDF only sorts the |error| values and numbers them). The gnuplot scripts are
 * the templates in reports/<name>.gp with the file names and titles filled in; the templates are
 * read at run time (so they can be edited without rebuilding) from $VTSIM_REPORTS or the
 * reports/ directory found upward from the executable, as sim/plugin.c finds models/, and a copy
 * compiled in below is used when neither is there. gnuplot is then run once per script; when it
 * is missing or fails, the data, the scripts, report.md and index.html are still written (without
 * the images) and the report is not an error. index.html is one self-contained file: inline CSS,
 * the PNG plots embedded as base64 data: URIs, no external reference.
 *
 * All strings read from the database live in one arena per run (or sweep), freed at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "metrics.h"
#include "report.h"
#include "report_int.h"
#include "util.h"
#include "store.h"
#include "vt.h"

#define REPORT_DEFAULT_DB "results.db"
#define REPORT_DEFAULT_DIR "reports/out"
#define REPORT_FIRST_VIOLATIONS 10      /* violation rows listed in a report */
#define REPORT_GNUPLOT_MSG 4096         /* bytes of gnuplot's stderr kept for a message */
#define REPORT_ARENA_CHUNK 65536

#define REPORT_USAGE "usage: bin/sim report [DB] [-o DIR] [--run ID | --scenario NAME | " \
			   "--sweep ID|latest]\n"

/* ---- an arena: every string and array of one run, freed at once -------------------------- */

struct chunk {
	struct chunk *next;
	size_t used, cap;
	max_align_t data[];
};

/* n zeroed bytes, or NULL (a->failed set). */
void *rpt_arena_alloc(struct arena *a, size_t n)
{
	const size_t al = _Alignof(max_align_t);
	void *p;

	n = n ? (n + al - 1) / al * al : al;
	if (!a->head || a->head->cap - a->head->used < n) {
		size_t cap = n > REPORT_ARENA_CHUNK ? n : REPORT_ARENA_CHUNK;
		struct chunk *c = malloc(sizeof(*c) + cap);

		if (!c) {
			a->failed = true;
			return NULL;
		}
		c->next = a->head;
		c->used = 0;
		c->cap = cap;
		a->head = c;
	}
	p = (unsigned char *)a->head->data + a->head->used;
	a->head->used += n;
	memset(p, 0, n);
	return p;
}

/* A copy of s (NULL reads as ""); "" when out of memory (a->failed set). */
const char *rpt_arena_dup(struct arena *a, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	char *p = rpt_arena_alloc(a, n + 1);

	if (!p)
		return "";
	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

const char *rpt_arena_printf(struct arena *a, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return rpt_arena_dup(a, buf);
}

void rpt_arena_free(struct arena *a)
{
	while (a->head) {
		struct chunk *next = a->head->next;

		free(a->head);
		a->head = next;
	}
}

/* ---- a growable string ------------------------------------------------------------------- */

static void sb_add(struct strbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *np;

		while (cap < b->len + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void rpt_sb_puts(struct strbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

const char *rpt_sb_str(const struct strbuf *b)
{
	return b->p ? b->p : "";
}

/* ---- values read from the database ------------------------------------------------------- */

struct value rpt_col_value(sqlite3_stmt *st, int c)
{
	struct value v = { V_NULL, 0, 0 };

	switch (sqlite3_column_type(st, c)) {
	case SQLITE_INTEGER:
		v.type = V_INT;
		v.i = sqlite3_column_int64(st, c);
		break;
	case SQLITE_FLOAT:
		v.type = V_REAL;
		v.d = sqlite3_column_double(st, c);
		if (isnan(v.d))
			v.type = V_NULL;
		break;
	default:
		break;
	}
	return v;
}

const char *rpt_col_text(struct arena *a, sqlite3_stmt *st, int c)
{
	return rpt_arena_dup(a, (const char *)sqlite3_column_text(st, c));
}

static bool value_eq(const struct value *x, const struct value *y)
{
	if (x->type != y->type)
		return false;
	if (x->type == V_INT)
		return x->i == y->i;
	if (x->type == V_REAL)
		return x->d == y->d;
	return true;
}

double rpt_value_num(const struct value *v)
{
	return v->type == V_INT ? (double)v->i : v->d;
}

/* |i| as an unsigned 64-bit number (exact for INT64_MIN too). */
static uint64_t mag64(int64_t i)
{
	return i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;
}

/* A value as a data-file column: the stored integer, the stored double (round-trip digits),
 * or NaN (gnuplot's missing value). */
void rpt_data_col(FILE *f, const struct value *v)
{
	if (v->type == V_INT)
		fprintf(f, "%lld", (long long)v->i);
	else if (v->type == V_REAL)
		fprintf(f, "%.17g", v->d);
	else
		fputs("NaN", f);
}

/* A metric value for the tables: integers as stored; REAL with the metric's decimals (drift:
 * 3, as bin/sim prints it), else the shortest of %g; "n/a" when missing. */
void rpt_fmt_value(const struct value *v, int metric, char *buf, size_t len)
{
	if (v->type == V_INT) {
		snprintf(buf, len, "%lld", (long long)v->i);
	} else if (v->type == V_REAL) {
		if (metric >= 0 && metric_info[metric].scale > 0)
			snprintf(buf, len, "%.*f", metric_info[metric].scale, v->d);
		else if (v->d == trunc(v->d) && fabs(v->d) < 9e15)
			snprintf(buf, len, "%.0f", v->d);
		else
			snprintf(buf, len, "%.6g", v->d);
	} else {
		snprintf(buf, len, "n/a");
	}
}

/* An expectation operand as bin/sim prints it (results.c): whole numbers without decimals,
 * others with 3; "undefined" for NULL (a division by zero). */
static void fmt_operand(const struct value *v, char *buf, size_t len)
{
	if (v->type == V_INT)
		snprintf(buf, len, "%lld", (long long)v->i);
	else if (v->type == V_NULL)
		snprintf(buf, len, "undefined");
	else if (v->d == trunc(v->d) && fabs(v->d) < 9e15)
		snprintf(buf, len, "%.0f", v->d);
	else
		snprintf(buf, len, "%.3f", v->d);
}

/* ---- what one run's report is made of ---------------------------------------------------- */

/* Timeline kinds as stored (record.h timeline_kind_name); the plot shows three of them. */
static const char *const tl_kinds[] = { "migration", "stall", "io-exit", "preempt", "pause" };
enum { TLK_MIGRATION, TLK_STALL, TLK_IO_EXIT, TLK_PREEMPT, TLK_PAUSE, TLK_COUNT };

struct tl_event {
	int kind;                     /* TLK_*, or -1 for a kind this version does not know */
	struct value t, len, vcpu, from, to;
};

struct arm {
	const char *name, *policy, *page, *reader, *options, *clocksource;
	struct value tsc_stable, tsc_khz, series_interval, viol_dropped, tl_dropped;
	const char *file;             /* the name as used in file names */
	struct tl_event *tl;          /* malloc'd: the timeline, in time order */
	size_t ntl;
	uint64_t nseries;
	const char *vcpus;            /* the vCPUs that have series rows, "0 1 ..." */
};

/* One row of the comparison table: a metric, or a layer fact. */
struct mrow {
	const char *name;
	int metric;                   /* metric_id, or -1 (a fact, or a metric we do not know) */
	bool fact;
	struct value *v;              /* per arm */
};

struct expect {
	const char *text;
	bool held;
	struct value lhs, rhs;
};

/* The plots' order in the report (an arm's plots add its index). */
enum { RANK_ERROR = 0, RANK_DIVERGENCE = 100, RANK_WARPS = 1000, RANK_CDF = 2000,
       RANK_TIMELINE = 3000 };

struct run {
	struct arena a;
	char id[40];
	char short_id[9];
	const char *scenario, *path, *text, *version, *overrides, *plugins, *host, *started,
		*finished, *status;
	char seed[32];
	struct value duration, failed;
	unsigned narms;
	struct arm *arms;
	unsigned nrows;
	struct mrow *rows;
	unsigned nexp;
	struct expect *exp;
	struct table cmp, viol_count, viol_first;
	uint64_t nviol;               /* violation rows (warps, backsteps) of the run */
	struct outdir out;            /* DIR/<scenario>-<8 hex> */
	const char *sub;              /* <scenario>-<8 hex> */
	bool tl_same;                 /* every arm's timeline is the same */
	unsigned nvcpus;              /* 1 + the largest vCPU number seen */
};

static void run_free(struct run *run)
{
	for (unsigned i = 0; run->arms && i < run->narms; i++)
		free(run->arms[i].tl);
	rpt_arena_free(&run->a);
}

/* ---- tables ------------------------------------------------------------------------------ */

bool rpt_table_init(struct arena *a, struct table *t, unsigned ncols, unsigned cap)
{
	t->ncols = ncols;
	t->nrows = 0;
	t->cap = cap;
	t->head = rpt_arena_alloc(a, ncols * sizeof(*t->head));
	t->text = rpt_arena_alloc(a, ncols * sizeof(*t->text));
	t->c = rpt_arena_alloc(a, (size_t)ncols * (cap ? cap : 1) * sizeof(*t->c));
	t->section = rpt_arena_alloc(a, (cap ? cap : 1) * sizeof(*t->section));
	if (!t->head || !t->text || !t->c || !t->section)
		return false;
	t->text[0] = true;
	return true;
}

/* The next row's cells (all ""), or NULL when the table is full. */
struct cell *rpt_table_row(struct table *t, bool section)
{
	struct cell *r;

	if (t->nrows == t->cap)
		return NULL;
	r = &t->c[(size_t)t->nrows * t->ncols];
	for (unsigned i = 0; i < t->ncols; i++)
		r[i] = (struct cell){ "", false };
	t->section[t->nrows++] = section;
	return r;
}

/* ---- small file helpers ------------------------------------------------------------------ */

/* mkdir -p; 0 or -1 with errno. */
int rpt_mkdirs(const char *path)
{
	char tmp[PATH_MAX];
	size_t n = strlen(path);
	struct stat sb;

	if (n == 0 || n >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
		return -1;
	if (stat(tmp, &sb) != 0)
		return -1;
	if (!S_ISDIR(sb.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

/* DIR/name into out; false when it does not fit. */
static bool path_in(char *out, size_t len, const char *dir, const char *name)
{
	int n = snprintf(out, len, "%s/%s", dir, name);

	return n > 0 && (size_t)n < len;
}

FILE *rpt_open_out(struct report *rep, const struct outdir *o, const char *name)
{
	char path[PATH_MAX];
	FILE *f;

	if (!path_in(path, sizeof(path), o->dir, name)) {
		fprintf(rep->err, "report: %s/%s: path too long\n", o->dir, name);
		return NULL;
	}
	f = fopen(path, "w");
	if (!f)
		fprintf(rep->err, "report: cannot write %s: %s\n", path, strerror(errno));
	return f;
}

/* Closes f; VT_EIO (with a message) when anything written to it failed. */
int rpt_close_out(struct report *rep, const struct outdir *o, const char *name, FILE *f)
{
	bool bad = ferror(f) != 0;
	int saved = errno;

	if (fclose(f) != 0) {
		bad = true;
		saved = errno;
	}
	if (!bad)
		return VT_OK;
	fprintf(rep->err, "report: writing %s/%s failed: %s\n", o->dir, name,
		strerror(saved ? saved : EIO));
	return VT_EIO;
}

/* A name made safe for a file name: letters, digits, '.', '_', '-'; others become '_'; never
 * starting with '.'. */
void rpt_safe_name(const char *s, char *out, size_t len)
{
	size_t n = 0;

	for (; *s && n + 1 < len; s++) {
		unsigned char c = (unsigned char)*s;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '_' || c == '-' || (c == '.' && n > 0);

		out[n++] = ok ? (char)c : '_';
	}
	if (n == 0 && len > 1)
		out[n++] = '_';
	out[n] = '\0';
}

/* ---- the database ------------------------------------------------------------------------ */

/* A failed SQLite call while reading: the message, and VT_EINPUT when the file is not a
 * database at all, VT_EIO otherwise (I/O, corruption, locked past the busy timeout). */
int rpt_db_fail(struct report *rep, int rc, const char *what)
{
	fprintf(rep->err, "report: %s: %s: %s\n", rep->db_path, what,
		rep->db ? sqlite3_errmsg(rep->db) : sqlite3_errstr(rc));
	return rc == SQLITE_NOTADB ? VT_EINPUT : VT_EIO;
}

int rpt_prep(struct report *rep, sqlite3_stmt **st, const char *sql)
{
	int rc = sqlite3_prepare_v2(rep->db, sql, -1, st, NULL);

	if (rc != SQLITE_OK) {
		*st = NULL;
		return rpt_db_fail(rep, rc, "reading the database");
	}
	return VT_OK;
}

/* The end of a sqlite3_step loop: VT_OK on SQLITE_DONE. */
int rpt_step_done(struct report *rep, int rc)
{
	return rc == SQLITE_DONE ? VT_OK : rpt_db_fail(rep, rc, "reading the database");
}

/* A one-row, one-column query with ?1 bound to `id` (a count, to size what is loaded next). */
int rpt_count_of(struct report *rep, const char *sql, const char *id, int64_t *n)
{
	sqlite3_stmt *st = NULL;
	int rc = rpt_prep(rep, &st, sql);

	if (rc != VT_OK)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	rc = rc == SQLITE_ROW ? VT_OK : rpt_step_done(rep, rc);
	sqlite3_finalize(st);
	return rc;
}

int rpt_query_int(struct report *rep, const char *sql, int64_t *out)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(rep->db, sql, -1, &st, NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*out = sqlite3_column_int64(st, 0);
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

/*
 * Opens the database read-only and checks that vtsim made it: an existing file, SQLite, a
 * user_version this build reads, and the tables and views the report uses.
 */
static int db_open(struct report *rep)
{
	static const char *const needed[] = {
		"runs", "arms", "metrics", "series", "violations", "timeline", "expectations",
		"latest_runs",
	};
	struct stat sb;
	int64_t ver = 0, found = 0;
	char sql[512];
	int rc, n;

	if (stat(rep->db_path, &sb) != 0) {
		fprintf(rep->err, "report: %s: %s (run a scenario first: bin/sim SCENARIO writes "
				  "results.db)\n", rep->db_path, strerror(errno));
		return errno == ENOENT || errno == ENOTDIR ? VT_EINPUT : VT_EIO;
	}
	if (S_ISDIR(sb.st_mode)) {
		fprintf(rep->err, "report: %s: is a directory, not a results database\n",
			rep->db_path);
		return VT_EINPUT;
	}
	rc = sqlite3_open_v2(rep->db_path, &rep->db, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK)
		return rpt_db_fail(rep, rc, "cannot open");
	sqlite3_busy_timeout(rep->db, STORE_BUSY_TIMEOUT_MS);
	rc = rpt_query_int(rep, "PRAGMA user_version", &ver);
	if (rc == SQLITE_NOTADB) {
		fprintf(rep->err, "report: %s: not a vtsim results database (not an SQLite file)\n",
			rep->db_path);
		return VT_EINPUT;
	}
	if (rc != SQLITE_OK)
		return rpt_db_fail(rep, rc, "cannot read");
	n = snprintf(sql, sizeof(sql), "SELECT count(*) FROM sqlite_master WHERE type IN "
				       "('table', 'view') AND name IN (");
	for (size_t i = 0; i < VT_ARRAY_SIZE(needed); i++)
		n += snprintf(sql + n, sizeof(sql) - (size_t)n, "%s'%s'", i ? ", " : "", needed[i]);
	snprintf(sql + n, sizeof(sql) - (size_t)n, ")");
	rc = rpt_query_int(rep, sql, &found);
	if (rc != SQLITE_OK)
		return rpt_db_fail(rep, rc, "cannot read");
	if (ver > STORE_SCHEMA_VERSION) {
		fprintf(rep->err, "report: %s: made by a newer vtsim (schema version %lld; this one "
				  "reads up to %d)\n", rep->db_path, (long long)ver,
			STORE_SCHEMA_VERSION);
		return VT_EINPUT;
	}
	if (ver < 1 || found != (int64_t)VT_ARRAY_SIZE(needed)) {
		fprintf(rep->err, "report: %s: not a vtsim results database (no vtsim schema in "
				  "it)\n", rep->db_path);
		return VT_EINPUT;
	}
	rep->schema = ver;
	return VT_OK;
}

/* ---- selecting runs ---------------------------------------------------------------------- */

struct idlist {
	unsigned n, cap;
	char (*id)[40];
};

static int idlist_add(struct idlist *l, const char *id)
{
	if (l->n == l->cap) {
		unsigned cap = l->cap ? 2 * l->cap : 8;
		char (*p)[40] = realloc(l->id, cap * sizeof(*p));

		if (!p)
			return VT_ENOMEM;
		l->id = p;
		l->cap = cap;
	}
	snprintf(l->id[l->n++], sizeof(l->id[0]), "%s", id ? id : "");
	return VT_OK;
}

/* Adds the run_id column of every row of a prepared statement. */
static int collect_ids(struct report *rep, sqlite3_stmt *st, struct idlist *l)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (idlist_add(l, (const char *)sqlite3_column_text(st, 0)) != VT_OK)
			return VT_ENOMEM;
	return rpt_step_done(rep, rc);
}

/* --run ID: the run whose id is ID or starts with it (hex digits, any case). */
static int select_run(struct report *rep, const char *arg, struct idlist *l)
{
	char want[40];
	size_t n = strlen(arg);
	sqlite3_stmt *st = NULL;
	struct idlist found = { 0 };
	char status[16] = "";
	int rc;

	if (n == 0 || n > 32 || strspn(arg, "0123456789abcdefABCDEF") != n) {
		fprintf(rep->err, "report: --run '%s': not a run id (hex digits: the whole id or "
				  "its start)\n", arg);
		return VT_EINPUT;
	}
	for (size_t i = 0; i <= n; i++)
		want[i] = (char)(arg[i] >= 'A' && arg[i] <= 'F' ? arg[i] - 'A' + 'a' : arg[i]);
	rc = rpt_prep(rep, &st, "SELECT run_id, status FROM runs WHERE lower(substr(run_id, 1, "
				"?2)) = ?1 ORDER BY started_at, rowid");
	if (rc != VT_OK)
		return rc;
	sqlite3_bind_text(st, 1, want, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, (int)n);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		snprintf(status, sizeof(status), "%s", (const char *)sqlite3_column_text(st, 1) ?
			 (const char *)sqlite3_column_text(st, 1) : "");
		if (idlist_add(&found, (const char *)sqlite3_column_text(st, 0)) != VT_OK) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	rc = rc == SQLITE_NOMEM ? VT_ENOMEM : rpt_step_done(rep, rc);
	sqlite3_finalize(st);
	if (rc == VT_OK && found.n == 0) {
		fprintf(rep->err, "report: %s: no run with id %s\n", rep->db_path, arg);
		rc = VT_EINPUT;
	} else if (rc == VT_OK && found.n > 1) {
		fprintf(rep->err, "report: %s: %u runs have ids starting with %s; give more "
				  "digits\n", rep->db_path, found.n, arg);
		rc = VT_EINPUT;
	} else if (rc == VT_OK && strcmp(status, "complete") != 0) {
		fprintf(rep->err, "report: %s: run %s is incomplete (status '%s': killed, or still "
				  "running); it has no results to report\n", rep->db_path,
			found.id[0], status);
		rc = VT_EINPUT;
	} else if (rc == VT_OK) {
		rc = idlist_add(l, found.id[0]);
	}
	free(found.id);
	return rc;
}

/* --scenario NAME: its latest complete run. */
static int select_scenario(struct report *rep, const char *name, struct idlist *l)
{
	sqlite3_stmt *st = NULL;
	int64_t nruns = 0;
	int rc;

	rc = rpt_prep(rep, &st, "SELECT l.run_id FROM latest_runs AS l WHERE l.scenario = ?1");
	if (rc != VT_OK)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = collect_ids(rep, st, l);
	sqlite3_finalize(st);
	if (rc != VT_OK || l->n > 0)
		return rc;
	rc = rpt_count_of(rep, "SELECT count(*) FROM runs WHERE scenario = ?1", name, &nruns);
	if (rc != VT_OK)
		return rc;
	if (nruns > 0)
		fprintf(rep->err, "report: %s: scenario %s has no complete run (%lld incomplete: "
				  "killed, or still running)\n", rep->db_path, name, (long long)nruns);
	else
		fprintf(rep->err, "report: %s: no run of a scenario named %s\n", rep->db_path, name);
	return VT_EINPUT;
}

/* The default: the latest complete run of every scenario, by scenario name. */
static int select_latest(struct report *rep, struct idlist *l)
{
	sqlite3_stmt *st = NULL;
	int rc = rpt_prep(rep, &st, "SELECT run_id FROM latest_runs ORDER BY scenario, run_id");

	if (rc != VT_OK)
		return rc;
	rc = collect_ids(rep, st, l);
	sqlite3_finalize(st);
	if (rc == VT_OK && l->n == 0) {
		fprintf(rep->err, "report: %s: no complete run to report\n", rep->db_path);
		rc = VT_EINPUT;
	}
	return rc;
}

/* ---- loading one run --------------------------------------------------------------------- */

static int load_run_row(struct report *rep, struct run *run)
{
	struct arena *a = &run->a;
	sqlite3_stmt *st = NULL;
	int rc = rpt_prep(rep, &st, "SELECT scenario, path, scenario_text, seed, overrides, "
				    "version, plugin_hashes, host, started_at, finished_at, "
				    "status, duration_ns, expectations_failed FROM runs WHERE "
				    "run_id = ?1");

	if (rc != VT_OK)
		return rc;
	sqlite3_bind_text(st, 1, run->id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? VT_EIO : rpt_db_fail(rep, rc, "reading the database");
		if (rc == VT_EIO)
			fprintf(rep->err, "report: %s: run %s vanished\n", rep->db_path, run->id);
		sqlite3_finalize(st);
		return rc;
	}
	run->scenario = rpt_col_text(a, st, 0);
	if (!*run->scenario)
		run->scenario = "unnamed";
	run->path = rpt_col_text(a, st, 1);
	run->text = rpt_col_text(a, st, 2);
	/* Seeds are unsigned 64-bit, stored with the same bits as a signed integer. */
	if (sqlite3_column_type(st, 3) == SQLITE_INTEGER)
		snprintf(run->seed, sizeof(run->seed), "%llu",
			 (unsigned long long)(uint64_t)sqlite3_column_int64(st, 3));
	else
		snprintf(run->seed, sizeof(run->seed), "%s",
			 sqlite3_column_text(st, 3) ? (const char *)sqlite3_column_text(st, 3) : "?");
	run->overrides = rpt_col_text(a, st, 4);
	run->version = rpt_col_text(a, st, 5);
	run->plugins = rpt_col_text(a, st, 6);
	run->host = rpt_col_text(a, st, 7);
	run->started = rpt_col_text(a, st, 8);
	run->finished = rpt_col_text(a, st, 9);
	run->status = rpt_col_text(a, st, 10);
	run->duration = rpt_col_value(st, 11);
	run->failed = rpt_col_value(st, 12);
	sqlite3_finalize(st);
	return VT_OK;
}

static int load_arms(struct report *rep, struct run *run)
{
	struct arena *a = &run->a;
	sqlite3_stmt *st = NULL;
	int64_t n = 0;
	unsigned i = 0;
	int rc = rpt_count_of(rep, "SELECT count(*) FROM arms WHERE run_id = ?1", run->id, &n);

	if (rc != VT_OK)
		return rc;
	run->arms = rpt_arena_alloc(a, (size_t)(n > 0 ? n : 1) * sizeof(*run->arms));
	if (!run->arms)
		return VT_ENOMEM;
	rc = rpt_prep(rep, &st, "SELECT arm, policy, page, reader, options, host_tsc_stable, "
				"host_clocksource, host_tsc_khz, series_interval_ns, violations_dropped, "
				"timeline_dropped FROM arms WHERE run_id = ?1 ORDER BY ord, arm");
	if (rc != VT_OK)
		return rc;
	sqlite3_bind_text(st, 1, run->id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && (int64_t)i < n) {
		struct arm *arm = &run->arms[i++];
		char file[64];

		arm->name = rpt_col_text(a, st, 0);
		arm->policy = rpt_col_text(a, st, 1);
		arm->page = rpt_col_text(a, st, 2);
		arm->reader = rpt_col_text(a, st, 3);
		arm->options = rpt_col_text(a, st, 4);
		arm->tsc_stable = rpt_col_value(st, 5);
		arm->clocksource = rpt_col_text(a, st, 6);
		arm->tsc_khz = rpt_col_value(st, 7);
		arm->series_interval = rpt_col_value(st, 8);
		arm->viol_dropped = rpt_col_value(st, 9);
		arm->tl_dropped = rpt_col_value(st, 10);
		/* Distinct file names even for arm names that differ only in unsafe characters. */
		rpt_safe_name(arm->name, file, sizeof(file));
		arm->file = rpt_arena_dup(a, file);
		for (unsigned j = 0; j + 1 < i; j++)
			if (strcmp(run->arms[j].file, arm->file) == 0)
				arm->file = rpt_arena_printf(a, "%s-%u", file, i);
	}
	if (rc == SQLITE_ROW)
		rc = SQLITE_DONE;
	rc = rpt_step_done(rep, rc);
	sqlite3_finalize(st);
	run->narms = i;
	return rc;
}

static int arm_index(const struct run *run, const char *name)
{
	for (unsigned i = 0; i < run->narms; i++)
		if (strcmp(run->arms[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Table rows in order: the known metrics in metric_info order, then other metrics, then facts,
 * each group by name. */
static int mrow_cmp(const void *pa, const void *pb)
{
	const struct mrow *x = pa, *y = pb;
	int gx = x->fact ? 2 : x->metric < 0, gy = y->fact ? 2 : y->metric < 0;

	if (gx != gy)
		return gx - gy;
	if (gx == 0)
		return x->metric - y->metric;
	return strcmp(x->name, y->name);
}

static int load_metrics(struct report *rep, struct run *run)
{
	struct arena *a = &run->a;
	sqlite3_stmt *st = NULL;
	unsigned cap = 0;
	int64_t n64 = 0;
	int rc = rpt_count_of(rep, "SELECT count(DISTINCT metric) FROM metrics WHERE run_id = ?1",
			      run->id, &n64);

	if (rc != VT_OK)
		return rc;
	cap = (unsigned)n64;
	run->rows = rpt_arena_alloc(a, (cap ? cap : 1) * sizeof(*run->rows));
	if (!run->rows)
		return VT_ENOMEM;
	rc = rpt_prep(rep, &st, "SELECT arm, metric, value, unit FROM metrics WHERE run_id = ?1");
	if (rc != VT_OK)
		return rc;
	sqlite3_bind_text(st, 1, run->id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *arm = (const char *)sqlite3_column_text(st, 0);
		const char *name = (const char *)sqlite3_column_text(st, 1);
		const char *unit = (const char *)sqlite3_column_text(st, 3);
		int ai = arm ? arm_index(run, arm) : -1;
		struct mrow *r = NULL;

		if (ai < 0 || !name)
			continue;
		for (unsigned i = 0; i < run->nrows && !r; i++)
			if (strcmp(run->rows[i].name, name) == 0)
				r = &run->rows[i];
		if (!r) {
			if (run->nrows == cap)
				continue;
			r = &run->rows[run->nrows++];
			r->name = rpt_arena_dup(a, name);
			r->fact = unit && strcmp(unit, "fact") == 0;
			r->metric = r->fact ? -1 : metric_lookup(name);
			r->v = rpt_arena_alloc(a, (run->narms ? run->narms : 1) * sizeof(*r->v));
			if (!r->v) {
				sqlite3_finalize(st);
				return VT_ENOMEM;
			}
		}
		r->v[ai] = rpt_col_value(st, 2);
	}
	rc = rpt_step_done(rep, rc);
	sqlite3_finalize(st);
	if (rc == VT_OK)
		qsort(run->rows, run->nrows, sizeof(*run->rows), mrow_cmp);
	return rc;
}

static int load_expectations(struct report *rep, struct run *run)
{
	struct arena *a = &run->a;
	sqlite3_stmt *st = NULL;
	unsigned cap = 0;
	int64_t n64 = 0;
	int rc = rpt_count_of(rep, "SELECT count(*) FROM expectations WHERE run_id = ?1", run->id,
			      &n64);

	if (rc != VT_OK)
		return rc;
	cap = (unsigned)n64;
	run->exp = rpt_arena_alloc(a, (cap ? cap : 1) * sizeof(*run->exp));
	if (!run->exp)
		return VT_ENOMEM;
	rc = rpt_prep(rep, &st, "SELECT text, held, lhs, rhs FROM expectations WHERE run_id = ?1 "
				"ORDER BY ord");
	if (rc != VT_OK)
		return rc;
	sqlite3_bind_text(st, 1, run->id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && run->nexp < cap) {
		struct expect *e = &run->exp[run->nexp++];

		e->text = rpt_col_text(a, st, 0);
		e->held = sqlite3_column_int64(st, 1) != 0;
		e->lhs = rpt_col_value(st, 2);
		e->rhs = rpt_col_value(st, 3);
	}
	if (rc == SQLITE_ROW)
		rc = SQLITE_DONE;
	rc = rpt_step_done(rep, rc);
	sqlite3_finalize(st);
	return rc;
}

/*
 * The violations: per arm, how many warps and backsteps were recorded and how many dropped past
 * the cap, and the first REPORT_FIRST_VIOLATIONS with their context. Failed expectations are
 * also stored as violations; they are listed under the expectations instead.
 */
static int load_violations(struct report *rep, struct run *run)
{
	static const char *const kinds[] = { "warp", "backstep" };
	static const char *const head[] = { "arm", "kind", "t (s)", "vCPU", "pCPU", "prev vCPU",
					    "prev_ns", "value_ns", "delta_ns", "context" };
	struct arena *a = &run->a;
	struct table *t = &run->viol_count;
	sqlite3_stmt *st = NULL;
	struct cell *c;
	int rc;

	if (!rpt_table_init(a, t, run->narms + 1, 3) ||
	    !rpt_table_init(a, &run->viol_first, VT_ARRAY_SIZE(head), REPORT_FIRST_VIOLATIONS))
		return VT_ENOMEM;
	t->head[0] = "recorded";
	for (unsigned i = 0; i < run->narms; i++)
		t->head[i + 1] = run->arms[i].name;
	rc = rpt_prep(rep, &st, "SELECT count(*) FROM violations WHERE run_id = ?1 AND arm = ?2 "
				"AND kind = ?3");
	if (rc != VT_OK)
		return rc;
	for (size_t k = 0; k < VT_ARRAY_SIZE(kinds) && rc == VT_OK; k++) {
		c = rpt_table_row(t, false);
		c[0].text = rpt_arena_printf(a, "%ss", kinds[k]);
		for (unsigned i = 0; i < run->narms && rc == VT_OK; i++) {
			int64_t n;

			sqlite3_reset(st);
			sqlite3_bind_text(st, 1, run->id, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, run->arms[i].name, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, kinds[k], -1, SQLITE_STATIC);
			rc = sqlite3_step(st);
			if (rc != SQLITE_ROW) {
				rc = rpt_step_done(rep, rc == SQLITE_DONE ? SQLITE_ERROR : rc);
				break;
			}
			n = sqlite3_column_int64(st, 0);
			run->nviol += (uint64_t)n;
			c[i + 1].text = rpt_arena_printf(a, "%lld", (long long)n);
			rc = VT_OK;
		}
	}
	sqlite3_finalize(st);
	if (rc != VT_OK)
		return rc;
	c = rpt_table_row(t, false);
	c[0].text = "dropped past the cap";
	for (unsigned i = 0; i < run->narms; i++) {
		char v[32];

		rpt_fmt_value(&run->arms[i].viol_dropped, -1, v, sizeof(v));
		c[i + 1].text = rpt_arena_dup(a, v);
	}

	for (size_t i = 0; i < VT_ARRAY_SIZE(head); i++)
		run->viol_first.head[i] = head[i];
	run->viol_first.text[1] = run->viol_first.text[9] = true;
	rc = rpt_prep(rep, &st, "SELECT arm, kind, t_ns, vcpu, pcpu, prev_vcpu, prev_ns, value_ns, "
				"delta_ns, context FROM violations WHERE run_id = ?1 AND kind <> "
				"'expectation' ORDER BY t_ns, rowid LIMIT ?2");
	if (rc != VT_OK)
		return rc;
	sqlite3_bind_text(st, 1, run->id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, REPORT_FIRST_VIOLATIONS);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct value t_ns = rpt_col_value(st, 2);

		c = rpt_table_row(&run->viol_first, false);
		if (!c)
			continue;
		c[0].text = rpt_col_text(a, st, 0);
		c[1].text = rpt_col_text(a, st, 1);
		if (t_ns.type == V_INT)
			c[2].text = rpt_arena_printf(a, "%.9f", (double)t_ns.i / 1e9);
		for (int k = 3; k < 9; k++) {
			struct value v = rpt_col_value(st, k);
			char buf[32];

			rpt_fmt_value(&v, -1, buf, sizeof(buf));
			c[k].text = v.type == V_NULL ? "" : rpt_arena_dup(a, buf);
		}
		c[9].text = rpt_col_text(a, st, 9);
	}
	rc = rpt_step_done(rep, rc);
	sqlite3_finalize(st);
	return rc;
}

static int load_timeline(struct report *rep, struct run *run)
{
	sqlite3_stmt *st = NULL;
	/* Ties in time in recording order: seq since schema 5 (a view has no rowid), the table's
	 * rowid before (the report reads older databases as they are, read-only). */
	int rc = rpt_prep(rep, &st, rep->schema >= 5
				    ? "SELECT kind, t_ns, length_ns, vcpu, from_cpu, to_cpu FROM "
				      "timeline WHERE run_id = ?1 AND arm = ?2 ORDER BY t_ns, seq"
				    : "SELECT kind, t_ns, length_ns, vcpu, from_cpu, to_cpu FROM "
				      "timeline WHERE run_id = ?1 AND arm = ?2 ORDER BY t_ns, rowid");

	if (rc != VT_OK)
		return rc;
	for (unsigned i = 0; i < run->narms && rc == VT_OK; i++) {
		struct arm *arm = &run->arms[i];
		size_t cap = 0;

		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, run->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, arm->name, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			const char *kind = (const char *)sqlite3_column_text(st, 0);
			struct tl_event *e;

			if (arm->ntl == cap) {
				size_t ncap = cap ? 2 * cap : 256;
				struct tl_event *p = realloc(arm->tl, ncap * sizeof(*p));

				if (!p) {
					sqlite3_finalize(st);
					return VT_ENOMEM;
				}
				arm->tl = p;
				cap = ncap;
			}
			e = &arm->tl[arm->ntl++];
			e->kind = -1;
			for (int k = 0; k < TLK_COUNT; k++)
				if (kind && strcmp(kind, tl_kinds[k]) == 0)
					e->kind = k;
			e->t = rpt_col_value(st, 1);
			e->len = rpt_col_value(st, 2);
			e->vcpu = rpt_col_value(st, 3);
			e->from = rpt_col_value(st, 4);
			e->to = rpt_col_value(st, 5);
			if (e->vcpu.type == V_INT && e->vcpu.i >= 0 && e->vcpu.i < 65536 &&
			    (unsigned)e->vcpu.i + 1 > run->nvcpus)
				run->nvcpus = (unsigned)e->vcpu.i + 1;
		}
		rc = rpt_step_done(rep, rc);
	}
	sqlite3_finalize(st);
	if (rc != VT_OK)
		return rc;
	/* The load is the same in every arm unless an arm overrides host, vm or sched keys. */
	run->tl_same = true;
	for (unsigned i = 1; i < run->narms && run->tl_same; i++) {
		const struct arm *x = &run->arms[0], *y = &run->arms[i];

		if (x->ntl != y->ntl) {
			run->tl_same = false;
			break;
		}
		for (size_t k = 0; k < x->ntl && run->tl_same; k++) {
			const struct tl_event *p = &x->tl[k], *q = &y->tl[k];

			run->tl_same = p->kind == q->kind && value_eq(&p->t, &q->t) &&
				       value_eq(&p->len, &q->len) && value_eq(&p->vcpu, &q->vcpu) &&
				       value_eq(&p->from, &q->from) && value_eq(&p->to, &q->to);
		}
	}
	return VT_OK;
}

static int load_run(struct report *rep, struct run *run)
{
	int rc = load_run_row(rep, run);
	char name[64];

	if (rc == VT_OK)
		rc = load_arms(rep, run);
	if (rc == VT_OK)
		rc = load_metrics(rep, run);
	if (rc == VT_OK)
		rc = load_expectations(rep, run);
	if (rc == VT_OK)
		rc = load_violations(rep, run);
	if (rc == VT_OK)
		rc = load_timeline(rep, run);
	if (rc != VT_OK)
		return rc;
	snprintf(run->short_id, sizeof(run->short_id), "%.8s", run->id);
	rpt_safe_name(run->scenario, name, sizeof(name));
	run->sub = rpt_arena_printf(&run->a, "%s-%s", name, run->short_id);
	if (!path_in(run->out.dir, sizeof(run->out.dir), rep->out_dir, run->sub)) {
		fprintf(rep->err, "report: %s: path too long\n", rep->out_dir);
		return VT_EIO;
	}
	run->out.a = &run->a;
	run->out.title = rpt_arena_printf(&run->a, "%s %s", run->scenario, run->short_id);
	/* error, warps, cdf, a timeline, and per arm a divergence plot and maybe a timeline. */
	run->out.cap = 4 + 2 * run->narms;
	run->out.plots = rpt_arena_alloc(&run->a, run->out.cap * sizeof(*run->out.plots));
	return run->out.plots && !run->a.failed ? VT_OK : VT_ENOMEM;
}

/* ---- templates ----------------------------------------------------------------------------- */

/* The reports/ directory: $VTSIM_REPORTS, else found upward from the executable. */
static void find_templates(struct report *rep)
{
	const char *env = getenv("VTSIM_REPORTS");

	rep->tpl_dir[0] = '\0';
	rep->tpl_from_env = env && *env;
	if (!util_find_dir("VTSIM_REPORTS", "reports", "error.gp", rep->tpl_dir,
			   sizeof(rep->tpl_dir)))
		rep->tpl_dir[0] = '\0';
}

/* Template `name`: reports/<name>.gp, else the built-in copy. Caller frees. */
static char *load_template(struct report *rep, const char *name)
{
	char path[PATH_MAX + 64];
	const char *builtin;
	char *text = NULL;

	if (rep->tpl_dir[0]) {
		snprintf(path, sizeof(path), "%s/%s.gp", rep->tpl_dir, name);
		text = util_slurp(path, NULL);
		if (!text && rep->tpl_from_env && !rep->tpl_warned) {
			fprintf(rep->err, "report: VTSIM_REPORTS=%s: cannot read %s (%s); using the "
					  "built-in templates\n", rep->tpl_dir, path,
				strerror(errno));
			rep->tpl_warned = true;
		}
	}
	if (text)
		return text;
	builtin = report_template_builtin(name);
	return builtin ? strdup(builtin) : NULL;
}

/* The template with every @KEY@ of `s` replaced; other text (and unknown keys) kept. */
static void fill_template(struct strbuf *b, const char *tpl, const struct subst *s, size_t ns)
{
	const char *p = tpl;

	while (*p) {
		const char *at = strchr(p, '@'), *end;
		bool done = false;

		if (!at) {
			rpt_sb_puts(b, p);
			break;
		}
		sb_add(b, p, (size_t)(at - p));
		end = strchr(at + 1, '@');
		for (size_t i = 0; end && i < ns && !done; i++) {
			size_t klen = strlen(s[i].key);

			if ((size_t)(end - at - 1) == klen && strncmp(at + 1, s[i].key, klen) == 0) {
				rpt_sb_puts(b, s[i].val);
				p = end + 1;
				done = true;
			}
		}
		if (!done) {
			sb_add(b, "@", 1);
			p = at + 1;
		}
	}
}

/* Text for a gnuplot single-quoted string: ' is written '', a control character as a space. */
const char *rpt_gp_quote(struct arena *a, const char *s)
{
	size_t n = strlen(s), quotes = 0;
	char *p, *o;

	for (size_t i = 0; i < n; i++)
		quotes += s[i] == '\'';
	p = rpt_arena_alloc(a, n + quotes + 1);
	if (!p)
		return "";
	o = p;
	for (size_t i = 0; i < n; i++) {
		*o++ = (unsigned char)s[i] < ' ' ? ' ' : s[i];
		if (s[i] == '\'')
			*o++ = '\'';
	}
	*o = '\0';
	return p;
}

/* Writes <plot>.gp into o from template `tpl` and records the plot; s[0..2] are filled here
 * (NAME, DATA, RUN), the template's own keys follow. */
int rpt_write_script(struct report *rep, struct outdir *o, const char *tpl, const char *name,
		     int rank, const char *caption, struct subst *s, size_t ns)
{
	struct strbuf b = { 0 };
	char *text;
	char file[PATH_MAX];
	struct plot *p;
	FILE *f;
	int rc;

	/* The callers size the list for every plot they can make. */
	if (o->nplots == o->cap)
		return VT_ENOMEM;
	text = load_template(rep, tpl);
	if (!text)
		return VT_ENOMEM;
	s[0] = (struct subst){ "NAME", name };
	s[1] = (struct subst){ "DATA", rpt_arena_printf(o->a, "%s.dat", name) };
	s[2] = (struct subst){ "RUN", rpt_gp_quote(o->a, o->title) };
	fill_template(&b, text, s, ns);
	free(text);
	if (b.oom || o->a->failed) {
		free(b.p);
		return VT_ENOMEM;
	}
	snprintf(file, sizeof(file), "%s.gp", name);
	f = rpt_open_out(rep, o, file);
	if (!f) {
		free(b.p);
		return VT_EIO;
	}
	fputs(rpt_sb_str(&b), f);
	free(b.p);
	rc = rpt_close_out(rep, o, file, f);
	if (rc != VT_OK)
		return rc;
	p = &o->plots[o->nplots++];
	p->name = rpt_arena_dup(o->a, name);
	p->caption = rpt_arena_dup(o->a, caption);
	p->rank = rank;
	return o->a->failed ? VT_ENOMEM : VT_OK;
}

/* ---- data files and scripts ---------------------------------------------------------------- */

/* The y unit of an error plot from its largest |error|: us below 1 ms, else ms. */
static void error_unit(uint64_t max_abs, const char **unit, const char **div)
{
	if (max_abs < NS_PER_MS) {
		*unit = "us";
		*div = "1e3";
	} else {
		*unit = "ms";
		*div = "1e6";
	}
}

/* The x range's end: the run's duration in seconds, else autoscale ("1" with no data). */
static const char *xmax(struct run *run, bool any)
{
	if (run->duration.type == V_INT && run->duration.i > 0)
		return rpt_arena_printf(&run->a, "%.9g", (double)run->duration.i / 1e9);
	return any ? "*" : "1";
}

static int cmp_u64(const void *pa, const void *pb)
{
	uint64_t x = *(const uint64_t *)pa, y = *(const uint64_t *)pb;

	return x < y ? -1 : x > y;
}

/*
 * The series plots: error.dat (every arm, one data set each), divergence-ARM.dat (one per arm,
 * one data set per vCPU) and cdf.dat (the sorted |error| of each arm), with their scripts.
 */
static int write_series(struct report *rep, struct run *run)
{
	struct arena *a = &run->a;
	sqlite3_stmt *st = NULL;
	FILE *fe = NULL, *fc = NULL, *fd = NULL;
	uint64_t *abs_err = NULL, max_all = 0, total = 0;
	size_t cap = 0;
	struct strbuf arms = { 0 };
	char dname[128];
	struct subst s[10];
	const char *unit, *div;
	int rc;

	rc = rpt_prep(rep, &st, "SELECT t_ns, vcpu, guest_ns, error_ns FROM series WHERE "
				"run_id = ?1 AND arm = ?2 ORDER BY vcpu, t_ns");
	if (rc != VT_OK)
		return rc;
	fe = rpt_open_out(rep, &run->out, "error.dat");
	fc = fe ? rpt_open_out(rep, &run->out, "cdf.dat") : NULL;
	if (!fe || !fc) {
		rc = VT_EIO;
		goto out;
	}
	fprintf(fe, "# error.dat: the guest clock error of run %s (%s), from the series table.\n"
		    "# One data set per arm (gnuplot index 0, 1, ...), one block per vCPU.\n"
		    "# Columns: t_ns vcpu guest_ns error_ns\n", run->id, run->scenario);
	fprintf(fc, "# cdf.dat: |error_ns| of every series row of run %s (%s), sorted, with the\n"
		    "# fraction of the arm's rows at or below it. One data set per arm.\n"
		    "# Columns: abs_error_ns fraction\n", run->id, run->scenario);
	for (unsigned i = 0; i < run->narms; i++) {
		struct arm *arm = &run->arms[i];
		struct strbuf vcpus = { 0 };
		uint64_t max_arm = 0;
		size_t n = 0;
		int64_t last_vcpu = -1;
		bool any = false;

		snprintf(dname, sizeof(dname), "divergence-%s.dat", arm->file);
		fd = rpt_open_out(rep, &run->out, dname);
		if (!fd) {
			rc = VT_EIO;
			goto out;
		}
		fprintf(fd, "# %s: each vCPU's clock error in arm %s of run %s (%s), from the\n"
			    "# series table. One data set per vCPU (gnuplot index 0, 1, ...).\n"
			    "# Columns: t_ns vcpu guest_ns error_ns\n", dname, arm->name, run->id,
			run->scenario);
		fprintf(fe, "%s# arm %s (index %u)\n", i ? "\n\n" : "", arm->name, i);
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, run->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, arm->name, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			struct value t = rpt_col_value(st, 0), v = rpt_col_value(st, 1),
				     g = rpt_col_value(st, 2), e = rpt_col_value(st, 3);
			int64_t vcpu = v.type == V_INT ? v.i : -1;
			char num[32];

			if (!any || vcpu != last_vcpu) {
				if (any)
					fputs("\n", fe);
				fprintf(fd, "%s# vcpu %lld (index %zu)\n", any ? "\n\n" : "",
					(long long)vcpu, n);
				snprintf(num, sizeof(num), "%s%lld", vcpus.len ? " " : "",
					 (long long)vcpu);
				rpt_sb_puts(&vcpus, num);
				n++;
				last_vcpu = vcpu;
				any = true;
				if (vcpu >= 0 && vcpu < 65536 && (unsigned)vcpu + 1 > run->nvcpus)
					run->nvcpus = (unsigned)vcpu + 1;
			}
			for (int k = 0; k < 2; k++) {
				FILE *f = k ? fd : fe;

				rpt_data_col(f, &t);
				fputc(' ', f);
				rpt_data_col(f, &v);
				fputc(' ', f);
				rpt_data_col(f, &g);
				fputc(' ', f);
				rpt_data_col(f, &e);
				fputc('\n', f);
			}
			if (e.type == V_INT) {
				if (arm->nseries == cap) {
					size_t ncap = cap ? 2 * cap : 4096;
					uint64_t *p = realloc(abs_err, ncap * sizeof(*p));

					if (!p) {
						rc = VT_ENOMEM;
						goto out;
					}
					abs_err = p;
					cap = ncap;
				}
				abs_err[arm->nseries] = mag64(e.i);
				if (abs_err[arm->nseries] > max_arm)
					max_arm = abs_err[arm->nseries];
				arm->nseries++;
			}
		}
		rc = rpt_step_done(rep, rc);
		if (rc != VT_OK) {
			free(vcpus.p);
			goto out;
		}
		if (!any) {
			fputs("NaN NaN NaN NaN\n", fe);
			fputs("NaN NaN NaN NaN\n", fd);
		}
		rc = rpt_close_out(rep, &run->out, dname, fd);
		fd = NULL;
		arm->vcpus = rpt_arena_dup(a, rpt_sb_str(&vcpus));
		if (vcpus.oom)
			a->failed = true;
		free(vcpus.p);
		if (rc != VT_OK)
			goto out;

		/* CDF: the arm's |error| sorted, each with the fraction of rows at or below it. */
		fprintf(fc, "%s# arm %s (index %u)\n", i ? "\n\n" : "", arm->name, i);
		if (arm->nseries)
			qsort(abs_err, (size_t)arm->nseries, sizeof(*abs_err), cmp_u64);
		for (uint64_t k = 0; k < arm->nseries; k++)
			fprintf(fc, "%llu %.9g\n", (unsigned long long)abs_err[k],
				(double)(k + 1) / (double)arm->nseries);
		if (arm->nseries == 0)
			fputs("NaN NaN\n", fc);
		rpt_sb_puts(&arms, i ? " " : "");
		rpt_sb_puts(&arms, rpt_gp_quote(a, arm->name));
		if (max_arm > max_all)
			max_all = max_arm;
		total += arm->nseries;

		/* This arm's divergence script. */
		error_unit(max_arm, &unit, &div);
		snprintf(dname, sizeof(dname), "divergence-%s", arm->file);
		s[3] = (struct subst){ "VCPUS", arm->vcpus };
		s[4] = (struct subst){ "ROWS", rpt_arena_printf(a, "%llu",
								(unsigned long long)arm->nseries) };
		s[5] = (struct subst){ "YDIV", div };
		s[6] = (struct subst){ "YUNIT", unit };
		s[7] = (struct subst){ "XMAX", xmax(run, any) };
		s[8] = (struct subst){ "ARM", rpt_gp_quote(a, arm->name) };
		rc = rpt_write_script(rep, &run->out, "divergence", dname, RANK_DIVERGENCE + (int)i,
				      rpt_arena_printf(a, "Arm %s: each vCPU's clock error "
							  "against true time (the distance "
							  "between lines is the divergence "
							  "between vCPUs)", arm->name), s, 9);
		if (rc != VT_OK)
			goto out;
	}
	rc = rpt_close_out(rep, &run->out, "error.dat", fe);
	fe = NULL;
	if (rc == VT_OK)
		rc = rpt_close_out(rep, &run->out, "cdf.dat", fc);
	fc = NULL;
	if (rc != VT_OK)
		goto out;
	if (arms.oom) {
		rc = VT_ENOMEM;
		goto out;
	}
	error_unit(max_all, &unit, &div);
	s[3] = (struct subst){ "ARMS", rpt_sb_str(&arms) };
	s[4] = (struct subst){ "ROWS", rpt_arena_printf(a, "%llu", (unsigned long long)total) };
	s[5] = (struct subst){ "YDIV", div };
	s[6] = (struct subst){ "YUNIT", unit };
	s[7] = (struct subst){ "XMAX", xmax(run, total > 0) };
	rc = rpt_write_script(rep, &run->out, "error", "error", RANK_ERROR,
			      "Guest clock error against true time (every vCPU; one colour "
			      "per arm)", s, 8);
	if (rc == VT_OK)
		rc = rpt_write_script(rep, &run->out, "cdf", "cdf", RANK_CDF,
				      "Distribution of |guest clock - true time| over the "
				      "samples (CDF)", s, 5);
out:
	if (fd)
		fclose(fd);
	if (fe)
		fclose(fe);
	if (fc)
		fclose(fc);
	sqlite3_finalize(st);
	free(abs_err);
	free(arms.p);
	return rc;
}

/* warps.dat: per arm, the warps, stalls and backsteps metrics. */
static int write_warps(struct report *rep, struct run *run)
{
	static const int col[] = { M_WARPS, M_STALLS, M_BACKSTEPS };
	struct subst s[5];
	bool have[VT_ARRAY_SIZE(col)] = { false };
	char cols[16] = "";
	double ymax = 0;
	FILE *f = rpt_open_out(rep, &run->out, "warps.dat");
	int rc;

	if (!f)
		return VT_EIO;
	fprintf(f, "# warps.dat: metrics of run %s (%s), from the metrics table.\n"
		   "# arm warps stalls backsteps\n", run->id, run->scenario);
	for (unsigned i = 0; i < run->narms; i++) {
		fputs(run->arms[i].name, f);
		for (size_t k = 0; k < VT_ARRAY_SIZE(col); k++) {
			struct value none = { V_NULL, 0, 0 }, *v = &none;

			for (unsigned r = 0; r < run->nrows; r++)
				if (run->rows[r].metric == col[k])
					v = &run->rows[r].v[i];
			fputc(' ', f);
			rpt_data_col(f, v);
			have[k] |= v->type != V_NULL;
			if (v->type != V_NULL && rpt_value_num(v) > ymax)
				ymax = rpt_value_num(v);
		}
		fputc('\n', f);
	}
	rc = rpt_close_out(rep, &run->out, "warps.dat", f);
	if (rc != VT_OK)
		return rc;
	/* gnuplot refuses a histogram column without a single value: list those that have one
	 * (data-file columns 2, 3, 4). */
	for (size_t k = 0; k < VT_ARRAY_SIZE(col); k++)
		if (have[k])
			snprintf(cols + strlen(cols), sizeof(cols) - strlen(cols), "%s%zu",
				 cols[0] ? " " : "", k + 2);
	s[3] = (struct subst){ "YMAX", ymax > 0 ? "*" : "1" };
	s[4] = (struct subst){ "COLS", rpt_arena_dup(&run->a, cols) };
	return rpt_write_script(rep, &run->out, "warps", "warps", RANK_WARPS,
				"Warps, stalls and backsteps per arm (counts over the run)", s, 5);
}

/* timeline.dat (or timeline-ARM.dat): migrations, stalls, pauses, one data set each. */
static int write_timeline(struct report *rep, struct run *run)
{
	static const int shown[] = { TLK_MIGRATION, TLK_STALL, TLK_PAUSE };
	unsigned n = run->tl_same ? (run->narms ? 1 : 0) : run->narms;
	struct arena *a = &run->a;
	int rc = VT_OK;

	for (unsigned i = 0; i < n && rc == VT_OK; i++) {
		const struct arm *arm = &run->arms[i];
		const char *name = run->tl_same ? "timeline" : rpt_arena_printf(a, "timeline-%s",
										arm->file);
		const char *file = rpt_arena_printf(a, "%s.dat", name);
		const char *note = "", *caption;
		struct subst s[7];
		bool any = false;
		FILE *f = rpt_open_out(rep, &run->out, file);

		if (!f)
			return VT_EIO;
		fprintf(f, "# %s: the timeline of arm %s of run %s (%s), from the timeline table.\n"
			   "# Data sets: index 0 migrations, 1 stalls, 2 pauses (NaN: none).\n"
			   "# Columns: t_ns length_ns vcpu from_cpu to_cpu\n", file, arm->name,
			run->id, run->scenario);
		for (size_t k = 0; k < VT_ARRAY_SIZE(shown); k++) {
			bool some = false;

			fprintf(f, "%s# %s (index %zu)\n", k ? "\n\n" : "", tl_kinds[shown[k]], k);
			for (size_t j = 0; j < arm->ntl; j++) {
				const struct tl_event *e = &arm->tl[j];

				if (e->kind != shown[k])
					continue;
				rpt_data_col(f, &e->t);
				fputc(' ', f);
				rpt_data_col(f, &e->len);
				fputc(' ', f);
				rpt_data_col(f, &e->vcpu);
				fputc(' ', f);
				rpt_data_col(f, &e->from);
				fputc(' ', f);
				rpt_data_col(f, &e->to);
				fputc('\n', f);
				some = any = true;
			}
			if (!some)
				fputs("NaN NaN NaN NaN NaN\n", f);
		}
		rc = rpt_close_out(rep, &run->out, file, f);
		if (rc != VT_OK)
			return rc;
		if (run->tl_same && run->narms > 1)
			note = "every arm saw the same load";
		if (arm->tl_dropped.type == V_INT && arm->tl_dropped.i > 0)
			note = rpt_arena_printf(a, "%s%s%lld later events not shown (past the "
						   "recording cap)", note, *note ? "; " : "",
						(long long)arm->tl_dropped.i);
		caption = rpt_arena_printf(a, "Timeline of the load, arm %s%s%s%s: migrations as "
					   "points where the vCPU lands, stalls and VM pauses "
					   "as bars", arm->name, *note ? " (" : "", note,
					   *note ? ")" : "");
		s[3] = (struct subst){ "ARM", rpt_gp_quote(a, arm->name) };
		s[4] = (struct subst){ "NOTE", rpt_gp_quote(a, note) };
		s[5] = (struct subst){ "NVCPUS", rpt_arena_printf(a, "%u", run->nvcpus ? run->nvcpus
										       : 1) };
		s[6] = (struct subst){ "XMAX", xmax(run, any) };
		rc = rpt_write_script(rep, &run->out, "timeline", name, RANK_TIMELINE + (int)i,
				      caption, s, 7);
	}
	return rc;
}

/* ---- gnuplot ----------------------------------------------------------------------------- */

/* gnuplot on PATH (as execvp would search it; an empty entry is the current directory). */
static bool find_gnuplot(char *out, size_t len)
{
	const char *path = getenv("PATH");

	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (;;) {
		const char *colon = strchr(path, ':');
		size_t n = colon ? (size_t)(colon - path) : strlen(path);
		struct stat sb;
		int w = n ? snprintf(out, len, "%.*s/gnuplot", (int)n, path)
			  : snprintf(out, len, "./gnuplot");

		if (w > 0 && (size_t)w < len && stat(out, &sb) == 0 && S_ISREG(sb.st_mode) &&
		    access(out, X_OK) == 0)
			return true;
		if (!colon)
			return false;
		path = colon + 1;
	}
}

/*
 * Runs `gnuplot SCRIPT` in dir (fork/exec, stdin and stdout on /dev/null); its stderr goes to
 * msg (the first msglen - 1 bytes). Returns the exit status, or -1 when it could not be run.
 */
static int run_gnuplot(struct report *rep, const char *dir, const char *script, char *msg,
		       size_t msglen)
{
	int pfd[2], status = 0;
	size_t used = 0;
	pid_t pid;

	msg[0] = '\0';
	if (pipe(pfd) != 0) {
		snprintf(msg, msglen, "pipe: %s", strerror(errno));
		return -1;
	}
	fflush(rep->out);
	fflush(rep->err);
	pid = fork();
	if (pid < 0) {
		snprintf(msg, msglen, "fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);

		if (nul >= 0) {
			dup2(nul, STDIN_FILENO);
			dup2(nul, STDOUT_FILENO);
		}
		dup2(pfd[1], STDERR_FILENO);
		close(pfd[0]);
		close(pfd[1]);
		if (chdir(dir) != 0)
			_exit(126);
		execl(rep->gp_path, "gnuplot", script, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		char buf[1024];
		ssize_t got = read(pfd[0], buf, sizeof(buf));

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		for (ssize_t i = 0; i < got && used + 1 < msglen; i++)
			msg[used++] = buf[i];
		msg[used] = '\0';
	}
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			snprintf(msg, msglen, "waitpid: %s", strerror(errno));
			return -1;
		}
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	snprintf(msg, msglen, "killed by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return -1;
}

static bool nonempty(const char *dir, const char *name, const char *ext)
{
	char path[PATH_MAX];
	struct stat sb;
	int n = snprintf(path, sizeof(path), "%s/%s.%s", dir, name, ext);

	return n > 0 && (size_t)n < sizeof(path) && stat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
	       sb.st_size > 0;
}

/* Draws every plot scripted into o; failures are messages, never errors of the report. */
void rpt_draw(struct report *rep, struct outdir *o)
{
	char msg[REPORT_GNUPLOT_MSG];

	/* Images of an earlier report of the same run would outlive a failed drawing. */
	for (unsigned i = 0; i < o->nplots; i++) {
		char path[PATH_MAX];

		for (int k = 0; k < 2; k++)
			if (snprintf(path, sizeof(path), "%s/%s.%s", o->dir, o->plots[i].name,
				     k ? "svg" : "png") < (int)sizeof(path))
				unlink(path);
	}
	if (o->nplots == 0)
		return;
	if (rep->gp == GP_UNKNOWN)
		rep->gp = find_gnuplot(rep->gp_path, sizeof(rep->gp_path)) ? GP_FOUND : GP_MISSING;
	if (rep->gp == GP_MISSING) {
		fprintf(rep->err, "report: gnuplot not found: the data files and .gp scripts are in "
				  "%s; run gnuplot on them later (gnuplot %s/%s.gp, ...)\n",
			o->dir, o->dir, o->plots[0].name);
		return;
	}
	for (unsigned i = 0; i < o->nplots; i++) {
		struct plot *p = &o->plots[i];
		char script[PATH_MAX];
		int st;

		snprintf(script, sizeof(script), "%s.gp", p->name);
		st = run_gnuplot(rep, o->dir, script, msg, sizeof(msg));
		if (st == 127) {
			fprintf(rep->err, "report: gnuplot not found (%s could not be run): the data "
					  "files and .gp scripts are in %s; run gnuplot on them "
					  "later\n", rep->gp_path, o->dir);
			rep->gp = GP_MISSING;
			return;
		}
		p->png = nonempty(o->dir, p->name, "png");
		p->svg = nonempty(o->dir, p->name, "svg");
		if (st != 0 || !p->png) {
			size_t n = strlen(msg);

			while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
				msg[--n] = '\0';
			fprintf(rep->err, "report: gnuplot failed on %s/%s (%s%d)%s%s\n", o->dir,
				script, st < 0 ? "" : "exit status ", st < 0 ? 0 : st,
				n ? ":\n" : "", msg);
			p->png = false;
		}
	}
}

/* ---- report.md ------------------------------------------------------------------------- */

/* Markdown inline code: `s`, or `` s `` when s has a backtick. */
void rpt_md_code(FILE *f, const char *s)
{
	bool tick = strchr(s, '`') != NULL;

	fprintf(f, "%s%s%s", tick ? "`` " : "`", s, tick ? " ``" : "`");
}

void rpt_md_cell(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputs("\\|", f);
		else if (*s == '\n')
			fputc(' ', f);
		else
			fputc(*s, f);
	}
}

void rpt_md_table(FILE *f, const struct table *t)
{
	fputc('|', f);
	for (unsigned c = 0; c < t->ncols; c++) {
		fputc(' ', f);
		rpt_md_cell(f, t->head[c]);
		fputs(" |", f);
	}
	fputs("\n|", f);
	for (unsigned c = 0; c < t->ncols; c++)
		fputs(t->text[c] ? ":---|" : "---:|", f);
	fputc('\n', f);
	for (unsigned r = 0; r < t->nrows; r++) {
		const struct cell *row = &t->c[(size_t)r * t->ncols];

		fputc('|', f);
		for (unsigned c = 0; c < t->ncols; c++) {
			fputc(' ', f);
			if (t->section[r] && c == 0) {
				fputs("*", f);
				rpt_md_cell(f, row[c].text);
				fputs("*", f);
			} else if (row[c].bold && row[c].text[0]) {
				fputs("**", f);
				rpt_md_cell(f, row[c].text);
				fputs("**", f);
			} else {
				rpt_md_cell(f, row[c].text);
			}
			fputs(" |", f);
		}
		fputc('\n', f);
	}
}

static void expect_line(const struct expect *e, char *lhs, char *rhs, size_t len)
{
	fmt_operand(&e->lhs, lhs, len);
	fmt_operand(&e->rhs, rhs, len);
}

static unsigned held_count(const struct run *run)
{
	unsigned n = 0;

	for (unsigned i = 0; i < run->nexp; i++)
		n += run->exp[i].held;
	return n;
}

/* Each plot of o under its caption: the PNG with links to the SVG, data and script, or where
 * its data is when it was not drawn. */
void rpt_md_plots(FILE *f, const struct outdir *o)
{
	for (unsigned i = 0; i < o->nplots; i++) {
		const struct plot *p = &o->plots[i];

		fprintf(f, "\n### %s\n\n", p->caption);
		if (p->png) {
			fprintf(f, "![%s](%s.png)\n", p->caption, p->name);
			if (p->svg)
				fprintf(f, "\n[SVG](%s.svg)", p->name);
			fprintf(f, "%sdata: [%s.dat](%s.dat), script: [%s.gp](%s.gp)\n",
				p->svg ? " · " : "\n", p->name, p->name, p->name, p->name);
		} else {
			fprintf(f, "Not drawn (gnuplot missing or failed): the data is in [%s.dat]"
				   "(%s.dat); draw it with `gnuplot %s.gp`.\n", p->name, p->name,
				p->name);
		}
	}
}

static const char bold_note[] =
	"Bold: the best value of a metric where the arms differ (the smallest magnitude where "
	"lower is better, the largest otherwise).";

static int write_markdown(struct report *rep, struct run *run)
{
	FILE *f = rpt_open_out(rep, &run->out, "report.md");
	size_t fence = 3, tick = 0;

	if (!f)
		return VT_EIO;
	fprintf(f, "# vtsim report: %s, run %s\n\n", run->scenario, run->short_id);
	fprintf(f, "- scenario: **%s**", run->scenario);
	if (*run->path) {
		fputs(" (", f);
		rpt_md_code(f, run->path);
		fputs(")", f);
	}
	fprintf(f, "\n- run id: `%s`\n- seed: %s\n", run->id, run->seed);
	if (run->duration.type == V_INT)
		fprintf(f, "- duration: %.3f s of simulated time\n",
			(double)run->duration.i / 1e9);
	fprintf(f, "- started %s, finished %s", *run->started ? run->started : "?",
		*run->finished ? run->finished : "?");
	if (*run->host)
		fprintf(f, " on %s", run->host);
	if (*run->version)
		fprintf(f, ", vtsim %s", run->version);
	fputc('\n', f);
	if (*run->overrides) {
		fputs("- overrides:", f);
		for (const char *p = run->overrides; *p;) {
			size_t n = strcspn(p, "\n");
			char one[512];

			snprintf(one, sizeof(one), "--set %.*s", (int)(n < 400 ? n : 400), p);
			fputc(' ', f);
			if (n)
				rpt_md_code(f, one);
			p += n + (p[n] == '\n');
		}
		fputc('\n', f);
	}
	if (*run->plugins) {
		fputs("- reader plugins: ", f);
		rpt_md_cell(f, run->plugins);
		fputc('\n', f);
	}

	fputs("\n## Comparison\n\n", f);
	rpt_md_table(f, &run->cmp);
	fprintf(f, "\n%s\n", bold_note);

	fputs("\n## Expectations\n\n", f);
	for (unsigned i = 0; i < run->nexp; i++) {
		const struct expect *e = &run->exp[i];
		char lhs[48], rhs[48];

		expect_line(e, lhs, rhs, sizeof(lhs));
		fputs(e->held ? "- held: " : "- **FAILED**: ", f);
		rpt_md_code(f, e->text);
		fprintf(f, " (%s vs %s)\n", lhs, rhs);
	}
	if (run->nexp)
		fprintf(f, "\n%u of %u expectations held.\n", held_count(run), run->nexp);
	else
		fputs("The scenario has no expectations.\n", f);

	fputs("\n## Violations\n\n", f);
	rpt_md_table(f, &run->viol_count);
	if (run->viol_first.nrows) {
		fprintf(f, "\nThe first %u, in time order:\n\n", run->viol_first.nrows);
		rpt_md_table(f, &run->viol_first);
	}

	fputs("\n## Plots\n", f);
	rpt_md_plots(f, &run->out);

	/* A fence longer than any run of backticks in the scenario. */
	for (const char *p = run->text; *p; p++) {
		tick = *p == '`' ? tick + 1 : 0;
		if (tick + 1 > fence)
			fence = tick + 1;
	}
	fputs("\n## Scenario (expanded)\n\n", f);
	for (size_t i = 0; i < fence; i++)
		fputc('`', f);
	fputs("text\n", f);
	fputs(run->text, f);
	if (!*run->text || run->text[strlen(run->text) - 1] != '\n')
		fputc('\n', f);
	for (size_t i = 0; i < fence; i++)
		fputc('`', f);
	fputc('\n', f);
	return rpt_close_out(rep, &run->out, "report.md", f);
}

/* ---- index.html -------------------------------------------------------------------------- */

void rpt_html_esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f); break;
		}
	}
}

void rpt_html_table(FILE *f, const struct table *t)
{
	fputs("<table>\n<thead><tr>", f);
	for (unsigned c = 0; c < t->ncols; c++) {
		fputs(t->text[c] ? "<th class=\"name\">" : "<th>", f);
		rpt_html_esc(f, t->head[c]);
		fputs("</th>", f);
	}
	fputs("</tr></thead>\n<tbody>\n", f);
	for (unsigned r = 0; r < t->nrows; r++) {
		const struct cell *row = &t->c[(size_t)r * t->ncols];

		if (t->section[r]) {
			fprintf(f, "<tr class=\"section\"><th colspan=\"%u\">", t->ncols);
			rpt_html_esc(f, row[0].text);
			fputs("</th></tr>\n", f);
			continue;
		}
		fputs("<tr>", f);
		for (unsigned c = 0; c < t->ncols; c++) {
			fputs(t->text[c] ? "<td class=\"name\">" : row[c].bold ? "<td class=\"best\">"
									       : "<td>", f);
			if (row[c].bold)
				fputs("<strong>", f);
			rpt_html_esc(f, row[c].text);
			if (row[c].bold)
				fputs("</strong>", f);
			fputs("</td>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs("</tbody>\n</table>\n", f);
}

/* The PNG at DIR/name.png as an <img> with a data: URI; false when it cannot be read. */
static bool html_png(FILE *f, const struct outdir *o, const struct plot *p)
{
	char path[PATH_MAX];
	size_t len;
	char *png, *b64;
	int n = snprintf(path, sizeof(path), "%s/%s.png", o->dir, p->name);

	if (n < 0 || (size_t)n >= sizeof(path))
		return false;
	png = util_slurp(path, &len);
	if (!png)
		return false;
	b64 = malloc(4 * ((len + 2) / 3) + 1);
	if (!b64) {
		free(png);
		return false;
	}
	report_base64(png, len, b64);
	fputs("<img alt=\"", f);
	rpt_html_esc(f, p->caption);
	fputs("\" src=\"data:image/png;base64,", f);
	fputs(b64, f);
	fputs("\">\n", f);
	free(b64);
	free(png);
	return true;
}

/* Each plot of o as a figure: its caption and the PNG embedded, or where its data is. */
void rpt_html_plots(FILE *f, const struct outdir *o)
{
	for (unsigned i = 0; i < o->nplots; i++) {
		const struct plot *p = &o->plots[i];

		fputs("<figure>\n<figcaption>", f);
		rpt_html_esc(f, p->caption);
		fputs("</figcaption>\n", f);
		if (!p->png || !html_png(f, o, p))
			fprintf(f, "<p class=\"note\">Not drawn (gnuplot missing or failed): the data "
				   "is in %s.dat; draw it with <code>gnuplot %s.gp</code>.</p>\n",
				p->name, p->name);
		fputs("</figure>\n", f);
	}
}

const char rpt_html_style[] =
	"body { font-family: system-ui, sans-serif; color: #1a1a1a; max-width: 1100px;"
	" margin: 2em auto; padding: 0 1em; line-height: 1.4; }\n"
	"h1 { font-size: 1.5em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }\n"
	"table { border-collapse: collapse; margin: 1em 0; }\n"
	"th, td { border: 1px solid #ccc; padding: 0.25em 0.7em; text-align: right;"
	" font-variant-numeric: tabular-nums; }\n"
	"th { background: #f2f2f2; } .name { text-align: left; }\n"
	"tr.section th { text-align: left; font-style: italic; background: #fafafa; }\n"
	"td.best { background: #e6f4e6; }\n"
	"ul.expect { list-style: none; padding-left: 0; }\n"
	".held { color: #1b7a1b; font-weight: bold; } .failed { color: #b00020;"
	" font-weight: bold; }\n"
	"code, pre { font-family: ui-monospace, monospace; }\n"
	"pre { background: #f6f6f6; border: 1px solid #ddd; padding: 1em; overflow-x: auto; }\n"
	"figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #eee; }\n"
	"figcaption { color: #444; margin-bottom: 0.4em; }\n"
	"dl.meta { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }\n"
	"dl.meta dt { font-weight: bold; } dl.meta dd { margin: 0; }\n"
	".note { color: #555; font-size: 0.9em; }\n";

static int write_html(struct report *rep, struct run *run)
{
	FILE *f = rpt_open_out(rep, &run->out, "index.html");

	if (!f)
		return VT_EIO;
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>"
	      "vtsim report: ", f);
	rpt_html_esc(f, run->scenario);
	fprintf(f, " %s</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>vtsim report: ",
		run->short_id, rpt_html_style);
	rpt_html_esc(f, run->scenario);
	fprintf(f, ", run %s</h1>\n<dl class=\"meta\">\n<dt>scenario</dt><dd>", run->short_id);
	rpt_html_esc(f, run->scenario);
	if (*run->path) {
		fputs(" (<code>", f);
		rpt_html_esc(f, run->path);
		fputs("</code>)", f);
	}
	fprintf(f, "</dd>\n<dt>run id</dt><dd><code>%s</code></dd>\n<dt>seed</dt><dd>", run->id);
	rpt_html_esc(f, run->seed);
	fputs("</dd>\n", f);
	if (run->duration.type == V_INT)
		fprintf(f, "<dt>duration</dt><dd>%.3f s of simulated time</dd>\n",
			(double)run->duration.i / 1e9);
	fputs("<dt>run</dt><dd>started ", f);
	rpt_html_esc(f, *run->started ? run->started : "?");
	fputs(", finished ", f);
	rpt_html_esc(f, *run->finished ? run->finished : "?");
	if (*run->host) {
		fputs(" on ", f);
		rpt_html_esc(f, run->host);
	}
	if (*run->version) {
		fputs(", vtsim ", f);
		rpt_html_esc(f, run->version);
	}
	fputs("</dd>\n", f);
	if (*run->overrides) {
		fputs("<dt>overrides</dt><dd><code>", f);
		rpt_html_esc(f, run->overrides);
		fputs("</code></dd>\n", f);
	}
	if (*run->plugins) {
		fputs("<dt>reader plugins</dt><dd><code>", f);
		rpt_html_esc(f, run->plugins);
		fputs("</code></dd>\n", f);
	}
	fputs("</dl>\n\n<h2>Comparison</h2>\n", f);
	rpt_html_table(f, &run->cmp);
	fprintf(f, "<p class=\"note\">%s</p>\n", bold_note);

	fputs("\n<h2>Expectations</h2>\n", f);
	if (run->nexp) {
		fputs("<ul class=\"expect\">\n", f);
		for (unsigned i = 0; i < run->nexp; i++) {
			const struct expect *e = &run->exp[i];
			char lhs[48], rhs[48];

			expect_line(e, lhs, rhs, sizeof(lhs));
			fprintf(f, "<li><span class=\"%s\">%s</span> <code>",
				e->held ? "held" : "failed", e->held ? "held" : "FAILED");
			rpt_html_esc(f, e->text);
			fprintf(f, "</code> (%s vs %s)</li>\n", lhs, rhs);
		}
		fprintf(f, "</ul>\n<p>%u of %u expectations held.</p>\n", held_count(run),
			run->nexp);
	} else {
		fputs("<p>The scenario has no expectations.</p>\n", f);
	}

	fputs("\n<h2>Violations</h2>\n", f);
	rpt_html_table(f, &run->viol_count);
	if (run->viol_first.nrows) {
		fprintf(f, "<p>The first %u, in time order:</p>\n", run->viol_first.nrows);
		rpt_html_table(f, &run->viol_first);
	}

	fputs("\n<h2>Plots</h2>\n", f);
	rpt_html_plots(f, &run->out);

	fputs("\n<h2>Scenario (expanded)</h2>\n<pre>", f);
	rpt_html_esc(f, run->text);
	fputs("</pre>\n</body>\n</html>\n", f);
	return rpt_close_out(rep, &run->out, "index.html", f);
}

/* ---- the comparison table ---------------------------------------------------------------- */

/* >0 when a is better than b, <0 when worse, 0 when equal. Lower-is-better metrics compare
 * magnitudes: a final error or a drift is better the closer it is to zero. */
static int better(const struct value *a, const struct value *b, bool lower)
{
	if (a->type == V_INT && b->type == V_INT) {
		if (lower) {
			uint64_t x = mag64(a->i), y = mag64(b->i);

			return x < y ? 1 : x > y ? -1 : 0;
		}
		return a->i > b->i ? 1 : a->i < b->i ? -1 : 0;
	}
	double x = rpt_value_num(a), y = rpt_value_num(b);

	if (lower) {
		x = fabs(x);
		y = fabs(y);
		return x < y ? 1 : x > y ? -1 : 0;
	}
	return x > y ? 1 : x < y ? -1 : 0;
}

/* Marks the best cells of one metric row; none when fewer than two arms have a value or all
 * values are equal. */
static void mark_best(const struct mrow *r, unsigned narms, struct cell *cells)
{
	const struct value *best = NULL;
	unsigned nvals = 0, nbest = 0;

	/* reads counts work done, not quality: never ranked. */
	if (r->metric < 0 || r->metric == M_READS)
		return;
	for (unsigned i = 0; i < narms; i++) {
		if (r->v[i].type == V_NULL)
			continue;
		nvals++;
		if (!best || better(&r->v[i], best, metric_info[r->metric].lower_is_better) > 0)
			best = &r->v[i];
	}
	if (nvals < 2)
		return;
	for (unsigned i = 0; i < narms; i++)
		if (r->v[i].type != V_NULL &&
		    better(&r->v[i], best, metric_info[r->metric].lower_is_better) == 0)
			nbest++;
	if (nbest == nvals)
		return;
	for (unsigned i = 0; i < narms; i++)
		cells[i + 1].bold = r->v[i].type != V_NULL &&
				    better(&r->v[i], best, metric_info[r->metric].lower_is_better) == 0;
}

static int build_comparison(struct run *run)
{
	struct arena *a = &run->a;
	struct table *t = &run->cmp;
	bool any_opts = false;
	struct cell *c;

	for (unsigned i = 0; i < run->narms; i++)
		any_opts |= *run->arms[i].options != '\0';
	if (!rpt_table_init(a, t, run->narms + 1, 8 + run->nrows + 2))
		return VT_ENOMEM;
	t->head[0] = "arm";
	for (unsigned i = 0; i < run->narms; i++)
		t->head[i + 1] = run->arms[i].name;

	c = rpt_table_row(t, false);
	c[0].text = "policy";
	for (unsigned i = 0; i < run->narms; i++)
		c[i + 1].text = run->arms[i].policy;
	c = rpt_table_row(t, false);
	c[0].text = "page";
	for (unsigned i = 0; i < run->narms; i++)
		c[i + 1].text = run->arms[i].page;
	c = rpt_table_row(t, false);
	c[0].text = "reader";
	for (unsigned i = 0; i < run->narms; i++)
		c[i + 1].text = run->arms[i].reader;
	if (any_opts) {
		c = rpt_table_row(t, false);
		c[0].text = "options";
		for (unsigned i = 0; i < run->narms; i++)
			c[i + 1].text = run->arms[i].options;
	}
	c = rpt_table_row(t, false);
	c[0].text = "host clocksource";
	for (unsigned i = 0; i < run->narms; i++)
		c[i + 1].text = run->arms[i].clocksource;
	c = rpt_table_row(t, false);
	c[0].text = "host TSC stable";
	for (unsigned i = 0; i < run->narms; i++) {
		const struct value *v = &run->arms[i].tsc_stable;

		c[i + 1].text = v->type == V_INT ? (v->i ? "yes" : "no") : "";
	}
	c = rpt_table_row(t, false);
	c[0].text = "host tsc_khz";
	for (unsigned i = 0; i < run->narms; i++) {
		char buf[32];

		rpt_fmt_value(&run->arms[i].tsc_khz, -1, buf, sizeof(buf));
		c[i + 1].text = rpt_arena_dup(a, buf);
	}

	c = rpt_table_row(t, true);
	c[0].text = "metrics";
	for (unsigned r = 0; r < run->nrows; r++) {
		const struct mrow *m = &run->rows[r];

		if (m->fact && (r == 0 || !run->rows[r - 1].fact)) {
			c = rpt_table_row(t, true);
			c[0].text = "facts of the clock-page provider";
		}
		c = rpt_table_row(t, false);
		c[0].text = m->name;
		for (unsigned i = 0; i < run->narms; i++) {
			char buf[48];

			rpt_fmt_value(&m->v[i], m->metric, buf, sizeof(buf));
			c[i + 1].text = rpt_arena_dup(a, buf);
		}
		mark_best(m, run->narms, c);
	}
	return a->failed ? VT_ENOMEM : VT_OK;
}

/* ---- one report -------------------------------------------------------------------------- */

static int plot_cmp(const void *pa, const void *pb)
{
	const struct plot *x = pa, *y = pb;

	return (x->rank > y->rank) - (x->rank < y->rank);
}

static int report_run(struct report *rep, const char *id)
{
	struct run run;
	int rc;

	memset(&run, 0, sizeof(run));
	snprintf(run.id, sizeof(run.id), "%s", id);
	rc = load_run(rep, &run);
	if (rc == VT_OK)
		rc = build_comparison(&run);
	if (rc == VT_OK && rpt_mkdirs(run.out.dir) != 0) {
		fprintf(rep->err, "report: cannot create %s: %s\n", run.out.dir, strerror(errno));
		rc = VT_EIO;
	}
	if (rc == VT_OK)
		rc = write_series(rep, &run);
	if (rc == VT_OK)
		rc = write_warps(rep, &run);
	if (rc == VT_OK)
		rc = write_timeline(rep, &run);
	if (rc == VT_OK) {
		qsort(run.out.plots, run.out.nplots, sizeof(*run.out.plots), plot_cmp);
		rpt_draw(rep, &run.out);
	}
	if (rc == VT_OK)
		rc = write_markdown(rep, &run);
	if (rc == VT_OK)
		rc = write_html(rep, &run);
	if (rc == VT_OK && run.a.failed)
		rc = VT_ENOMEM;
	if (rc == VT_OK) {
		fprintf(rep->out, "%s/ %s/index.html\n", run.out.dir, run.out.dir);
		if (fflush(rep->out) != 0 || ferror(rep->out)) {
			fprintf(rep->err, "report: writing the output failed: %s\n",
				strerror(errno));
			rc = VT_EIO;
		}
	}
	if (rc == VT_ENOMEM)
		fprintf(rep->err, "report: out of memory\n");
	run_free(&run);
	return rc;
}

/* ---- the command ------------------------------------------------------------------------- */

static int usage_error(FILE *err, const char *what, const char *arg)
{
	fprintf(err, "report: %s%s%s\n" REPORT_USAGE, what, arg ? " " : "", arg ? arg : "");
	return EXIT_BADINPUT;
}

static void usage(FILE *f)
{
	fputs(REPORT_USAGE
	      "\n"
	      "Writes a report of runs kept in the results database DB (default $VTSIM_DB, else\n"
	      "results.db: where bin/sim stores its runs): plots (PNG and SVG through gnuplot),\n"
	      "their data files and .gp scripts, report.md and a self-contained index.html, into\n"
	      "DIR/<scenario>-<first 8 digits of the run id>/ (DIR defaults to reports/out).\n"
	      "\n"
	      "  -o DIR           where to write the reports\n"
	      "  --run ID         the run with this id (or the only one starting with it)\n"
	      "  --scenario NAME  the latest complete run of this scenario\n"
	      "                   (default: the latest complete run of every scenario)\n"
	      "  --sweep ID       the runs of a bin/sim sweep (ID, or the only id starting with\n"
	      "                   it; latest: the sweep of the run started last): per metric a\n"
	      "                   plot against the swept parameter, one line per arm, the mean\n"
	      "                   over the seeds with min/max bars, and a table of every point,\n"
	      "                   into DIR/<sweep id>/\n"
	      "\n"
	      "Templates: $VTSIM_REPORTS/<name>.gp, else reports/<name>.gp found upward from\n"
	      "the bin/sim executable (the source tree), else built-in copies.\n"
	      "Exit: 0 reports written (with or without plots), 2 bad input, 3 I/O error.\n", f);
}

int report_main(int argc, char **argv, FILE *out, FILE *err)
{
	struct report rep;
	struct idlist ids = { 0 };
	const char *dir = REPORT_DEFAULT_DIR, *run_arg = NULL, *scen_arg = NULL, *sweep_arg = NULL;
	char *sweep_id = NULL;
	size_t n;
	int rc = VT_OK;

	memset(&rep, 0, sizeof(rep));
	rep.out = out;
	rep.err = err;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has_next = i + 1 < argc;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(out);
			return fflush(out) == 0 && !ferror(out) ? EXIT_HELD : EXIT_IOERR;
		} else if (strcmp(a, "-o") == 0 || strcmp(a, "--run") == 0 ||
			   strcmp(a, "--scenario") == 0 || strcmp(a, "--sweep") == 0) {
			const char **slot = strcmp(a, "-o") == 0 ? &dir
					    : strcmp(a, "--run") == 0 ? &run_arg
					    : strcmp(a, "--scenario") == 0 ? &scen_arg : &sweep_arg;

			if (!has_next)
				return usage_error(err, a, "needs a value");
			if (slot != &dir && *slot)
				return usage_error(err, a, "given twice");
			*slot = argv[++i];
		} else if (a[0] == '-' && a[1] != '\0') {
			return usage_error(err, "unknown option", a);
		} else if (rep.db_path) {
			return usage_error(err, "more than one database:", a);
		} else {
			rep.db_path = a;
		}
	}
	if (run_arg && scen_arg)
		return usage_error(err, "--run and --scenario select differently; give one", NULL);
	if (sweep_arg && (run_arg || scen_arg))
		return usage_error(err, "--sweep reports a sweep, --run and --scenario single "
				   "runs; give one", NULL);
	if (sweep_arg && !*sweep_arg)
		return usage_error(err, "--sweep needs a sweep id (or latest)", NULL);
	/* The database bin/sim writes by default. */
	if (!rep.db_path)
		rep.db_path = getenv("VTSIM_DB") && *getenv("VTSIM_DB") ? getenv("VTSIM_DB")
								 : REPORT_DEFAULT_DB;
	if (!*dir)
		return usage_error(err, "-o needs a directory", NULL);
	n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n >= sizeof(rep.out_dir) - 64)
		return usage_error(err, "-o: path too long:", dir);
	memcpy(rep.out_dir, dir, n);
	rep.out_dir[n] = '\0';

	rc = db_open(&rep);
	if (rc == VT_OK)
		rc = sweep_arg ? rpt_select_sweep(&rep, sweep_arg, &sweep_id)
		     : run_arg ? select_run(&rep, run_arg, &ids)
		     : scen_arg ? select_scenario(&rep, scen_arg, &ids)
				: select_latest(&rep, &ids);
	if (rc == VT_OK && rpt_mkdirs(rep.out_dir) != 0) {
		fprintf(err, "report: cannot create %s: %s\n", rep.out_dir, strerror(errno));
		rc = VT_EIO;
	}
	if (rc == VT_OK)
		find_templates(&rep);
	if (rc == VT_OK && sweep_id)
		rc = rpt_sweep(&rep, sweep_id);
	for (unsigned i = 0; rc == VT_OK && i < ids.n; i++)
		rc = report_run(&rep, ids.id[i]);
	if (rc == VT_ENOMEM)
		fprintf(err, "report: out of memory\n");
	free(ids.id);
	free(sweep_id);
	if (rep.db)
		sqlite3_close(rep.db);
	return rc == VT_OK ? EXIT_HELD : rc == VT_EINPUT ? EXIT_BADINPUT : EXIT_IOERR;
}

/* ---- base64 ------------------------------------------------------------------------------ */

size_t report_base64(const void *in, size_t n, char *out)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = in;
	size_t o = 0, i = 0;

	/* Every 3 bytes (24 bits) become 4 characters of 6 bits each, most significant first. */
	for (; i + 3 <= n; i += 3) {
		uint32_t w = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		out[o++] = alphabet[w >> 18 & 63];
		out[o++] = alphabet[w >> 12 & 63];
		out[o++] = alphabet[w >> 6 & 63];
		out[o++] = alphabet[w & 63];
	}
	/* 1 or 2 bytes left: zero-fill to 6-bit boundaries, pad to 4 characters with '='. */
	if (n - i == 1) {
		uint32_t w = (uint32_t)p[i] << 16;

		out[o++] = alphabet[w >> 18 & 63];
		out[o++] = alphabet[w >> 12 & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		uint32_t w = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;

		out[o++] = alphabet[w >> 18 & 63];
		out[o++] = alphabet[w >> 12 & 63];
		out[o++] = alphabet[w >> 6 & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

/* ---- the built-in templates ---------------------------------------------------------------- */

/*
 * Copies of reports/<name>.gp, used when those files cannot be found (an installed bin/sim without
 * the source tree): the Makefile generates report_templates.h from the files themselves, so the
 * two can never differ.
 */
/* BEGIN built-in templates */
#include "report_templates.h"

static const struct {
	const char *name;
	const char *text;
} builtin_templates[] = {
	{ "error", tpl_error },
	{ "divergence", tpl_divergence },
	{ "warps", tpl_warps },
	{ "cdf", tpl_cdf },
	{ "timeline", tpl_timeline },
	{ "sweep", tpl_sweep },
};

const char *report_template_builtin(const char *name)
{
	for (size_t i = 0; i < VT_ARRAY_SIZE(builtin_templates); i++)
		if (strcmp(builtin_templates[i].name, name) == 0)
			return builtin_templates[i].text;
	return NULL;
}
/* END built-in templates */
