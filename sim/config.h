/*
 * config.h: a scenario resolved into typed values: what the engine builds a world from.
 *
 * config.c walks the parsed document (scenario.h) against one table of every known key (its
 * path, type, unit, default and meaning; `bin/sim keys` prints it and the README's reference is
 * that table), applies the assignments in order (later wins; --set last), and checks every name
 * and unit. Everything a run depends on is in here; nothing in the engine reads the document.
 */
#ifndef VT_CONFIG_H
#define VT_CONFIG_H

#include <stdio.h>

#include "guest/reader.h"
#include "host.h"
#include "migration.h"
#include "page.h"
#include "policy.h"
#include "rng.h"
#include "scenario.h"

/* A Poisson process of events on each vCPU with a duration distribution (I/O exits, stalls). */
struct proc_cfg {
	double rate;            /* events per second per vCPU; 0 disables */
	const struct dist *duration;
};

struct pause_cfg {
	sim_ns at;              /* true time the VM is paused */
	sim_ns length;          /* how long it stays paused */
};

enum sched_mode {
	SCHED_PINNED,  /* vCPUs never change host CPU */
	SCHED_RATE,    /* migrations at a rate; wakes after a stall may land elsewhere */
	SCHED_QUANTUM, /* a host scheduler: host CPUs run one vCPU thread at a time, round robin */
};

enum arrivals { ARRIVALS_POISSON, ARRIVALS_PERIODIC };

struct arm_cfg {
	const char *name;
	struct scn_loc loc;
	const struct policy_ops *policy;
	const struct page_ops *page;
	const struct reader_ops *reader;
	struct opt_set policy_opts, page_opts, reader_opts;
	const struct migration_ops *migration; /* the VMM's migration algorithm */
	struct opt_set migration_opts;
	struct scn_loc migration_loc;          /* where it was chosen (the arm when defaulted) */
	/* The arm's own config when it overrides host/vm/sched/workload keys, else NULL. */
	const struct config *cfg;
	/* A reader plugin (reader = "file.c"): its object and hash; NULL otherwise. */
	const struct plugin_info *plugin;
	const char *reader_name;   /* as written: a built-in's name or the plugin's path */
};

struct config {
	const char *name;       /* scenario name (default: the file name without .scn) */
	const char *path;       /* scenario file */
	uint64_t seed;
	sim_ns duration;

	struct host_cfg host;   /* host.cpu points into cpus */
	struct host_cpu_cfg *cpus;
	struct {
		unsigned n;
		struct pause_cfg *at;   /* SMI-like stalls of all CPUs */
	} host_smis;
	struct {
		unsigned n;
		struct { sim_ns at; int64_t delta; } *at; /* host clock steps */
	} host_steps;
	struct {
		bool tick;              /* guest timers fire at the host's next tick */
		sim_ns slack;           /* hrtimer slack */
	} host_timer;

	struct {
		unsigned nvcpus;
		uint64_t tsc_hz;        /* told to the guest; default host cpu 0's nominal */
		unsigned *placement;    /* initial host CPU of each vCPU */
		struct proc_cfg io, paging;
		unsigned npauses;
		struct pause_cfg *pauses;
	} vm;

	struct {
		enum sched_mode mode;
		sim_ns quantum;
		double migrate_rate;    /* per vCPU per second (rate mode) */
		const struct dist *migrate_gap;
		double wake_migrate;    /* probability a wake lands on another CPU (rate mode) */
	} sched;

	struct {
		double read_rate;       /* free reads per vCPU per second */
		enum arrivals arrivals;
		sim_ns read_cost;       /* simulated time one read takes */
		double locked_rate;     /* lock-ordered reads per vCPU per second */
		double hop_read_rate;   /* the hopping task's reads per second (0: no hopper) */
		double hop_rate;        /* its hops to another vCPU per second */
		double sleep_rate;      /* guest sleeps per vCPU per second */
		const struct dist *sleep_length;
	} workload;

	struct {
		bool on;                /* guest.ntp: the guest disciplines its clock (discipline.c) */
		sim_ns poll;            /* poll interval */
		int64_t slew_limit_ppb; /* the kernel's maximum slew rate */
		double gain;            /* fraction of the offset slewed away per poll (phase) */
		double freq_gain;       /* fraction of the offset per poll folded into frequency */
		sim_ns step_threshold;  /* offsets above it are stepped */
	} guest_ntp;

	struct {
		sim_ns margin;          /* 0: no watchdog */
		sim_ns interval;
	} guest_wd;

	struct {
		sim_ns sample_interval; /* vCPU-skew and drift sampling */
		sim_ns jump_threshold;  /* smallest guest-vs-true step counted by lost_time_ns */
		sim_ns series_interval; /* results database: per-vCPU clock samples */
	} metrics;

	struct {
		bool on;                /* host.outer.at set: the outer hypervisor moves this host */
		sim_ns at, downtime;
		uint64_t freq_hz;       /* the destination's TSC frequency (no scaling) */
		bool reenlighten;       /* Hyper-V TSC emulation + re-enlightenment notification */
		sim_ns delay;           /* notification to update (HZ/10 in Linux) */
	} outer;

	struct {
		bool on;                /* migration.at set */
		sim_ns at;              /* the first migration (ats[0]) */
		sim_ns *ats;            /* every migration's stop, in time order (n of them) */
		unsigned n;
		sim_ns downtime, vcpu_gap;
		bool same_host;         /* migration.to = same: snapshot restore on the host */
	} migration;
	struct check_cfg {
		bool on;                /* any check.* key set */
		unsigned reads;         /* per reading vCPU */
		sim_ns start;           /* the readers start this long after boot */
		unsigned *readers, nreaders;
		unsigned updates, stalls;
		uint32_t update_khz;    /* a recalibration step before each update */
		sim_ns stall_length;
		bool migrate, unfenced;
		unsigned props;         /* 1 << CHKP_* (sim/chkmodel.h) */
		sim_ns bound;
		unsigned max_calls;
		bool expect_violation;
		int strategy;           /* enum chk_strategy */
		unsigned max_deviations, pct_depth;
		uint64_t schedules;
		sim_ns time_budget;
		bool hash;
	} check;
	struct host_cfg host2;          /* the destination (migration.to = host2) */
	struct config *host2_cfg;       /* private: the config host2 was built in */

	unsigned narms;
	struct arm_cfg *arms;
	unsigned nexpect;
	const struct scn_expect *expect; /* owned by the document */

	void *arena;            /* private: everything above is allocated here */
};

/*
 * Builds `cfg` from a parsed document; the config points into the document (arm names, expect
 * clauses), so the document must outlive it. Returns VT_OK, VT_EINPUT (err says where and what: an
 * unknown key, a wrong unit, an unknown layer or metric) or VT_ENOMEM.
 */
int config_build(struct config *cfg, const struct scn_doc *doc, const char *path,
		 struct scn_error *err);
void config_free(struct config *cfg);

/* "arm=hash" (16 hex digits) per arm whose reader is a plugin, one per line (malloc'd; NULL when
 * out of memory): what a run or a trail records to pin the plugins' code. */
char *config_plugin_lines(const struct config *cfg);

/* Prints the key reference (every key: type, unit, default, meaning); markdown when md. */
void config_print_keys(FILE *out, bool md);

#endif /* VT_CONFIG_H */
