/*
 * record.c: filling a run's recording (record.h): bounded appends, and the series sampler's
 * interval. Nothing here allocates per event after setup: the series buffer is sized once from
 * the run's length, the violation and timeline buffers are fixed caps.
 */
#include <stdlib.h>
#include <string.h>

#include "record.h"

int record_init(struct recording *r, sim_ns interval, sim_ns duration, unsigned nvcpus,
		unsigned narms)
{
	uint64_t ticks, per_arm = RECORD_MAX_SERIES / (narms ? narms : 1);

	memset(r, 0, sizeof(*r));
	if (interval == 0)
		interval = 1;
	/* Raise the interval until every vCPU's samples of this arm fit its share of the cap. */
	ticks = duration / interval + 1;
	if (ticks * nvcpus > per_arm) {
		uint64_t max_ticks = per_arm / (nvcpus ? nvcpus : 1);

		if (max_ticks < 2)
			max_ticks = 2;
		interval = duration / (max_ticks - 1) + 1;
		ticks = duration / interval + 1;
	}
	r->series_interval = interval;
	r->open_pause = RECORD_NO_PAUSE;
	r->cap_series = (uint32_t)(ticks * nvcpus);
	r->series = malloc((r->cap_series ? r->cap_series : 1) * sizeof(*r->series));
	r->viol = malloc(RECORD_MAX_VIOLATIONS * sizeof(*r->viol));
	r->tl = malloc(RECORD_MAX_TIMELINE * sizeof(*r->tl));
	if (!r->series || !r->viol || !r->tl) {
		record_free(r);
		return VT_ENOMEM;
	}
	return VT_OK;
}

void record_free(struct recording *r)
{
	free(r->series);
	free(r->viol);
	free(r->tl);
	memset(r, 0, sizeof(*r));
}

/* After an append: publish the counts of final rows (record.h) to a streaming reader. */
static void publish(struct recording *r)
{
	struct record_stream *s = r->stream;

	if (!s)
		return;
	atomic_store_explicit(&s->series, r->nseries, memory_order_release);
	atomic_store_explicit(&s->viol, r->nviol, memory_order_release);
	atomic_store_explicit(&s->tl, r->open_pause == RECORD_NO_PAUSE ? r->ntl : r->open_pause,
			      memory_order_release);
	if (++s->pending >= RECORD_STREAM_CHUNK) {
		s->pending = 0;
		s->notify(s->ctx);
	}
}

void record_series(struct recording *r, uint32_t vcpu, sim_ns t, uint64_t g, int64_t e)
{
	if (r->nseries < r->cap_series) {
		r->series[r->nseries++] = (struct series_row){ vcpu, t, g, e };
		publish(r);
	}
}

void record_violation(struct recording *r, const struct violation *v)
{
	if (r->nviol < RECORD_MAX_VIOLATIONS) {
		r->viol[r->nviol++] = *v;
		publish(r);
	} else {
		r->viol_dropped++;
	}
}

void record_timeline(struct recording *r, const struct timeline_event *e)
{
	if (r->ntl < RECORD_MAX_TIMELINE) {
		/* A pause's length is known at the resume: until then the entry is not final. */
		if (e->kind == TL_PAUSE && r->open_pause == RECORD_NO_PAUSE)
			r->open_pause = r->ntl;
		r->tl[r->ntl++] = *e;
		publish(r);
	} else {
		r->tl_dropped++;
	}
}

void record_pause_end(struct recording *r, sim_ns now)
{
	if (r->open_pause == RECORD_NO_PAUSE)
		return;
	r->tl[r->open_pause].length_ns = now - r->tl[r->open_pause].t_ns;
	r->open_pause = RECORD_NO_PAUSE;
	publish(r);
}
