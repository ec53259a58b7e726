/*
 * evq.c: the pending-event set, a 4-ary min-heap keyed by (time, seq).
 *
 * A 4-ary heap halves the depth of a binary heap and keeps a node's children in one 96-byte
 * stretch, which suits a set that is small (tens of events) but pushed and popped once per
 * simulated event. Ties in time are broken by the push sequence number, which is unique, so the
 * order is total and independent of the heap's internal layout.
 */
#include <stdlib.h>

#include "evq.h"

static inline bool before(const struct event *a, const struct event *b)
{
	return a->time < b->time || (a->time == b->time && a->seq_kind < b->seq_kind);
}

void evq_init(struct evq *q)
{
	q->heap = NULL;
	q->n = q->cap = 0;
	q->next_seq = 0;
	q->hole = false;
}

/* Places e at index i (a hole, or the root being replaced) and sifts it down among n entries. */
static inline __attribute__((always_inline)) void sift_down(struct event *heap, size_t n,
							      size_t i, struct event e)
{
	for (;;) {
		size_t c = 4 * i + 1, best, end;

		if (c >= n)
			break;
		best = c;
		end = c + 4 < n ? c + 4 : n;
		for (c = c + 1; c < end; c++)
			if (before(&heap[c], &heap[best]))
				best = c;
		if (!before(&heap[best], &e))
			break;
		heap[i] = heap[best];
		i = best;
	}
	heap[i] = e;
}

void evq_fill_hole(struct evq *q)
{
	size_t n = --q->n;

	q->hole = false;
	if (n > 0)
		sift_down(q->heap, n, 0, q->heap[n]);
}

void evq_free(struct evq *q)
{
	free(q->heap);
	evq_init(q);
}

int evq_push(struct evq *q, sim_ns time, unsigned kind, uint32_t who, uint32_t arg)
{
	struct event e;
	size_t i;

	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64;
		struct event *h = realloc(q->heap, cap * sizeof(*h));

		if (!h)
			return VT_ENOMEM;
		q->heap = h;
		q->cap = cap;
	}
	e.time = time;
	e.seq_kind = (q->next_seq++ << EV_KIND_BITS) | kind;
	e.who = who;
	e.arg = arg;
	if (q->hole) {
		/* The new entry takes the popped root's place: one sift-down. */
		q->hole = false;
		sift_down(q->heap, q->n, 0, e);
		return VT_OK;
	}
	/* Sift up: move parents down until e's place is found. */
	i = q->n++;
	while (i > 0) {
		size_t parent = (i - 1) / 4;

		if (!before(&e, &q->heap[parent]))
			break;
		q->heap[i] = q->heap[parent];
		i = parent;
	}
	q->heap[i] = e;
	return VT_OK;
}

bool evq_pop(struct evq *q, struct event *out)
{
	if (q->hole)
		evq_fill_hole(q);
	if (q->n == 0)
		return false;
	*out = q->heap[0];
	q->hole = true; /* the next push, peek or pop closes it */
	return true;
}
