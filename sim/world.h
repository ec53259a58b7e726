/*
 * world.h: one simulated world: the host, the VM and its vCPUs, the workload, one arm's layers
 * (TSC policy, clock page, guest reader), the metrics, and the pending events that drive them.
 *
 * A world is built from a config and one arm, run to the scenario's duration, and torn down.
 * Every arm of a scenario runs in a world of its own built from the same config and seed; the
 * host, the scheduler and the workload draw from PRNG streams that no layer can perturb, so each
 * arm sees the same migrations, stalls and read requests (common random numbers).
 *
 * Internal to sim/: world.c (build, loop, choice point, timers), vcpu.c (the vCPU state machine
 * and the host scheduler), workload.c (read streams).
 */
#ifndef VT_WORLD_H
#define VT_WORLD_H

#include <stdio.h>

#include "config.h"
#include "discipline.h"
#include "evq.h"
#include "genv.h"
#include "metrics.h"
#include "migration.h"
#include "record.h"
#include "watchdog.h"

/* Event kinds. */
enum ev_kind {
	EV_END,          /* the end of the run */
	EV_READ,         /* who = vCPU: a free read request */
	EV_LOCKED_READ,  /* who = vCPU: a lock-ordered read request */
	EV_HOP_READ,     /* the hopping task's read request */
	EV_HOP,          /* the hopping task moves to another vCPU */
	EV_READ_RETRY,   /* who = vCPU: serve pending reads once the vCPU is free */
	EV_IO_START,     /* who = vCPU: an I/O exit to the VMM begins */
	EV_IO_END,       /* who = vCPU, arg = generation */
	EV_STALL_START,  /* who = vCPU: an EPT stall (paging) begins */
	EV_STALL_END,    /* who = vCPU, arg = generation */
	EV_MIGRATE,      /* who = vCPU: rate-mode migration: leave the CPU */
	EV_RESCHED,      /* who = vCPU, arg = generation: back on a CPU after a migration gap */
	EV_QUANTUM,      /* who = host CPU: quantum expiry (quantum mode) */
	EV_PAUSE,        /* arg = index of the pause */
	EV_RESUME,
	EV_HOST_CHANGE,  /* who = host CPU, arg = index of its configured event */
	EV_WANDER,       /* who = host CPU */
	EV_SAMPLE,       /* metrics sampler tick */
	EV_TIMER,        /* who = timer slot */
	EV_SERIES,       /* the recording's series sampler tick */
	EV_SMI,          /* arg = index of the SMI: every CPU stalls */
	EV_SLEEP,        /* who = vCPU: the guest arms a sleep */
	EV_NTP_POLL,     /* the guest's clock discipline polls its server */
	EV_WATCHDOG,     /* the guest's clocksource watchdog */
	EV_HOST_STEP,    /* arg = index: the host's clock steps */
	EV_MIG_STOP,     /* the VM stops for a migration (migration.at) */
	EV_MIG_RESTORE,  /* who = vCPU: its TSC is restored on the destination */
	EV_OUTER_STOP,   /* the outer hypervisor stops the (nested) host to migrate it */
	EV_OUTER_MOVE,   /* arg = 1 with re-enlightenment: the host's TSC runs at the new rate */
	EV_KIND_COUNT
};

/* Choice kinds: which PRNG stream answers in simulation (the model checker answers later). */
enum choice_kind {
	CH_READ,          /* index: vCPU; free read arrivals */
	CH_LOCKED,        /* index: vCPU; locked read arrivals */
	CH_HOP,           /* hopping task: arrivals, hops, targets */
	CH_IO,            /* index: vCPU; I/O exit arrivals and durations */
	CH_PAGING,        /* index: vCPU; stall arrivals and durations */
	CH_SCHED,         /* index: vCPU; migration arrivals, gaps, targets, wake placement */
	CH_HOST,          /* index: host CPU; wander steps */
	CH_QUANTUM,       /* quantum timer phases */
	CH_SLEEP,         /* index: vCPU; guest sleep arrivals and lengths */
	CH_KIND_COUNT
};

/* Why pending reads wait: bits of vcpu_rt.pending. */
#define PEND_FREE 1u
#define PEND_LOCKED 2u
#define PEND_HOP 4u

/* The engine's private record of a vCPU (the public part is struct vcpu, first member). */
struct vcpu_rt {
	struct vcpu pub;
	uint32_t gen;            /* bumped at every transition that cancels a pending completion */
	unsigned pending;        /* PEND_* reads waiting for the vCPU to run */
	sim_ns busy_until;       /* a read in progress until then */
	bool retry_armed;        /* an EV_READ_RETRY is pending for this vCPU */
	bool series_pending;     /* read since the last series tick */
	bool preempt_pending;    /* quantum expired during an I/O exit */
	bool migrate_pending;    /* rate mode: the gap ends on another CPU */
	bool in_runq;
	bool resume_runnable;    /* paused while it could run: runnable at resume */
	/* Load statistics (identical across arms). */
	uint64_t migrations;     /* entries on a different host CPU than the last */
	uint64_t io_exits, stalls, preemptions;
	sim_ns off_cpu_since;    /* when it last left guest mode */
	sim_ns off_cpu_ns;       /* total true time not executing guest code */
	sim_ns migrated_off_ns;  /* of which in intervals that ended on another host CPU */
	unsigned last_entry_pcpu;
	bool entered;
};

struct timer_slot {
	const void *layer;       /* the policy or page instance that armed it */
	uint32_t arg;
	bool used;
};

struct load_stats {
	uint64_t events, migrations, io_exits, stalls, preemptions;
	uint64_t dropped_arrivals; /* I/O, stall or migration arrivals while the vCPU could not take them */
	uint64_t livelocks;        /* reads abandoned after GENV_MAX_CALLS environment calls */
	uint64_t msr_exits;        /* VM exits taken by readers (MSR reads, trapped RDTSC) */
	uint64_t sleeps;           /* guest sleeps delivered */
	sim_ns off_cpu_ns;
	sim_ns migrated_off_ns;    /* off-CPU time in intervals that ended on another host CPU */
};

struct world {
	const struct config *cfg;
	const struct arm_cfg *arm;
	struct evq q;
	sim_ns now;

	struct host host;        /* the host the VM runs on (the destination after a migration) */
	struct host host2;       /* the other host (migration.to = host2): swapped at the move */
	bool has_host2;
	unsigned host_epoch;     /* moves so far (odd: the VM is on host2): a wander event of
				    another epoch is stale */
	bool *quantum_live;      /* per host CPU: a quantum tick is pending (quantum mode) */
	struct vm vm;
	struct vcpu_rt *vcpus;
	struct rng *streams;     /* CH_KIND_COUNT * max(nvcpus, ncpus) streams */
	unsigned stream_stride;

	/* Host scheduler (quantum mode): which vCPU each host CPU runs, and the run queue. */
	int *cpu_owner;          /* vCPU index or -1 */
	unsigned *runq;
	unsigned runq_head, runq_len;

	/* The arm's layers. */
	struct policy policy;
	struct page page;
	struct reader reader;
	struct migration mig;    /* the VMM's migration algorithm */
	sim_ns mig_stop_t;       /* when the VM stopped for the migration in progress */
	uint64_t *mig_tsc;       /* [nvcpus]: each vCPU's guest TSC at that stop */
	struct genv_read read;   /* the read in progress */
	struct store_queue stores; /* host page stores in flight */

	/* Workload. */
	unsigned hop_vcpu;
	sim_ns period_read, period_locked; /* periodic arrivals: the streams' periods (ns) */
	sim_ns lock_busy_until;

	struct metrics metrics;
	struct load_stats load;
	struct recording *rec;   /* series, violations, timeline; NULL when not recording */
	int32_t chain_last_vcpu[CHAIN_COUNT];

	struct timer_slot *timers;
	unsigned ntimers, cap_timers;

	bool paused;
	sim_ns frozen_until;     /* an SMI: no guest code runs before this instant */
	struct discipline discipline; /* guest.ntp: the correction added to every guest read */
	struct watchdog wd;      /* the guest's clocksource watchdog */
	uint64_t wd_boot_ns;     /* the host raw clock at guest boot (the reference's zero) */
	/* Called after every event when set (tests check the state machine's invariants). */
	void (*after_event)(struct world *w, void *ctx);
	void *after_ctx;
	/* Progress callback for long runs (called every 2^20 events; outside the simulation). */
	void (*progress)(struct world *w, void *ctx);
	void *progress_ctx;
	FILE *trace;             /* --trace, or NULL */
	uint64_t events;
	int error;               /* VT_* of the first internal failure; stops the run */
};

/* Builds a world for arm `arm` of cfg. Returns VT_OK or VT_ENOMEM / VT_EINPUT. */
int world_init(struct world *w, const struct config *cfg, const struct arm_cfg *arm, FILE *trace);
/* Runs the world to cfg->duration. Returns VT_OK or the first internal error. */
int world_run(struct world *w);
void world_free(struct world *w);

/* Every nondeterministic decision: a uniform integer in [0, n), or a raw word when n == 0. */
uint64_t sim_choose(struct world *w, enum choice_kind kind, unsigned index, uint64_t n);
/* A distribution draw / Poisson interval through the choice point. */
uint64_t world_draw(struct world *w, enum choice_kind kind, unsigned index, const struct dist *d);
sim_ns world_interval(struct world *w, enum choice_kind kind, unsigned index, double rate);

/* Schedules an event (errors are recorded in w->error). */
void world_push(struct world *w, sim_ns t, enum ev_kind kind, uint32_t who, uint32_t arg);

/* The scenario's migration, all at once from w->now (the model checker's environment): the stop,
 * each vCPU's restore at its instant (w->now moves to the last), the judgement, the resume. */
void world_migrate_now(struct world *w);

/* vcpu.c */
int vcpu_setup(struct world *w);
void vcpu_boot(struct world *w);
void vcpu_handle(struct world *w, const struct event *e);
void vcpu_pause_vm(struct world *w);
void vcpu_resume_vm(struct world *w);
/* Called by the state machine when a vCPU starts executing guest code. */
void workload_on_run(struct world *w, struct vcpu_rt *v);

/* workload.c */
void workload_start(struct world *w);
void workload_handle(struct world *w, const struct event *e);

/* Trace one line (--trace). */
void world_trace(struct world *w, const char *kind, int pcpu, int vcpu, const char *fmt, ...)
	VT_PRINTF(5, 6);

#endif /* VT_WORLD_H */
