/*
 * testutil.h: helpers shared by the test suites: run a scenario given as text, arm by arm, and
 * keep what the world measured.
 */
#ifndef VT_TESTUTIL_H
#define VT_TESTUTIL_H

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "scenario.h"
#include "world.h"

#define TU_MAX_ARMS 8
#define TU_MAX_VCPUS 64

struct tu_run {
	struct scn_doc doc;
	struct config cfg;
	struct scn_error err;
	int rc;                                   /* of parse + config_build */
	unsigned narms;
	int64_t m[TU_MAX_ARMS][M_COUNT];
	struct load_stats load[TU_MAX_ARMS];
	struct vcpu_metrics vm[TU_MAX_ARMS][TU_MAX_VCPUS];
	uint64_t migrations[TU_MAX_ARMS][TU_MAX_VCPUS];
	sim_ns migrated_off[TU_MAX_ARMS][TU_MAX_VCPUS];
	sim_ns off_cpu[TU_MAX_ARMS][TU_MAX_VCPUS];
	uint64_t events[TU_MAX_ARMS];
};

/* Parses and builds `text` (named "t.scn"); returns the VT_* code, message in r->err. */
static inline int tu_build(struct tu_run *r, const char *text)
{
	memset(r, 0, sizeof(*r));
	scn_doc_init(&r->doc);
	r->rc = scn_parse_text(&r->doc, "t.scn", text, strlen(text), false, &r->err);
	if (r->rc == VT_OK)
		r->rc = config_build(&r->cfg, &r->doc, "t.scn", &r->err);
	return r->rc;
}

/* Builds and runs every arm; fails the test on any error. */
static inline void tu_run_text(struct tu_run *r, const char *text)
{
	int rc = tu_build(r, text);

	ck_assert_msg(rc == VT_OK, "scenario failed to build: %s", r->err.msg);
	ck_assert_uint_le(r->cfg.narms, TU_MAX_ARMS);
	ck_assert_uint_le(r->cfg.vm.nvcpus, TU_MAX_VCPUS);
	r->narms = r->cfg.narms;
	for (unsigned a = 0; a < r->cfg.narms; a++) {
		struct world w;

		ck_assert_int_eq(world_init(&w, &r->cfg, &r->cfg.arms[a], NULL), VT_OK);
		ck_assert_int_eq(world_run(&w), VT_OK);
		metrics_finish(&w.metrics, r->m[a]);
		r->load[a] = w.load;
		r->events[a] = w.events;
		for (unsigned v = 0; v < r->cfg.vm.nvcpus; v++) {
			r->vm[a][v] = w.metrics.v[v];
			r->migrations[a][v] = w.vcpus[v].migrations;
			r->migrated_off[a][v] = w.vcpus[v].migrated_off_ns;
			r->off_cpu[a][v] = w.vcpus[v].off_cpu_ns;
		}
		world_free(&w);
	}
}

/* Removes a test's scratch directory (from mkdtemp) and the files in it (no subdirectories). */
static inline void tu_remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char p[600];

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static inline void tu_free(struct tu_run *r)
{
	if (r->rc == VT_OK)
		config_free(&r->cfg);
	scn_doc_free(&r->doc);
}

#endif /* VT_TESTUTIL_H */
