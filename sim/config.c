/*
 * config.c: from a parsed scenario document to a typed struct config.
 *
 * One table, `keys`, lists every key a scenario may set: its dotted path, type, unit, default
 * and meaning. Resolution is "last assignment wins" in document order (includes in place, --set
 * overrides last); a per-CPU key may be set for one CPU (`host.cpu[2].skew_ppm = 40ppm`), for all
 * (`host.cpu.skew_ppm = 10ppm`) or per CPU by a list (`host.cpu.skew_ppm = [10, -20, 5, 0]`),
 * the latest of these winning for each CPU. Every assignment must match a key, every value its
 * type and unit, every arm layer and expect reference a known name; the first violation is
 * reported as `file:line:col: message` and the build fails with VT_EINPUT.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "metrics.h"
#include "plugin.h"
#include "registry.h"

enum key_type {
	K_INT,     /* non-negative integer count */
	K_U64,     /* any 64-bit unsigned integer (the seed) */
	K_TIME,    /* ns */
	K_FREQ,    /* Hz */
	K_PPM,     /* stored as ppb */
	K_CYCLES,
	K_RATE,    /* events per second (also written in Hz) */
	K_PROB,    /* a probability in [0, 1] */
	K_ENUM,
	K_DIST,    /* a distribution of durations */
	K_STRING,
	K_PLACEMENT, /* list of host CPU indices */
	K_RATE_CHANGES, /* list of (time, frequency) */
	K_RESETS,    /* list of (time, cycles) */
	K_PAUSES,    /* list of (time, duration) */
	K_STEPS,     /* list of (time, signed time) */
	K_LAYER,     /* arm layer name */
	K_IDENTS,    /* list of names */
	K_TIMES,     /* a time, or a list of times */
};

struct key_desc {
	const char *path;   /* "host.cpu[].freq": [] marks the per-CPU index */
	enum key_type type;
	const char *def;    /* default, as scenario text; NULL: derived (doc says how) */
	const char *choices; /* K_ENUM: "a|b|c" */
	const char *doc;
};

static const char *const type_names[] = {
	[K_INT] = "integer", [K_U64] = "integer", [K_TIME] = "time", [K_FREQ] = "frequency",
	[K_PPM] = "ppm", [K_CYCLES] = "cycles", [K_RATE] = "rate", [K_PROB] = "probability",
	[K_ENUM] = "choice", [K_DIST] = "distribution", [K_STRING] = "string",
	[K_PLACEMENT] = "list of CPU indices", [K_RATE_CHANGES] = "list of (time, frequency)",
	[K_RESETS] = "list of (time, cycles)", [K_PAUSES] = "list of (time, duration)",
	[K_STEPS] = "list of (time, delta)",
	[K_LAYER] = "name", [K_IDENTS] = "list of names", [K_TIMES] = "time or list of times",
};

static const struct key_desc keys[] = {
	{ "name", K_STRING, NULL, NULL, "scenario name (default: file name without .scn)" },
	{ "seed", K_U64, "1", NULL, "PRNG seed; --seed overrides" },
	{ "duration", K_TIME, "10s", NULL, "simulated true time to run" },

	{ "host.cpus", K_INT, "4", NULL, "number of host CPUs" },
	{ "host.cpu[].freq", K_FREQ, "2.5GHz", NULL, "nominal TSC frequency" },
	{ "host.cpu[].skew_ppm", K_PPM, "0", NULL, "TSC oscillator frequency error" },
	{ "host.cpu[].offset", K_CYCLES, "0", NULL, "TSC value at true time 0 (boot offset)" },
	{ "host.cpu[].wander_ppm", K_PPM, "0", NULL,
	  "random-walk step of the frequency error per host.wander_interval (uniform in +-step)" },
	{ "host.cpu[].rate_changes", K_RATE_CHANGES, "[]", NULL,
	  "non-invariant TSC: (at, new nominal frequency) pairs" },
	{ "host.cpu[].resets", K_RESETS, "[]", NULL, "TSC set to a value at a time (host suspend)" },
	{ "host.wander_interval", K_TIME, "1s", NULL, "how often wander steps the frequency error" },
	{ "host.clocksource", K_ENUM, "auto", "auto|tsc|hpet|acpi_pm|hyperv|kvmclock",
	  "host kernel clocksource; auto: tsc when the TSC is deemed stable, else hpet; hyperv, "
	  "kvmclock: a nested host reading its outer hypervisor's page" },
	{ "host.tsc_stable", K_ENUM, "auto", "auto|yes|no",
	  "does the host kernel trust its TSC; auto: derived (README)" },
	{ "host.tsc_sync_tolerance", K_CYCLES, "300", NULL,
	  "boot offsets within this count as synchronized (auto stability)" },
	{ "host.calibration_error_ppm", K_PPM, "0", NULL,
	  "error of the host's boot-time TSC calibration (tsc_khz)" },
	{ "host.hpet_skew_ppm", K_PPM, "0", NULL, "HPET / ACPI PM oscillator frequency error" },
	{ "host.hz", K_INT, "250", NULL, "host tick rate (coarse clock), Hz" },
	{ "host.smis", K_PAUSES, "[]", NULL,
	  "SMI-like stalls of every CPU: (at, duration); invisible to the hypervisor" },
	{ "host.clock_steps", K_STEPS, "[]", NULL,
	  "host clock steps: (at, signed delta); the TSCs do not move" },
	{ "host.timer", K_ENUM, "hrtimer", "hrtimer|tick",
	  "how the host delivers the guest's timers: high resolution, or at its next tick" },
	{ "host.timer_slack", K_TIME, "50us", NULL, "hrtimer: the host's timer slack" },
	{ "host.realtime_offset", K_TIME, "0", NULL,
	  "the host's CLOCK_REALTIME ahead of true time (KVM_CLOCK_REALTIME arithmetic)" },
	{ "host.outer.at", K_TIME, NULL, NULL,
	  "nested host: the outer hypervisor migrates it at this time (default: never)" },
	{ "host.outer.downtime", K_TIME, "100ms", NULL,
	  "nested host: how long the outer migration stops everything" },
	{ "host.outer.freq", K_FREQ, NULL, NULL,
	  "nested host: TSC frequency of the outer destination, no scaling (required with at)" },
	{ "host.reenlightenment", K_ENUM, "yes", "yes|no",
	  "nested host on Hyper-V: TSC emulation plus re-enlightenment notification, or neither" },
	{ "host.reenlightenment_delay", K_TIME, "100ms", NULL,
	  "from the notification to the host's update (Linux hv_reenlightenment_notify: HZ/10)" },

	{ "migration.at", K_TIMES, NULL, NULL,
	  "the VM stops at this time and moves to host2 (or restarts on its host); a list [t1, t2, ...]"
	  " migrates again at each, to the other host each time (back to the first, then host2 "
	  "again ...); default: never" },
	{ "migration.downtime", K_TIME, "300ms", NULL,
	  "from the stop on the source to the first vCPU restored on the destination" },
	{ "migration.to", K_ENUM, "host2", "host2|same",
	  "the destination: the second host, or the same host (snapshot restore)" },
	{ "migration.vcpu_gap", K_TIME, "0", NULL,
	  "time between two vCPUs' restores on the destination (the VM resumes after the last)" },

	{ "vm.vcpus", K_INT, "2", NULL, "number of vCPUs" },
	{ "vm.tsc_freq", K_FREQ, NULL, NULL,
	  "TSC frequency told to the guest (default: host.cpu[0].freq)" },
	{ "vm.placement", K_PLACEMENT, NULL, NULL,
	  "initial host CPU of each vCPU (default: vCPU i on CPU i mod host.cpus)" },
	{ "vm.io.rate", K_RATE, "0", NULL, "I/O exits to the VMM per vCPU per second (Poisson)" },
	{ "vm.io.duration", K_DIST, "fixed(20us)", NULL, "time the VMM takes per I/O exit" },
	{ "vm.paging.rate", K_RATE, "0", NULL,
	  "EPT-fault stalls (the thread blocks paging in) per vCPU per second" },
	{ "vm.paging.duration", K_DIST, "fixed(13us)", NULL, "length of one stall" },
	{ "vm.pauses", K_PAUSES, "[]", NULL, "whole-VM pauses: (at, duration) pairs" },

	{ "sched.mode", K_ENUM, "pinned", "pinned|rate|quantum",
	  "host scheduling of vCPU threads (README)" },
	{ "sched.quantum", K_TIME, "3ms", NULL, "quantum mode: time slice" },
	{ "sched.migrate_rate", K_RATE, "2/s", NULL, "rate mode: migrations per vCPU per second" },
	{ "sched.migrate_gap", K_DIST, "exp(200us)", NULL,
	  "rate mode: time off-CPU around a migration" },
	{ "sched.wake_migrate", K_PROB, "0.5", NULL,
	  "rate mode: probability a wake after a stall lands on another CPU" },

	{ "workload.read_rate", K_RATE, "1kHz", NULL, "free clock reads per vCPU per second" },
	{ "workload.arrivals", K_ENUM, "poisson", "poisson|periodic", "request arrival process" },
	{ "workload.read_cost", K_TIME, "20ns", NULL, "simulated time one read takes" },
	{ "workload.locked_rate", K_RATE, "0", NULL,
	  "kvm-unit-tests reads under one shared lock, per vCPU per second" },
	{ "workload.hop.read_rate", K_RATE, "0", NULL, "reads per second of a task hopping vCPUs" },
	{ "workload.hop.rate", K_RATE, "100/s", NULL, "hops of that task to another vCPU per second" },
	{ "workload.sleep.rate", K_RATE, "0", NULL, "guest sleeps per vCPU per second (Poisson)" },
	{ "workload.sleep.length", K_DIST, "fixed(1ms)", NULL, "the sleep the guest asks for" },

	{ "guest.ntp", K_ENUM, "off", "off|on",
	  "NTP-like discipline of the guest clock against a perfect server (README)" },
	{ "guest.ntp.poll", K_TIME, "16s", NULL, "NTP poll interval" },
	{ "guest.ntp.slew_limit", K_PPM, "500ppm", NULL, "the guest kernel's maximum slew rate" },
	{ "guest.ntp.gain", K_PROB, "0.25", NULL,
	  "fraction of the measured offset slewed away per poll (phase, PLL-like)" },
	{ "guest.ntp.freq_gain", K_PROB, "0.05", NULL,
	  "fraction of the offset per poll folded into the frequency correction (FLL-like)" },
	{ "guest.ntp.step_threshold", K_TIME, "128ms", NULL,
	  "offsets above it are stepped at once (ntpd's step threshold)" },
	{ "guest.watchdog", K_ENUM, "off", "off|margins|threshold",
	  "Linux clocksource watchdog: off, 6.12 margins (250 us), or the 62.5 ms of Linux < 5.14" },
	{ "guest.watchdog.interval", K_TIME, "500ms", NULL, "how often the watchdog compares clocks" },
	{ "metrics.sample_interval", K_TIME, "10ms", NULL, "vCPU skew and drift sampling period" },
	{ "metrics.series_interval", K_TIME, "100ms", NULL,
	  "results database: per-vCPU clock samples (raised to keep a run under 200,000 rows)" },
	{ "metrics.jump_threshold", K_TIME, "1us", NULL,
	  "smallest step behind/ahead of true time that lost_time_ns counts" },

	{ "check.reads", K_INT, "2", NULL,
	  "bin/sim check: clock reads each reading vCPU makes (each a coroutine)" },
	{ "check.start", K_TIME, "0", NULL,
	  "bin/sim check: how long the VM has run when the readers start (clock values grow)" },
	{ "check.readers", K_PLACEMENT, NULL, NULL,
	  "bin/sim check: the vCPUs that read (default: every vCPU)" },
	{ "check.updates", K_INT, "0", NULL,
	  "bin/sim check: host page updates racing the reads (the page's on_update)" },
	{ "check.update_khz", K_INT, "0", NULL,
	  "bin/sim check: each host update first raises the host's tsc_khz by this much (a "
	  "recalibration: new mul/shift and Hyper-V scale), so old and new fields differ" },
	{ "check.stalls", K_INT, "0", NULL,
	  "bin/sim check: EPT stalls the environment may inject (which vCPU, when, landing CPU)" },
	{ "check.stall_length", K_TIME, "1ms", NULL, "bin/sim check: the length of one stall" },
	{ "check.migrate", K_ENUM, "no", "no|yes",
	  "bin/sim check: the environment performs the scenario's migration at a chosen point" },
	{ "check.unfenced", K_ENUM, "no", "no|yes",
	  "bin/sim check: an unfenced rdtsc may return the TSC of any instant since the last fence" },
	{ "check.properties", K_IDENTS, "[monotonic, no_warp, terminates]", NULL,
	  "bin/sim check: monotonic, no_warp, strict, bound, no_torn, terminates, continuity" },
	{ "check.bound", K_TIME, "1ms", NULL, "bin/sim check: property bound: |guest - true| <= it" },
	{ "check.max_calls", K_INT, "200", NULL,
	  "bin/sim check: environment calls within which a read must return (terminates)" },
	{ "check.expect", K_ENUM, "holds", "holds|violated",
	  "bin/sim check: the expected verdict (violated: a counterexample must be found)" },
	{ "check.strategy", K_ENUM, "dfs", "dfs|bfs|random|pct",
	  "bin/sim check: bounded DFS with iterative deepening, BFS, random walks, PCT" },
	{ "check.max_deviations", K_INT, "4", NULL,
	  "bin/sim check: bound on non-default choices (preemptions) per schedule; 0: none" },
	{ "check.schedules", K_U64, "200000", NULL,
	  "bin/sim check: budget of schedules (random and PCT run exactly this many)" },
	{ "check.time_budget", K_TIME, "120s", NULL,
	  "bin/sim check: wall-clock budget of the search (outside the simulation)" },
	{ "check.pct_depth", K_INT, "3", NULL, "bin/sim check: PCT's bug depth d" },
	{ "check.hash", K_ENUM, "on", "on|off",
	  "bin/sim check: prune states already explored (between reads, no stores in flight)" },

	{ "arm.NAME.policy", K_LAYER, NULL, NULL,
	  "TSC policy (default: the arm's name when it names a policy)" },
	{ "arm.NAME.page", K_LAYER, "none", NULL, "clock-page provider" },
	{ "arm.NAME.reader", K_LAYER, "tsc", NULL, "guest clock reader" },
	{ "arm.NAME.migration", K_LAYER, "tsc-msr", NULL,
	  "the VMM's migration algorithm (used when migration.at is set)" },
};

/* ---- arena ---------------------------------------------------------------------------- */

struct block {
	struct block *next;
	max_align_t data[];
};

static void *cfg_alloc(struct config *cfg, size_t n)
{
	struct block *b = calloc(1, sizeof(*b) + (n ? n : 1));

	if (!b)
		return NULL;
	b->next = cfg->arena;
	cfg->arena = b;
	return b->data;
}

void config_free(struct config *cfg)
{
	struct block *b = cfg->arena;

	for (unsigned i = 0; i < cfg->narms; i++)
		if (cfg->arms && cfg->arms[i].cfg)
			config_free((struct config *)cfg->arms[i].cfg);
	if (cfg->host2_cfg)
		config_free(cfg->host2_cfg);

	while (b) {
		struct block *n = b->next;

		free(b);
		b = n;
	}
	memset(cfg, 0, sizeof(*cfg));
}

/* ---- errors --------------------------------------------------------------------------- */

struct build {
	struct config *cfg;
	const struct scn_doc *doc;
	struct scn_error *err;
	int rc;
};

static void VT_PRINTF(3, 4) fail(struct build *b, const struct scn_loc *loc, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	if (b->rc)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	b->rc = VT_EINPUT;
	if (loc) {
		b->err->loc = *loc;
		snprintf(b->err->msg, sizeof(b->err->msg), "%s:%u:%u: %s", loc->file, loc->line,
			 loc->col, msg);
	} else {
		memset(&b->err->loc, 0, sizeof(b->err->loc));
		snprintf(b->err->msg, sizeof(b->err->msg), "%s: %s",
			 b->cfg->path ? b->cfg->path : "scenario", msg);
	}
}

static void nomem(struct build *b)
{
	if (!b->rc) {
		b->rc = VT_ENOMEM;
		snprintf(b->err->msg, sizeof(b->err->msg), "out of memory");
	}
}

/* ---- paths ---------------------------------------------------------------------------- */

/*
 * Does assignment path `p` match key pattern `k`? "[]" in k matches "[N]" (sets *index) or
 * nothing at all (the broadcast form "host.cpu.freq", *index = -1). "NAME" matches one path
 * component (sets *name, *name_len).
 */
static bool path_match(const char *k, const char *p, long *index, const char **name,
		       size_t *name_len)
{
	*index = -1;
	while (*k) {
		if (k[0] == '[' && k[1] == ']') {
			k += 2;
			if (*p == '[') {
				char *end;

				if (p[1] < '0' || p[1] > '9')
					return false;
				*index = strtol(p + 1, &end, 10);
				if (*end != ']')
					return false;
				p = end + 1;
			}
			continue;
		}
		if (strncmp(k, "NAME", 4) == 0) {
			const char *s = p;

			while (*p && *p != '.' && *p != '[')
				p++;
			if (p == s)
				return false;
			if (name) {
				*name = s;
				*name_len = (size_t)(p - s);
			}
			k += 4;
			continue;
		}
		if (*k != *p)
			return false;
		k++;
		p++;
	}
	return *p == '\0';
}

static const struct key_desc *key_find(const char *path)
{
	long idx;
	const char *nm;
	size_t nl;

	/* host2.K is host.K for the destination host. */
	if (strncmp(path, "host2.", 6) == 0) {
		char p[256];

		snprintf(p, sizeof(p), "host.%s", path + 6);
		return key_find(p);
	}

	for (size_t i = 0; i < VT_ARRAY_SIZE(keys); i++)
		if (path_match(keys[i].path, path, &idx, &nm, &nl))
			return &keys[i];
	return NULL;
}

/* The latest assignment of exactly `path`, or NULL. */
static const struct scn_assign *latest(const struct scn_doc *doc, const char *path)
{
	for (unsigned i = doc->nassign; i-- > 0;)
		if (strcmp(doc->assign[i].path, path) == 0)
			return &doc->assign[i];
	return NULL;
}

/*
 * The value for CPU `cpu` of per-CPU key "host.cpu[].K": the latest of host.cpu[cpu].K and
 * host.cpu.K; a list in the broadcast form gives element cpu. NULL: not set.
 */
static const struct scn_value *per_cpu(struct build *b, const char *key, unsigned cpu,
				       unsigned ncpu, bool value_is_list)
{
	char one[128], all[128];
	const struct scn_doc *doc = b->doc;

	snprintf(one, sizeof(one), "host.cpu[%u].%s", cpu, key);
	snprintf(all, sizeof(all), "host.cpu.%s", key);
	for (unsigned i = doc->nassign; i-- > 0;) {
		const struct scn_assign *a = &doc->assign[i];

		if (strcmp(a->path, one) == 0)
			return a->value;
		if (strcmp(a->path, all) == 0) {
			/* A list is per CPU unless the key's own values are lists whose items are
			 * tuples (rate_changes = [(1s, 2GHz)] applies to every CPU). */
			bool per = a->value->kind == SCN_V_LIST &&
				   (!value_is_list || (a->value->n > 0 &&
						       a->value->items[0]->kind == SCN_V_LIST));

			if (!per)
				return a->value;
			if (a->value->n != ncpu) {
				fail(b, &a->value->loc,
				     "expected %u values (one per host CPU) for '%s', got %u", ncpu,
				     a->path, a->value->n);
				return NULL;
			}
			return a->value->items[cpu];
		}
	}
	return NULL;
}

/* ---- values --------------------------------------------------------------------------- */

static const char *dim_units(enum scn_dim d)
{
	switch (d) {
	case SCN_DIM_TIME:
		return "ns, us, ms, s, min, h";
	case SCN_DIM_FREQ:
		return "Hz, kHz, MHz, GHz";
	case SCN_DIM_PPM:
		return "ppm, ppb";
	case SCN_DIM_CYCLES:
		return "cycles";
	case SCN_DIM_RATE:
		return "/s, /ms, /us, /min, /h, or Hz";
	default:
		return "no unit";
	}
}

static const char *what(const struct scn_value *v)
{
	switch (v->kind) {
	case SCN_V_NUM:
		return v->num.dim == SCN_DIM_NONE ? "a number" : scn_dim_name(v->num.dim);
	case SCN_V_STR:
		return "a string";
	case SCN_V_IDENT:
		return "a name";
	case SCN_V_LIST:
		return "a list";
	case SCN_V_CALL:
		return v->str[0] ? "a call" : "a tuple";
	}
	return "a value";
}

/*
 * A number of dimension `dim` (a bare number is taken in the dimension's base unit), as an exact
 * rational scaled by `mul`: returns floor-free integer num*mul/den when it is whole.
 */
static bool num_of(struct build *b, const struct scn_value *v, enum scn_dim dim, const char *key,
		   s128 mul, bool allow_negative, s128 *out)
{
	s128 x;

	if (v->kind != SCN_V_NUM) {
		fail(b, &v->loc, "expected %s (%s) for '%s', got %s", scn_dim_name(dim),
		     dim_units(dim), key, what(v));
		return false;
	}
	if (v->num.dim != SCN_DIM_NONE && v->num.dim != dim &&
	    !(dim == SCN_DIM_RATE && v->num.dim == SCN_DIM_FREQ)) {
		fail(b, &v->loc, "expected %s (%s) for '%s', got %s", scn_dim_name(dim),
		     dim_units(dim), key, scn_dim_name(v->num.dim));
		return false;
	}
	x = v->num.num * mul;
	if (x / mul != v->num.num || x % v->num.den != 0) {
		fail(b, &v->loc, "'%s' must be a whole number of %s",
		     key, dim == SCN_DIM_PPM ? "ppb" : dim == SCN_DIM_TIME ? "ns" :
		     dim == SCN_DIM_FREQ ? "Hz" : dim == SCN_DIM_CYCLES ? "cycles" : "units");
		return false;
	}
	x /= v->num.den;
	if (!allow_negative && x < 0) {
		fail(b, &v->loc, "'%s' must not be negative", key);
		return false;
	}
	*out = x;
	return true;
}

static bool get_u64(struct build *b, const struct scn_value *v, enum scn_dim dim, const char *key,
		    uint64_t *out)
{
	s128 x;

	if (!num_of(b, v, dim, key, 1, false, &x))
		return false;
	if (x > (s128)UINT64_MAX) {
		fail(b, &v->loc, "'%s' is out of range (at most 2^64-1)", key);
		return false;
	}
	*out = (uint64_t)x;
	return true;
}

static bool get_ppb(struct build *b, const struct scn_value *v, const char *key, int64_t *out)
{
	s128 x;

	if (!num_of(b, v, SCN_DIM_PPM, key, 1000, true, &x))
		return false;
	if (x <= -1000000000 || x >= 1000000000) {
		fail(b, &v->loc, "'%s' must be strictly between -1e6 and 1e6 ppm", key);
		return false;
	}
	*out = (int64_t)x;
	return true;
}

static bool get_double(struct build *b, const struct scn_value *v, enum scn_dim dim,
		       const char *key, double *out)
{
	if (v->kind != SCN_V_NUM || (v->num.dim != SCN_DIM_NONE && v->num.dim != dim &&
				     !(dim == SCN_DIM_RATE && v->num.dim == SCN_DIM_FREQ))) {
		fail(b, &v->loc, "expected %s (%s) for '%s', got %s", scn_dim_name(dim),
		     dim_units(dim), key, what(v));
		return false;
	}
	if (v->num.num < 0) {
		fail(b, &v->loc, "'%s' must not be negative", key);
		return false;
	}
	/* Each conversion and the division are correctly rounded: deterministic. */
	*out = (double)v->num.num / (double)v->num.den;
	return true;
}

static bool get_enum(struct build *b, const struct scn_value *v, const char *choices,
		     const char *key, int *out)
{
	const char *s = choices;
	int i = 0;

	if (v->kind == SCN_V_IDENT) {
		size_t n = strlen(v->str);

		while (s) {
			const char *bar = strchr(s, '|');
			size_t len = bar ? (size_t)(bar - s) : strlen(s);

			if (len == n && strncmp(s, v->str, n) == 0) {
				*out = i;
				return true;
			}
			s = bar ? bar + 1 : NULL;
			i++;
		}
	}
	fail(b, &v->loc, "expected one of %s for '%s'", choices, key);
	return false;
}

static bool get_dist(struct build *b, const struct scn_value *v, const char *key,
		     const struct dist **out, int depth);

static bool dist_arg(struct build *b, const struct scn_value *call, unsigned i, const char *key,
		     uint64_t *out)
{
	return get_u64(b, call->items[i], SCN_DIM_TIME, key, out);
}

static bool get_dist(struct build *b, const struct scn_value *v, const char *key,
		     const struct dist **out, int depth)
{
	struct dist *d = cfg_alloc(b->cfg, sizeof(*d));
	static const struct {
		const char *name;
		unsigned nargs;
	} forms[] = { { "fixed", 1 }, { "uniform", 2 }, { "exp", 1 }, { "lognormal", 2 },
		      { "bursts", 3 } };
	unsigned f;

	if (!d) {
		nomem(b);
		return false;
	}
	if (v->kind == SCN_V_NUM) {
		d->kind = DIST_FIXED;
		*out = d;
		return get_u64(b, v, SCN_DIM_TIME, key, &d->a);
	}
	if (v->kind != SCN_V_CALL || depth > 4) {
		fail(b, &v->loc, "expected a distribution for '%s': a time, fixed(t), uniform(a, b), "
				 "exp(mean), lognormal(median, sigma) or bursts(p, single, burst)", key);
		return false;
	}
	for (f = 0; f < VT_ARRAY_SIZE(forms); f++)
		if (strcmp(v->str, forms[f].name) == 0)
			break;
	if (f == VT_ARRAY_SIZE(forms)) {
		fail(b, &v->loc, "unknown distribution '%s' (expected fixed, uniform, exp, "
				 "lognormal or bursts)", v->str);
		return false;
	}
	if (v->n != forms[f].nargs) {
		fail(b, &v->loc, "%s() takes %u argument%s, got %u", forms[f].name, forms[f].nargs,
		     forms[f].nargs == 1 ? "" : "s", v->n);
		return false;
	}
	*out = d;
	switch (f) {
	case 0:
		d->kind = DIST_FIXED;
		return dist_arg(b, v, 0, key, &d->a);
	case 1:
		d->kind = DIST_UNIFORM;
		if (!dist_arg(b, v, 0, key, &d->a) || !dist_arg(b, v, 1, key, &d->b))
			return false;
		if (d->b < d->a) {
			fail(b, &v->loc, "uniform(a, b) needs a <= b");
			return false;
		}
		return true;
	case 2:
		d->kind = DIST_EXP;
		return dist_arg(b, v, 0, key, &d->a);
	case 3:
		d->kind = DIST_LOGNORMAL;
		if (!dist_arg(b, v, 0, key, &d->a) ||
		    !get_double(b, v->items[1], SCN_DIM_NONE, key, &d->sigma))
			return false;
		if (d->sigma > 10) {
			fail(b, &v->items[1]->loc, "lognormal sigma must be at most 10");
			return false;
		}
		return true;
	default:
		d->kind = DIST_BURSTS;
		if (!get_double(b, v->items[0], SCN_DIM_NONE, key, &d->p))
			return false;
		if (d->p > 1) {
			fail(b, &v->items[0]->loc, "bursts(p, ...) needs 0 <= p <= 1");
			return false;
		}
		return get_dist(b, v->items[1], key, &d->sub[0], depth + 1) &&
		       get_dist(b, v->items[2], key, &d->sub[1], depth + 1);
	}
}

/* A (a, b) tuple: items checked by the caller. */
static bool tuple2(struct build *b, const struct scn_value *v, const char *key, const char *form)
{
	if (v->kind != SCN_V_CALL || v->str[0] || v->n != 2) {
		fail(b, &v->loc, "expected a pair %s in '%s'", form, key);
		return false;
	}
	return true;
}

static bool list_of(struct build *b, const struct scn_value *v, const char *key, const char *form)
{
	if (v->kind != SCN_V_LIST) {
		fail(b, &v->loc, "expected a list [%s, ...] for '%s', got %s", form, key, what(v));
		return false;
	}
	return true;
}

/* ---- the default value of a key, parsed from its table text --------------------------- */

static const struct scn_value *default_value(struct build *b, const struct key_desc *k,
					     struct scn_doc *defaults)
{
	char line[256];
	struct scn_error e;
	unsigned before = defaults->nassign;

	snprintf(line, sizeof(line), "x=%s", k->def);
	if (scn_parse_override(defaults, line, 1, &e) != VT_OK || defaults->nassign == before) {
		fail(b, NULL, "internal error: bad default for %s: %s", k->path, e.msg);
		return NULL;
	}
	return defaults->assign[defaults->nassign - 1].value;
}

/* ---- building ------------------------------------------------------------------------- */

static const struct key_desc *key_of(const char *path)
{
	for (size_t i = 0; i < VT_ARRAY_SIZE(keys); i++)
		if (strcmp(keys[i].path, path) == 0)
			return &keys[i];
	return NULL;
}

/* The value of scalar key `path`: the latest assignment, else its default. */
static const struct scn_value *value_of(struct build *b, const char *path,
					struct scn_doc *defaults)
{
	const struct scn_assign *a = latest(b->doc, path);
	const struct key_desc *k;

	if (a)
		return a->value;
	k = key_of(path);
	if (!k || !k->def)
		return NULL;
	return default_value(b, k, defaults);
}

static bool set_u64(struct build *b, const char *path, enum scn_dim dim, uint64_t *out,
		    struct scn_doc *defaults)
{
	const struct scn_value *v = value_of(b, path, defaults);

	return v && get_u64(b, v, dim, path, out);
}

static bool set_double(struct build *b, const char *path, enum scn_dim dim, double *out,
		       struct scn_doc *defaults)
{
	const struct scn_value *v = value_of(b, path, defaults);

	return v && get_double(b, v, dim, path, out);
}

static bool set_enum(struct build *b, const char *path, int *out, struct scn_doc *defaults)
{
	const struct scn_value *v = value_of(b, path, defaults);

	return v && get_enum(b, v, key_of(path)->choices, path, out);
}

static bool set_dist(struct build *b, const char *path, const struct dist **out,
		     struct scn_doc *defaults)
{
	const struct scn_value *v = value_of(b, path, defaults);

	return v && get_dist(b, v, path, out, 0);
}

static bool set_ppb(struct build *b, const char *path, int64_t *out, struct scn_doc *defaults)
{
	const struct scn_value *v = value_of(b, path, defaults);

	return v && get_ppb(b, v, path, out);
}

/* Checks that every assignment names a key and that CPU / arm references exist. */
static void check_paths(struct build *b, unsigned ncpus)
{
	const struct scn_doc *doc = b->doc;

	for (unsigned i = 0; i < doc->nassign && !b->rc; i++) {
		const struct scn_assign *a = &doc->assign[i];
		const struct key_desc *k;
		long idx;
		const char *nm;
		size_t nl;

		if (strncmp(a->path, "arm.", 4) == 0)
			continue; /* checked with the arms */
		k = key_find(a->path);
		if (!k) {
			fail(b, &a->loc, "unknown key '%s' (bin/sim keys lists them)", a->path);
			return;
		}
		if (strncmp(a->path, "host2.", 6) == 0)
			continue; /* CPU indices are checked against host2.cpus with host2 */
		if (strstr(k->path, "[]") && path_match(k->path, a->path, &idx, &nm, &nl) &&
		    idx >= (long)ncpus) {
			fail(b, &a->loc, "'%s': no such host CPU (host.cpus = %u)", a->path, ncpus);
			return;
		}
	}
}

/* host.outer.* and host.reenlightenment*: the outer hypervisor migrating a nested host. */
static bool build_outer(struct build *b, struct scn_doc *defaults)
{
	struct config *cfg = b->cfg;
	const struct scn_value *at = value_of(b, "host.outer.at", defaults);
	const struct scn_value *f = value_of(b, "host.outer.freq", defaults);
	int e;

	if (!at)
		return true;
	if (!get_u64(b, at, SCN_DIM_TIME, "host.outer.at", &cfg->outer.at) ||
	    !set_u64(b, "host.outer.downtime", SCN_DIM_TIME, &cfg->outer.downtime, defaults) ||
	    !set_enum(b, "host.reenlightenment", &e, defaults) ||
	    !set_u64(b, "host.reenlightenment_delay", SCN_DIM_TIME, &cfg->outer.delay, defaults))
		return false;
	if (!f) {
		fail(b, &at->loc, "host.outer.at needs host.outer.freq (the destination's TSC "
				  "frequency)");
		return false;
	}
	if (!get_u64(b, f, SCN_DIM_FREQ, "host.outer.freq", &cfg->outer.freq_hz))
		return false;
	if (cfg->outer.freq_hz < 1000000 || cfg->outer.freq_hz > 100000000000ULL) {
		fail(b, &f->loc, "'host.outer.freq' must be between 1MHz and 100GHz");
		return false;
	}
	if (cfg->host.clocksource == CS_AUTO || cfg->host.clocksource == CS_HPET ||
	    cfg->host.clocksource == CS_ACPI_PM) {
		fail(b, &at->loc, "host.outer.at: a nested host's clocksource is tsc, hyperv or "
				  "kvmclock (set host.clocksource)");
		return false;
	}
	cfg->outer.on = true;
	cfg->outer.reenlighten = e == 0 && cfg->host.clocksource == CS_HYPERV;
	return true;
}

static bool build_host(struct build *b, struct scn_doc *defaults)
{
	struct config *cfg = b->cfg;
	uint64_t ncpus, v;
	int e;

	if (!set_u64(b, "host.cpus", SCN_DIM_NONE, &ncpus, defaults))
		return false;
	if (ncpus < 1 || ncpus > 4096) {
		fail(b, &latest(b->doc, "host.cpus")->value->loc, "host.cpus must be 1..4096");
		return false;
	}
	check_paths(b, (unsigned)ncpus);
	if (b->rc)
		return false;
	cfg->host.ncpus = (unsigned)ncpus;
	cfg->cpus = cfg_alloc(cfg, ncpus * sizeof(*cfg->cpus));
	if (!cfg->cpus) {
		nomem(b);
		return false;
	}
	cfg->host.cpu = cfg->cpus;
	for (unsigned c = 0; c < ncpus; c++) {
		struct host_cpu_cfg *hc = &cfg->cpus[c];
		const struct scn_value *x;
		const struct key_desc *k;
		char key[64];

#define CPU_VALUE(name, is_list)                                                       \
	(snprintf(key, sizeof(key), "host.cpu[%u]." name, c),                            \
	 (x = per_cpu(b, name, c, (unsigned)ncpus, is_list)) != NULL                       \
		 ? x                                                                     \
		 : (b->rc ? NULL : ((k = key_of("host.cpu[]." name)), default_value(b, k, defaults))))
		if (!(x = CPU_VALUE("freq", false)) || !get_u64(b, x, SCN_DIM_FREQ, key, &hc->freq_hz))
			return false;
		if (hc->freq_hz < 1000000 || hc->freq_hz > 100000000000ULL) {
			fail(b, &x->loc, "'%s' must be between 1MHz and 100GHz", key);
			return false;
		}
		if (!(x = CPU_VALUE("skew_ppm", false)) || !get_ppb(b, x, key, &hc->skew_ppb))
			return false;
		if (!(x = CPU_VALUE("offset", false)) || !get_u64(b, x, SCN_DIM_CYCLES, key, &hc->offset))
			return false;
		if (!(x = CPU_VALUE("wander_ppm", false)) || !get_ppb(b, x, key, &hc->wander_ppb))
			return false;
		if (hc->wander_ppb < 0) {
			fail(b, &x->loc, "'%s' must not be negative", key);
			return false;
		}
		{
			const struct scn_value *rc = CPU_VALUE("rate_changes", true);
			const struct scn_value *rs;
			struct host_tsc_event *ev;
			unsigned n = 0;

			if (!rc)
				return false;
			rs = CPU_VALUE("resets", true);
			if (!rs)
				return false;
			if (!list_of(b, rc, "rate_changes", "(time, frequency)") ||
			    !list_of(b, rs, "resets", "(time, cycles)"))
				return false;
			ev = cfg_alloc(cfg, (rc->n + rs->n) * sizeof(*ev));
			if (!ev) {
				nomem(b);
				return false;
			}
			for (unsigned i = 0; i < rc->n; i++, n++) {
				const struct scn_value *t = rc->items[i];

				ev[n].kind = HOST_EV_RATE;
				if (!tuple2(b, t, "rate_changes", "(time, frequency)") ||
				    !get_u64(b, t->items[0], SCN_DIM_TIME, "rate_changes", &ev[n].at) ||
				    !get_u64(b, t->items[1], SCN_DIM_FREQ, "rate_changes", &ev[n].value))
					return false;
				if (ev[n].value < 1000) {
					fail(b, &t->items[1]->loc, "a TSC rate must be at least 1kHz");
					return false;
				}
			}
			for (unsigned i = 0; i < rs->n; i++, n++) {
				const struct scn_value *t = rs->items[i];

				ev[n].kind = HOST_EV_RESET;
				if (!tuple2(b, t, "resets", "(time, cycles)") ||
				    !get_u64(b, t->items[0], SCN_DIM_TIME, "resets", &ev[n].at) ||
				    !get_u64(b, t->items[1], SCN_DIM_CYCLES, "resets", &ev[n].value))
					return false;
			}
			/* Sort by time (insertion sort, stable: rate changes before resets at a tie). */
			for (unsigned i = 1; i < n; i++) {
				struct host_tsc_event t = ev[i];
				unsigned j = i;

				while (j > 0 && ev[j - 1].at > t.at) {
					ev[j] = ev[j - 1];
					j--;
				}
				ev[j] = t;
			}
			hc->events = ev;
			hc->nevents = n;
		}
#undef CPU_VALUE
	}
	if (!set_u64(b, "host.wander_interval", SCN_DIM_TIME, &cfg->host.wander_interval, defaults))
		return false;
	if (cfg->host.wander_interval == 0) {
		fail(b, &value_of(b, "host.wander_interval", defaults)->loc,
		     "host.wander_interval must be positive");
		return false;
	}
	if (!set_enum(b, "host.clocksource", &e, defaults))
		return false;
	{
		static const enum host_clocksource cs[] = { CS_AUTO, CS_TSC, CS_HPET, CS_ACPI_PM,
							    CS_HYPERV, CS_KVMCLOCK };

		cfg->host.clocksource = cs[e];
	}
	if (!set_enum(b, "host.tsc_stable", &e, defaults))
		return false;
	cfg->host.tsc_stable = e == 0 ? -1 : e == 1 ? 1 : 0;
	if (!set_u64(b, "host.tsc_sync_tolerance", SCN_DIM_CYCLES, &cfg->host.tsc_sync_tolerance,
		     defaults) ||
	    !set_ppb(b, "host.calibration_error_ppm", &cfg->host.calibration_error_ppb, defaults) ||
	    !set_ppb(b, "host.hpet_skew_ppm", &cfg->host.hpet_skew_ppb, defaults) ||
	    !set_u64(b, "host.hz", SCN_DIM_NONE, &v, defaults))
		return false;
	if (v < 1 || v > 100000) {
		fail(b, &value_of(b, "host.hz", defaults)->loc, "host.hz must be 1..100000");
		return false;
	}
	cfg->host.hz = (unsigned)v;
	if (!set_enum(b, "host.timer", &e, defaults) ||
	    !set_u64(b, "host.timer_slack", SCN_DIM_TIME, &cfg->host_timer.slack, defaults))
		return false;
	cfg->host_timer.tick = e == 1;
	if (!set_u64(b, "host.realtime_offset", SCN_DIM_TIME, &v, defaults))
		return false;
	cfg->host.realtime_offset_ns = (int64_t)v;
	return build_outer(b, defaults);
}

/* A list of (at, duration) pairs in time order, not overlapping (vm.pauses, host.smis). */
static bool get_intervals(struct build *b, const char *key, unsigned *n, struct pause_cfg **out,
			  struct scn_doc *defaults)
{
	const struct scn_value *x = value_of(b, key, defaults);

	if (!x || !list_of(b, x, key, "(at, duration)"))
		return false;
	*n = x->n;
	*out = cfg_alloc(b->cfg, x->n * sizeof(**out));
	if (!*out) {
		nomem(b);
		return false;
	}
	for (unsigned i = 0; i < x->n; i++) {
		const struct scn_value *t = x->items[i];
		struct pause_cfg *p = &(*out)[i];

		if (!tuple2(b, t, key, "(at, duration)") ||
		    !get_u64(b, t->items[0], SCN_DIM_TIME, key, &p->at) ||
		    !get_u64(b, t->items[1], SCN_DIM_TIME, key, &p->length))
			return false;
		if (i > 0 && p->at < p[-1].at + p[-1].length) {
			fail(b, &t->loc, "%s must be in time order and must not overlap", key);
			return false;
		}
	}
	return true;
}

static bool build_vm(struct build *b, struct scn_doc *defaults)
{
	struct config *cfg = b->cfg;
	const struct scn_value *x;
	uint64_t n;
	int e;

	if (!set_u64(b, "vm.vcpus", SCN_DIM_NONE, &n, defaults))
		return false;
	if (n < 1 || n > 4096) {
		fail(b, &value_of(b, "vm.vcpus", defaults)->loc, "vm.vcpus must be 1..4096");
		return false;
	}
	cfg->vm.nvcpus = (unsigned)n;
	x = value_of(b, "vm.tsc_freq", defaults);
	cfg->vm.tsc_hz = cfg->cpus[0].freq_hz;
	if (x && (!get_u64(b, x, SCN_DIM_FREQ, "vm.tsc_freq", &cfg->vm.tsc_hz)))
		return false;
	if (cfg->vm.tsc_hz < 1000000 || cfg->vm.tsc_hz > 100000000000ULL) {
		fail(b, x ? &x->loc : NULL, "vm.tsc_freq must be between 1MHz and 100GHz");
		return false;
	}
	cfg->vm.placement = cfg_alloc(cfg, n * sizeof(unsigned));
	if (!cfg->vm.placement) {
		nomem(b);
		return false;
	}
	x = value_of(b, "vm.placement", defaults);
	if (x) {
		if (!list_of(b, x, "vm.placement", "cpu"))
			return false;
		if (x->n != n) {
			fail(b, &x->loc, "expected %u host CPU indices (one per vCPU) for vm.placement, "
					 "got %u", (unsigned)n, x->n);
			return false;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		uint64_t p = i % cfg->host.ncpus;

		if (x && !get_u64(b, x->items[i], SCN_DIM_NONE, "vm.placement", &p))
			return false;
		if (p >= cfg->host.ncpus) {
			fail(b, &x->items[i]->loc, "vm.placement: no host CPU %llu (host.cpus = %u)",
			     (unsigned long long)p, cfg->host.ncpus);
			return false;
		}
		cfg->vm.placement[i] = (unsigned)p;
	}
	if (!set_double(b, "vm.io.rate", SCN_DIM_RATE, &cfg->vm.io.rate, defaults) ||
	    !set_dist(b, "vm.io.duration", &cfg->vm.io.duration, defaults) ||
	    !set_double(b, "vm.paging.rate", SCN_DIM_RATE, &cfg->vm.paging.rate, defaults) ||
	    !set_dist(b, "vm.paging.duration", &cfg->vm.paging.duration, defaults))
		return false;
	if (!get_intervals(b, "vm.pauses", &cfg->vm.npauses, &cfg->vm.pauses, defaults) ||
	    !get_intervals(b, "host.smis", &cfg->host_smis.n, &cfg->host_smis.at, defaults))
		return false;
	{
		const struct scn_value *steps = value_of(b, "host.clock_steps", defaults);

		if (!steps || !list_of(b, steps, "host.clock_steps", "(at, delta)"))
			return false;
		cfg->host_steps.n = steps->n;
		cfg->host_steps.at = cfg_alloc(cfg, (steps->n ? steps->n : 1) * sizeof(*cfg->host_steps.at));
		if (!cfg->host_steps.at) {
			nomem(b);
			return false;
		}
		for (unsigned i = 0; i < steps->n; i++) {
			const struct scn_value *t = steps->items[i];
			s128 d;

			if (!tuple2(b, t, "host.clock_steps", "(at, delta)") ||
			    !get_u64(b, t->items[0], SCN_DIM_TIME, "host.clock_steps",
				     &cfg->host_steps.at[i].at) ||
			    !num_of(b, t->items[1], SCN_DIM_TIME, "host.clock_steps", 1, true, &d))
				return false;
			if (d > INT64_MAX / 2 || d < -(INT64_MAX / 2)) {
				fail(b, &t->items[1]->loc, "host.clock_steps: a step of at most 2^62 ns");
				return false;
			}
			cfg->host_steps.at[i].delta = (int64_t)d;
		}
	}

	if (!set_enum(b, "sched.mode", &e, defaults))
		return false;
	cfg->sched.mode = (enum sched_mode)e;
	if (!set_u64(b, "sched.quantum", SCN_DIM_TIME, &cfg->sched.quantum, defaults) ||
	    !set_double(b, "sched.migrate_rate", SCN_DIM_RATE, &cfg->sched.migrate_rate, defaults) ||
	    !set_dist(b, "sched.migrate_gap", &cfg->sched.migrate_gap, defaults) ||
	    !set_double(b, "sched.wake_migrate", SCN_DIM_NONE, &cfg->sched.wake_migrate, defaults))
		return false;
	if (cfg->sched.quantum == 0) {
		fail(b, &value_of(b, "sched.quantum", defaults)->loc, "sched.quantum must be positive");
		return false;
	}
	if (cfg->sched.wake_migrate > 1) {
		fail(b, &value_of(b, "sched.wake_migrate", defaults)->loc,
		     "sched.wake_migrate is a probability (0..1)");
		return false;
	}
	return true;
}

/* guest.ntp.*: the guest's clock discipline (sim/discipline.c). */
static bool build_guest_ntp(struct build *b, struct scn_doc *defaults)
{
	struct config *cfg = b->cfg;
	int e;

	if (!set_enum(b, "guest.ntp", &e, defaults) ||
	    !set_u64(b, "guest.ntp.poll", SCN_DIM_TIME, &cfg->guest_ntp.poll, defaults) ||
	    !set_ppb(b, "guest.ntp.slew_limit", &cfg->guest_ntp.slew_limit_ppb, defaults) ||
	    !set_double(b, "guest.ntp.gain", SCN_DIM_NONE, &cfg->guest_ntp.gain, defaults) ||
	    !set_double(b, "guest.ntp.freq_gain", SCN_DIM_NONE, &cfg->guest_ntp.freq_gain,
			defaults) ||
	    !set_u64(b, "guest.ntp.step_threshold", SCN_DIM_TIME, &cfg->guest_ntp.step_threshold,
		     defaults))
		return false;
	cfg->guest_ntp.on = e == 1;
	if (cfg->guest_ntp.poll == 0 || cfg->guest_ntp.poll > (sim_ns)1 << 50) {
		fail(b, &value_of(b, "guest.ntp.poll", defaults)->loc,
		     "guest.ntp.poll must be positive and at most 2^50 ns (13 days)");
		return false;
	}
	if (cfg->guest_ntp.slew_limit_ppb < 0) {
		fail(b, &value_of(b, "guest.ntp.slew_limit", defaults)->loc,
		     "guest.ntp.slew_limit must not be negative");
		return false;
	}
	if (!(cfg->guest_ntp.gain <= 1) || !(cfg->guest_ntp.freq_gain <= 1)) {
		fail(b, &value_of(b, cfg->guest_ntp.gain <= 1 ? "guest.ntp.freq_gain"
							      : "guest.ntp.gain", defaults)->loc,
		     "guest.ntp gains are fractions of the offset (0..1)");
		return false;
	}
	if (cfg->guest_ntp.step_threshold > (sim_ns)1 << 62) {
		fail(b, &value_of(b, "guest.ntp.step_threshold", defaults)->loc,
		     "guest.ntp.step_threshold must be at most 2^62 ns");
		return false;
	}
	return true;
}

static bool build_workload(struct build *b, struct scn_doc *defaults)
{
	struct config *cfg = b->cfg;
	int e;

	if (!set_double(b, "workload.read_rate", SCN_DIM_RATE, &cfg->workload.read_rate, defaults) ||
	    !set_enum(b, "workload.arrivals", &e, defaults) ||
	    !set_u64(b, "workload.read_cost", SCN_DIM_TIME, &cfg->workload.read_cost, defaults) ||
	    !set_double(b, "workload.locked_rate", SCN_DIM_RATE, &cfg->workload.locked_rate,
			defaults) ||
	    !set_double(b, "workload.hop.read_rate", SCN_DIM_RATE, &cfg->workload.hop_read_rate,
			defaults) ||
	    !set_double(b, "workload.hop.rate", SCN_DIM_RATE, &cfg->workload.hop_rate, defaults) ||
	    !set_double(b, "workload.sleep.rate", SCN_DIM_RATE, &cfg->workload.sleep_rate,
			defaults) ||
	    !set_dist(b, "workload.sleep.length", &cfg->workload.sleep_length, defaults) ||
	    !set_u64(b, "metrics.sample_interval", SCN_DIM_TIME, &cfg->metrics.sample_interval,
		     defaults) ||
	    !set_u64(b, "metrics.jump_threshold", SCN_DIM_TIME, &cfg->metrics.jump_threshold,
		     defaults) ||
	    !set_u64(b, "metrics.series_interval", SCN_DIM_TIME, &cfg->metrics.series_interval,
		     defaults))
		return false;
	cfg->workload.arrivals = (enum arrivals)e;
	if (!set_enum(b, "guest.watchdog", &e, defaults) ||
	    !set_u64(b, "guest.watchdog.interval", SCN_DIM_TIME, &cfg->guest_wd.interval, defaults))
		return false;
	/* margins: 6.12's two uncertainty margins of ~125 us; threshold: WATCHDOG_THRESHOLD,
	 * NSEC_PER_SEC >> 4, before Linux 5.14. */
	cfg->guest_wd.margin = e == 0 ? 0 : e == 1 ? 250 * NS_PER_US : NS_PER_SEC >> 4;
	if (cfg->guest_wd.interval == 0) {
		fail(b, &value_of(b, "guest.watchdog.interval", defaults)->loc,
		     "guest.watchdog.interval must be positive");
		return false;
	}
	if (cfg->workload.read_cost == 0) {
		fail(b, &value_of(b, "workload.read_cost", defaults)->loc,
		     "workload.read_cost must be positive");
		return false;
	}
	if (cfg->metrics.sample_interval == 0) {
		fail(b, &value_of(b, "metrics.sample_interval", defaults)->loc,
		     "metrics.sample_interval must be positive");
		return false;
	}
	{
		/* Rates above one request per read cost would queue forever; above 1e9/s they are
		 * certainly a unit mistake. */
		const double *rates[] = { &cfg->workload.read_rate, &cfg->workload.locked_rate,
					  &cfg->workload.hop_read_rate, &cfg->workload.hop_rate,
					  &cfg->vm.io.rate, &cfg->vm.paging.rate,
					  &cfg->sched.migrate_rate, &cfg->workload.sleep_rate };
		static const char *const names[] = { "workload.read_rate", "workload.locked_rate",
						     "workload.hop.read_rate", "workload.hop.rate",
						     "vm.io.rate", "vm.paging.rate",
						     "sched.migrate_rate", "workload.sleep.rate" };

		for (size_t i = 0; i < VT_ARRAY_SIZE(rates); i++)
			if (*rates[i] > 1e9) {
				fail(b, &value_of(b, names[i], defaults)->loc,
				     "'%s': a rate above 1e9 per second is not supported", names[i]);
				return false;
			}
	}
	return true;
}

static bool arm_override_ok(const char *rest);

/* Resolves one layer option against the layer's table. */
static bool set_layer_opts(struct build *b, const char *arm, const char *layer,
			   const struct opt_desc *table, struct opt_set *out,
			   struct scn_doc *defaults)
{
	char prefix[160];
	size_t plen;
	unsigned n = 0;

	snprintf(prefix, sizeof(prefix), "arm.%s.%s.", arm, layer);
	plen = strlen(prefix);
	for (const struct opt_desc *d = table; d && d->name; d++)
		n++;
	out->n = n;
	out->v = cfg_alloc(b->cfg, (n ? n : 1) * sizeof(*out->v));
	if (!out->v) {
		nomem(b);
		return false;
	}
	/* Every option the scenario sets must be in the table. */
	for (unsigned i = 0; i < b->doc->nassign; i++) {
		const struct scn_assign *a = &b->doc->assign[i];
		bool known = false;

		if (strncmp(a->path, prefix, plen) != 0)
			continue;
		/* arm.x.migration.vcpu_gap is the arm's own migration.vcpu_gap, not an option of
		 * its algorithm (conformance keeps algorithm options off those names). */
		if (strcmp(layer, "migration") == 0 && arm_override_ok(a->path + plen - 10))
			continue;
		for (const struct opt_desc *d = table; d && d->name; d++)
			known |= strcmp(d->name, a->path + plen) == 0;
		if (!known) {
			fail(b, &a->loc, "unknown %s option '%s' (bin/sim list shows the options)",
			     layer, a->path + plen);
			return false;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		const struct opt_desc *d = &table[i];
		char path[256];
		const struct scn_assign *a;
		const struct scn_value *v;
		struct opt_val *o = &out->v[i];
		uint64_t u;
		int64_t s;
		int e;

		snprintf(path, sizeof(path), "%s%s", prefix, d->name);
		a = latest(b->doc, path);
		o->desc = d;
		o->set = a != NULL;
		if (a) {
			v = a->value;
		} else {
			struct key_desc k = { path, K_STRING, d->def, NULL, NULL };

			v = default_value(b, &k, defaults);
			if (!v)
				return false;
		}
		switch (d->type) {
		case OPT_INT:
			if (!get_u64(b, v, SCN_DIM_NONE, path, &u))
				return false;
			o->value = (int64_t)u;
			break;
		case OPT_TIME:
		case OPT_FREQ:
		case OPT_CYCLES:
			if (!get_u64(b, v, d->type == OPT_TIME ? SCN_DIM_TIME :
					   d->type == OPT_FREQ ? SCN_DIM_FREQ : SCN_DIM_CYCLES,
				     path, &u))
				return false;
			o->value = (int64_t)u;
			break;
		case OPT_PPM:
			if (!get_ppb(b, v, path, &s))
				return false;
			o->value = s;
			break;
		case OPT_BOOL:
			if (!get_enum(b, v, "no|yes", path, &e)) {
				b->rc = 0;
				if (!get_enum(b, v, "off|on", path, &e)) {
					b->rc = 0;
					if (!get_enum(b, v, "false|true", path, &e))
						return false;
				}
			}
			o->value = e;
			break;
		case OPT_ENUM:
			if (!get_enum(b, v, d->choices, path, &e))
				return false;
			o->value = e;
			break;
		}
	}
	return true;
}

/* May an arm override this key for itself (`arm x { host.cpu.offset = 0 }`)? */
static bool arm_override_ok(const char *rest)
{
	static const char *const roots[] = { "host.", "host2.", "vm.", "sched.", "workload.",
					     "guest.", "migration.", "check." };

	for (size_t i = 0; i < VT_ARRAY_SIZE(roots); i++)
		if (strncmp(rest, roots[i], strlen(roots[i])) == 0)
			return key_find(rest) != NULL;
	return false;
}

static bool build_arms(struct build *b, struct scn_doc *defaults)
{
	struct config *cfg = b->cfg;
	const struct scn_doc *doc = b->doc;

	if (doc->narm == 0) {
		fail(b, NULL, "no arm declared (e.g. `arm ideal { policy = ideal }`)");
		return false;
	}
	/* Every arm.* assignment must name a declared arm and a known layer key. */
	for (unsigned i = 0; i < doc->nassign; i++) {
		const struct scn_assign *a = &doc->assign[i];
		bool found = false;

		if (strncmp(a->path, "arm.", 4) != 0)
			continue;
		for (unsigned j = 0; j < doc->narm && !found; j++) {
			size_t n = strlen(doc->arm[j].name);
			const char *rest = a->path + 4 + n;

			if (strncmp(a->path + 4, doc->arm[j].name, n) != 0 || *rest != '.')
				continue;
			rest++;
			if (strcmp(rest, "policy") && strcmp(rest, "page") && strcmp(rest, "reader") &&
			    strcmp(rest, "migration") && strncmp(rest, "policy.", 7) &&
			    strncmp(rest, "page.", 5) && strncmp(rest, "reader.", 7) &&
			    strncmp(rest, "migration.", 10) && !arm_override_ok(rest)) {
				fail(b, &a->loc, "unknown arm key '%s' (expected policy, page, reader, "
						 "migration, an option of one of them, or a host., "
						 "host2., vm., sched., workload., guest. or "
						 "migration. key)", rest);
				return false;
			}
			found = true;
		}
		if (!found) {
			fail(b, &a->loc, "'%s' names no declared arm", a->path);
			return false;
		}
	}
	cfg->narms = doc->narm;
	cfg->arms = cfg_alloc(cfg, doc->narm * sizeof(*cfg->arms));
	if (!cfg->arms) {
		nomem(b);
		return false;
	}
	for (unsigned i = 0; i < doc->narm; i++) {
		struct arm_cfg *arm = &cfg->arms[i];
		const char *name = doc->arm[i].name;
		char path[192];
		const struct scn_value *v;

		arm->name = name;
		arm->loc = doc->arm[i].loc;
		snprintf(path, sizeof(path), "arm.%s.policy", name);
		v = latest(doc, path) ? latest(doc, path)->value : NULL;
		if (!v) {
			arm->policy = registry_policy(name);
			if (!arm->policy) {
				fail(b, &arm->loc, "arm '%s' needs `policy = NAME` (its name is not a "
						   "policy)", name);
				return false;
			}
		} else if (v->kind != SCN_V_IDENT && v->kind != SCN_V_STR) {
			fail(b, &v->loc, "expected a TSC policy name for '%s'", path);
			return false;
		} else if (!(arm->policy = registry_policy(v->str))) {
			fail(b, &v->loc, "unknown TSC policy '%s' (bin/sim list shows them)", v->str);
			return false;
		}
		snprintf(path, sizeof(path), "arm.%s.page", name);
		v = latest(doc, path) ? latest(doc, path)->value : NULL;
		if (v && v->kind != SCN_V_IDENT && v->kind != SCN_V_STR) {
			fail(b, &v->loc, "expected a clock-page provider name for '%s'", path);
			return false;
		}
		if (!(arm->page = registry_page(v ? v->str : "none"))) {
			fail(b, &v->loc, "unknown clock-page provider '%s' (bin/sim list shows them)",
			     v->str);
			return false;
		}
		snprintf(path, sizeof(path), "arm.%s.reader", name);
		v = latest(doc, path) ? latest(doc, path)->value : NULL;
		if (v && v->kind != SCN_V_IDENT && v->kind != SCN_V_STR) {
			fail(b, &v->loc, "expected a guest reader name for '%s'", path);
			return false;
		}
		arm->reader_name = v ? v->str : "tsc";
		if (v && plugin_is_path(v->str)) {
			struct plugin_info *pi = cfg_alloc(cfg, sizeof(*pi));
			char msg[4096];
			int rc;

			if (!pi) {
				nomem(b);
				return false;
			}
			rc = plugin_prepare(v->str, cfg->path, pi, msg, sizeof(msg));
			if (rc != VT_OK) {
				fail(b, &v->loc, "%s", msg);
				b->rc = rc;
				return false;
			}
			arm->reader = &reader_plugin;
			arm->plugin = pi;
		} else if (!(arm->reader = registry_reader(v ? v->str : "tsc"))) {
			fail(b, &v->loc, "unknown guest reader '%s' (bin/sim list shows them)", v->str);
			return false;
		}
		snprintf(path, sizeof(path), "arm.%s.migration", name);
		v = latest(doc, path) ? latest(doc, path)->value : NULL;
		if (v && v->kind != SCN_V_IDENT && v->kind != SCN_V_STR) {
			fail(b, &v->loc, "expected a migration algorithm name for '%s'", path);
			return false;
		}
		arm->migration_loc = v ? v->loc : arm->loc;
		if (!(arm->migration = registry_migration(v ? v->str : "tsc-msr"))) {
			fail(b, v ? &v->loc : &arm->loc,
			     "unknown migration algorithm '%s' (bin/sim list shows them)",
			     v ? v->str : "tsc-msr");
			return false;
		}
		if (!set_layer_opts(b, name, "migration", arm->migration->options,
				    &arm->migration_opts, defaults) ||
		    !set_layer_opts(b, name, "policy", arm->policy->options, &arm->policy_opts,
				    defaults) ||
		    !set_layer_opts(b, name, "page", arm->page->options, &arm->page_opts, defaults) ||
		    !set_layer_opts(b, name, "reader", arm->reader->options, &arm->reader_opts,
				    defaults))
			return false;
	}
	return true;
}

static int build_config(struct config *cfg, const struct scn_doc *doc, const char *path,
			struct scn_error *err, bool with_arms);

/*
 * host2.*: the destination host is built like the source from a view of the document: every
 * assignment that is not an arm's, the migration's, the checker's, vm.placement or host2's, then
 * the host2.K
 * ones re-rooted as host.K, so the destination inherits every host key it does not set.
 */
static bool build_host2(struct build *b)
{
	const struct scn_doc *doc = b->doc;
	struct scn_doc view = *doc;
	struct scn_assign *as = cfg_alloc(b->cfg, (doc->nassign + 1) * sizeof(*as));
	struct config *child = cfg_alloc(b->cfg, sizeof(*child));
	unsigned n = 0;

	if (!as || !child) {
		nomem(b);
		return false;
	}
	for (unsigned j = 0; j < doc->nassign; j++) {
		const char *p = doc->assign[j].path;

		if (strncmp(p, "arm.", 4) && strncmp(p, "host2.", 6) && strncmp(p, "migration.", 10) &&
		    strncmp(p, "check.", 6) && strcmp(p, "vm.placement"))
			as[n++] = doc->assign[j];
	}
	for (unsigned j = 0; j < doc->nassign; j++) {
		const char *p = doc->assign[j].path;
		char *q;

		if (strncmp(p, "host2.", 6) != 0)
			continue;
		q = cfg_alloc(b->cfg, strlen(p));
		if (!q) {
			nomem(b);
			return false;
		}
		memcpy(q, "host.", 5);
		memcpy(q + 5, p + 6, strlen(p + 6) + 1);
		as[n] = doc->assign[j];
		as[n++].path = q;
	}
	view.assign = as;
	view.nassign = n;
	view.nexpect = 0;
	if (build_config(child, &view, b->cfg->path, b->err, false) != VT_OK) {
		b->rc = VT_EINPUT;
		return false;
	}
	b->cfg->host2_cfg = child; /* config_free releases it with the parent */
	b->cfg->host2 = child->host;
	return true;
}

/*
 * migration.*: live migrations (or snapshot restores on the same host) of the whole VM, one at
 * each time of migration.at. Each must start after the previous one has resumed the VM, and none
 * may overlap a vm.pauses entry.
 */
static bool build_migration(struct build *b, struct scn_doc *defaults)
{
	struct config *cfg = b->cfg;
	const struct scn_value *at = value_of(b, "migration.at", defaults);
	const struct scn_value *const *times = &at;
	sim_ns prev_end = 0;
	unsigned n = 1;
	int e;

	if (!at)
		return true;
	if (at->kind == SCN_V_LIST) {
		times = (const struct scn_value *const *)at->items;
		n = at->n;
		if (n == 0) {
			fail(b, &at->loc, "migration.at: expected a time or a non-empty list of times");
			return false;
		}
	}
	if (!set_u64(b, "migration.downtime", SCN_DIM_TIME, &cfg->migration.downtime, defaults) ||
	    !set_u64(b, "migration.vcpu_gap", SCN_DIM_TIME, &cfg->migration.vcpu_gap, defaults) ||
	    !set_enum(b, "migration.to", &e, defaults))
		return false;
	if (cfg->migration.downtime == 0) {
		fail(b, &value_of(b, "migration.downtime", defaults)->loc,
		     "migration.downtime must be positive");
		return false;
	}
	if (cfg->migration.downtime > (sim_ns)1 << 61 ||
	    cfg->migration.vcpu_gap > ((sim_ns)1 << 61) / cfg->vm.nvcpus) {
		fail(b, &at->loc, "migration times must stay below 2^61 ns");
		return false;
	}
	cfg->migration.ats = cfg_alloc(cfg, n * sizeof(*cfg->migration.ats));
	if (!cfg->migration.ats) {
		nomem(b);
		return false;
	}
	for (unsigned k = 0; k < n; k++) {
		const struct scn_value *t = times[k];
		sim_ns start, end;

		if (!get_u64(b, t, SCN_DIM_TIME, "migration.at", &start))
			return false;
		if (start > (sim_ns)1 << 62) {
			fail(b, &t->loc, "migration times must stay below 2^61 ns");
			return false;
		}
		/* The VM is stopped from `at` to the last vCPU's restore. */
		end = start + cfg->migration.downtime + (cfg->vm.nvcpus - 1) * cfg->migration.vcpu_gap;
		if (k > 0 && start <= prev_end) {
			fail(b, &t->loc, "migration %u starts before migration %u has resumed the VM "
					 "(at %llu ns): migration.at must be in time order, each after the "
					 "previous one's downtime and vCPU gaps", k + 1, k,
			     (unsigned long long)prev_end);
			return false;
		}
		for (unsigned i = 0; i < cfg->vm.npauses; i++)
			if (cfg->vm.pauses[i].at <= end &&
			    cfg->vm.pauses[i].at + cfg->vm.pauses[i].length >= start) {
				fail(b, &t->loc, "the migration (stopped until %llu ns) overlaps "
						 "vm.pauses entry %u", (unsigned long long)end, i + 1);
				return false;
			}
		cfg->migration.ats[k] = start;
		prev_end = end;
	}
	cfg->migration.n = n;
	cfg->migration.at = cfg->migration.ats[0];
	cfg->migration.on = true;
	cfg->migration.same_host = e == 1;
	return cfg->migration.same_host || build_host2(b);
}

/* check.*: what bin/sim check explores (sim/chkmodel.c). */
static bool build_check(struct build *b, struct scn_doc *defaults)
{
	static const char *const props[] = { "monotonic", "no_warp", "strict", "bound",
					     "no_torn", "terminates", "continuity" };
	struct config *cfg = b->cfg;
	struct check_cfg *c = &cfg->check;
	const struct scn_value *x;
	uint64_t u;
	int e;

	for (unsigned i = 0; i < b->doc->nassign; i++)
		c->on |= strncmp(b->doc->assign[i].path, "check.", 6) == 0;
	if (!set_u64(b, "check.reads", SCN_DIM_NONE, &u, defaults))
		return false;
	if (u < 1 || u > 1000) {
		fail(b, &value_of(b, "check.reads", defaults)->loc, "check.reads must be 1..1000");
		return false;
	}
	c->reads = (unsigned)u;
	if (!set_u64(b, "check.start", SCN_DIM_TIME, &c->start, defaults))
		return false;
	if (!set_u64(b, "check.updates", SCN_DIM_NONE, &u, defaults))
		return false;
	c->updates = (unsigned)(u > 1000 ? 1000 : u);
	if (!set_u64(b, "check.update_khz", SCN_DIM_NONE, &u, defaults))
		return false;
	c->update_khz = (uint32_t)(u > 1000000 ? 1000000 : u);
	if (!set_u64(b, "check.stalls", SCN_DIM_NONE, &u, defaults))
		return false;
	c->stalls = (unsigned)(u > 1000 ? 1000 : u);
	if (!set_u64(b, "check.stall_length", SCN_DIM_TIME, &c->stall_length, defaults) ||
	    !set_enum(b, "check.migrate", &e, defaults))
		return false;
	c->migrate = e == 1;
	if (c->migrate && !cfg->migration.on) {
		fail(b, &value_of(b, "check.migrate", defaults)->loc,
		     "check.migrate = yes needs a migration (migration.at, host2)");
		return false;
	}
	if (!set_enum(b, "check.unfenced", &e, defaults))
		return false;
	c->unfenced = e == 1;
	x = value_of(b, "check.properties", defaults);
	if (!x || !list_of(b, x, "check.properties", "name"))
		return false;
	c->props = 0;
	for (unsigned i = 0; i < x->n; i++) {
		const struct scn_value *p = x->items[i];
		unsigned k;

		for (k = 0; k < VT_ARRAY_SIZE(props); k++)
			if (p->kind == SCN_V_IDENT && strcmp(p->str, props[k]) == 0)
				break;
		if (k == VT_ARRAY_SIZE(props)) {
			fail(b, &p->loc, "expected a property (monotonic, no_warp, strict, bound, no_torn, "
					 "terminates, continuity) in check.properties");
			return false;
		}
		c->props |= 1u << k;
	}
	if (!set_u64(b, "check.bound", SCN_DIM_TIME, &c->bound, defaults) ||
	    !set_u64(b, "check.max_calls", SCN_DIM_NONE, &u, defaults))
		return false;
	c->max_calls = (unsigned)(u < 1 ? 1 : u > 100000 ? 100000 : u);
	if (!set_enum(b, "check.expect", &e, defaults))
		return false;
	c->expect_violation = e == 1;
	if (!set_enum(b, "check.strategy", &e, defaults))
		return false;
	c->strategy = e;
	if (!set_u64(b, "check.max_deviations", SCN_DIM_NONE, &u, defaults))
		return false;
	c->max_deviations = (unsigned)(u > 1000 ? 1000 : u);
	if (!set_u64(b, "check.schedules", SCN_DIM_NONE, &c->schedules, defaults) ||
	    !set_u64(b, "check.time_budget", SCN_DIM_TIME, &c->time_budget, defaults) ||
	    !set_u64(b, "check.pct_depth", SCN_DIM_NONE, &u, defaults))
		return false;
	c->pct_depth = (unsigned)(u < 1 ? 1 : u > 64 ? 64 : u);
	if (!set_enum(b, "check.hash", &e, defaults))
		return false;
	c->hash = e == 0;
	c->nreaders = cfg->vm.nvcpus;
	c->readers = cfg_alloc(cfg, cfg->vm.nvcpus * sizeof(*c->readers));
	if (!c->readers) {
		nomem(b);
		return false;
	}
	x = value_of(b, "check.readers", defaults);
	if (x) {
		if (!list_of(b, x, "check.readers", "vcpu"))
			return false;
		if (x->n < 1 || x->n > cfg->vm.nvcpus) {
			fail(b, &x->loc, "check.readers: 1..%u vCPU indices", cfg->vm.nvcpus);
			return false;
		}
		c->nreaders = x->n;
	}
	for (unsigned i = 0; i < c->nreaders; i++) {
		uint64_t v = i;

		if (x && !get_u64(b, x->items[i], SCN_DIM_NONE, "check.readers", &v))
			return false;
		if (v >= cfg->vm.nvcpus) {
			fail(b, &x->items[i]->loc, "check.readers: no vCPU %llu (vm.vcpus = %u)",
			     (unsigned long long)v, cfg->vm.nvcpus);
			return false;
		}
		c->readers[i] = (unsigned)v;
	}
	if ((c->props & (1u << 4)) && c->nreaders != 1) {
		fail(b, &value_of(b, "check.properties", defaults)->loc,
		     "property no_torn needs exactly one reading vCPU (check.readers = [i])");
		return false;
	}
	return true;
}

/* Each arm's migration algorithm finds in its policy and page what it needs. */
static bool check_migration_needs(struct build *b)
{
	for (unsigned i = 0; i < b->cfg->narms; i++) {
		const struct arm_cfg *a = &b->cfg->arms[i];
		const struct config *c = a->cfg ? a->cfg : b->cfg;
		unsigned needs = a->migration->needs;
		const char *why = NULL;

		if (!c->migration.on)
			continue;
		if ((needs & MIG_NEEDS_TSC_WRITE) && !a->policy->on_tsc_write)
			why = "a policy that takes TSC writes";
		else if ((needs & MIG_NEEDS_TSC_ATTR) &&
			 (!a->policy->get_tsc_attr || !a->policy->set_tsc_offset))
			why = "a policy with KVM's TSC offset attribute (tsc-offset, kvm-scaled, "
			      "arm64-offset)";
		else if ((needs & MIG_NEEDS_CLOCK) && !a->page->get_clock)
			why = "a page provider with KVM_GET_CLOCK (kvmclock, hv-tsc-page)";
		if (why) {
			fail(b, &a->migration_loc, "arm '%s': migration algorithm '%s' needs %s; "
						   "policy '%s' / page '%s' do not qualify",
			     a->name, a->migration->name, why, a->policy->name, a->page->name);
			return false;
		}
	}
	return true;
}

static bool check_expr(struct build *b, const struct scn_expr *e)
{
	if (!e)
		return true;
	if (e->op == SCN_E_REF) {
		bool found = false;

		for (unsigned i = 0; i < b->cfg->narms; i++)
			found |= strcmp(b->cfg->arms[i].name, e->arm) == 0;
		if (!found) {
			fail(b, &e->loc, "unknown arm '%s' in expect", e->arm);
			return false;
		}
		if (metric_lookup(e->metric) < 0) {
			bool fact = false;

			for (unsigned i = 0; i < b->cfg->narms; i++) {
				const struct arm_cfg *a = &b->cfg->arms[i];

				if (strcmp(a->name, e->arm) != 0 || !a->page->facts)
					continue;
				for (const struct layer_fact *f = a->page->facts; f->name; f++)
					fact |= strcmp(f->name, e->metric) == 0;
			}
			if (!fact) {
				fail(b, &e->loc, "unknown metric '%s' in expect (bin/sim list shows them)",
				     e->metric);
				return false;
			}
		}
		return true;
	}
	return check_expr(b, e->a) && check_expr(b, e->b);
}

/*
 * Arms that override host, vm, sched or workload keys get a config of their own: the document's
 * assignments followed by the arm's overrides re-rooted (arm.x.host.cpus -> host.cpus), so the
 * override wins. Everything else (seed, duration, streams) is shared, so the arms still see the
 * same request times.
 */
static bool build_arm_configs(struct build *b)
{
	const struct scn_doc *doc = b->doc;

	for (unsigned i = 0; i < b->cfg->narms; i++) {
		struct arm_cfg *arm = &b->cfg->arms[i];
		size_t plen = strlen(arm->name) + 5;
		struct scn_doc view = *doc;
		struct scn_assign *as;
		struct config *child;
		unsigned n = 0, over = 0;

		for (unsigned j = 0; j < doc->nassign; j++) {
			const char *p = doc->assign[j].path;

			if (strncmp(p, "arm.", 4) == 0 && strncmp(p + 4, arm->name, plen - 5) == 0 &&
			    p[plen - 1] == '.' && arm_override_ok(p + plen))
				over++;
		}
		if (over == 0)
			continue;
		as = cfg_alloc(b->cfg, (doc->nassign + over) * sizeof(*as));
		child = cfg_alloc(b->cfg, sizeof(*child));
		if (!as || !child) {
			nomem(b);
			return false;
		}
		for (unsigned j = 0; j < doc->nassign; j++)
			if (strncmp(doc->assign[j].path, "arm.", 4) != 0)
				as[n++] = doc->assign[j];
		for (unsigned j = 0; j < doc->nassign; j++) {
			const char *p = doc->assign[j].path;

			if (strncmp(p, "arm.", 4) == 0 && strncmp(p + 4, arm->name, plen - 5) == 0 &&
			    p[plen - 1] == '.' && arm_override_ok(p + plen)) {
				as[n] = doc->assign[j];
				as[n++].path = p + plen;
			}
		}
		view.assign = as;
		view.nassign = n;
		view.nexpect = 0;
		if (build_config(child, &view, b->cfg->path, b->err, false) != VT_OK) {
			b->rc = VT_EINPUT;
			return false;
		}
		arm->cfg = child; /* config_free releases it with the parent */
	}
	return true;
}

int config_build(struct config *cfg, const struct scn_doc *doc, const char *path,
		 struct scn_error *err)
{
	return build_config(cfg, doc, path, err, true);
}

static int build_config(struct config *cfg, const struct scn_doc *doc, const char *path,
			struct scn_error *err, bool with_arms)
{
	struct build b = { cfg, doc, err, 0 };
	struct scn_doc defaults;
	const struct scn_value *v;

	memset(cfg, 0, sizeof(*cfg));
	memset(err, 0, sizeof(*err));
	scn_doc_init(&defaults);
	cfg->path = path;

	v = value_of(&b, "name", &defaults);
	if (v && v->kind != SCN_V_STR && v->kind != SCN_V_IDENT) {
		fail(&b, &v->loc, "expected a string for 'name'");
	} else if (v) {
		cfg->name = v->str;
	} else {
		const char *base = path ? strrchr(path, '/') : NULL;
		size_t n;
		char *s;

		base = base ? base + 1 : path ? path : "scenario";
		n = strlen(base);
		if (n > 4 && strcmp(base + n - 4, ".scn") == 0)
			n -= 4;
		s = cfg_alloc(cfg, n + 1);
		if (!s) {
			nomem(&b);
		} else {
			memcpy(s, base, n);
			cfg->name = s;
		}
	}
	if (!b.rc)
		set_u64(&b, "seed", SCN_DIM_NONE, &cfg->seed, &defaults);
	if (!b.rc && set_u64(&b, "duration", SCN_DIM_TIME, &cfg->duration, &defaults) &&
	    (cfg->duration == 0 || cfg->duration > (sim_ns)1 << 62))
		fail(&b, &value_of(&b, "duration", &defaults)->loc,
		     "duration must be positive and at most 2^62 ns (146 years)");
	if (!b.rc)
		build_host(&b, &defaults);
	if (!b.rc)
		build_vm(&b, &defaults);
	if (!b.rc)
		build_workload(&b, &defaults);
	if (!b.rc)
		build_guest_ntp(&b, &defaults);
	if (!b.rc)
		build_migration(&b, &defaults);
	if (!b.rc)
		build_check(&b, &defaults);
	if (!b.rc && with_arms && build_arms(&b, &defaults) && build_arm_configs(&b))
		check_migration_needs(&b);
	for (unsigned i = 0; i < doc->nexpect && !b.rc; i++)
		if (check_expr(&b, doc->expect[i].lhs))
			check_expr(&b, doc->expect[i].rhs);
	cfg->nexpect = doc->nexpect;
	cfg->expect = doc->expect;
	/* Nothing built points into `defaults` (distributions are copied into the config). */
	scn_doc_free(&defaults);
	if (b.rc) {
		config_free(cfg);
		return b.rc;
	}
	return VT_OK;
}

static const char *type_unit(enum key_type t)
{
	switch (t) {
	case K_TIME:
	case K_TIMES:
		return "ns us ms s min h";
	case K_FREQ:
		return "Hz kHz MHz GHz";
	case K_PPM:
		return "ppm ppb";
	case K_CYCLES:
		return "cycles";
	case K_RATE:
		return "/s /min /h, Hz";
	case K_PROB:
		return "0..1 or %";
	case K_DIST:
		return "fixed uniform exp lognormal bursts";
	case K_RATE_CHANGES:
	case K_RESETS:
	case K_PAUSES:
	case K_STEPS:
		return "[(t, v), ...]";
	default:
		return "";
	}
}

char *config_plugin_lines(const struct config *cfg)
{
	size_t len = 1;
	char *s;

	for (unsigned i = 0; i < cfg->narms; i++)
		len += strlen(cfg->arms[i].name) + 20;
	s = malloc(len);
	if (!s)
		return NULL;
	s[0] = '\0';
	for (unsigned i = 0; i < cfg->narms; i++)
		if (cfg->arms[i].plugin)
			sprintf(s + strlen(s), "%s=%016llx\n", cfg->arms[i].name,
				(unsigned long long)cfg->arms[i].plugin->hash);
	return s;
}

void config_print_keys(FILE *out, bool md)
{
	if (md) {
		fprintf(out, "| key | type | units | default | meaning |\n");
		fprintf(out, "|---|---|---|---|---|\n");
	}
	for (size_t i = 0; i < VT_ARRAY_SIZE(keys); i++) {
		const struct key_desc *k = &keys[i];
		char def[96];

		if (k->type == K_ENUM) {
			/* "auto (auto, tsc, hpet)": no '|', which would split a markdown table. */
			size_t n = (size_t)snprintf(def, sizeof(def), "%s (", k->def);

			for (const char *c = k->choices; *c && n + 3 < sizeof(def); c++) {
				if (*c == '|') {
					def[n++] = ',';
					def[n++] = ' ';
				} else {
					def[n++] = *c;
				}
			}
			def[n++] = ')';
			def[n] = '\0';
		} else
			snprintf(def, sizeof(def), "%s", k->def ? k->def : "derived");
		if (md)
			fprintf(out, "| `%s` | %s | %s | `%s` | %s |\n", k->path, type_names[k->type],
				type_unit(k->type), def, k->doc);
		else
			fprintf(out, "%-28s %-12s %-18s %-22s %s\n", k->path, type_names[k->type],
				type_unit(k->type), def, k->doc);
		if (strcmp(k->path, "host.reenlightenment_delay") == 0) {
			static const char *const doc2 =
				"any host.K for the migration's destination host";

			if (md)
				fprintf(out, "| `host2.K` | as host.K | as host.K | `host.K's value` "
					     "| %s |\n", doc2);
			else
				fprintf(out, "%-28s %-12s %-18s %-22s %s\n", "host2.K", "as host.K",
					"as host.K", "host.K's value", doc2);
		}
	}
}
