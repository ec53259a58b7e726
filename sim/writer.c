/*
 * writer.c: the results writer thread (sim/writer.h).
 *
 * One mutex guards the hand-over between the simulating thread and the writer: `started` (arms
 * begun), each slot's `ended`, `gen` (bumped at every start, chunk and end, so that the writer
 * sleeps until there is something new) and `stop`. The recorded rows themselves are handed over
 * without the lock, through the recording's published counts (release stores after the rows,
 * acquire loads here: record.h). Everything else the writer changes (its position, rc, err,
 * busy_s) is its own until pthread_join.
 *
 * The rows stored do not depend on timing: arm_key is assigned when an arm starts, arms start in
 * order, seq is a row's index in its recording, and only rows that will never change are read
 * before an arm ends. A run therefore stores the same rows whether the writer kept up, fell
 * behind, or never started a thread.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "util.h"
#include "writer.h"

/* One arm, from writer_arm_start on. */
struct slot {
	const char *name;
	struct recording *rec;        /* NULL: nothing recorded */
	struct record_stream stream;  /* rec->stream */
	bool ended;                   /* under mu */
};

struct writer {
	struct store *s;
	const char *run_id;
	const struct results *r;
	struct slot *slot;            /* narms */
	unsigned narms;
	bool threaded;                /* false: pthread_create failed, arms are written at their end */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned started;             /* arms started (under mu when threaded) */
	bool overflow;                /* an arm started beyond narms: its end is ignored too */
	bool overlap;                 /* the thread started: arms are written during the run */
	uint64_t gen;                 /* bumped at every hand-over (under mu) */
	bool stop;                    /* writer_finish was called (under mu) */
	int rc;                       /* VT_OK, or the first failure (the writer's) */
	char err[768];
	double busy_s;                /* seconds inside the store (the writer's) */
};

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The rows of slot sl that are final now. */
static struct record_pos published(struct slot *sl)
{
	struct record_pos p = {
		atomic_load_explicit(&sl->stream.series, memory_order_acquire),
		atomic_load_explicit(&sl->stream.viol, memory_order_acquire),
		atomic_load_explicit(&sl->stream.tl, memory_order_acquire),
	};

	return p;
}

/* The recording of the arm being written reached another chunk (called by record.c). */
static void notify(void *ctx)
{
	struct writer *w = ctx;

	pthread_mutex_lock(&w->mu);
	w->gen++;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Where the writer is: the arm it is on, whether its row is in, and how far its rows are. */
struct cursor {
	unsigned arm;
	bool begun;
	int64_t key;
	struct record_pos done;
};

/* One step on the current arm (outside the lock): its row, its final rows, or its end. */
static void step(struct writer *w, struct cursor *c, bool ended)
{
	struct slot *sl = &w->slot[c->arm];
	double t0 = mono_now();

	if (w->rc != VT_OK) {
		/* Nothing more is written after a failure; the arms are still consumed. */
	} else if (!c->begun) {
		w->rc = store_arm_begin(w->s, w->run_id, c->arm, sl->name, &c->key, w->err,
					sizeof(w->err));
	} else if (ended) {
		w->rc = store_arm_end(w->s, w->run_id, c->key, &w->r->arms[c->arm], sl->rec,
				      &c->done, w->err, sizeof(w->err));
	} else if (sl->rec) {
		struct record_pos upto = published(sl);

		if (upto.series != c->done.series || upto.viol != c->done.viol ||
		    upto.tl != c->done.tl)
			w->rc = store_arm_rows(w->s, w->run_id, sl->name, c->key, sl->rec, &c->done,
					       &upto, w->err, sizeof(w->err));
	}
	w->busy_s += mono_now() - t0;
	if (!c->begun) {
		c->begun = true;
	} else if (ended) {
		*c = (struct cursor){ c->arm + 1, false, 0, { 0, 0, 0 } };
	}
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct cursor c = { 0, false, 0, { 0, 0, 0 } };
	uint64_t seen = 0;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		bool have = c.arm < w->started;
		bool ended = have && w->slot[c.arm].ended;

		/* Stopped: every ended arm is written; an arm that never ended is left as it is. */
		if (w->stop && (!have || (c.begun && !ended)))
			break;
		/* Nothing new: no arm to begin or end, no chunk since the last look. */
		if (!have || (c.begun && !ended && w->gen == seen)) {
			pthread_cond_wait(&w->cv, &w->mu);
			continue;
		}
		seen = w->gen;
		pthread_mutex_unlock(&w->mu);
		step(w, &c, ended);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int writer_start(struct writer **out, struct store *s, const char *run_id,
		 const struct results *r, unsigned narms)
{
	struct writer *w = calloc(1, sizeof(*w));

	*out = NULL;
	if (w)
		w->slot = calloc(narms ? narms : 1, sizeof(*w->slot));
	if (!w || !w->slot) {
		free(w);
		return VT_ENOMEM;
	}
	w->s = s;
	w->run_id = run_id;
	w->r = r;
	w->narms = narms;
	w->rc = VT_OK;
	/* Without a thread (no resources for one) the run still stores everything, serially. */
	if (pthread_mutex_init(&w->mu, NULL) == 0) {
		if (pthread_cond_init(&w->cv, NULL) == 0) {
			w->threaded = pthread_create(&w->thread, NULL, writer_main, w) == 0;
			w->overlap = w->threaded;
			if (!w->threaded)
				pthread_cond_destroy(&w->cv);
		}
		if (!w->threaded)
			pthread_mutex_destroy(&w->mu);
	}
	*out = w;
	return VT_OK;
}

void writer_arm_start(struct writer *w, const char *name, struct recording *rec)
{
	struct slot *sl;

	if (w->started >= w->narms) {
		w->overflow = true; /* more arms than announced: a caller's bug, never stored */
		return;
	}
	sl = &w->slot[w->started];
	sl->name = name;
	sl->rec = rec;
	if (!w->threaded) {
		w->started++;
		return;
	}
	if (rec) {
		sl->stream.notify = notify;
		sl->stream.ctx = w;
		rec->stream = &sl->stream;
	}
	pthread_mutex_lock(&w->mu);
	w->started++;
	w->gen++;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void writer_arm_end(struct writer *w)
{
	unsigned i = w->started - 1;

	if (w->started == 0 || w->overflow) {
		w->overflow = false;
		return;
	}
	if (!w->threaded) {
		double t0 = mono_now();

		if (w->rc == VT_OK)
			w->rc = store_put_arm(w->s, w->run_id, i, &w->r->arms[i], w->slot[i].rec,
					      w->err, sizeof(w->err));
		w->busy_s += mono_now() - t0;
		return;
	}
	pthread_mutex_lock(&w->mu);
	w->slot[i].ended = true;
	w->gen++;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

bool writer_overlaps(const struct writer *w)
{
	return w->overlap;
}

int writer_finish(struct writer *w, double *busy_s, char *err, size_t errlen)
{
	int rc;

	if (w->threaded) {
		pthread_mutex_lock(&w->mu);
		w->stop = true;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
	}
	/* The recordings outlive the writer: they no longer stream. */
	for (unsigned i = 0; i < w->started; i++)
		if (w->slot[i].rec)
			w->slot[i].rec->stream = NULL;
	rc = w->rc;
	if (rc != VT_OK)
		snprintf(err, errlen, "%s", w->err);
	if (busy_s)
		*busy_s = w->busy_s;
	free(w->slot);
	free(w);
	return rc;
}
