/*
 * writer.h: the results writer (bin/sim). A thread that owns the results database while a run's
 * arms are simulated and stores each arm as it goes: the arm's row when it starts, its recorded
 * rows (series, violations, timeline) in chunks as they become final (record.h, streaming), and
 * the rest when it ends, each step a short transaction of its own (store.h: store_arm_begin,
 * store_arm_rows, store_arm_end). On a machine with a spare core the run then waits for the
 * database only for what was recorded in the last chunk of its last arm. The rows written are
 * those one store_finish_run would write; only the transactions differ.
 *
 * Between writer_start and writer_finish only the writer touches the store. When no thread can
 * be started, each arm is written whole at writer_arm_end, in the caller's thread.
 */
#ifndef VT_WRITER_H
#define VT_WRITER_H

#include "record.h"
#include "results.h"
#include "store.h"

struct writer;

/*
 * Starts a writer for run `run_id` in store s, for at most `narms` arms whose results will be
 * r->arms[0], [1], ... Returns VT_OK or VT_ENOMEM.
 */
int writer_start(struct writer **out, struct store *s, const char *run_id,
		 const struct results *r, unsigned narms);

/*
 * Arm r->arms[n] (n: the number of arms started before) named `name` starts, recording into rec
 * (NULL: nothing recorded). rec->stream is set: the recording must go on only through record.h's
 * functions, and rec must stay valid until writer_finish.
 */
void writer_arm_start(struct writer *w, const char *name, struct recording *rec);

/* The arm started last has ended: r->arms[n] is final and stays unchanged until writer_finish. */
void writer_arm_end(struct writer *w);

/* Whether a thread writes the arms while the run goes on (false: at writer_arm_end, in the
 * caller's thread, so that their time is part of the caller's). */
bool writer_overlaps(const struct writer *w);

/*
 * Waits until every ended arm is written (or the first failure), stops the thread and frees the
 * writer. An arm started and not ended (the run failed) keeps the rows written so far. Returns
 * VT_OK, or VT_EIO with err saying what failed (nothing is written after a failure). *busy_s
 * (may be NULL) gets the seconds spent in the database, in either thread.
 */
int writer_finish(struct writer *w, double *busy_s, char *err, size_t errlen);

#endif /* VT_WRITER_H */
