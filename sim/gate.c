/*
 * gate.c: the regression gate. A baseline file records, for every scenario, arm and metric (and
 * page-provider fact), the value a reviewed run produced:
 *
 *     # vtsim baseline: scenario <TAB> arm <TAB> metric <TAB> value
 *     heavy-load	gtsc-resume	lost_time_ns	1100841423
 *
 * Values are the stored integers (drift_ppm in ppb, as metric_info.scale says). A run is
 * compared entry by entry: integer metrics and facts must be equal (the simulation is
 * deterministic, so any difference is a change of behaviour); drift_ppm, the one quantity with a
 * floating-point step, may differ by GATE_DRIFT_TOLERANCE_PPB. A value without a baseline entry,
 * or an entry without a value, is a change too. `make baseline` rewrites the entries on purpose.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gate.h"

struct entry {
	char *scenario, *arm, *metric;
	long long value;
	bool seen;
};

struct baseline {
	struct entry *e;
	size_t n, cap;
	char *text;     /* the file's bytes; entries point into it */
};

static void baseline_free(struct baseline *b)
{
	free(b->e);
	free(b->text);
	memset(b, 0, sizeof(*b));
}

/* Reads the baseline; a missing file is an empty baseline when allow_missing. */
static int baseline_read(const char *path, struct baseline *b, bool allow_missing, char *err,
			 size_t errlen)
{
	FILE *f = fopen(path, "rb");
	long len;
	char *line, *save = NULL;
	unsigned lineno = 0;

	memset(b, 0, sizeof(*b));
	if (!f) {
		if (allow_missing && errno == ENOENT)
			return VT_OK;
		snprintf(err, errlen, "%s: cannot read the baseline: %s", path, strerror(errno));
		return VT_EINPUT;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    !(b->text = malloc((size_t)len + 1)) || fread(b->text, 1, (size_t)len, f) != (size_t)len) {
		fclose(f);
		snprintf(err, errlen, "%s: cannot read the baseline", path);
		baseline_free(b);
		return VT_EINPUT;
	}
	fclose(f);
	b->text[len] = '\0';
	for (line = strtok_r(b->text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f1, *f2, *f3, *f4, *end, *s2 = NULL;

		lineno++;
		if (line[0] == '#' || line[0] == '\0')
			continue;
		f1 = strtok_r(line, "\t", &s2);
		f2 = strtok_r(NULL, "\t", &s2);
		f3 = strtok_r(NULL, "\t", &s2);
		f4 = strtok_r(NULL, "\t\r", &s2);
		if (!f4) {
			snprintf(err, errlen, "%s:%u:1: expected scenario, arm, metric and value "
					      "separated by tabs", path, lineno);
			baseline_free(b);
			return VT_EINPUT;
		}
		if (b->n == b->cap) {
			size_t cap = b->cap ? 2 * b->cap : 256;
			struct entry *ne = realloc(b->e, cap * sizeof(*ne));

			if (!ne) {
				baseline_free(b);
				return VT_ENOMEM;
			}
			b->e = ne;
			b->cap = cap;
		}
		errno = 0;
		b->e[b->n].value = strtoll(f4, &end, 10);
		if (errno || *end) {
			snprintf(err, errlen, "%s:%u: '%s' is not an integer value", path, lineno, f4);
			baseline_free(b);
			return VT_EINPUT;
		}
		b->e[b->n].scenario = f1;
		b->e[b->n].arm = f2;
		b->e[b->n].metric = f3;
		b->e[b->n].seen = false;
		b->n++;
	}
	return VT_OK;
}

static struct entry *lookup(struct baseline *b, const char *sc, const char *arm, const char *m)
{
	for (size_t i = 0; i < b->n; i++)
		if (!strcmp(b->e[i].scenario, sc) && !strcmp(b->e[i].arm, arm) &&
		    !strcmp(b->e[i].metric, m))
			return &b->e[i];
	return NULL;
}

/* Calls fn for every (arm, name, value, tolerance) this run has. */
typedef void (*value_fn)(void *ctx, const char *arm, const char *name, long long v, long long tol);

static void each_value(const struct results *r, value_fn fn, void *ctx)
{
	for (unsigned a = 0; a < r->narms; a++) {
		const struct arm_result *ar = &r->arms[a];

		for (int m = 0; m < M_COUNT; m++)
			fn(ctx, ar->arm->name, metric_info[m].name, ar->m[m],
			   m == M_DRIFT_PPM ? GATE_DRIFT_TOLERANCE_PPB : 0);
		for (unsigned f = 0; f < ar->nfacts; f++)
			fn(ctx, ar->arm->name, ar->fact[f].name, ar->fact_value[f], 0);
	}
}

struct cmp_ctx {
	struct baseline *b;
	const char *scenario;
	FILE *out;
	unsigned changes;
};

static void header(struct cmp_ctx *c)
{
	if (c->changes == 0)
		fprintf(c->out, "%-16s %-22s %20s %20s %14s\n", "arm", "metric", "baseline", "now",
			"change");
}

static void cmp_one(void *ctx, const char *arm, const char *name, long long v, long long tol)
{
	struct cmp_ctx *c = ctx;
	struct entry *e = lookup(c->b, c->scenario, arm, name);
	char base[24];

	if (e)
		e->seen = true;
	if (e && (e->value == v || (tol && llabs(e->value - v) <= tol)))
		return;
	header(c);
	snprintf(base, sizeof(base), "%lld", e ? e->value : 0);
	fprintf(c->out, "%-16s %-22s %20s %20lld %14s\n", arm, name, e ? base : "(none)", v,
		e ? "changed" : "new");
	c->changes++;
}

int gate_compare(const char *path, const struct results *r, FILE *out, unsigned *changes,
		 char *err, size_t errlen)
{
	struct baseline b;
	struct cmp_ctx c;
	int rc = baseline_read(path, &b, false, err, errlen);

	if (rc)
		return rc;
	c.b = &b;
	c.scenario = r->cfg->name;
	c.out = out;
	c.changes = 0;
	each_value(r, cmp_one, &c);
	for (size_t i = 0; i < b.n; i++) {
		if (strcmp(b.e[i].scenario, c.scenario) || b.e[i].seen)
			continue;
		header(&c);
		fprintf(out, "%-16s %-22s %20lld %20s %14s\n", b.e[i].arm, b.e[i].metric,
			b.e[i].value, "(none)", "missing");
		c.changes++;
	}
	if (c.changes == 0)
		fprintf(out, "gate: %s matches the baseline (%s)\n", c.scenario, path);
	else
		fprintf(out, "gate: %s: %u value%s differ from the baseline (%s); `make baseline` "
			     "records them if the change is intended\n",
			c.scenario, c.changes, c.changes == 1 ? "" : "s", path);
	*changes = c.changes;
	baseline_free(&b);
	return VT_OK;
}

struct write_ctx {
	FILE *f;
	const char *scenario;
};

static void write_one(void *ctx, const char *arm, const char *name, long long v, long long tol)
{
	struct write_ctx *w = ctx;

	(void)tol;
	fprintf(w->f, "%s\t%s\t%s\t%lld\n", w->scenario, arm, name, v);
}

int gate_write(const char *path, const struct results *r, char *err, size_t errlen)
{
	struct baseline b;
	struct write_ctx w;
	char tmp[4096];
	FILE *f;
	int rc = baseline_read(path, &b, true, err, errlen);

	if (rc)
		return rc;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "wb");
	if (!f) {
		snprintf(err, errlen, "%s: cannot write: %s", tmp, strerror(errno));
		baseline_free(&b);
		return VT_EIO;
	}
	fprintf(f, "# vtsim baseline (make baseline): scenario, arm, metric or fact, value as stored "
		   "(drift_ppm in ppb)\n");
	/* Other scenarios' entries as they were, then this scenario's new ones. */
	for (size_t i = 0; i < b.n; i++)
		if (strcmp(b.e[i].scenario, r->cfg->name))
			fprintf(f, "%s\t%s\t%s\t%lld\n", b.e[i].scenario, b.e[i].arm, b.e[i].metric,
				b.e[i].value);
	w.f = f;
	w.scenario = r->cfg->name;
	each_value(r, write_one, &w);
	baseline_free(&b);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
		return VT_EIO;
	}
	return VT_OK;
}
