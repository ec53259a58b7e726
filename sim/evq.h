/*
 * evq.h: the pending-event set of the discrete-event simulation.
 *
 * Events are ordered by (time, seq): true time in ns, then the order in which they were pushed,
 * so that events at the same instant run in a deterministic order on every machine. The set is a
 * 4-ary min-heap of small fixed-size entries: a push or a pop is O(log n) moves of 24 bytes with
 * no allocation once the heap has grown to the simulation's working size (a few events per vCPU).
 *
 * A pop leaves a hole at the root instead of sifting the last entry down at once: the handler of
 * an event usually schedules its successor (the vCPU's next read), and that push then fills the
 * hole with one sift-down, where a pop and a push would sift twice. A peek or a pop with the hole
 * still open sifts the last entry down first. Which entry sits where in the array may differ from
 * an eager heap; the order of pops, a function of (time, seq) alone, does not.
 */
#ifndef VT_EVQ_H
#define VT_EVQ_H

#include "vt.h"

struct event {
	sim_ns time;
	uint64_t seq_kind; /* seq << 16 | kind: one compare orders ties by push order */
	uint32_t who;      /* the vCPU, host CPU or timer the event is for */
	uint32_t arg;      /* a small argument (a generation number, an index) */
};

#define EV_KIND_BITS 16

static inline unsigned event_kind(const struct event *e)
{
	return (unsigned)(e->seq_kind & ((1u << EV_KIND_BITS) - 1));
}

struct evq {
	struct event *heap;
	size_t n, cap;          /* n counts the hole when there is one */
	uint64_t next_seq;
	bool hole;              /* heap[0] was popped and not yet replaced */
};

void evq_init(struct evq *q);
void evq_free(struct evq *q);
/* Schedules an event; returns VT_OK or VT_ENOMEM. */
int evq_push(struct evq *q, sim_ns time, unsigned kind, uint32_t who, uint32_t arg);
/* Removes the earliest event into *out; false when the set is empty. */
bool evq_pop(struct evq *q, struct event *out);
static inline bool evq_empty(const struct evq *q) { return q->n == (size_t)q->hole; }
/* Closes the hole a pop left (the last entry sifted down from the root). */
void evq_fill_hole(struct evq *q);
/* The earliest pending time (the set must not be empty). */
static inline sim_ns evq_peek_time(struct evq *q)
{
	if (q->hole)
		evq_fill_hole(q);
	return q->heap[0].time;
}

#endif /* VT_EVQ_H */
