/*
 * results.c: expectation checking and the two presentations of a run's results.
 *
 * Expect clauses are evaluated in double precision: every metric is an integer below 2^53 (or a
 * ppb count) and every literal an exact rational converted once, so the evaluation is the same
 * IEEE operation sequence on every build. Output never contains anything that differs between
 * two runs of the same scenario and seed (no wall clock, no addresses).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "results.h"
#include "util.h"

static const struct arm_result *arm_named(const struct results *r, const char *name)
{
	for (unsigned i = 0; i < r->narms; i++)
		if (strcmp(r->arms[i].arm->name, name) == 0)
			return &r->arms[i];
	return NULL;
}

/* Evaluates e; *undef set on division by zero or an unknown reference. */
static double eval(const struct results *r, const struct scn_expr *e, bool *undef)
{
	double a, b;

	switch (e->op) {
	case SCN_E_NUM:
		return (double)e->num.num / (double)e->num.den;
	case SCN_E_REF: {
		const struct arm_result *ar = arm_named(r, e->arm);
		int id = metric_lookup(e->metric);

		if (!ar) {
			*undef = true;
			return 0;
		}
		if (id < 0) {
			/* A layer fact (kvmclock's masterclock, ...). */
			for (unsigned i = 0; ar && i < ar->nfacts; i++)
				if (strcmp(ar->fact[i].name, e->metric) == 0)
					return (double)ar->fact_value[i];
			*undef = true;
			return 0;
		}
		return metric_as_double((enum metric_id)id, ar->m[id]);
	}
	case SCN_E_NEG:
		return -eval(r, e->a, undef);
	case SCN_E_ABS:
		a = eval(r, e->a, undef);
		return a < 0 ? -a : a;
	default:
		break;
	}
	a = eval(r, e->a, undef);
	b = eval(r, e->b, undef);
	switch (e->op) {
	case SCN_E_ADD:
		return a + b;
	case SCN_E_SUB:
		return a - b;
	case SCN_E_MUL:
		return a * b;
	case SCN_E_DIV:
		if (b == 0) {
			*undef = true;
			return 0;
		}
		return a / b;
	default:
		*undef = true;
		return 0;
	}
}

void results_check(struct results *r)
{
	r->failed = 0;
	for (unsigned i = 0; i < r->nexpect; i++) {
		struct expect_result *x = &r->expect[i];
		bool undef = false;

		x->lhs = eval(r, x->e->lhs, &undef);
		x->rhs = eval(r, x->e->rhs, &undef);
		x->undefined = undef;
		switch (x->e->cmp) {
		case SCN_LT:
			x->held = x->lhs < x->rhs;
			break;
		case SCN_LE:
			x->held = x->lhs <= x->rhs;
			break;
		case SCN_GT:
			x->held = x->lhs > x->rhs;
			break;
		case SCN_GE:
			x->held = x->lhs >= x->rhs;
			break;
		case SCN_EQ:
			x->held = x->lhs == x->rhs;
			break;
		case SCN_NE:
			x->held = x->lhs != x->rhs;
			break;
		}
		if (undef)
			x->held = false;
		r->failed += !x->held;
	}
}

/* A value for display: integers without a fraction, others with up to 3 decimals. */
static void fmt_num(double v, char *buf, size_t len)
{
	if (fabs(v) < 9e15 && v == (double)(long long)v)
		snprintf(buf, len, "%lld", (long long)v);
	else
		snprintf(buf, len, "%.3f", v);
}

void results_print_table(const struct results *r, FILE *out)
{
	const struct config *cfg = r->cfg;
	int w = 22;

	fprintf(out, "scenario %s  seed %llu  duration %.3fs  host %u CPUs  vm %u vCPUs\n",
		cfg->name, (unsigned long long)cfg->seed, (double)cfg->duration / 1e9,
		cfg->host.ncpus, cfg->vm.nvcpus);
	for (unsigned i = 0; i < r->narms; i++) {
		int n = (int)strlen(r->arms[i].arm->name) + 2;
		/* "unstable/" + the longest clocksource name. */
		int c = (int)strlen(util_clocksource_name(r->arms[i].host.cs)) + 11;

		if (n > w)
			w = n;
		if (c > w)
			w = c;
	}
	fprintf(out, "\n%-24s", "arm");
	for (unsigned i = 0; i < r->narms; i++)
		fprintf(out, "%*s", w, r->arms[i].arm->name);
	fprintf(out, "\n%-24s", "  policy");
	for (unsigned i = 0; i < r->narms; i++)
		fprintf(out, "%*s", w, r->arms[i].arm->policy->name);
	fprintf(out, "\n%-24s", "  page");
	for (unsigned i = 0; i < r->narms; i++)
		fprintf(out, "%*s", w, r->arms[i].arm->page->name);
	fprintf(out, "\n%-24s", "  reader");
	for (unsigned i = 0; i < r->narms; i++)
		fprintf(out, "%*s", w, r->arms[i].arm->reader_name);
	{
		bool any = false;

		for (unsigned i = 0; i < r->narms; i++) {
			const struct arm_cfg *a = r->arms[i].arm;

			any |= (a->cfg ? a->cfg : cfg)->migration.on;
		}
		if (any) {
			fprintf(out, "\n%-24s", "  migration");
			for (unsigned i = 0; i < r->narms; i++)
				fprintf(out, "%*s", w, r->arms[i].arm->migration->name);
		}
	}
	/* What each arm's host kernel concluded at boot (arms may override host keys). */
	fprintf(out, "\n%-24s", "  host TSC / clocksource");
	for (unsigned i = 0; i < r->narms; i++) {
		char buf[48];

		snprintf(buf, sizeof(buf), "%s/%s", r->arms[i].host.tsc_stable ? "stable" : "unstable",
			 util_clocksource_name(r->arms[i].host.cs));
		fprintf(out, "%*s", w, buf);
	}
	fprintf(out, "\n%-24s", "  host tsc_khz");
	for (unsigned i = 0; i < r->narms; i++)
		fprintf(out, "%*u", w, r->arms[i].host.tsc_khz);
	fputc('\n', out);
	for (int m = 0; m < M_COUNT; m++) {
		fprintf(out, "%-24s", metric_info[m].name);
		for (unsigned i = 0; i < r->narms; i++) {
			char buf[40];

			metric_format((enum metric_id)m, r->arms[i].m[m], buf, sizeof(buf));
			fprintf(out, "%*s", w, buf);
		}
		fputc('\n', out);
	}
	/* Layer facts: one row per name any arm reports ("-" where an arm has no such fact). */
	for (unsigned i = 0; i < r->narms; i++) {
		for (unsigned f = 0; f < r->arms[i].nfacts; f++) {
			const char *name = r->arms[i].fact[f].name;
			bool seen = false;

			for (unsigned j = 0; j < i && !seen; j++)
				for (unsigned g = 0; g < r->arms[j].nfacts; g++)
					seen |= strcmp(r->arms[j].fact[g].name, name) == 0;
			if (seen)
				continue;
			fprintf(out, "%-24s", name);
			for (unsigned j = 0; j < r->narms; j++) {
				const struct arm_result *a = &r->arms[j];
				char buf[32] = "-";

				for (unsigned g = 0; g < a->nfacts; g++)
					if (strcmp(a->fact[g].name, name) == 0)
						snprintf(buf, sizeof(buf), "%lld", (long long)a->fact_value[g]);
				fprintf(out, "%*s", w, buf);
			}
			fputc('\n', out);
		}
	}
	for (unsigned i = 0; i < r->narms; i++) {
		const struct load_stats *l = &r->arms[i].load;
		bool same = true;

		/* The schedule is the same for every arm (common random numbers) unless an arm
		 * overrides it; event counts differ with the layers' own timers. */
		for (unsigned j = 0; j < r->narms; j++) {
			const struct load_stats *o = &r->arms[j].load;

			same &= o->migrations == l->migrations && o->io_exits == l->io_exits &&
				o->stalls == l->stalls && o->preemptions == l->preemptions &&
				o->off_cpu_ns == l->off_cpu_ns;
		}
		if (same && i > 0)
			break;
		if (same)
			fprintf(out, "\nload (the same for every arm): ");
		else
			fprintf(out, "%sload of %s: ", i ? "" : "\n", r->arms[i].arm->name);
		fprintf(out, "%llu migrations, %llu I/O exits, %llu stalls, %llu preemptions, "
			     "%.3fs off-CPU in total\n",
			(unsigned long long)l->migrations, (unsigned long long)l->io_exits,
			(unsigned long long)l->stalls, (unsigned long long)l->preemptions,
			(double)l->off_cpu_ns / 1e9);
	}
	if (r->nexpect) {
		fprintf(out, "\nexpectations:\n");
		for (unsigned i = 0; i < r->nexpect; i++) {
			const struct expect_result *x = &r->expect[i];
			char a[40], b[40];

			fmt_num(x->lhs, a, sizeof(a));
			fmt_num(x->rhs, b, sizeof(b));
			fprintf(out, "  %s  %s  (%s vs %s%s)\n", x->held ? "held  " : "FAILED",
				x->e->text, a, b, x->undefined ? ", undefined: division by zero" : "");
		}
		fprintf(out, "%u of %u expectations held\n", r->nexpect - r->failed, r->nexpect);
	}
}

static void json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

/* Does the expression refer to a metric of arm `name`? */
static bool mentions(const struct scn_expr *e, const char *name)
{
	if (!e)
		return false;
	if (e->op == SCN_E_REF)
		return strcmp(e->arm, name) == 0;
	return mentions(e->a, name) || mentions(e->b, name);
}

static void json_metric(FILE *out, enum metric_id id, int64_t v)
{
	char buf[40];

	metric_format(id, v, buf, sizeof(buf));
	fputs(buf, out);
}

void results_print_json(const struct results *r, FILE *out)
{
	fputs("{\"scenario\": ", out);
	json_str(out, r->cfg->name);
	fputs(", \"path\": ", out);
	json_str(out, r->cfg->path ? r->cfg->path : "");
	fprintf(out, ", \"seed\": %llu, \"duration_ns\": %llu, \"version\": ",
		(unsigned long long)r->cfg->seed, (unsigned long long)r->cfg->duration);
	json_str(out, VTSIM_VERSION);
	fputs(", \"arms\": [", out);
	for (unsigned i = 0; i < r->narms; i++) {
		const struct arm_result *a = &r->arms[i];

		fputs(i ? ", {\"name\": " : "{\"name\": ", out);
		json_str(out, a->arm->name);
		fputs(", \"policy\": ", out);
		json_str(out, a->arm->policy->name);
		fputs(", \"page\": ", out);
		json_str(out, a->arm->page->name);
		fputs(", \"reader\": ", out);
		json_str(out, a->arm->reader_name);
		fprintf(out, ", \"host\": {\"tsc_stable\": %s, \"clocksource\": \"%s\", \"tsc_khz\": %u, "
			     "\"mult\": %u, \"shift\": %u}",
			a->host.tsc_stable ? "true" : "false", util_clocksource_name(a->host.cs), a->host.tsc_khz,
			a->host.mult, a->host.shift);
		fputs(", \"metrics\": {", out);
		for (int m = 0; m < M_COUNT; m++) {
			fprintf(out, "%s\"%s\": ", m ? ", " : "", metric_info[m].name);
			json_metric(out, (enum metric_id)m, a->m[m]);
		}
		fputs("}, \"facts\": {", out);
		for (unsigned f = 0; f < a->nfacts; f++)
			fprintf(out, "%s\"%s\": %lld", f ? ", " : "", a->fact[f].name,
				(long long)a->fact_value[f]);
		fprintf(out, "}, \"load\": {\"events\": %llu, \"migrations\": %llu, \"io_exits\": %llu, "
			     "\"stalls\": %llu, \"preemptions\": %llu, \"dropped_arrivals\": %llu, "
			     "\"off_cpu_ns\": %llu, \"migrated_off_ns\": %llu, \"msr_exits\": %llu, "
			     "\"livelocks\": %llu, \"sleeps\": %llu}",
			(unsigned long long)a->load.events, (unsigned long long)a->load.migrations,
			(unsigned long long)a->load.io_exits, (unsigned long long)a->load.stalls,
			(unsigned long long)a->load.preemptions,
			(unsigned long long)a->load.dropped_arrivals,
			(unsigned long long)a->load.off_cpu_ns,
			(unsigned long long)a->load.migrated_off_ns,
			(unsigned long long)a->load.msr_exits, (unsigned long long)a->load.livelocks,
			(unsigned long long)a->load.sleeps);
		fputs(", \"vcpus\": [", out);
		for (unsigned v = 0; v < a->nvcpus; v++) {
			const struct vcpu_metrics *vm = &a->vcpu[v];

			fprintf(out, "%s{\"reads\": %llu, \"backsteps\": %llu, \"max_backstep_ns\": %llu, "
				     "\"lost_time_ns\": %llu, \"final_error_ns\": %lld}",
				v ? ", " : "", (unsigned long long)vm->reads,
				(unsigned long long)vm->backsteps,
				(unsigned long long)vm->max_backstep_ns,
				(unsigned long long)vm->debt_ns, (long long)vm->last_err);
		}
		fputs("], \"expectations\": [", out);
		/* An expectation belongs to every arm it names. */
		{
			bool first = true;

			for (unsigned x = 0; x < r->nexpect; x++) {
				const struct expect_result *er = &r->expect[x];
				bool mine = mentions(er->e->lhs, a->arm->name) ||
					    mentions(er->e->rhs, a->arm->name);

				if (!mine)
					continue;
				fputs(first ? "{\"text\": " : ", {\"text\": ", out);
				json_str(out, er->e->text);
				fprintf(out, ", \"held\": %s}", er->held ? "true" : "false");
				first = false;
			}
		}
		fputs("]}", out);
	}
	fputs("], \"expectations\": [", out);
	for (unsigned x = 0; x < r->nexpect; x++) {
		const struct expect_result *er = &r->expect[x];
		char a[40], b[40];

		fmt_num(er->lhs, a, sizeof(a));
		fmt_num(er->rhs, b, sizeof(b));
		fputs(x ? ", {\"text\": " : "{\"text\": ", out);
		json_str(out, er->e->text);
		fprintf(out, ", \"held\": %s, \"lhs\": %s, \"rhs\": %s}", er->held ? "true" : "false",
			a, b);
	}
	fprintf(out, "], \"failed\": %u}\n", r->failed);
}

void results_free(struct results *r)
{
	for (unsigned i = 0; i < r->narms; i++)
		free(r->arms[i].vcpu);
	free(r->arms);
	free(r->expect);
	memset(r, 0, sizeof(*r));
}
