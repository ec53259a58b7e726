/*
 * report_int.h: what the two files of `bin/sim report` share, and nothing else includes:
 * sim/report.c (the command, a run's report, and the helpers below) and sim/report_sweep.c (a
 * sweep's report). Every function here but the last two is defined in report.c; the rpt_ prefix
 * keeps them apart from the other modules' symbols (bin/sim exports its symbols to plugins).
 */
#ifndef VT_REPORT_INT_H
#define VT_REPORT_INT_H

#include <limits.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vt.h"

/* gnuplot's state, found once per invocation. */
enum gp_state { GP_UNKNOWN, GP_FOUND, GP_MISSING };

/* One invocation of `bin/sim report`: its streams, the database and the output directory. */
struct report {
	FILE *out, *err;
	const char *db_path;
	char out_dir[PATH_MAX];       /* -o, without trailing slashes */
	sqlite3 *db;
	int64_t schema;               /* the database's user_version (1 .. STORE_SCHEMA_VERSION) */
	char tpl_dir[PATH_MAX];       /* where the templates are, "" when not found */
	bool tpl_from_env;            /* tpl_dir is $VTSIM_REPORTS */
	bool tpl_warned;
	enum gp_state gp;
	char gp_path[PATH_MAX];
};

/* ---- an arena: every string and array of one run (or sweep), freed at once ---------------- */

struct chunk;

struct arena {
	struct chunk *head;
	bool failed;                  /* an allocation failed (the run is then abandoned) */
};

/* n zeroed bytes, or NULL (a->failed set). */
void *rpt_arena_alloc(struct arena *a, size_t n);
/* A copy of s (NULL reads as ""); "" when out of memory (a->failed set). */
const char *rpt_arena_dup(struct arena *a, const char *s);
/* The printf of fmt (at most 511 bytes) as an arena string. */
const char *rpt_arena_printf(struct arena *a, const char *fmt, ...) VT_PRINTF(2, 3);
/* Frees every chunk of a. */
void rpt_arena_free(struct arena *a);

/* ---- a growable string (malloc'd: the owner frees p) -------------------------------------- */

struct strbuf {
	char *p;
	size_t len, cap;
	bool oom;                     /* an allocation failed; later additions are dropped */
};

/* Appends s. */
void rpt_sb_puts(struct strbuf *b, const char *s);
/* The text so far ("" before any). */
const char *rpt_sb_str(const struct strbuf *b);

/* ---- values read from the database -------------------------------------------------------- */

enum vtype { V_NULL, V_INT, V_REAL };

/* A number as SQLite stored it: INTEGER, REAL, or neither (NULL, or text where a number was
 * expected, shown as missing). */
struct value {
	enum vtype type;
	int64_t i;
	double d;
};

/* Column c of the current row as a value (a NaN REAL reads as NULL). */
struct value rpt_col_value(sqlite3_stmt *st, int c);
/* Column c of the current row as text in the arena ("" for NULL). */
const char *rpt_col_text(struct arena *a, sqlite3_stmt *st, int c);
/* A non-NULL value as a double. */
double rpt_value_num(const struct value *v);
/* A value as a data-file column: the integer, the double with round-trip digits, or NaN. */
void rpt_data_col(FILE *f, const struct value *v);
/* A metric value for the tables: integers as stored, REAL with the metric's decimals, "n/a". */
void rpt_fmt_value(const struct value *v, int metric, char *buf, size_t len);

/* ---- tables, output directories, plots ----------------------------------------------------- */

struct cell {
	const char *text;
	bool bold;
};

/* A table rendered twice (Markdown and HTML). A section row has only its first cell. Columns
 * are right-aligned (numbers) except the first and those marked as text. */
struct table {
	unsigned ncols, nrows, cap;
	const char **head;
	bool *text;                   /* per column: left-aligned */
	struct cell *c;               /* nrows * ncols */
	bool *section;
};

struct plot {
	const char *name;             /* file name without extension */
	const char *caption;
	int rank;                     /* the order in the report */
	bool png, svg;                /* drawn */
};

/* The directory one report is written into, and the plots scripted into it (a run's report and
 * a sweep's share the code that writes files, scripts, plots and their sections). */
struct outdir {
	char dir[PATH_MAX];
	struct arena *a;              /* the report's arena: the plots' strings */
	const char *title;            /* what the plots are of (@RUN@ in the templates) */
	unsigned nplots, cap;
	struct plot *plots;           /* cap of them */
};

/* A template key (@KEY@) and the text that replaces it. */
struct subst {
	const char *key;
	const char *val;
};

/* Sets t up for ncols columns and at most cap rows in the arena; false when out of memory. */
bool rpt_table_init(struct arena *a, struct table *t, unsigned ncols, unsigned cap);
/* The next row's cells (all ""), or NULL when the table is full. */
struct cell *rpt_table_row(struct table *t, bool section);

/* ---- files --------------------------------------------------------------------------------- */

/* mkdir -p; 0 or -1 with errno. */
int rpt_mkdirs(const char *path);
/* o->dir/name opened for writing; NULL (with a message) when it cannot be. */
FILE *rpt_open_out(struct report *rep, const struct outdir *o, const char *name);
/* Closes f; VT_EIO (with a message) when anything written to it failed. */
int rpt_close_out(struct report *rep, const struct outdir *o, const char *name, FILE *f);
/* s made safe for a file name: [A-Za-z0-9._-], others '_', never starting with '.'. */
void rpt_safe_name(const char *s, char *out, size_t len);

/* ---- the database -------------------------------------------------------------------------- */

/* A failed SQLite call: the message; VT_EINPUT when the file is not a database, else VT_EIO. */
int rpt_db_fail(struct report *rep, int rc, const char *what);
/* Prepares sql into *st (NULL on failure); VT_OK or rpt_db_fail's code. */
int rpt_prep(struct report *rep, sqlite3_stmt **st, const char *sql);
/* The end of a sqlite3_step loop: VT_OK on SQLITE_DONE, else rpt_db_fail's code. */
int rpt_step_done(struct report *rep, int rc);
/* A one-row, one-column query with ?1 bound to id, into *n; VT_OK or an error code. */
int rpt_count_of(struct report *rep, const char *sql, const char *id, int64_t *n);
/* A one-row, one-column query without parameters, into *out; an SQLite result code. */
int rpt_query_int(struct report *rep, const char *sql, int64_t *out);

/* ---- scripts, plots, report.md and index.html ---------------------------------------------- */

/* s as text for a gnuplot single-quoted string ('' for ', a space for a control character). */
const char *rpt_gp_quote(struct arena *a, const char *s);
/* Writes o->dir/<name>.gp from template tpl with s[3..ns) (s[0..2] filled here: NAME, DATA,
 * RUN) and records the plot. */
int rpt_write_script(struct report *rep, struct outdir *o, const char *tpl, const char *name,
		     int rank, const char *caption, struct subst *s, size_t ns);
/* Runs gnuplot on every script of o; failures are messages, never errors of the report. */
void rpt_draw(struct report *rep, struct outdir *o);
/* Markdown inline code: `s`, or `` s `` when s has a backtick. */
void rpt_md_code(FILE *f, const char *s);
/* s as the text of a Markdown table cell: | escaped, newlines as spaces. */
void rpt_md_cell(FILE *f, const char *s);
/* t as a Markdown table (bold cells, italic section rows). */
void rpt_md_table(FILE *f, const struct table *t);
/* Each plot of o under its caption, or where its data is when it was not drawn. */
void rpt_md_plots(FILE *f, const struct outdir *o);
/* s with &, <, >, " and ' escaped for HTML. */
void rpt_html_esc(FILE *f, const char *s);
/* t as an HTML table (best cells marked, section rows across). */
void rpt_html_table(FILE *f, const struct table *t);
/* Each plot of o as a figure: its caption and the PNG embedded, or where its data is. */
void rpt_html_plots(FILE *f, const struct outdir *o);
/* index.html's inline CSS. */
extern const char rpt_html_style[];

/* ---- a sweep's report (report_sweep.c) ----------------------------------------------------- */

/* --sweep ID|latest: the id of the sweep to report (malloc'd) into *out; VT_OK or an error. */
int rpt_select_sweep(struct report *rep, const char *arg, char **out);
/* The report of sweep id (from rpt_select_sweep) into DIR/sweep-<id>/ or DIR/<id>/. */
int rpt_sweep(struct report *rep, const char *id);

#endif /* VT_REPORT_INT_H */
