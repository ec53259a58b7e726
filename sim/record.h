/*
 * record.h: what a run keeps for the results store and the report beyond its metrics: a sampled
 * time series of every vCPU's clock, the violations (warps, backsteps) with their context, and a
 * timeline of the load (migrations, stalls, I/O exits, pauses). Each is bounded: the series by
 * raising the sampling interval so that a run never exceeds RECORD_MAX_SERIES rows, the others by
 * a cap per run with a count of what was dropped. Memory is therefore bounded whatever the run
 * length. Filled by the engine (sim/record.c) only when a results database is in use.
 */
#ifndef VT_RECORD_H
#define VT_RECORD_H

#include <stdatomic.h>

#include "vt.h"

#define RECORD_MAX_SERIES 200000u     /* series rows per run (all arms, all vCPUs) */
#define RECORD_MAX_VIOLATIONS 1000u   /* per arm */
#define RECORD_MAX_TIMELINE 20000u    /* per arm */

/* One sample of one vCPU's clock: its latest read as of the sample tick. */
struct series_row {
	uint32_t vcpu;
	sim_ns t_ns;        /* true time of that read */
	uint64_t guest_ns;  /* what the guest clock returned */
	int64_t error_ns;   /* guest - true */
};

enum violation_kind { VIOL_WARP, VIOL_BACKSTEP };

struct violation {
	enum violation_kind kind;
	sim_ns t_ns;        /* true time of the offending read */
	uint32_t vcpu, pcpu;
	int32_t prev_vcpu;  /* the vCPU of the previous read in the chain (warps), or -1 */
	uint64_t prev_ns;   /* the previous value */
	uint64_t value_ns;  /* the offending value */
	const char *chain;  /* "lock", "hop" (warps) or NULL */
};

enum timeline_kind { TL_MIGRATION, TL_STALL, TL_IO_EXIT, TL_PREEMPT, TL_PAUSE };

struct timeline_event {
	enum timeline_kind kind;
	sim_ns t_ns;        /* when it began */
	sim_ns length_ns;   /* how long (migration: the off-CPU gap; 0 when not known) */
	int32_t vcpu;       /* -1 for VM-wide events (pause) */
	int32_t from_cpu, to_cpu;
};

/*
 * Streaming (bin/sim's results writer, sim/writer.h): another thread stores a recording's rows
 * while the arm still runs. The rows below the published counts are final: written once, never
 * changed again (a pause's timeline entry is held back until the pause ends and its length is
 * known). The counts are stored with release order after the rows, so a reader that loads them
 * with acquire order sees the rows. notify is called in the simulating thread each time
 * RECORD_STREAM_CHUNK more rows were appended.
 */
#define RECORD_STREAM_CHUNK 2048u

struct record_stream {
	_Atomic uint32_t series, viol, tl;   /* published counts */
	uint32_t pending;                    /* rows appended since the last notify */
	void (*notify)(void *ctx);
	void *ctx;
};

#define RECORD_NO_PAUSE UINT32_MAX

/* A position in a recording: rows [0, series), [0, viol), [0, tl) of each kind. */
struct record_pos {
	uint32_t series, viol, tl;
};

struct recording {
	sim_ns series_interval;       /* the interval actually used */
	struct series_row *series;
	uint32_t nseries, cap_series;
	struct violation *viol;
	uint32_t nviol;
	uint64_t viol_dropped;
	struct timeline_event *tl;
	uint32_t ntl;
	uint64_t tl_dropped;
	uint32_t open_pause;          /* the index of the pause entry still open, RECORD_NO_PAUSE */
	struct record_stream *stream; /* NULL: nobody reads the rows before the arm ends */
};

/*
 * Sets up a recording for one arm of a run of `duration` with nvcpus vCPUs, sampling every
 * `interval` or coarser (the series of all narms arms together stay within RECORD_MAX_SERIES).
 */
int record_init(struct recording *r, sim_ns interval, sim_ns duration, unsigned nvcpus,
		unsigned narms);
void record_free(struct recording *r);
void record_series(struct recording *r, uint32_t vcpu, sim_ns t, uint64_t g, int64_t e);
void record_violation(struct recording *r, const struct violation *v);
void record_timeline(struct recording *r, const struct timeline_event *e);
/* The VM resumed at `now`: the open pause entry (if it was recorded) gets its length. */
void record_pause_end(struct recording *r, sim_ns now);

static inline const char *timeline_kind_name(enum timeline_kind k)
{
	static const char *const n[] = { "migration", "stall", "io-exit", "preempt", "pause" };

	return n[k];
}

#endif /* VT_RECORD_H */
