/*
 * genv.h: the engine's record of one guest read in progress, and the stores of host page updates
 * in flight (sim/genv.c).
 */
#ifndef VT_GENV_H
#define VT_GENV_H

#include <setjmp.h>

#include "guest/reader.h"
#include "vt.h"

struct world;
struct vcpu_rt;

/* A read making more environment calls than this is abandoned as a livelock. */
#define GENV_MAX_CALLS 100000

struct pending_store {
	sim_ns at;          /* when it lands */
	void *dst;
	uint64_t value;
	uint8_t size;       /* 1, 2, 4 or 8 bytes */
	uint32_t owner;     /* the vCPU whose context issued it */
};

struct store_queue {
	struct pending_store *s; /* in issue order */
	unsigned n, cap;
};

/*
 * A scripted environment for unit tests of readers (and, later, the model checker): the reader
 * runs against the script's page and TSC, and the script's yield hook decides what concurrent
 * host stores land at each yield point.
 */
struct genv_script {
	void *ctx;
	unsigned vcpu;                     /* the reading vCPU */
	uint32_t kvm_features;             /* CPUID 0x40000001.EAX */
	u64 (*read_tsc)(void *ctx);        /* the guest TSC now */
	void (*yield)(void *ctx, enum vt_yield kind); /* every yield point, before it returns */
	struct pvclock_vcpu_time_info *(*pvti)(void *ctx, unsigned vcpu);
	struct ms_hyperv_tsc_page *(*hv_tsc_page)(void *ctx);
	u64 (*read_msr)(void *ctx, u32 msr);
	/* Optional, preferred over read_tsc: the TSC for an ordered (fenced) or plain rdtsc. */
	u64 (*rdtsc)(void *ctx, int ordered);
	/* Environment calls before the read counts as a livelock (0: GENV_MAX_CALLS). */
	uint64_t max_calls;
};

struct genv_read {
	const struct genv_script *script; /* non-NULL: scripted mode */
	struct world *w;
	struct vcpu_rt *v;
	sim_ns t;           /* the reader's own time: now + the cost of its calls so far */
	sim_ns t_tsc;       /* the instant of its last TSC read */
	bool tsc_read;
	bool livelock;      /* abandoned after GENV_MAX_CALLS calls */
	uint64_t calls;
	uint64_t max_calls; /* calls beyond this abandon the read (set once per read, not per call) */
	uint64_t msr_exits;
	jmp_buf abort;
};

/* Runs the arm's reader on vCPU v at w->now. */
enum read_status genv_read(struct world *w, struct vcpu_rt *v, struct genv_read *r,
			   uint64_t *ns);
/* Runs reader r once against a scripted environment; *livelock set when abandoned. */
enum read_status genv_read_scripted(struct reader *r, const struct genv_script *s, uint64_t *ns,
				    uint64_t *calls, bool *livelock);
/* The read in progress on this (coroutine's) stack, for a scheduler that switches between
 * reads mid-way (the model checker): save it before switching away, restore it after. */
struct genv_read *genv_current(void);
void genv_set_current(struct genv_read *r);
/* Lands the oldest store in flight, whatever its time (the model checker's host writer);
 * false when none is in flight. *landed (may be NULL) receives it. */
bool genv_land_oldest(struct world *w, struct pending_store *landed);
/* Lands every in-flight store due by t (the event loop calls it between events). */
void genv_land_due(struct world *w, sim_ns t);

#endif /* VT_GENV_H */
