/*
 * checkcli.c: `bin/sim check SCENARIO` and `bin/sim replay TRAIL` (issue 7).
 *
 * check explores every arm of a scenario with the model of sim/chkmodel.c and the explorer of
 * sim/explore.c, compares each verdict with the one the scenario expects (check.expect), prints
 * every counterexample (shrunk) as a timeline and saves it as a trail file; replay reruns a
 * trail and exits as the check did. A trail is self-contained text:
 *
 *   vtsim-trail 1                  format version
 *   version 0.1.0                  the vtsim that wrote it
 *   scenario NAME / path PATH / arm ARM / seed N
 *   set PATH=VALUE                 each override, in order
 *   plugin ARM=HASH                each reader plugin's source hash
 *   strategy / property / expect / message
 *   choices N a0 a1 ...            the explorer's answers, in order
 *   text                           then, to the end of the file, the expanded scenario
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checkcli.h"
#include "chkmodel.h"
#include "config.h"
#include "expand.h"
#include "scenario.h"
#include "store.h"
#include "util.h"

static const char *const strategy_names[] = { "dfs", "bfs", "random", "pct" };

struct copts {
	const char *scenario;
	unsigned nset, narm;
	const char **set, **arm;
	int strategy;             /* -1: the scenario's */
	long max_deviations;      /* -1: the scenario's */
	long long schedules;      /* -1: the scenario's */
	const char *trail_dir;
	const char *db;
	bool no_db, quiet, no_shrink;
};

static void check_usage(FILE *out)
{
	fputs("usage: bin/sim check SCENARIO [options]   explore every schedule of the scenario's "
	      "check model\n"
	      "       bin/sim replay TRAIL              rerun a counterexample and print its "
	      "timeline\n"
	      "options:\n"
	      "  --seed N / --set PATH=VALUE / --arm NAME   as for a run\n"
	      "  --strategy dfs|bfs|random|pct   override check.strategy\n"
	      "  --max-deviations N              override check.max_deviations (0: unbounded)\n"
	      "  --schedules N                   override check.schedules (the budget)\n"
	      "  --trail-dir DIR                 where counterexample trails go (default .)\n"
	      "  --no-shrink                     keep counterexamples as found\n"
	      "  --db PATH / --no-db             the results database (default $VTSIM_DB, else "
	      "results.db)\n"
	      "  --quiet                         no progress on stderr\n"
	      "exit: 0 every verdict as expected, 1 not, 2 bad input, 3 I/O or internal error\n",
	      out);
}

/* Returns -1 to go on, else an exit code. */
static int parse(int argc, char **argv, struct copts *o, FILE *err)
{
	o->strategy = -1;
	o->max_deviations = -1;
	o->schedules = -1;
	o->trail_dir = ".";
	o->set = calloc((size_t)argc + 1, sizeof(*o->set));
	o->arm = calloc((size_t)argc + 1, sizeof(*o->arm));
	if (!o->set || !o->arm)
		return EXIT_IOERR;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool next = i + 1 < argc;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			check_usage(stdout);
			return EXIT_HELD;
		} else if (strcmp(a, "--quiet") == 0) {
			o->quiet = true;
		} else if (strcmp(a, "--no-db") == 0) {
			o->no_db = true;
		} else if (strcmp(a, "--no-shrink") == 0) {
			o->no_shrink = true;
		} else if (a[0] == '-' && a[1] == '-' && !next) {
			fprintf(err, "sim: %s needs a value (bin/sim check --help)\n", a);
			return EXIT_BADINPUT;
		} else if (strcmp(a, "--seed") == 0) {
			size_t n = strlen(argv[i + 1]) + 6;
			char *s = malloc(n);

			if (!s)
				return EXIT_IOERR;
			snprintf(s, n, "seed=%s", argv[++i]);
			o->set[o->nset++] = s;
		} else if (strcmp(a, "--set") == 0) {
			char *s = strdup(argv[++i]);

			if (!s)
				return EXIT_IOERR;
			o->set[o->nset++] = s;
		} else if (strcmp(a, "--arm") == 0) {
			o->arm[o->narm++] = argv[++i];
		} else if (strcmp(a, "--trail-dir") == 0) {
			o->trail_dir = argv[++i];
		} else if (strcmp(a, "--db") == 0) {
			o->db = argv[++i];
		} else if (strcmp(a, "--strategy") == 0) {
			const char *v = argv[++i];

			for (int k = 0; k < 4; k++)
				if (strcmp(v, strategy_names[k]) == 0)
					o->strategy = k;
			if (o->strategy < 0) {
				fprintf(err, "sim: --strategy: expected dfs, bfs, random or pct\n");
				return EXIT_BADINPUT;
			}
		} else if (strcmp(a, "--max-deviations") == 0 || strcmp(a, "--schedules") == 0) {
			char *end;
			long long v = strtoll(argv[++i], &end, 10);

			if (*end || v < 0 || end == argv[i]) {
				fprintf(err, "sim: %s: expected a non-negative integer\n", a);
				return EXIT_BADINPUT;
			}
			if (a[2] == 'm')
				o->max_deviations = (long)(v > 1000 ? 1000 : v);
			else
				o->schedules = v;
		} else if (a[0] == '-' && a[1] != '\0') {
			fprintf(err, "sim: unknown option '%s' (bin/sim check --help)\n", a);
			return EXIT_BADINPUT;
		} else if (!o->scenario) {
			o->scenario = a;
		} else {
			fprintf(err, "sim: unexpected argument '%s'\n", a);
			return EXIT_BADINPUT;
		}
	}
	if (!o->scenario) {
		check_usage(err);
		return EXIT_BADINPUT;
	}
	return -1;
}

struct prog {
	const char *arm;
	FILE *err;
	bool shown;
};

static void show_progress(const struct chk_stats *s, void *ctx)
{
	struct prog *p = ctx;

	p->shown = true;
	fprintf(p->err, "\r%s: %llu schedules, %llu states, depth %u, bound %u, %.0f schedules/s   ",
		p->arm, (unsigned long long)s->schedules, (unsigned long long)s->states,
		s->max_depth, s->bound, s->seconds > 0 ? (double)s->schedules / s->seconds : 0.0);
	fflush(p->err);
}

/* "3 0 1 2": the count, then the answers. */
static char *choices_text(const unsigned *c, unsigned n)
{
	char *s = malloc((size_t)n * 11 + 12);
	size_t at;

	if (!s)
		return NULL;
	at = (size_t)sprintf(s, "%u", n);
	for (unsigned i = 0; i < n; i++)
		at += (size_t)sprintf(s + at, " %u", c[i]);
	return s;
}

struct trail_in {
	const char *scenario, *path, *arm, *version, *property, *expect, *message, *strategy;
	const char *set[256];
	unsigned nset;
	const char *plugin[64];
	unsigned nplugin;
	unsigned *choices;
	unsigned nchoices;
	const char *text;
};

/* The whole trail file (malloc'd). */
static char *trail_write_text(const struct config *cfg, const struct arm_cfg *arm,
			      const struct copts *o, const char *expanded, const char *plugins,
			      int strategy, const struct chk_result *res, bool expected)
{
	char *ch = choices_text(res->choices, res->nchoices), *s;
	size_t len = strlen(expanded) + strlen(plugins) * 2 + strlen(ch) + strlen(res->message) +
		     strlen(cfg->name) + strlen(o->scenario) + strlen(arm->name) + 1024;
	size_t at;

	for (unsigned i = 0; i < o->nset; i++)
		len += strlen(o->set[i]) + 8;
	s = ch ? malloc(len) : NULL;
	if (!s) {
		free(ch);
		return NULL;
	}
	at = (size_t)sprintf(s, "# vtsim counterexample: `bin/sim replay FILE` reruns it\n"
			     "vtsim-trail 1\nversion %s\nscenario %s\npath %s\narm %s\nseed %llu\n",
			     VTSIM_VERSION, cfg->name, o->scenario, arm->name,
			     (unsigned long long)cfg->seed);
	for (unsigned i = 0; i < o->nset; i++)
		at += (size_t)sprintf(s + at, "set %s\n", o->set[i]);
	for (const char *p = plugins; *p;) {
		const char *nl = strchr(p, '\n');
		size_t k = nl ? (size_t)(nl - p) : strlen(p);

		at += (size_t)sprintf(s + at, "plugin %.*s\n", (int)k, p);
		p += k + (nl ? 1 : 0);
	}
	at += (size_t)sprintf(s + at, "strategy %s\nproperty %s\nexpect %s\nmessage %s\n"
				       "choices %s\ntext\n%s",
			      strategy_names[strategy], chk_prop_names[res->prop],
			      expected ? "violated" : "holds", res->message, ch, expanded);
	free(ch);
	return s;
}

static int write_file(const char *path, const char *text, FILE *err)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) == EOF || fclose(f) != 0) {
		fprintf(err, "sim: cannot write trail %s: %s\n", path, strerror(errno));
		if (f)
			fclose(f);
		return VT_EIO;
	}
	return VT_OK;
}

/* Reads the scenario and overrides into doc and cfg; prints the error and returns an exit code,
 * or -1 when built. */
static int build(const char *path, const char *text, size_t len, const char *const *set,
		 unsigned nset, struct scn_doc *doc, struct config *cfg, FILE *err)
{
	struct scn_error e;
	int rc;

	scn_doc_init(doc);
	rc = text ? scn_parse_text(doc, path, text, len, false, &e) : scn_parse_file(doc, path, &e);
	for (unsigned i = 0; rc == VT_OK && i < nset; i++)
		rc = scn_parse_override(doc, set[i], i + 1, &e);
	if (rc == VT_OK)
		rc = config_build(cfg, doc, path, &e);
	if (rc != VT_OK) {
		fprintf(err, "%s\n", rc == VT_EINPUT ? e.msg : "sim: out of memory");
		scn_doc_free(doc);
		return rc == VT_EINPUT ? EXIT_BADINPUT : EXIT_IOERR;
	}
	return -1;
}

static bool selected(const struct copts *o, const char *name)
{
	if (o->narm == 0)
		return true;
	for (unsigned i = 0; i < o->narm; i++)
		if (strcmp(o->arm[i], name) == 0)
			return true;
	return false;
}

static void fill_options(struct chk_options *co, const struct config *cfg, const struct config *ac,
			 const struct copts *o)
{
	const struct check_cfg *c = &ac->check;

	memset(co, 0, sizeof(*co));
	co->strategy = (enum chk_strategy)(o && o->strategy >= 0 ? o->strategy : c->strategy);
	co->max_deviations = o && o->max_deviations >= 0 ? (unsigned)o->max_deviations
							  : c->max_deviations;
	co->max_depth = 100000;
	co->max_schedules = o && o->schedules >= 0 ? (uint64_t)o->schedules : c->schedules;
	co->max_seconds = (double)c->time_budget / 1e9;
	co->seed = cfg->seed;
	co->pct_depth = c->pct_depth;
	co->use_hash = c->hash;
	co->shrink = !(o && o->no_shrink);
	co->stop_at_first = true;
}

int check_main(int argc, char **argv, FILE *out, FILE *err)
{
	struct copts o;
	struct scn_doc doc;
	struct config cfg;
	struct store *st = NULL;
	struct trail_row *rows = NULL;
	char run_id[33] = "", dberr[768];
	char *expanded = NULL, *overrides = NULL, *plugins = NULL;
	char **trails = NULL, **chs = NULL, **msgs = NULL;
	unsigned nrows = 0, failed = 0;
	int rc, exit_code = EXIT_HELD;
	bool built = false;

	memset(&o, 0, sizeof(o));
	rc = parse(argc, argv, &o, err);
	if (rc >= 0)
		goto out_opts;
	rc = build(o.scenario, NULL, 0, o.set, o.nset, &doc, &cfg, err);
	if (rc >= 0)
		goto out_opts;
	built = true;
	for (unsigned i = 0; i < o.narm; i++) {
		bool found = false;

		for (unsigned j = 0; j < cfg.narms; j++)
			found |= strcmp(cfg.arms[j].name, o.arm[i]) == 0;
		if (!found) {
			fprintf(err, "sim: --arm %s: the scenario has no such arm\n", o.arm[i]);
			rc = EXIT_BADINPUT;
			goto out;
		}
	}
	expanded = scenario_expand(&doc);
	overrides = util_join_lines(o.set, o.nset);
	plugins = config_plugin_lines(&cfg);
	rows = calloc(cfg.narms, sizeof(*rows));
	trails = calloc(cfg.narms, sizeof(*trails));
	chs = calloc(cfg.narms, sizeof(*chs));
	msgs = calloc(cfg.narms, sizeof(*msgs));
	if (!expanded || !overrides || !plugins || !rows || !trails || !chs || !msgs) {
		fprintf(err, "sim: out of memory\n");
		rc = EXIT_IOERR;
		goto out;
	}
	if (!o.no_db) {
		const char *db = o.db ? o.db : getenv("VTSIM_DB") ? getenv("VTSIM_DB") : "results.db";
		struct run_info ri = { cfg.name, o.scenario, expanded, cfg.seed, overrides, plugins, 0,
				       NULL, NULL };

		if (store_open(&st, db, dberr, sizeof(dberr)) != VT_OK ||
		    store_begin_run(st, &ri, run_id, dberr, sizeof(dberr)) != VT_OK) {
			/* As a run: the check goes on, the exit code says the results were lost. */
			fprintf(err, "sim: results database: %s\n", dberr);
			store_close(st);
			st = NULL;
			exit_code = EXIT_IOERR;
		}
	}

	fprintf(out, "check %s  seed %llu\n", cfg.name, (unsigned long long)cfg.seed);
	for (unsigned a = 0; a < cfg.narms; a++) {
		const struct arm_cfg *arm = &cfg.arms[a];
		const struct config *ac = arm->cfg ? arm->cfg : &cfg;
		struct chkmodel *m = NULL;
		struct chk_model model;
		struct chk_options co;
		struct chk_result res, again;
		struct prog prog = { arm->name, err, false };
		char msg[512];
		bool ok;

		if (!selected(&o, arm->name))
			continue;
		rc = chkmodel_new(&m, &cfg, arm, NULL, msg, sizeof(msg));
		if (rc != VT_OK) {
			if (rc == VT_EINPUT)
				fprintf(err, "%s: %s\n", o.scenario, msg);
			else
				fprintf(err, "sim: out of memory\n");
			exit_code = rc == VT_EINPUT ? EXIT_BADINPUT : EXIT_IOERR;
			break;
		}
		chkmodel_as_model(m, &model);
		fill_options(&co, &cfg, ac, &o);
		if (!o.quiet) {
			co.progress = show_progress;
			co.progress_ctx = &prog;
		}
		memset(&res, 0, sizeof(res));
		rc = chk_explore(&model, &co, &res);
		if (prog.shown)
			fprintf(err, "\r%*s\r", 100, "");
		if (rc != VT_OK) {
			fprintf(err, "sim: arm %s: the exploration failed (%s)\n", arm->name,
				rc == VT_EINPUT ? "bad check options" : "internal error");
			chk_result_free(&res);
			chkmodel_free(m);
			exit_code = rc == VT_EINPUT ? EXIT_BADINPUT : EXIT_IOERR;
			break;
		}
		ok = res.violated == ac->check.expect_violation;
		failed += !ok;
		fprintf(out, "\narm %s (%s + %s + %s): ", arm->name, arm->policy->name, arm->page->name,
			arm->reader_name);
		if (res.violated)
			fprintf(out, "%s VIOLATED%s\n", chk_prop_names[res.prop],
				ok ? ", as expected" : " (expected: holds)");
		else
			fprintf(out, "holds%s\n", ok ? ", as expected" : " (expected: a counterexample)");
		fprintf(out, "  %s, %llu schedules, %llu states, deepest %u choices, %.3f s%s\n",
			strategy_names[co.strategy], (unsigned long long)res.stats.schedules,
			(unsigned long long)res.stats.states, res.stats.max_depth, res.stats.seconds,
			res.violated ? "; stopped at the first counterexample"
			: res.stats.exhausted
				? (co.strategy <= CHK_BFS ? "; exhaustive within the bounds" : "")
				: "; budget reached (not exhaustive)");
		if (co.strategy <= CHK_BFS)
			fprintf(out, "  bound: %u deviations (preemptions) per schedule%s\n",
				res.stats.bound, co.max_deviations ? "" : " (unbounded)");
		if (res.violated) {
			char path[1024];

			trails[nrows] = trail_write_text(&cfg, arm, &o, expanded, plugins, co.strategy,
							 &res, ac->check.expect_violation);
			chs[nrows] = choices_text(res.choices, res.nchoices);
			if (!trails[nrows] || !chs[nrows]) {
				fprintf(err, "sim: out of memory\n");
				exit_code = EXIT_IOERR;
			}
			{
				unsigned dev = 0;

				for (unsigned i = 0; i < res.nchoices; i++)
					dev += res.choices[i] != 0;
				fprintf(out, "  %s\n  counterexample: %u choices, %u of them deviations "
					     "(shrunk in %llu runs)\n", res.message, res.nchoices, dev,
					(unsigned long long)res.stats.shrink_runs);
			}
			snprintf(path, sizeof(path), "%s/%s.%s.trail", o.trail_dir, cfg.name, arm->name);
			if (trails[nrows] && write_file(path, trails[nrows], err) == VT_OK)
				fprintf(out, "  trail: %s (bin/sim replay %s)\n", path, path);
			else
				exit_code = EXIT_IOERR;
			fprintf(out, "  timeline:\n");
			chkmodel_set_log(m, out);
			memset(&again, 0, sizeof(again));
			rc = chk_replay(&model, res.choices, res.nchoices, &again);
			chkmodel_set_log(m, NULL);
			if (rc != VT_OK || !again.violated || again.prop != res.prop) {
				fprintf(err, "sim: arm %s: the counterexample did not reproduce "
					     "(internal error)\n", arm->name);
				exit_code = EXIT_IOERR;
			} else {
				fprintf(out, "  => %s\n", again.message);
			}
			chk_result_free(&again);
		}
		msgs[nrows] = strdup(res.violated ? res.message : "");
		rows[nrows] = (struct trail_row){
			.arm = arm->name, .ord = a, .policy = arm->policy->name,
			.page = arm->page->name, .reader = arm->reader_name,
			.property = res.violated ? chk_prop_names[res.prop] : NULL,
			.violated = res.violated, .expected_violation = ac->check.expect_violation,
			.strategy = strategy_names[co.strategy], .schedules = res.stats.schedules,
			.exhausted = res.stats.exhausted, .shrink_runs = res.stats.shrink_runs,
			.message = res.violated ? msgs[nrows] : NULL, .choices = chs[nrows],
			.trail = trails[nrows],
		};
		nrows++;
		chk_result_free(&res);
		chkmodel_free(m);
	}
	if (st && exit_code != EXIT_BADINPUT &&
	    store_finish_check(st, run_id, rows, nrows, failed, dberr, sizeof(dberr)) != VT_OK) {
		fprintf(err, "sim: results database: %s\n", dberr);
		exit_code = EXIT_IOERR;
	}
	fprintf(out, "\n%u of %u arm(s) as expected\n", nrows - failed, nrows);
	rc = exit_code != EXIT_HELD ? exit_code : failed ? EXIT_FAILED : EXIT_HELD;
out:
	store_close(st);
	for (unsigned i = 0; trails && i < cfg.narms; i++) {
		free(trails[i]);
		free(chs[i]);
		free(msgs[i]);
	}
	free(trails);
	free(chs);
	free(msgs);
	free(rows);
	free(expanded);
	free(overrides);
	free(plugins);
	if (built) {
		config_free(&cfg);
		scn_doc_free(&doc);
	}
out_opts:
	for (unsigned i = 0; i < o.nset; i++)
		free((void *)(uintptr_t)o.set[i]);
	free(o.set);
	free(o.arm);
	return rc;
}

/* ---- replay -------------------------------------------------------------------------------- */

/* Splits the trail into its header fields (pointing into buf, lines NUL-terminated). */
static bool trail_parse(char *buf, struct trail_in *t, char *why, size_t len)
{
	char *p = buf;
	bool magic = false;

	memset(t, 0, sizeof(*t));
	while (*p) {
		char *nl = strchr(p, '\n'), *sp;

		if (!nl) {
			snprintf(why, len, "no scenario text (the file is cut short)");
			return false;
		}
		*nl = '\0';
		if (strcmp(p, "text") == 0) {
			t->text = nl + 1;
			break;
		}
		sp = strchr(p, ' ');
		if (p[0] != '#' && sp) {
			*sp++ = '\0';
			if (strcmp(p, "vtsim-trail") == 0)
				magic = strcmp(sp, "1") == 0;
			else if (strcmp(p, "version") == 0)
				t->version = sp;
			else if (strcmp(p, "scenario") == 0)
				t->scenario = sp;
			else if (strcmp(p, "path") == 0)
				t->path = sp;
			else if (strcmp(p, "arm") == 0)
				t->arm = sp;
			else if (strcmp(p, "strategy") == 0)
				t->strategy = sp;
			else if (strcmp(p, "property") == 0)
				t->property = sp;
			else if (strcmp(p, "expect") == 0)
				t->expect = sp;
			else if (strcmp(p, "message") == 0)
				t->message = sp;
			else if (strcmp(p, "set") == 0 && t->nset < VT_ARRAY_SIZE(t->set))
				t->set[t->nset++] = sp;
			else if (strcmp(p, "plugin") == 0 && t->nplugin < VT_ARRAY_SIZE(t->plugin))
				t->plugin[t->nplugin++] = sp;
			else if (strcmp(p, "choices") == 0) {
				char *end;
				unsigned long n = strtoul(sp, &end, 10);

				if (end == sp || n > 10000000) {
					snprintf(why, len, "a bad choices line");
					return false;
				}
				t->choices = calloc(n ? n : 1, sizeof(*t->choices));
				if (!t->choices) {
					snprintf(why, len, "out of memory");
					return false;
				}
				for (unsigned long i = 0; i < n; i++) {
					char *e2;
					unsigned long v = strtoul(end, &e2, 10);

					if (e2 == end || v > 1u << 30) {
						snprintf(why, len, "the choices line is cut short");
						return false;
					}
					t->choices[i] = (unsigned)v;
					end = e2;
				}
				t->nchoices = (unsigned)n;
			}
		}
		p = nl + 1;
	}
	if (!magic || !t->text || !t->arm || !t->property || !t->expect || !t->choices) {
		snprintf(why, len, "not a vtsim trail (version 1)");
		return false;
	}
	return true;
}

int replay_main(int argc, char **argv, FILE *out, FILE *err)
{
	struct trail_in t;
	struct scn_doc doc;
	struct config cfg;
	struct chkmodel *m = NULL;
	struct chk_model model;
	struct chk_result res;
	const struct arm_cfg *arm = NULL;
	char *buf, why[256], msg[512], *plugins = NULL;
	size_t len;
	int rc;

	if (argc != 2 || argv[1][0] == '-') {
		check_usage(argc == 2 && strcmp(argv[1], "--help") == 0 ? out : err);
		return argc == 2 && strcmp(argv[1], "--help") == 0 ? EXIT_HELD : EXIT_BADINPUT;
	}
	buf = util_slurp(argv[1], &len);
	if (!buf) {
		fprintf(err, "sim: cannot read trail %s: %s\n", argv[1], strerror(errno));
		return errno == ENOENT ? EXIT_BADINPUT : EXIT_IOERR;
	}
	if (!trail_parse(buf, &t, why, sizeof(why))) {
		fprintf(err, "%s:1:1: %s\n", argv[1], why);
		free(t.choices);
		free(buf);
		return EXIT_BADINPUT;
	}
	if (!t.version || strcmp(t.version, VTSIM_VERSION) != 0)
		fprintf(err, "sim: note: the trail was written by vtsim %s, this is %s\n",
			t.version ? t.version : "?", VTSIM_VERSION);
	rc = build(t.path ? t.path : argv[1], t.text, strlen(t.text), t.set, t.nset, &doc, &cfg,
		   err);
	if (rc >= 0) {
		free(t.choices);
		free(buf);
		return rc;
	}
	for (unsigned i = 0; i < cfg.narms; i++)
		if (strcmp(cfg.arms[i].name, t.arm) == 0)
			arm = &cfg.arms[i];
	plugins = config_plugin_lines(&cfg);
	rc = EXIT_HELD;
	if (!arm) {
		fprintf(err, "%s: the trail's arm '%s' is not in its scenario\n", argv[1], t.arm);
		rc = EXIT_BADINPUT;
	} else if (!plugins) {
		rc = EXIT_IOERR;
	} else {
		/* The plugins' source must be what it was: compare "arm=hash" lines. */
		size_t at = 0;

		for (unsigned i = 0; i < t.nplugin && rc == EXIT_HELD; i++) {
			size_t k = strlen(t.plugin[i]);

			if (strncmp(plugins + at, t.plugin[i], k) != 0 || plugins[at + k] != '\n')
				rc = EXIT_BADINPUT;
			at += k + 1;
		}
		if (rc == EXIT_HELD && plugins[at] != '\0')
			rc = EXIT_BADINPUT;
		if (rc != EXIT_HELD)
			fprintf(err, "%s: a reader plugin's source changed since the trail was written\n",
				argv[1]);
	}
	if (rc == EXIT_HELD) {
		rc = chkmodel_new(&m, &cfg, arm, out, msg, sizeof(msg));
		if (rc != VT_OK) {
			fprintf(err, "%s: %s\n", argv[1], rc == VT_EINPUT ? msg : "out of memory");
			rc = rc == VT_EINPUT ? EXIT_BADINPUT : EXIT_IOERR;
		} else {
			bool expect_violation = strcmp(t.expect, "violated") == 0;

			chkmodel_as_model(m, &model);
			memset(&res, 0, sizeof(res));
			fprintf(out, "replay %s: scenario %s, arm %s, %u choices\n  timeline:\n", argv[1],
				cfg.name, arm->name, t.nchoices);
			rc = chk_replay(&model, t.choices, t.nchoices, &res);
			if (rc != VT_OK) {
				fprintf(err, "sim: the replay failed (internal error)\n");
				rc = EXIT_IOERR;
			} else if (res.violated && strcmp(chk_prop_names[res.prop], t.property) == 0) {
				fprintf(out, "  => %s\nreproduced: %s violated%s\n", res.message, t.property,
					expect_violation ? ", as the scenario expects" : "");
				rc = expect_violation ? EXIT_HELD : EXIT_FAILED;
			} else {
				fprintf(out, "NOT reproduced: the trail's %s violation did not recur\n",
					t.property);
				rc = EXIT_FAILED;
			}
			chk_result_free(&res);
		}
	}
	chkmodel_free(m);
	free(plugins);
	config_free(&cfg);
	scn_doc_free(&doc);
	free(t.choices);
	free(buf);
	return rc;
}
