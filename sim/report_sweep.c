/*
 * report_sweep.c: `bin/sim report --sweep ID|latest`, the report of the runs of one bin/sim sweep
 * (sim/report.c writes a run's report, parses the command line and calls this). Into
 * DIR/<sweep id>/: per metric a plot against the swept parameter (one line per arm, the mean over
 * the seeds with min/max bars) and a table of every point. What it shares with a run's report
 * (the database, the arena, output files, templates and gnuplot, report.md and index.html) is in
 * report.c, declared in sim/report_int.h.
 *
 * `--sweep ID`: the runs `bin/sim sweep` made (runs.sweep_id = ID), each at one grid point
 * (runs.sweep_point, "PATH=VALUE PATH=VALUE ... seed=S"). A point without its seed is a set of
 * parameter values; its seeds are its runs. The swept parameter is the first key (in the order
 * the points name them) whose value differs between points. When more keys vary, the plot is
 * still against the first, with one line per arm and combination of the other varying keys'
 * values ("ideal, vm.vcpus=4"): one plot per metric keeps every arm at every value side by
 * side, where one plot per value would split the comparison across files.
 *
 * Per metric, point and arm: the mean, min and max over the seeds of the point's complete runs
 * (INTEGER values summed exactly in 128 bits, REAL ones such as drift_ppm as doubles in seed
 * order), the one computation of the report: the rest is the database rows written back. Runs
 * not 'complete' count for nothing; they are listed. Layer facts (unit 'fact') describe a
 * configuration rather than measure a run and are left out.
 *
 * The axis: when every value of the swept parameter is a number of one kind (a number the
 * scenario language reads, 2ms or 2.5GHz or 0x10, in its unit's base: ns, Hz, ...; else a
 * number followed by the same text), the values sit at their numbers, labelled as written
 * (logarithmic when they span two decades or more); otherwise at ranks 0, 1, ... in order:
 * numbers by value, then other text. Reading the unit is why 500us comes before 2ms, which the
 * digits alone would not give; a number the language does not read falls back to the number it
 * starts with. Into DIR/sweep-<id>/ (DIR/<id>/ for an id that starts with "sweep-", as bin/sim
 * sweep's do): <metric>.dat and .gp (from reports/sweep.gp), .png and .svg, report.md and
 * index.html.
 *
 * All its strings live in one arena, freed at once.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "report_int.h"
#include "scenario.h"
#include "vt.h"

#define REPORT_SWEEP_XLABELS 12         /* values labelled on a sweep plot's axis, at most */

/* A parameter's value at a point: as written, and how it is ordered. */
enum pv_kind { PV_NUM, PV_TEXT, PV_UNSET };

struct pval {
	const char *text;             /* as written; "(unset)" when the point does not set it */
	enum pv_kind kind;
	int dim;                      /* PV_NUM: the scn_dim of a number the scenario language
					 reads, num in its base unit; -1: a number followed by
					 other text (suffix), num the number */
	const char *suffix;
	double num;
};

struct kv {
	const char *k, *v;
};

struct sw_run {
	const char *id, *status, *point;
	uint64_t seed;
	struct value failed;          /* expectations_failed */
	bool complete;
	struct kv *kv;                /* the point's pairs, seed included */
	unsigned nkv;
	const char **raw;             /* per key: its value, NULL when the point does not set it */
	const char *key;              /* the values as one text, the point's identity */
	unsigned pt;                  /* its point */
};

struct sw_point {
	const struct sweep *sw;       /* for qsort's comparators, which get no context */
	const char *text;             /* the values without the seed, "k=v k=v" in key order */
	const char *name;             /* what tells it apart: the varying keys' "k=v k=v" */
	struct pval *val;             /* per key */
	const char *group;            /* the other varying keys' "k=v k=v" ("" when one varies) */
	unsigned line;                /* its group's index */
	unsigned made;                /* creation order (before sorting) */
	double x;                     /* its position on the axis */
	unsigned rank;                /* its swept value's place among the values (0, 1, ...) */
	unsigned ncomplete;           /* complete runs (seeds) */
};

/* One metric at one point in one arm, over the seeds. */
struct sw_stat {
	unsigned n;
	bool real;                    /* some value was REAL */
	s128 isum;                    /* the INTEGER values, exact */
	double dsum;                  /* the REAL values, in seed order */
	struct value min, max;
};

struct sw_metric {
	const char *name, *unit, *file;
	int metric;                   /* metric_id, or -1 */
	bool any;                     /* some point has a value */
	struct sw_stat *st;           /* [point * narms + arm] */
};

struct sweep {
	struct arena a;
	const char *id, *scenario;
	unsigned nruns, ncomplete, nfailed;
	struct sw_run *runs;          /* by point, then seed */
	unsigned nkeys;
	const char **keys;            /* every parameter a point sets, first seen first */
	int xkey;                     /* the swept one; -1 when no point sets any */
	unsigned nvary;
	unsigned *vary;               /* the keys whose values differ; vary[0] is xkey */
	bool xnum, xlog;              /* numeric axis (else ranks), logarithmic */
	unsigned nx;
	const char **xvals;           /* the swept parameter's distinct values, in order */
	unsigned npoints;
	struct sw_point *points;      /* in report order: by group, then along the axis */
	unsigned ngroups;
	unsigned narms;
	const char **arms;
	unsigned nmetrics;
	struct sw_metric *metrics;
	struct table tbl, failed, incomplete;
	struct outdir out;
};

/* The length of the decimal number starting s ([+-]digits[.digits][(e|E)[+-]digits]), 0 when
 * s does not start with one. */
static size_t num_prefix_len(const char *s)
{
	size_t i = 0, digits = 0;

	if (s[i] == '+' || s[i] == '-')
		i++;
	for (; s[i] >= '0' && s[i] <= '9'; i++)
		digits++;
	if (s[i] == '.')
		for (i++; s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
	if (digits == 0)
		return 0;
	if (s[i] == 'e' || s[i] == 'E') {
		size_t j = i + 1 + (s[i + 1] == '+' || s[i + 1] == '-');

		if (s[j] >= '0' && s[j] <= '9') {
			while (s[j] >= '0' && s[j] <= '9')
				j++;
			i = j;
		}
	}
	return i;
}

/* How a value is ordered: a number the scenario language reads (exact, in its dimension's base
 * unit), else the number it starts with, else text. */
static struct pval pval_make(struct arena *a, const char *text)
{
	struct pval v = { "(unset)", PV_UNSET, -1, "", 0 };
	struct scn_doc doc;
	struct scn_error e;
	size_t n;

	if (!text)
		return v;
	v.text = text;
	v.kind = PV_TEXT;
	if (strlen(text) < 400) {
		scn_doc_init(&doc);
		if (scn_parse_override(&doc, rpt_arena_printf(a, "v=%s", text), 0, &e) == VT_OK &&
		    doc.nassign == 1 && doc.assign[0].value->kind == SCN_V_NUM) {
			const struct scn_num *q = &doc.assign[0].value->num;

			v.kind = PV_NUM;
			v.dim = (int)q->dim;
			v.num = (double)q->num / (double)q->den;
		}
		scn_doc_free(&doc);
		if (v.kind == PV_NUM)
			return v;
	}
	n = num_prefix_len(text);
	if (n > 0 && n < 64) {
		char num[64];

		memcpy(num, text, n);
		num[n] = '\0';
		v.kind = PV_NUM;
		v.num = strtod(num, NULL);
		v.suffix = text + n;
	}
	return v;
}

/* Numbers first (of one kind by value, then by their text after the number), then text, then
 * unset; ties by the text as written, so 0 means the same text. */
static int pval_cmp(const struct pval *x, const struct pval *y)
{
	int c;

	if (x->kind != y->kind)
		return (int)x->kind - (int)y->kind;
	if (x->kind == PV_NUM) {
		if (x->dim != y->dim)
			return x->dim < y->dim ? -1 : 1;
		if (x->num != y->num)
			return x->num < y->num ? -1 : 1;
		c = strcmp(x->suffix, y->suffix);
		if (c)
			return c;
	}
	return strcmp(x->text, y->text);
}

/* Two numbers one axis can hold: of one dimension, or followed by the same text. */
static bool pval_same_kind(const struct pval *x, const struct pval *y)
{
	return x->kind == PV_NUM && y->kind == PV_NUM && x->dim == y->dim &&
	       (x->dim >= 0 || strcmp(x->suffix, y->suffix) == 0);
}

/*
 * Splits a grid point "PATH=VALUE PATH=VALUE ... seed=S" into its pairs (in a copy in the
 * arena): a word without '=' continues the value before it, as a value with a space would; words
 * before the first PATH= are ignored. Returns the number of pairs.
 */
static unsigned point_split(struct arena *a, const char *text, struct kv **out)
{
	char *s, *end_prev = NULL;
	size_t cap = 1, len = strlen(text);
	unsigned n = 0;
	struct kv *kv;

	*out = NULL;
	s = rpt_arena_alloc(a, len + 1);
	for (size_t i = 0; i < len; i++)
		cap += text[i] == ' ';
	kv = rpt_arena_alloc(a, cap * sizeof(*kv));
	if (!s || !kv)
		return 0;
	memcpy(s, text, len + 1);
	*out = kv;
	for (char *p = s; *p;) {
		char *word, *end, *eq;

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		word = p;
		end = word + strcspn(word, " ");
		eq = memchr(word, '=', (size_t)(end - word));
		if (eq && eq > word) {
			if (end_prev)
				*end_prev = '\0';
			*eq = '\0';
			kv[n].k = word;
			kv[n].v = eq + 1;
			n++;
		}
		if (n > 0)
			end_prev = end;
		p = end;
	}
	if (end_prev)
		*end_prev = '\0';
	return n;
}

/* A complete run whose expectations did not all hold. */
static bool run_failed(const struct sw_run *r)
{
	return r->complete && r->failed.type == V_INT && r->failed.i > 0;
}

/* By point, then seed. */
static int sw_run_cmp(const void *pa, const void *pb)
{
	const struct sw_run *x = pa, *y = pb;

	if (x->pt != y->pt)
		return x->pt < y->pt ? -1 : 1;
	if (x->seed != y->seed)
		return x->seed < y->seed ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* Adds key k to the sweep's keys unless it is there (or is the seed). */
static void add_key(struct sweep *sw, unsigned *cap, const char *k)
{
	if (strcmp(k, "seed") == 0)
		return;
	for (unsigned i = 0; i < sw->nkeys; i++)
		if (strcmp(sw->keys[i], k) == 0)
			return;
	if (sw->nkeys == *cap) {
		unsigned ncap = *cap ? 2 * *cap : 8;
		const char **p = rpt_arena_alloc(&sw->a, ncap * sizeof(*p));

		if (!p)
			return;
		if (sw->nkeys)
			memcpy(p, sw->keys, sw->nkeys * sizeof(*p));
		sw->keys = p;
		*cap = ncap;
	}
	sw->keys[sw->nkeys++] = k;
}

/* Adds s to the list "a, b, ..." in b unless it is there. */
static void list_add(struct strbuf *b, const char *s)
{
	size_t n = strlen(s);

	for (const char *p = rpt_sb_str(b); *p;) {
		size_t k = strcspn(p, ",");

		if (k == n && strncmp(p, s, n) == 0)
			return;
		p += k;
		p += *p ? 2 : 0;
	}
	rpt_sb_puts(b, b->len ? ", " : "");
	rpt_sb_puts(b, s);
}

/* The sweep's runs with their points' pairs, and the keys in the order the runs name them as
 * they started (the first point's order: the sweep's). */
static int load_sweep_runs(struct report *rep, struct sweep *sw)
{
	struct arena *a = &sw->a;
	struct strbuf names = { 0 };
	sqlite3_stmt *st = NULL;
	unsigned kcap = 0;
	int64_t n = 0;
	int rc = rpt_count_of(rep, "SELECT count(*) FROM runs WHERE sweep_id = ?1", sw->id, &n);

	if (rc != VT_OK)
		return rc;
	sw->runs = rpt_arena_alloc(a, (size_t)(n > 0 ? n : 1) * sizeof(*sw->runs));
	if (!sw->runs)
		return VT_ENOMEM;
	rc = rpt_prep(rep, &st, "SELECT run_id, status, seed, expectations_failed, "
				"sweep_point, scenario FROM runs WHERE sweep_id = ?1 ORDER BY "
				"started_at, rowid");
	if (rc != VT_OK)
		return rc;
	sqlite3_bind_text(st, 1, sw->id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && (int64_t)sw->nruns < n) {
		struct sw_run *r = &sw->runs[sw->nruns++];
		const char *scen = (const char *)sqlite3_column_text(st, 5);

		r->id = rpt_col_text(a, st, 0);
		r->status = rpt_col_text(a, st, 1);
		/* Seeds are unsigned 64-bit, stored with the same bits as a signed integer. */
		r->seed = (uint64_t)sqlite3_column_int64(st, 2);
		r->failed = rpt_col_value(st, 3);
		r->point = rpt_col_text(a, st, 4);
		r->complete = strcmp(r->status, "complete") == 0;
		sw->ncomplete += r->complete;
		sw->nfailed += run_failed(r);
		r->nkv = point_split(a, r->point, &r->kv);
		for (unsigned i = 0; i < r->nkv; i++)
			add_key(sw, &kcap, r->kv[i].k);
		/* The scenarios swept: one, unless the runs say otherwise ("a, b"). */
		list_add(&names, scen && *scen ? scen : "unnamed");
	}
	if (rc == SQLITE_ROW)
		rc = SQLITE_DONE;
	rc = rpt_step_done(rep, rc);
	sqlite3_finalize(st);
	sw->scenario = rpt_arena_dup(a, rpt_sb_str(&names));
	if (names.oom)
		a->failed = true;
	free(names.p);
	return rc == VT_OK && a->failed ? VT_ENOMEM : rc;
}

/* "k=v k=v" of the keys keys[idx[from..n)] at point p (keys idx NULL: every key, unset ones
 * left out). */
static const char *point_values(struct sweep *sw, const struct sw_point *p, const unsigned *idx,
				unsigned from, unsigned n)
{
	struct strbuf b = { 0 };
	const char *s;

	for (unsigned i = from; i < n; i++) {
		unsigned k = idx ? idx[i] : i;

		if (!idx && p->val[k].kind == PV_UNSET)
			continue;
		if (b.len)
			rpt_sb_puts(&b, " ");
		rpt_sb_puts(&b, sw->keys[k]);
		rpt_sb_puts(&b, "=");
		rpt_sb_puts(&b, p->val[k].text);
	}
	s = rpt_arena_dup(&sw->a, rpt_sb_str(&b));
	if (b.oom)
		sw->a.failed = true;
	free(b.p);
	return s;
}

/* By the canonical text of their points, then as sw_run_cmp. */
static int run_key_cmp(const void *pa, const void *pb)
{
	const struct sw_run *const *x = pa, *const *y = pb;
	int c = strcmp((*x)->key, (*y)->key);

	return c ? c : sw_run_cmp(*x, *y);
}

/* Report order: by the other varying keys (the lines), then along the axis. */
static int point_cmp(const void *pa, const void *pb)
{
	const struct sw_point *p = pa, *q = pb;
	const struct sweep *sw = p->sw;
	int c;

	for (unsigned i = 1; i < sw->nvary; i++) {
		c = pval_cmp(&p->val[sw->vary[i]], &q->val[sw->vary[i]]);
		if (c)
			return c;
	}
	if (sw->xkey >= 0) {
		c = pval_cmp(&p->val[sw->xkey], &q->val[sw->xkey]);
		if (c)
			return c;
	}
	return strcmp(p->text, q->text);
}

/* Along the axis: by the swept parameter's value. */
static int point_x_cmp(const void *pa, const void *pb)
{
	const struct sw_point *const *p = pa, *const *q = pb;
	int xkey = (*p)->sw->xkey;

	return xkey < 0 ? 0 : pval_cmp(&(*p)->val[xkey], &(*q)->val[xkey]);
}

/*
 * Each run's values by key, and an unambiguous text of them (its point's identity: per key
 * "LENGTH:VALUE", or "-" when unset).
 */
static int run_values(struct sweep *sw, struct sw_run *r)
{
	struct strbuf b = { 0 };

	r->raw = rpt_arena_alloc(&sw->a, (sw->nkeys ? sw->nkeys : 1) * sizeof(*r->raw));
	if (!r->raw)
		return VT_ENOMEM;
	for (unsigned i = 0; i < r->nkv; i++)
		for (unsigned k = 0; k < sw->nkeys; k++)
			if (strcmp(sw->keys[k], r->kv[i].k) == 0)
				r->raw[k] = r->kv[i].v;       /* a key given twice: the last */
	for (unsigned k = 0; k < sw->nkeys; k++) {
		char len[24];

		rpt_sb_puts(&b, k ? "," : "");
		if (!r->raw[k]) {
			rpt_sb_puts(&b, "-");
			continue;
		}
		snprintf(len, sizeof(len), "%zu:", strlen(r->raw[k]));
		rpt_sb_puts(&b, len);
		rpt_sb_puts(&b, r->raw[k]);
	}
	r->key = rpt_arena_dup(&sw->a, rpt_sb_str(&b));
	if (b.oom)
		sw->a.failed = true;
	free(b.p);
	return sw->a.failed ? VT_ENOMEM : VT_OK;
}

/* A point with the values of run r. */
static void make_point(struct sweep *sw, const struct sw_run *r)
{
	struct sw_point *p = &sw->points[sw->npoints];

	memset(p, 0, sizeof(*p));
	p->sw = sw;
	p->made = sw->npoints++;
	p->val = rpt_arena_alloc(&sw->a, (sw->nkeys ? sw->nkeys : 1) * sizeof(*p->val));
	if (!p->val)
		return;
	for (unsigned k = 0; k < sw->nkeys; k++)
		p->val[k] = pval_make(&sw->a, r->raw[k]);
	p->text = point_values(sw, p, NULL, 0, sw->nkeys);
}

/*
 * The points (the runs' values without their seeds), the keys that vary (the swept one first),
 * the points in report order with their lines, the axis (numeric, or ranks) and its values, and
 * the runs by point and seed.
 */
static int build_points(struct sweep *sw)
{
	struct arena *a = &sw->a;
	size_t nr = sw->nruns ? sw->nruns : 1;
	struct sw_run **byk = rpt_arena_alloc(a, nr * sizeof(*byk));
	struct sw_point **byx = rpt_arena_alloc(a, nr * sizeof(*byx));
	unsigned *map = rpt_arena_alloc(a, nr * sizeof(*map));
	int rc = VT_OK;

	sw->points = rpt_arena_alloc(a, nr * sizeof(*sw->points));
	sw->vary = rpt_arena_alloc(a, (sw->nkeys ? sw->nkeys : 1) * sizeof(*sw->vary));
	sw->xvals = rpt_arena_alloc(a, nr * sizeof(*sw->xvals));
	if (!byk || !byx || !map || !sw->points || !sw->vary || !sw->xvals)
		return VT_ENOMEM;
	/* Runs with the same values are one point. */
	for (unsigned r = 0; r < sw->nruns && rc == VT_OK; r++) {
		rc = run_values(sw, &sw->runs[r]);
		byk[r] = &sw->runs[r];
	}
	if (rc != VT_OK)
		return rc;
	qsort(byk, sw->nruns, sizeof(*byk), run_key_cmp);
	for (unsigned r = 0; r < sw->nruns; r++) {
		if (r == 0 || strcmp(byk[r]->key, byk[r - 1]->key) != 0)
			make_point(sw, byk[r]);
		byk[r]->pt = sw->npoints - 1;
		sw->points[byk[r]->pt].ncomplete += byk[r]->complete;
	}
	if (a->failed)
		return VT_ENOMEM;

	/* A key varies when two points give it different values (unset is a value here). */
	for (unsigned k = 0; k < sw->nkeys; k++)
		for (unsigned j = 1; j < sw->npoints; j++)
			if (pval_cmp(&sw->points[0].val[k], &sw->points[j].val[k]) != 0) {
				sw->vary[sw->nvary++] = k;
				break;
			}
	/* Nothing varies (one point): its first key, if any, is still named on the axis. */
	sw->xkey = sw->nvary ? (int)sw->vary[0] : sw->nkeys ? 0 : -1;

	/* Report order; then the runs by point and seed (the order REAL values are summed in). */
	qsort(sw->points, sw->npoints, sizeof(*sw->points), point_cmp);
	for (unsigned i = 0; i < sw->npoints; i++)
		map[sw->points[i].made] = i;
	for (unsigned r = 0; r < sw->nruns; r++)
		sw->runs[r].pt = map[sw->runs[r].pt];
	qsort(sw->runs, sw->nruns, sizeof(*sw->runs), sw_run_cmp);

	/* Lines: the points of one combination of the other varying keys' values are adjacent. */
	for (unsigned i = 0; i < sw->npoints; i++) {
		struct sw_point *p = &sw->points[i];

		p->name = sw->nvary ? point_values(sw, p, sw->vary, 0, sw->nvary) : p->text;
		p->group = sw->nvary > 1 ? point_values(sw, p, sw->vary, 1, sw->nvary) : "";
		if (i > 0 && strcmp(p->group, sw->points[i - 1].group) != 0)
			sw->ngroups++;
		p->line = sw->ngroups;
	}
	sw->ngroups += sw->npoints > 0;

	/* The axis: numbers of one kind at their values, else ranks of the distinct values. */
	sw->xnum = sw->xkey >= 0 && sw->npoints > 0;
	for (unsigned i = 0; i < sw->npoints && sw->xnum; i++)
		sw->xnum = pval_same_kind(&sw->points[0].val[sw->xkey],
					  &sw->points[i].val[sw->xkey]);
	for (unsigned i = 0; i < sw->npoints; i++)
		byx[i] = &sw->points[i];
	qsort(byx, sw->npoints, sizeof(*byx), point_x_cmp);
	for (unsigned i = 0; i < sw->npoints; i++) {
		struct sw_point *p = byx[i];
		const char *text = sw->xkey >= 0 ? p->val[sw->xkey].text : "(none)";

		if (sw->nx == 0 || strcmp(sw->xvals[sw->nx - 1], text) != 0)
			sw->xvals[sw->nx++] = text;
		p->rank = sw->nx - 1;
		p->x = sw->xnum ? p->val[sw->xkey].num : (double)p->rank;
	}
	/* Logarithmic when positive values span two decades or more (powers of two, 1us..1s). */
	if (sw->xnum && sw->nx > 1) {
		double lo = byx[0]->x, hi = byx[sw->npoints - 1]->x;

		sw->xlog = lo > 0 && hi / lo >= 100;
	}
	return a->failed ? VT_ENOMEM : VT_OK;
}

/* The arms of the sweep's complete runs, in their scenario order. */
static int load_sweep_arms(struct report *rep, struct sweep *sw)
{
	static const char from[] = "FROM arms AS a JOIN runs AS r ON r.run_id = a.run_id WHERE "
				   "r.sweep_id = ?1 AND r.status = 'complete'";
	struct arena *a = &sw->a;
	sqlite3_stmt *st = NULL;
	int64_t n = 0;
	int rc = rpt_count_of(rep, rpt_arena_printf(a, "SELECT count(DISTINCT a.arm) %s", from),
			      sw->id, &n);

	if (rc != VT_OK)
		return rc;
	sw->arms = rpt_arena_alloc(a, (size_t)(n > 0 ? n : 1) * sizeof(*sw->arms));
	if (!sw->arms)
		return VT_ENOMEM;
	rc = rpt_prep(rep, &st, rpt_arena_printf(a, "SELECT a.arm %s AND a.arm IS NOT NULL GROUP "
						 "BY a.arm ORDER BY min(a.ord), a.arm", from));
	if (rc != VT_OK)
		return rc;
	sqlite3_bind_text(st, 1, sw->id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && (int64_t)sw->narms < n)
		sw->arms[sw->narms++] = rpt_col_text(a, st, 0);
	if (rc == SQLITE_ROW)
		rc = SQLITE_DONE;
	rc = rpt_step_done(rep, rc);
	sqlite3_finalize(st);
	return rc == VT_OK && a->failed ? VT_ENOMEM : rc;
}

/* Known metrics in metric_info order, then the others by name. */
static int sw_metric_cmp(const void *pa, const void *pb)
{
	const struct sw_metric *x = pa, *y = pb;

	if ((x->metric < 0) != (y->metric < 0))
		return x->metric < 0 ? 1 : -1;
	if (x->metric >= 0)
		return x->metric - y->metric;
	return strcmp(x->name, y->name);
}

/* x < y, exactly for two integers. */
static bool value_lt(const struct value *x, const struct value *y)
{
	if (x->type == V_INT && y->type == V_INT)
		return x->i < y->i;
	return rpt_value_num(x) < rpt_value_num(y);
}

static void stat_add(struct sw_stat *s, const struct value *v)
{
	if (v->type == V_NULL)
		return;
	if (v->type == V_INT) {
		s->isum += v->i;
	} else {
		s->real = true;
		s->dsum += v->d;
	}
	if (s->n == 0 || value_lt(v, &s->min))
		s->min = *v;
	if (s->n == 0 || value_lt(&s->max, v))
		s->max = *v;
	s->n++;
}

/* The mean: of integers exact up to the one rounding of (quotient + remainder / n). */
static double stat_mean(const struct sw_stat *s)
{
	s128 q = s->isum / s->n, r = s->isum % s->n;

	if (!s->real)
		return (double)q + (double)r / (double)s->n;
	return ((double)s->isum + s->dsum) / (double)s->n;
}

/* The metrics (not the facts) of the complete runs, accumulated per point and arm. */
static int load_sweep_metrics(struct report *rep, struct sweep *sw)
{
	static const char from[] = "FROM metrics AS m JOIN runs AS r ON r.run_id = m.run_id WHERE "
				   "r.sweep_id = ?1 AND r.status = 'complete' AND "
				   "coalesce(m.unit, '') <> 'fact' AND m.metric IS NOT NULL";
	struct arena *a = &sw->a;
	size_t cells = (size_t)sw->npoints * sw->narms;
	sqlite3_stmt *st = NULL;
	int64_t n = 0;
	int rc = rpt_count_of(rep, rpt_arena_printf(a, "SELECT count(DISTINCT m.metric) %s", from),
			      sw->id, &n);

	if (rc != VT_OK)
		return rc;
	sw->metrics = rpt_arena_alloc(a, (size_t)(n > 0 ? n : 1) * sizeof(*sw->metrics));
	if (!sw->metrics)
		return VT_ENOMEM;
	rc = rpt_prep(rep, &st, rpt_arena_printf(a, "SELECT m.metric, min(m.unit) %s GROUP BY "
						 "m.metric", from));
	if (rc != VT_OK)
		return rc;
	sqlite3_bind_text(st, 1, sw->id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && (int64_t)sw->nmetrics < n) {
		struct sw_metric *m = &sw->metrics[sw->nmetrics++];

		m->name = rpt_col_text(a, st, 0);
		m->unit = rpt_col_text(a, st, 1);
		m->metric = metric_lookup(m->name);
		m->st = rpt_arena_alloc(a, (cells ? cells : 1) * sizeof(*m->st));
		if (!m->st)
			break;
	}
	if (rc == SQLITE_ROW)
		rc = SQLITE_DONE;
	rc = rpt_step_done(rep, rc);
	sqlite3_finalize(st);
	if (rc != VT_OK)
		return rc;
	if (a->failed)
		return VT_ENOMEM;
	qsort(sw->metrics, sw->nmetrics, sizeof(*sw->metrics), sw_metric_cmp);
	/* File names: distinct even for names that differ only in unsafe characters. */
	for (unsigned i = 0; i < sw->nmetrics; i++) {
		char file[64];

		rpt_safe_name(sw->metrics[i].name, file, sizeof(file));
		sw->metrics[i].file = rpt_arena_dup(a, file);
		for (unsigned j = 0; j < i; j++)
			if (strcmp(sw->metrics[j].file, sw->metrics[i].file) == 0)
				sw->metrics[i].file = rpt_arena_printf(a, "%s-%u", file, i + 1);
	}

	/* Run by run in seed order (the order REAL values are summed in). */
	rc = rpt_prep(rep, &st, "SELECT arm, metric, value FROM metrics WHERE run_id = ?1 AND "
				"coalesce(unit, '') <> 'fact'");
	if (rc != VT_OK)
		return rc;
	for (unsigned r = 0; r < sw->nruns && rc == VT_OK; r++) {
		const struct sw_run *run = &sw->runs[r];

		if (!run->complete)
			continue;
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, run->id, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			const char *arm = (const char *)sqlite3_column_text(st, 0);
			const char *name = (const char *)sqlite3_column_text(st, 1);
			struct value v = rpt_col_value(st, 2);
			unsigned ai = 0, mi = 0;

			while (arm && ai < sw->narms && strcmp(sw->arms[ai], arm) != 0)
				ai++;
			while (name && mi < sw->nmetrics && strcmp(sw->metrics[mi].name, name) != 0)
				mi++;
			if (!arm || !name || ai == sw->narms || mi == sw->nmetrics)
				continue;
			stat_add(&sw->metrics[mi].st[(size_t)run->pt * sw->narms + ai], &v);
			sw->metrics[mi].any |= v.type != V_NULL;
		}
		rc = rpt_step_done(rep, rc);
	}
	sqlite3_finalize(st);
	return rc;
}

/* A mean for the tables: integers' means to 3 decimals without trailing zeros, REAL ones with
 * the metric's decimals (drift: 3) or %.6g; "n/a" without a value. */
static void fmt_mean(const struct sw_stat *s, int metric, char *buf, size_t len)
{
	double mean;

	if (s->n == 0) {
		snprintf(buf, len, "n/a");
		return;
	}
	mean = stat_mean(s);
	if (s->real) {
		if (metric >= 0 && metric_info[metric].scale > 0)
			snprintf(buf, len, "%.*f", metric_info[metric].scale, mean);
		else
			snprintf(buf, len, "%.6g", mean);
		return;
	}
	snprintf(buf, len, "%.3f", mean);
	if (strchr(buf, '.')) {
		size_t n = strlen(buf);

		while (n > 0 && buf[n - 1] == '0')
			buf[--n] = '\0';
		if (n > 0 && buf[n - 1] == '.')
			buf[--n] = '\0';
	}
	/* A mean that rounds to zero from below prints as 0, not -0. */
	if (strcmp(buf, "-0") == 0)
		snprintf(buf, len, "0");
}

static const char *sw_param(const struct sweep *sw)
{
	return sw->xkey >= 0 ? sw->keys[sw->xkey] : "(no parameter)";
}

/* The metric's name with its unit, "max_abs_error_ns (ns)". */
static const char *sw_metric_label(struct arena *a, const struct sw_metric *m)
{
	return *m->unit ? rpt_arena_printf(a, "%s (%s)", m->name, m->unit) : m->name;
}

/* The point as a reader names it: the varying keys' values (the others are the same at every
 * point, said once above the tables). */
static const char *sw_point_name(const struct sw_point *p)
{
	return *p->name ? p->name : "(no parameters)";
}

/* The table of every metric at every point, and the runs that failed or did not complete. */
static int build_sweep_tables(struct sweep *sw)
{
	struct arena *a = &sw->a;
	bool grp = sw->ngroups > 1;
	unsigned ncols = 1 + grp + 3 * sw->narms + 1, nrows = 0, c0;
	struct table *t = &sw->tbl;
	struct cell *c;

	for (unsigned i = 0; i < sw->nmetrics; i++)
		nrows += sw->metrics[i].any ? 1 + sw->npoints : 0;
	if (!rpt_table_init(a, t, ncols, nrows))
		return VT_ENOMEM;
	t->head[0] = sw_param(sw);
	if (grp) {
		struct strbuf b = { 0 };

		for (unsigned i = 1; i < sw->nvary; i++) {
			rpt_sb_puts(&b, i > 1 ? " " : "");
			rpt_sb_puts(&b, sw->keys[sw->vary[i]]);
		}
		t->head[1] = rpt_arena_dup(a, rpt_sb_str(&b));
		t->text[1] = true;
		if (b.oom)
			a->failed = true;
		free(b.p);
	}
	c0 = 1 + grp;
	for (unsigned k = 0; k < sw->narms; k++) {
		t->head[c0 + 3 * k] = rpt_arena_printf(a, "%s mean", sw->arms[k]);
		t->head[c0 + 3 * k + 1] = rpt_arena_printf(a, "%s min", sw->arms[k]);
		t->head[c0 + 3 * k + 2] = rpt_arena_printf(a, "%s max", sw->arms[k]);
	}
	t->head[ncols - 1] = "runs";
	for (unsigned i = 0; i < sw->nmetrics; i++) {
		const struct sw_metric *m = &sw->metrics[i];

		if (!m->any)
			continue;
		c = rpt_table_row(t, true);
		c[0].text = sw_metric_label(a, m);
		for (unsigned j = 0; j < sw->npoints; j++) {
			const struct sw_point *p = &sw->points[j];

			c = rpt_table_row(t, false);
			c[0].text = sw->xkey >= 0 ? p->val[sw->xkey].text : "(none)";
			if (grp)
				c[1].text = p->group;
			for (unsigned k = 0; k < sw->narms; k++) {
				const struct sw_stat *s = &m->st[(size_t)j * sw->narms + k];
				char buf[48];

				fmt_mean(s, m->metric, buf, sizeof(buf));
				c[c0 + 3 * k].text = rpt_arena_dup(a, buf);
				rpt_fmt_value(&s->min, m->metric, buf, sizeof(buf));
				c[c0 + 3 * k + 1].text = s->n ? rpt_arena_dup(a, buf) : "n/a";
				rpt_fmt_value(&s->max, m->metric, buf, sizeof(buf));
				c[c0 + 3 * k + 2].text = s->n ? rpt_arena_dup(a, buf) : "n/a";
			}
			c[ncols - 1].text = rpt_arena_printf(a, "%u", p->ncomplete);
		}
	}

	/* Failed and incomplete runs, by point and seed (the runs' order). */
	if (!rpt_table_init(a, &sw->failed, 4, sw->nfailed) ||
	    !rpt_table_init(a, &sw->incomplete, 4, sw->nruns - sw->ncomplete))
		return VT_ENOMEM;
	sw->failed.head[0] = sw->incomplete.head[0] = "point";
	sw->failed.head[1] = sw->incomplete.head[1] = "seed";
	sw->failed.head[2] = "expectations failed";
	sw->incomplete.head[2] = "status";
	sw->failed.head[3] = sw->incomplete.head[3] = "run";
	sw->failed.text[3] = sw->incomplete.text[2] = sw->incomplete.text[3] = true;
	for (unsigned r = 0; r < sw->nruns; r++) {
		const struct sw_run *run = &sw->runs[r];
		bool failed = run_failed(run);

		if (run->complete && !failed)
			continue;
		c = rpt_table_row(failed ? &sw->failed : &sw->incomplete, false);
		c[0].text = sw_point_name(&sw->points[run->pt]);
		c[1].text = rpt_arena_printf(a, "%llu", (unsigned long long)run->seed);
		c[2].text = failed ? rpt_arena_printf(a, "%lld", (long long)run->failed.i)
				   : *run->status ? run->status : "(none)";
		c[3].text = rpt_arena_printf(a, "%.8s", run->id);
	}
	return a->failed ? VT_ENOMEM : VT_OK;
}

/* A double as a data-file column: the fewest digits (15 to 17) that read back as the same
 * double, so that 0.1 is "0.1" and a mean of 1.375 is "1.375". */
static void dat_double(FILE *f, double d)
{
	char buf[40];

	for (int digits = 15; digits <= 17; digits++) {
		snprintf(buf, sizeof(buf), "%.*g", digits, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	fputs(buf, f);
}

/* A metric value as a data-file column: an integer as stored, a REAL by dat_double. */
static void dat_value(FILE *f, const struct value *v)
{
	if (v->type == V_REAL)
		dat_double(f, v->d);
	else
		rpt_data_col(f, v);
}

/* A parameter value as a data-file label: in double quotes (one column), " written as '. */
static void dat_label(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++)
		fputc(*s == '"' ? '\'' : (unsigned char)*s < ' ' ? ' ' : *s, f);
	fputc('"', f);
}

/* The title of line l: the arm, and the other varying keys' values when there are any. */
static const char *sw_line_title(struct sweep *sw, unsigned l)
{
	const char *arm = sw->arms[l / sw->ngroups];
	unsigned g = l % sw->ngroups;

	if (sw->ngroups < 2)
		return arm;
	for (unsigned j = 0; j < sw->npoints; j++)
		if (sw->points[j].line == g)
			return rpt_arena_printf(&sw->a, "%s, %s", arm, sw->points[j].group);
	return arm;
}

/* <metric>.dat: one data set per line, one row per point of its group; and its script. */
static int write_sweep_metric(struct report *rep, struct sweep *sw, unsigned mi)
{
	const struct sw_metric *m = &sw->metrics[mi];
	struct arena *a = &sw->a;
	unsigned nlines = sw->narms * sw->ngroups;
	const char *file = rpt_arena_printf(a, "%s.dat", m->file);
	struct strbuf titles = { 0 };
	const char *caption;
	struct subst s[12];
	FILE *f;
	int rc;

	f = rpt_open_out(rep, &sw->out, file);
	if (!f)
		return VT_EIO;
	fprintf(f, "# %s: %s of sweep %s (%s) against %s, from the metrics table.\n"
		   "# Per point, over the seeds of its complete runs: the mean, min and max "
		   "(NaN: no run).\n# One data set per line (gnuplot index 0, 1, ...), its points "
		   "in the parameter's order.\n# Columns: x mean min max runs \"value\" rank (x: "
		   "the value's position on the axis, %s; rank: its place among the values)\n",
		file, m->name, sw->id, sw->scenario, sw_param(sw),
		sw->xnum ? "its number in the unit's base" : "its rank");
	for (unsigned l = 0; l < nlines; l++) {
		const char *title = sw_line_title(sw, l);
		unsigned arm = l / sw->ngroups, g = l % sw->ngroups;

		fprintf(f, "%s# arm %s (index %u)\n", l ? "\n\n" : "", title, l);
		for (unsigned j = 0; j < sw->npoints; j++) {
			const struct sw_point *p = &sw->points[j];
			const struct sw_stat *st = &m->st[(size_t)j * sw->narms + arm];

			if (p->line != g)
				continue;
			dat_double(f, p->x);
			fputc(' ', f);
			if (st->n) {
				dat_double(f, stat_mean(st));
				fputc(' ', f);
				dat_value(f, &st->min);
				fputc(' ', f);
				dat_value(f, &st->max);
			} else {
				fputs("NaN NaN NaN", f);
			}
			fprintf(f, " %u ", st->n);
			dat_label(f, sw->xkey >= 0 ? p->val[sw->xkey].text : "(none)");
			fprintf(f, " %u\n", p->rank);
		}
		rpt_sb_puts(&titles, l ? ", '" : "'");
		rpt_sb_puts(&titles, rpt_gp_quote(a, title));
		rpt_sb_puts(&titles, "'");
	}
	rc = rpt_close_out(rep, &sw->out, file, f);
	if (rc == VT_OK && titles.oom)
		rc = VT_ENOMEM;
	if (rc == VT_OK) {
		s[3] = (struct subst){ "METRIC", rpt_gp_quote(a, m->name) };
		s[4] = (struct subst){ "PARAM", rpt_gp_quote(a, sw_param(sw)) };
		s[5] = (struct subst){ "YLABEL", rpt_gp_quote(a, sw_metric_label(a, m)) };
		s[6] = (struct subst){ "TITLES", rpt_arena_dup(a, rpt_sb_str(&titles)) };
		s[7] = (struct subst){ "NLINES", rpt_arena_printf(a, "%u", nlines) };
		s[8] = (struct subst){ "XLOG", sw->xlog ? "1" : "0" };
		s[9] = (struct subst){ "NGROUPS", rpt_arena_printf(a, "%u", sw->ngroups) };
		s[10] = (struct subst){ "XRANGE", sw->xnum ? "[*:*]" : rpt_arena_printf(a,
			"[-0.5:%u.5]", sw->nx - 1) };
		/* Every STRIDE-th value labelled: at most REPORT_SWEEP_XLABELS labels. */
		s[11] = (struct subst){ "STRIDE", rpt_arena_printf(a, "%u",
			(sw->nx + REPORT_SWEEP_XLABELS - 1) / REPORT_SWEEP_XLABELS) };
		caption = rpt_arena_printf(a, "%s against %s: the mean over the seeds, bars from "
					      "min to max, one line per arm%s",
					   sw_metric_label(a, m), sw_param(sw), sw->ngroups > 1 ?
					   " and combination of the other varying parameters" : "");
		rc = rpt_write_script(rep, &sw->out, "sweep", m->file, (int)mi, caption, s, 12);
	}
	free(titles.p);
	return rc;
}

/* The lines that say what was swept: for report.md (md) and index.html. */
static void sw_summary(FILE *f, const struct sweep *sw, bool md)
{
	const char *li = md ? "- " : "<li>", *end = md ? "\n" : "</li>\n";
	const char *code = md ? "`" : "<code>", *code_end = md ? "`" : "</code>";
	void (*text)(FILE *, const char *) = md ? rpt_md_cell : rpt_html_esc;
	unsigned nfixed = 0;

	fputs(li, f);
	if (sw->nvary == 0) {
		fputs("parameters: ", f);
		if (sw->npoints == 1 && *sw->points[0].text) {
			fputs(code, f);
			text(f, sw->points[0].text);
			fputs(code_end, f);
			fputs(" at every run: nothing varies but the seed", f);
		} else {
			fputs("none: nothing varies but the seed", f);
		}
		fputs(end, f);
	} else {
		fputs("swept parameter: ", f);
		fputs(code, f);
		text(f, sw_param(sw));
		fprintf(f, "%s, %u values in order: ", code_end, sw->nx);
		/* A long list shows its ends. */
		for (unsigned i = 0; i < sw->nx; i++) {
			if (sw->nx > 12 && i == 5) {
				fputs(", ...", f);
				i = sw->nx - 5;
			}
			fputs(i ? ", " : "", f);
			text(f, sw->xvals[i]);
		}
		fputs(sw->xnum ? (sw->xlog ? " (a logarithmic axis)" : " (a numeric axis)")
			       : " (evenly spaced on the axis)", f);
		fputs(end, f);
	}
	if (sw->nvary > 1) {
		fputs(li, f);
		fputs("also varying: ", f);
		for (unsigned i = 1; i < sw->nvary; i++) {
			fputs(i > 1 ? ", " : "", f);
			fputs(code, f);
			text(f, sw->keys[sw->vary[i]]);
			fputs(code_end, f);
		}
		fputs(": one line per arm and combination of their values", f);
		fputs(end, f);
	}
	for (unsigned k = 0; k < sw->nkeys && sw->npoints; k++) {
		bool varies = false;

		for (unsigned i = 0; i < sw->nvary; i++)
			varies |= sw->vary[i] == k;
		if (varies || sw->nvary == 0)
			continue;
		fputs(nfixed++ ? ", " : li, f);
		if (nfixed == 1)
			fputs("the same at every point: ", f);
		fputs(code, f);
		text(f, sw->keys[k]);
		fputs("=", f);
		text(f, sw->points[0].val[k].text);
		fputs(code_end, f);
	}
	if (nfixed)
		fputs(end, f);
	fputs(li, f);
	fputs("arms: ", f);
	for (unsigned k = 0; k < sw->narms; k++) {
		fputs(k ? ", " : "", f);
		text(f, sw->arms[k]);
	}
	fputs(end, f);
	fprintf(f, "%sruns: %u complete at %u point%s (%u with failed expectations), %u incomplete "
		   "(not counted)%s", li, sw->ncomplete, sw->npoints, sw->npoints == 1 ? "" : "s",
		sw->nfailed, sw->nruns - sw->ncomplete, end);
}

static const char sw_cells_note[] =
	"Per point and arm, over the seeds of the point's complete runs: the mean, the smallest "
	"and the largest value; runs: how many complete runs (seeds) the point has.";

static int write_sweep_markdown(struct report *rep, struct sweep *sw)
{
	FILE *f = rpt_open_out(rep, &sw->out, "report.md");
	unsigned nempty = 0;

	if (!f)
		return VT_EIO;
	fprintf(f, "# vtsim sweep report: %s, sweep %s\n\n- sweep: ", sw->scenario, sw->id);
	rpt_md_code(f, sw->id);
	fprintf(f, "\n- scenario: **%s**\n", sw->scenario);
	sw_summary(f, sw, true);

	fputs("\n## Metrics against ", f);
	rpt_md_code(f, sw_param(sw));
	fprintf(f, "\n\n%s\n\n", sw_cells_note);
	rpt_md_table(f, &sw->tbl);
	for (unsigned i = 0; i < sw->nmetrics; i++)
		if (!sw->metrics[i].any)
			fprintf(f, "%s%s", nempty++ ? ", " : "\nNo value recorded for: ",
				sw->metrics[i].name);
	if (nempty)
		fputs(".\n", f);

	fputs("\n## Failed expectations\n\n", f);
	if (sw->failed.nrows) {
		fputs("The points whose runs failed expectations, with their seeds:\n\n", f);
		rpt_md_table(f, &sw->failed);
	} else {
		fputs("No complete run failed an expectation.\n", f);
	}
	if (sw->incomplete.nrows) {
		fputs("\n## Incomplete runs\n\nNot counted above (killed, or still running):\n\n",
		      f);
		rpt_md_table(f, &sw->incomplete);
	}
	fputs("\n## Plots\n", f);
	rpt_md_plots(f, &sw->out);
	return rpt_close_out(rep, &sw->out, "report.md", f);
}

static int write_sweep_html(struct report *rep, struct sweep *sw)
{
	FILE *f = rpt_open_out(rep, &sw->out, "index.html");
	unsigned nempty = 0;

	if (!f)
		return VT_EIO;
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>"
	      "vtsim sweep report: ", f);
	rpt_html_esc(f, sw->scenario);
	fputs(", sweep ", f);
	rpt_html_esc(f, sw->id);
	fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>vtsim sweep report: ",
		rpt_html_style);
	rpt_html_esc(f, sw->scenario);
	fputs(", sweep ", f);
	rpt_html_esc(f, sw->id);
	fputs("</h1>\n<ul>\n<li>sweep: <code>", f);
	rpt_html_esc(f, sw->id);
	fputs("</code></li>\n<li>scenario: <strong>", f);
	rpt_html_esc(f, sw->scenario);
	fputs("</strong></li>\n", f);
	sw_summary(f, sw, false);
	fputs("</ul>\n\n<h2>Metrics against <code>", f);
	rpt_html_esc(f, sw_param(sw));
	fprintf(f, "</code></h2>\n<p class=\"note\">%s</p>\n", sw_cells_note);
	rpt_html_table(f, &sw->tbl);
	for (unsigned i = 0; i < sw->nmetrics; i++)
		if (!sw->metrics[i].any) {
			fputs(nempty++ ? ", " : "<p>No value recorded for: ", f);
			rpt_html_esc(f, sw->metrics[i].name);
		}
	if (nempty)
		fputs(".</p>\n", f);

	fputs("\n<h2>Failed expectations</h2>\n", f);
	if (sw->failed.nrows) {
		fputs("<p>The points whose runs failed expectations, with their seeds:</p>\n", f);
		rpt_html_table(f, &sw->failed);
	} else {
		fputs("<p>No complete run failed an expectation.</p>\n", f);
	}
	if (sw->incomplete.nrows) {
		fputs("\n<h2>Incomplete runs</h2>\n<p>Not counted above (killed, or still "
		      "running):</p>\n", f);
		rpt_html_table(f, &sw->incomplete);
	}
	fputs("\n<h2>Plots</h2>\n", f);
	rpt_html_plots(f, &sw->out);
	fputs("</body>\n</html>\n", f);
	return rpt_close_out(rep, &sw->out, "index.html", f);
}

/* The report of sweep `id` (an id rpt_select_sweep found) into DIR/sweep-<id>/ (DIR/<id>/ when
 * the id starts with "sweep-"). */
int rpt_sweep(struct report *rep, const char *id)
{
	struct sweep sw;
	char name[64];
	int rc;

	memset(&sw, 0, sizeof(sw));
	sw.id = rpt_arena_dup(&sw.a, id);
	rc = load_sweep_runs(rep, &sw);
	if (rc == VT_OK)
		rc = build_points(&sw);
	if (rc == VT_OK)
		rc = load_sweep_arms(rep, &sw);
	if (rc == VT_OK)
		rc = load_sweep_metrics(rep, &sw);
	if (rc == VT_OK)
		rc = build_sweep_tables(&sw);
	if (rc == VT_OK) {
		rpt_safe_name(id, name, sizeof(name));
		sw.out.a = &sw.a;
		sw.out.title = rpt_arena_printf(&sw.a, "%s, sweep %s", sw.scenario, id);
		sw.out.cap = sw.nmetrics;
		sw.out.plots = rpt_arena_alloc(&sw.a, (sw.nmetrics ? sw.nmetrics : 1) *
						      sizeof(*sw.out.plots));
		if (!sw.out.plots || sw.a.failed) {
			rc = VT_ENOMEM;
		} else if (snprintf(sw.out.dir, sizeof(sw.out.dir), "%s/%s%s", rep->out_dir,
				    /* bin/sim sweep's ids say "sweep-" already */
				    strncmp(name, "sweep-", 6) == 0 ? "" : "sweep-", name) >=
			   (int)sizeof(sw.out.dir)) {
			fprintf(rep->err, "report: %s: path too long\n", rep->out_dir);
			rc = VT_EIO;
		} else if (rpt_mkdirs(sw.out.dir) != 0) {
			fprintf(rep->err, "report: cannot create %s: %s\n", sw.out.dir,
				strerror(errno));
			rc = VT_EIO;
		}
	}
	/* The plots of metrics with a value, in metric order (the order of the table). */
	for (unsigned i = 0; rc == VT_OK && i < sw.nmetrics; i++)
		if (sw.metrics[i].any)
			rc = write_sweep_metric(rep, &sw, i);
	if (rc == VT_OK)
		rpt_draw(rep, &sw.out);
	if (rc == VT_OK)
		rc = write_sweep_markdown(rep, &sw);
	if (rc == VT_OK)
		rc = write_sweep_html(rep, &sw);
	if (rc == VT_OK && sw.a.failed)
		rc = VT_ENOMEM;
	if (rc == VT_OK) {
		fprintf(rep->out, "%s/ %s/index.html\n", sw.out.dir, sw.out.dir);
		if (fflush(rep->out) != 0 || ferror(rep->out)) {
			fprintf(rep->err, "report: writing the output failed: %s\n",
				strerror(errno));
			rc = VT_EIO;
		}
	}
	if (rc == VT_ENOMEM)
		fprintf(rep->err, "report: out of memory\n");
	rpt_arena_free(&sw.a);
	return rc;
}

/*
 * --sweep ID|latest: the sweep whose id is ID, else the only one whose id starts with ID;
 * `latest`: the sweep of the most recently started run that has one. It must have a complete
 * run. *out gets the id (malloc'd).
 */
int rpt_select_sweep(struct report *rep, const char *arg, char **out)
{
	sqlite3_stmt *st = NULL;
	int64_t ver = 0, total = 0, complete = 0;
	unsigned found = 0;
	char *id = NULL;
	int rc;

	*out = NULL;
	rc = rpt_query_int(rep, "PRAGMA user_version", &ver);
	if (rc != SQLITE_OK)
		return rpt_db_fail(rep, rc, "cannot read");
	if (ver < 4) {
		fprintf(rep->err, "report: %s: no sweep %s: the database predates sweeps (schema "
				  "version %lld; bin/sim sweep records its runs from version 4)\n",
			rep->db_path, arg, (long long)ver);
		return VT_EINPUT;
	}
	if (strcmp(arg, "latest") == 0)
		rc = rpt_prep(rep, &st, "SELECT sweep_id FROM runs WHERE coalesce(sweep_id, '') "
					"<> '' ORDER BY started_at DESC, rowid DESC LIMIT 1");
	else
		rc = rpt_prep(rep, &st, "SELECT sweep_id FROM runs WHERE sweep_id = ?1 UNION "
					"SELECT sweep_id FROM runs WHERE substr(sweep_id, 1, "
					"length(?1)) = ?1 AND NOT EXISTS (SELECT 1 FROM runs WHERE "
					"sweep_id = ?1)");
	if (rc != VT_OK)
		return rc;
	sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (found++ == 0) {
			id = strdup((const char *)sqlite3_column_text(st, 0) ?
				    (const char *)sqlite3_column_text(st, 0) : "");
			if (!id) {
				rc = SQLITE_NOMEM;
				break;
			}
		}
	}
	rc = rc == SQLITE_NOMEM ? VT_ENOMEM : rpt_step_done(rep, rc);
	sqlite3_finalize(st);
	st = NULL;
	if (rc == VT_OK && found == 0) {
		if (strcmp(arg, "latest") == 0)
			fprintf(rep->err, "report: %s: no run belongs to a sweep (bin/sim sweep "
					  "makes them)\n", rep->db_path);
		else
			fprintf(rep->err, "report: %s: no sweep with id %s\n", rep->db_path, arg);
		rc = VT_EINPUT;
	} else if (rc == VT_OK && found > 1) {
		fprintf(rep->err, "report: %s: %u sweeps have ids starting with %s; give more of "
				  "the id\n", rep->db_path, found, arg);
		rc = VT_EINPUT;
	}
	if (rc == VT_OK)
		rc = rpt_prep(rep, &st, "SELECT count(*), coalesce(sum(status = 'complete'), 0) "
					"FROM runs WHERE sweep_id = ?1");
	if (rc == VT_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			total = sqlite3_column_int64(st, 0);
			complete = sqlite3_column_int64(st, 1);
		}
		rc = rc == SQLITE_ROW ? VT_OK : rpt_step_done(rep, rc);
	}
	sqlite3_finalize(st);
	if (rc == VT_OK && complete == 0) {
		fprintf(rep->err, "report: %s: sweep %s has no complete run (%lld incomplete: "
				  "killed, or still running)\n", rep->db_path, id,
			(long long)total);
		rc = VT_EINPUT;
	}
	if (rc == VT_OK)
		*out = id;
	else
		free(id);
	return rc;
}
