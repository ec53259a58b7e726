/*
 * main.c: the bin/sim command line.
 *
 *   bin/sim [run] SCENARIO [--seed N] [--set PATH=VALUE]... [--arm NAME]... [--json]
 *                          [--trace FILE] [--quiet] [--stats]
 *   bin/sim keys [--markdown]      the scenario key reference
 *   bin/sim list                   policies, page providers, readers (with options), metrics
 *   bin/sim check SCENARIO ...     model checking (sim/checkcli.c); bin/sim replay TRAIL
 *
 * Exit codes: 0 every expectation held, 1 an expectation failed, 2 bad input or usage,
 * 3 an I/O or internal error (3 wins over 1).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "calc.h"
#include "checkcli.h"
#include "config.h"
#include "expand.h"
#include "gate.h"
#include "merge.h"
#include "plugin.h"
#include "registry.h"
#include "report.h"
#include "results.h"
#include "scenario.h"
#include "store.h"
#include "sweep.h"
#include "util.h"
#include "world.h"
#include "writer.h"

struct options {
	const char *scenario;
	const char *trace;
	bool json, quiet, stats, no_db;
	const char *db;         /* --db PATH (default results.db) */
	const char *baseline;   /* --baseline FILE: the regression gate */
	const char *write_baseline; /* --write-baseline FILE */
	const char *sweep_id;   /* --sweep-id ID, --sweep-point TEXT: set by bin/sim sweep */
	const char *sweep_point;
	unsigned nset;
	const char **set;       /* copies of the --set arguments, in order (--seed N becomes "seed=N") */
	unsigned narm;
	const char **arm;       /* --arm filters */
};

static void usage(FILE *out)
{
	fputs("usage: bin/sim [run] SCENARIO [options]   simulate a scenario, check its expectations\n"
	      "       bin/sim keys [--markdown]          list every scenario key\n"
	      "       bin/sim list                       list policies, pages, readers, metrics\n"
	      "       bin/sim calc FREQ... [--guest FREQ] [--json]   pvclock/Hyper-V/VMX/SVM scales\n"
	      "       bin/sim report [DB] [-o DIR] [--run ID] [--scenario NAME]   plots and tables\n"
	      "       bin/sim check SCENARIO [options]  model-check it (bin/sim check --help)\n"
	      "       bin/sim replay TRAIL              rerun a counterexample trail\n"
	      "       bin/sim sweep SCENARIO --param PATH=A..B[:STEP] --seeds 1..N [-j N]   grids\n"
	      "       bin/sim merge OUT.db IN.db...     combine results databases\n"
	      "options:\n"
	      "  --seed N           override the scenario's seed\n"
	      "  --set PATH=VALUE   override one key (repeatable), e.g. --set host.cpu[2].skew_ppm=40ppm\n"
	      "  --arm NAME         run only this arm (repeatable; expectations naming others are skipped)\n"
	      "  --json             print one JSON object instead of the table\n"
	      "  --trace FILE       write every event (true time, host CPU, vCPU, kind, TSCs) to FILE\n"
	      "  --db PATH          the results database (default $VTSIM_DB, else results.db)\n"
	      "  --no-db            do not store the results\n"
	      "  --baseline FILE    regression gate: compare every metric with FILE (exit 1 on a change)\n"
	      "  --write-baseline FILE  record this scenario's metrics in FILE\n"
	      "  --quiet            no progress line\n"
	      "  --stats            print events/s, reads/s and peak RSS per arm on stderr\n"
	      "exit: 0 expectations held, 1 one failed, 2 bad input, 3 I/O or internal error\n",
	      out);
}

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmd_list(void)
{
	printf("TSC policies:\n");
	for (const struct policy_ops *const *p = vt_policies; *p; p++) {
		printf("  %-16s %s\n", (*p)->name, (*p)->describe);
		for (const struct opt_desc *o = (*p)->options; o && o->name; o++)
			printf("      policy.%s = %s   %s\n", o->name, o->def ? o->def : "", o->doc);
	}
	printf("clock-page providers:\n");
	for (const struct page_ops *const *p = vt_pages; *p; p++) {
		printf("  %-16s %s\n", (*p)->name, (*p)->describe);
		for (const struct opt_desc *o = (*p)->options; o && o->name; o++)
			printf("      page.%s = %s   %s\n", o->name, o->def ? o->def : "", o->doc);
	}
	printf("guest readers:\n");
	for (const struct reader_ops *const *p = vt_readers; *p; p++) {
		printf("  %-16s %s\n", (*p)->name, (*p)->describe);
		for (const struct opt_desc *o = (*p)->options; o && o->name; o++)
			printf("      reader.%s = %s   %s\n", o->name, o->def ? o->def : "", o->doc);
	}
	printf("migration algorithms (arm key migration, used when migration.at is set):\n");
	for (const struct migration_ops *const *p = vt_migrations; *p; p++) {
		printf("  %-16s %s\n", (*p)->name, (*p)->describe);
		for (const struct opt_desc *o = (*p)->options; o && o->name; o++)
			printf("      migration.%s = %s   %s\n", o->name, o->def ? o->def : "", o->doc);
	}
	printf("metrics:\n");
	for (int m = 0; m < M_COUNT; m++)
		printf("  %-22s %-4s %s\n", metric_info[m].name, metric_info[m].unit, metric_info[m].doc);
	return EXIT_HELD;
}

/* Returns EXIT_* for a usage error, or -1 to continue. */
static int parse_args(int argc, char **argv, struct options *o)
{
	o->set = calloc((size_t)argc, sizeof(*o->set));
	o->arm = calloc((size_t)argc, sizeof(*o->arm));
	if (!o->set || !o->arm) {
		fprintf(stderr, "sim: out of memory\n");
		return EXIT_IOERR;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has_next = i + 1 < argc;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return EXIT_HELD;
		} else if (strcmp(a, "--version") == 0) {
			printf("vtsim %s\n", VTSIM_VERSION);
			return EXIT_HELD;
		} else if (strcmp(a, "--json") == 0) {
			o->json = true;
		} else if (strcmp(a, "--quiet") == 0) {
			o->quiet = true;
		} else if (strcmp(a, "--stats") == 0) {
			o->stats = true;
		} else if (strcmp(a, "--no-db") == 0) {
			o->no_db = true;
		} else if ((strcmp(a, "--seed") == 0 || strcmp(a, "--set") == 0 ||
			    strcmp(a, "--trace") == 0 || strcmp(a, "--arm") == 0 ||
			    strcmp(a, "--db") == 0 || strcmp(a, "--baseline") == 0 ||
			    strcmp(a, "--write-baseline") == 0 || strcmp(a, "--sweep-id") == 0 ||
			    strcmp(a, "--sweep-point") == 0) && !has_next) {
			fprintf(stderr, "sim: %s needs a value\n", a);
			return EXIT_BADINPUT;
		} else if (strcmp(a, "--seed") == 0) {
			const char *v = argv[++i];
			size_t n = strlen(v) + 6;
			char *s = malloc(n);

			if (!s)
				return EXIT_IOERR;
			snprintf(s, n, "seed=%s", v);
			o->set[o->nset++] = s;
		} else if (strcmp(a, "--set") == 0) {
			char *s = strdup(argv[++i]);

			if (!s)
				return EXIT_IOERR;
			o->set[o->nset++] = s; /* every entry is owned, freed in main */
		} else if (strcmp(a, "--trace") == 0) {
			o->trace = argv[++i];
		} else if (strcmp(a, "--db") == 0) {
			o->db = argv[++i];
		} else if (strcmp(a, "--baseline") == 0) {
			o->baseline = argv[++i];
		} else if (strcmp(a, "--write-baseline") == 0) {
			o->write_baseline = argv[++i];
		} else if (strcmp(a, "--arm") == 0) {
			o->arm[o->narm++] = argv[++i];
		} else if (strcmp(a, "--sweep-id") == 0) {
			o->sweep_id = argv[++i];
		} else if (strcmp(a, "--sweep-point") == 0) {
			o->sweep_point = argv[++i];
		} else if (a[0] == '-' && a[1] != '\0') {
			fprintf(stderr, "sim: unknown option '%s' (bin/sim --help)\n", a);
			return EXIT_BADINPUT;
		} else if (!o->scenario) {
			o->scenario = a;
		} else {
			fprintf(stderr, "sim: unexpected argument '%s' (one scenario at a time)\n", a);
			return EXIT_BADINPUT;
		}
	}
	if (!o->scenario) {
		usage(stderr);
		return EXIT_BADINPUT;
	}
	return -1;
}

struct progress {
	const char *arm;
	double last;
	bool shown;
};

static void show_progress(struct world *w, void *ctx)
{
	struct progress *p = ctx;
	double now = wall_now();

	if (now - p->last < 0.25)
		return;
	p->last = now;
	p->shown = true;
	fprintf(stderr, "\r%s: %5.1f%% of %.1fs simulated, %llu events", p->arm,
		100.0 * (double)w->now / (double)w->cfg->duration, (double)w->cfg->duration / 1e9,
		(unsigned long long)w->events);
	fflush(stderr);
}

static bool arm_selected(const struct options *o, const char *name)
{
	if (o->narm == 0)
		return true;
	for (unsigned i = 0; i < o->narm; i++)
		if (strcmp(o->arm[i], name) == 0)
			return true;
	return false;
}

/* Does an expectation only mention arms that ran? */
static bool expr_ran(const struct results *r, const struct scn_expr *e)
{
	if (!e)
		return true;
	if (e->op == SCN_E_REF) {
		for (unsigned i = 0; i < r->narms; i++)
			if (strcmp(r->arms[i].arm->name, e->arm) == 0)
				return true;
		return false;
	}
	return expr_ran(r, e->a) && expr_ran(r, e->b);
}

static int cmd_run(const struct options *o)
{
	struct scn_doc doc;
	struct scn_error err;
	struct config cfg;
	struct results res;
	FILE *trace = NULL;
	struct store *st = NULL;
	struct writer *wr = NULL;   /* owns st from the first arm until writer_finish */
	struct recording *recs = NULL;
	char run_id[33] = "", dberr[768], *expanded = NULL, *overrides = NULL, *plugins = NULL;
	bool db_failed = false;
	/* --stats, wall-clock seconds: the run waiting for the database, simulating, and the
	 * writer's time in the database (overlapping the simulation when it has a core). */
	double db_t0 = 0, db_s = 0, run_t0 = 0, sim_s = 0, write_s = 0, db_wait_s = 0;
	int rc, exit_code = EXIT_HELD;

	memset(&res, 0, sizeof(res));
	scn_doc_init(&doc);
	rc = scn_parse_file(&doc, o->scenario, &err);
	for (unsigned i = 0; rc == VT_OK && i < o->nset; i++)
		rc = scn_parse_override(&doc, o->set[i], i + 1, &err);
	if (rc != VT_OK) {
		fprintf(stderr, "%s\n", rc == VT_EINPUT ? err.msg : "sim: out of memory");
		scn_doc_free(&doc);
		return rc == VT_EINPUT ? EXIT_BADINPUT : EXIT_IOERR;
	}
	rc = config_build(&cfg, &doc, o->scenario, &err);
	if (rc != VT_OK) {
		fprintf(stderr, "%s\n", rc == VT_EINPUT ? err.msg : "sim: out of memory");
		scn_doc_free(&doc);
		return rc == VT_EINPUT ? EXIT_BADINPUT : EXIT_IOERR;
	}
	for (unsigned i = 0; i < o->narm; i++) {
		bool found = false;

		for (unsigned j = 0; j < cfg.narms; j++)
			found |= strcmp(cfg.arms[j].name, o->arm[i]) == 0;
		if (!found) {
			fprintf(stderr, "sim: --arm %s: the scenario has no such arm\n", o->arm[i]);
			exit_code = EXIT_BADINPUT;
			goto out;
		}
	}
	if (o->trace) {
		trace = fopen(o->trace, "w");
		if (!trace) {
			fprintf(stderr, "sim: cannot write trace %s: %s\n", o->trace, strerror(errno));
			exit_code = EXIT_IOERR;
			goto out;
		}
		fprintf(trace, "# vtsim %s trace of %s seed %llu\n"
			       "# true_ns kind cpu=HOST_CPU vcpu=VCPU host_tsc=CYCLES guest_tsc=CYCLES ...\n",
			VTSIM_VERSION, cfg.name, (unsigned long long)cfg.seed);
	}

	/* The results database: the run row first, in its own transaction. A database that cannot
	 * be used does not stop the run: the summary is printed and the exit code is 3. */
	if (!o->no_db) {
		const char *db = o->db ? o->db : getenv("VTSIM_DB") ? getenv("VTSIM_DB") : "results.db";
		struct run_info ri;

		expanded = scenario_expand(&doc);
		overrides = util_join_lines(o->set, o->nset);
		plugins = config_plugin_lines(&cfg);
		recs = calloc(cfg.narms, sizeof(*recs));
		if (!expanded || !overrides || !plugins || !recs) {
			fprintf(stderr, "sim: out of memory\n");
			exit_code = EXIT_IOERR;
			goto out;
		}
		ri.scenario = cfg.name;
		ri.path = o->scenario;
		ri.scenario_text = expanded;
		ri.seed = cfg.seed;
		ri.overrides = overrides;
		ri.plugin_hashes = plugins;
		ri.duration_ns = cfg.duration;
		ri.sweep_id = o->sweep_id;
		ri.sweep_point = o->sweep_point;
		db_t0 = wall_now();
		if (store_open(&st, db, dberr, sizeof(dberr)) != VT_OK ||
		    store_begin_run(st, &ri, run_id, dberr, sizeof(dberr)) != VT_OK) {
			fprintf(stderr, "sim: results database: %s\n", dberr);
			store_close(st);
			st = NULL;
			db_failed = true;
		}
		db_s += wall_now() - db_t0;
	}
	run_t0 = wall_now();
	res.cfg = &cfg;
	res.arms = calloc(cfg.narms, sizeof(*res.arms));
	res.expect = calloc(cfg.nexpect ? cfg.nexpect : 1, sizeof(*res.expect));
	if (!res.arms || !res.expect ||
	    (st && writer_start(&wr, st, run_id, &res, cfg.narms) != VT_OK)) {
		fprintf(stderr, "sim: out of memory\n");
		exit_code = EXIT_IOERR;
		goto out;
	}
	for (unsigned i = 0; i < cfg.narms; i++) {
		const struct arm_cfg *arm = &cfg.arms[i];
		struct arm_result *ar = &res.arms[res.narms];
		struct progress prog = { arm->name, wall_now(), false };
		struct world w;
		double t0 = wall_now();

		if (!arm_selected(o, arm->name))
			continue;
		if (trace)
			fprintf(trace, "# arm %s: policy %s, page %s, reader %s\n", arm->name,
				arm->policy->name, arm->page->name, arm->reader_name);
		rc = world_init(&w, &cfg, arm, trace);
		if (rc == VT_OK && st) {
			const struct config *ac = arm->cfg ? arm->cfg : &cfg;

			rc = record_init(&recs[res.narms], ac->metrics.series_interval, ac->duration,
					 ac->vm.nvcpus, cfg.narms);
			w.rec = &recs[res.narms];
			/* The writer stores the arm's rows while it runs. */
			if (rc == VT_OK)
				writer_arm_start(wr, arm->name, w.rec);
		}
		if (rc == VT_OK) {
			if (!o->quiet && !o->json && isatty(STDERR_FILENO)) {
				w.progress = show_progress;
				w.progress_ctx = &prog;
			}
			rc = world_run(&w);
		}
		if (prog.shown)
			fprintf(stderr, "\r%*s\r", 70, "");
		if (rc != VT_OK) {
			fprintf(stderr, "%s:%u:%u: arm %s: %s\n", arm->loc.file, arm->loc.line,
				arm->loc.col, arm->name,
				rc == VT_ENOMEM ? "out of memory"
				: rc != VT_EINPUT ? "internal error"
				: w.policy.err[0] ? w.policy.err
				: w.page.err[0] ? w.page.err
						: "the host or a layer rejected this configuration");
			world_free(&w);
			exit_code = rc == VT_EINPUT ? EXIT_BADINPUT : EXIT_IOERR;
			goto out;
		}
		ar->arm = arm;
		ar->migrated = w.cfg->migration.on;
		ar->host.tsc_stable = w.host.tsc_stable;
		ar->host.cs = w.host.raw.cs;
		ar->host.tsc_khz = w.host.raw.tsc_khz;
		ar->host.mult = w.host.raw.mult;
		ar->host.shift = w.host.raw.shift;
		metrics_finish(&w.metrics, ar->m);
		if (arm->page->facts && arm->page->get_facts) {
			while (ar->nfacts < LAYER_MAX_FACTS && arm->page->facts[ar->nfacts].name)
				ar->nfacts++;
			ar->fact = arm->page->facts;
			arm->page->get_facts(&w.page, ar->fact_value);
		}
		ar->load = w.load;
		ar->nvcpus = cfg.vm.nvcpus;
		ar->vcpu = malloc(cfg.vm.nvcpus * sizeof(*ar->vcpu));
		if (!ar->vcpu) {
			world_free(&w);
			exit_code = EXIT_IOERR;
			goto out;
		}
		memcpy(ar->vcpu, w.metrics.v, cfg.vm.nvcpus * sizeof(*ar->vcpu));
		ar->wall_s = wall_now() - t0;
		res.narms++;
		/* The arm is final: the writer stores the rest of it while the next arm runs. */
		if (wr)
			writer_arm_end(wr);
		if (o->stats) {
			struct rusage ru;

			getrusage(RUSAGE_SELF, &ru);
			fprintf(stderr, "stats: arm %s events %llu reads %lld wall_s %.3f events_per_s %.0f "
					"reads_per_s %.0f maxrss_kb %ld\n",
				arm->name, (unsigned long long)w.events, (long long)ar->m[M_READS],
				ar->wall_s, (double)w.events / ar->wall_s,
				(double)ar->m[M_READS] / ar->wall_s, ru.ru_maxrss);
		}
		world_free(&w);
	}
	/* Expectations that name an arm left out by --arm are not evaluated. */
	for (unsigned i = 0; i < cfg.nexpect; i++)
		if (expr_ran(&res, cfg.expect[i].lhs) && expr_ran(&res, cfg.expect[i].rhs))
			res.expect[res.nexpect++].e = &cfg.expect[i];
	results_check(&res);
	if (st) {
		bool overlapped = writer_overlaps(wr);
		int wrc;

		sim_s = wall_now() - run_t0;
		db_t0 = wall_now();
		/* The last arm is still being written: wait for it, then complete the run. */
		wrc = writer_finish(wr, &write_s, dberr, sizeof(dberr));
		/* Without the thread the arms were written inside the arm loop: not simulation. */
		if (!overlapped)
			sim_s -= write_s;
		wr = NULL;
		db_wait_s = wall_now() - db_t0;
		if (wrc != VT_OK ||
		    store_complete_run(st, run_id, &res, dberr, sizeof(dberr)) != VT_OK) {
			fprintf(stderr, "sim: results database: %s (the run stays incomplete)\n", dberr);
			db_failed = true;
		} else if (!o->quiet && !o->json) {
			fprintf(stderr, "results: run %s in %s\n", run_id,
				o->db ? o->db : getenv("VTSIM_DB") ? getenv("VTSIM_DB") : "results.db");
		}
		store_close(st);
		st = NULL;
		db_s += wall_now() - db_t0;
		if (o->stats)
			/* Outside the simulation: what the results database costs the run. db_s is
			 * the time the run waited for it (opening, the run row, the arms the writer
			 * had not finished when the simulation ended, completing, closing), its share
			 * of the run's time db_share_pct; write_s the writer's time storing arms
			 * (overlapping the simulation on a second core), work_pct the share of all
			 * the database's work, waited for or not. */
			fprintf(stderr, "stats: database db_s %.4f simulate_s %.4f db_share_pct %.1f "
					"write_s %.4f work_pct %.1f\n",
				db_s, sim_s, 100.0 * db_s / (db_s + sim_s), write_s,
				100.0 * (db_s + write_s - db_wait_s) /
					(db_s + write_s - db_wait_s + sim_s));
	}
	if (o->json)
		results_print_json(&res, stdout);
	else
		results_print_table(&res, stdout);
	if (res.failed) {
		for (unsigned i = 0; i < res.nexpect; i++)
			if (!res.expect[i].held)
				fprintf(stderr, "%s:%u:%u: expectation failed: %s\n",
					res.expect[i].e->loc.file, res.expect[i].e->loc.line,
					res.expect[i].e->loc.col, res.expect[i].e->text);
		exit_code = EXIT_FAILED;
	}
	if (o->baseline || o->write_baseline) {
		char gerr[512];
		unsigned changes = 0;
		int grc = o->write_baseline ? gate_write(o->write_baseline, &res, gerr, sizeof(gerr))
					    : gate_compare(o->baseline, &res, stderr, &changes, gerr,
							   sizeof(gerr));

		if (grc != VT_OK) {
			fprintf(stderr, "sim: %s\n", gerr);
			exit_code = grc == VT_EINPUT ? EXIT_BADINPUT : EXIT_IOERR;
		} else if (changes) {
			if (exit_code == EXIT_HELD)
				exit_code = EXIT_FAILED;
		}
	}
	if (db_failed)
		exit_code = EXIT_IOERR; /* 3 wins over 1 */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "sim: writing the results failed: %s\n", strerror(errno));
		exit_code = EXIT_IOERR;
	}
out:
	/* An arm failed: the arms before it were written (the run stays 'running'). */
	if (wr && writer_finish(wr, NULL, dberr, sizeof(dberr)) != VT_OK)
		fprintf(stderr, "sim: results database: %s (the run stays incomplete)\n", dberr);
	if (trace && fclose(trace) != 0) {
		fprintf(stderr, "sim: writing trace %s failed: %s\n", o->trace, strerror(errno));
		exit_code = EXIT_IOERR;
	}
	results_free(&res);
	if (recs)
		for (unsigned i = 0; i < cfg.narms; i++)
			record_free(&recs[i]);
	free(recs);
	store_close(st);
	free(expanded);
	free(overrides);
	free(plugins);
	config_free(&cfg);
	scn_doc_free(&doc);
	return exit_code;
}

int main(int argc, char **argv)
{
	struct options o;
	int rc;

	memset(&o, 0, sizeof(o));
	if (argc >= 2 && strcmp(argv[1], "keys") == 0) {
		config_print_keys(stdout, argc >= 3 && strcmp(argv[2], "--markdown") == 0);
		return EXIT_HELD;
	}
	if (argc >= 2 && strcmp(argv[1], "list") == 0)
		return cmd_list();
	if (argc >= 2 && strcmp(argv[1], "calc") == 0)
		return calc_main(argc - 1, argv + 1, stdout, stderr);
	if (argc >= 2 && strcmp(argv[1], "report") == 0)
		return report_main(argc - 1, argv + 1, stdout, stderr);
	if (argc >= 2 && strcmp(argv[1], "check") == 0)
		return check_main(argc - 1, argv + 1, stdout, stderr);
	if (argc >= 2 && strcmp(argv[1], "replay") == 0)
		return replay_main(argc - 1, argv + 1, stdout, stderr);
	if (argc >= 2 && strcmp(argv[1], "sweep") == 0)
		return sweep_main(argc - 1, argv + 1, stdout, stderr);
	if (argc >= 2 && strcmp(argv[1], "merge") == 0)
		return merge_main(argc - 1, argv + 1, stdout, stderr);
	if (argc >= 2 && strcmp(argv[1], "run") == 0) {
		argv[1] = argv[0];
		argv++;
		argc--;
	}
	rc = parse_args(argc, argv, &o);
	if (rc < 0)
		rc = cmd_run(&o);
	free(o.arm);
	if (o.set) {
		for (unsigned i = 0; i < o.nset; i++)
			free((void *)(uintptr_t)o.set[i]);
		free(o.set);
	}
	return rc;
}
