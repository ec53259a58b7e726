/*
 * uptime_resume.c: the `uptime-resume` TSC policy, seed 000's proposed fix for NetBSD NVMM.
 *
 * PR port-amd64/59862 (seed 000, REFERENCE section 4) proposes to "record the systemwide uptime
 * ... on every VM exit, and again on migration, so we know how many real time seconds elapsed in
 * the migration, and convert that back to a TSC offset". This is gtsc-resume (models/gtsc_resume.c:
 * NVMM's vmx_vcpu_run / svm_vcpu_run, sys/dev/nvmm/x86) plus that bookkeeping:
 *  - the guest TSC is the host TSC of the vCPU's CPU plus a per-vCPU offset (not trapped, not
 *    scaled); the guest sees TSC = 0 at startup;
 *  - on every return to the VMM: gtsc = offset + rdtsc(), and up = the host's uptime now;
 *  - on entry on a DIFFERENT host CPU than the last (or after a TSC MSR write):
 *        elapsed_ns = uptime now - up                       (0 if the clock reads less)
 *        target     = gtsc + floor(elapsed_ns * guest_tsc_hz / 1e9)
 *        offset     = target - rdtsc()
 *    so the guest TSC resumes where real time says it should be, never below gtsc;
 *  - on the same CPU the offset is untouched (the TSC kept running), as in gtsc-resume.
 * The conversion is exact integer arithmetic: elapsed_ns < 2^64 and guest_tsc_hz <= 1e11 < 2^37,
 * so the product fits 128 bits; the quotient is floored, so each resume is at most 1 cycle short
 * of the exact conversion (never ahead of it).
 *
 * Option `clock` chooses the uptime source, and the accuracy follows its resolution:
 *  - `tick`: the host's tick clock at host.hz (host_coarse_ns), like NetBSD's time_uptime /
 *    getbinuptime-style coarse clocks: both ends of an interval are truncated to the last tick, so
 *    a resume is off by less than one tick (10 ms at HZ=100, 1 ms at HZ=1000), early or late;
 *    the errors of successive migrations do not accumulate in one direction on average, but each
 *    one is visible as a step of up to a tick;
 *  - `raw`: the host's CLOCK_MONOTONIC_RAW read on the vCPU's host CPU at exit and at entry
 *    (host_raw_ns): high resolution, off only by the raw clock's own rounding and its disagreement
 *    between CPUs (a host whose clocksource is an unsynchronized TSC).
 * Trade-off: nearly no lost time at the cost of two clock reads per exit/entry and no new guest
 * ABI, but the guest still sees whatever error the host uptime clock has, and vCPUs can still be
 * skewed by up to one clock resolution (no VM-wide reference; a pvclock page would give one).
 */
#include <stdlib.h>

#include "policy.h"

#define NO_CPU UINT32_MAX

enum up_clock { UP_TICK, UP_RAW };

struct up_vcpu {
	uint64_t offset;     /* guest TSC - host TSC, modulo 2^64 */
	uint64_t gtsc;       /* guest TSC saved at the last return to the VMM */
	uint64_t up_ns;      /* host uptime saved with gtsc */
	uint32_t hcpu_last;  /* host CPU of the last entry, NO_CPU before the first */
	bool want_update;    /* rewrite the offset at the next entry */
};

struct uptime_resume {
	enum up_clock clock;
	struct up_vcpu *v;
};

static const struct opt_desc up_options[] = {
	{ "clock", OPT_ENUM, "tick", "tick|raw",
	  "host uptime source: tick = the host tick clock at host.hz; raw = CLOCK_MONOTONIC_RAW" },
	{ 0 },
};

/* The host uptime as the VMM on host CPU pcpu reads it at t (ns). */
static uint64_t uptime(const struct uptime_resume *s, const struct host *h, unsigned pcpu,
		       sim_ns t)
{
	return s->clock == UP_TICK ? host_coarse_ns(h, t) : host_raw_ns(h, pcpu, t);
}

static int up_init(struct policy *p, const struct opt_set *opts)
{
	struct uptime_resume *s = p->state;

	s->clock = opt_get(opts, "clock") == 0 ? UP_TICK : UP_RAW;
	s->v = calloc(p->vm->nvcpus, sizeof(*s->v));
	if (!s->v)
		return VT_ENOMEM;
	for (unsigned i = 0; i < p->vm->nvcpus; i++) {
		struct up_vcpu *u = &s->v[i];

		u->hcpu_last = NO_CPU;
		u->gtsc = 0; /* "On startup, NVMM exposes TSC=0" (seed 000) */
		/* The uptime at guest boot: the first entry converts the time since then. */
		u->up_ns = uptime(s, p->vm->host, vm_vcpu(p->vm, i)->pcpu, 0);
	}
	return VT_OK;
}

static void up_fini(struct policy *p)
{
	struct uptime_resume *s = p->state;

	free(s->v);
}

/* floor(ns * hz / 1e9): exact in 128 bits (ns < 2^64, hz < 2^37); fits 64 bits for any
 * elapsed time below 2^64 ns when hz <= 1e9, and for 5.8 years of elapsed time at 100 GHz. */
static uint64_t ns_to_cycles(uint64_t ns, uint64_t hz)
{
	return (uint64_t)((u128)ns * hz / NS_PER_SEC);
}

static void up_on_entry(struct policy *p, struct vcpu *v, unsigned pcpu, sim_ns t)
{
	struct uptime_resume *s = p->state;
	struct up_vcpu *u = &s->v[v->id];

	if (u->hcpu_last != pcpu) {
		u->want_update = true;
		u->hcpu_last = pcpu;
	}
	if (u->want_update) {
		uint64_t now = uptime(s, p->vm->host, pcpu, t);
		/* A clock reading less than at the exit (raw on another, skewed CPU) counts as
		 * no time elapsed: the guest TSC never goes back. */
		uint64_t elapsed = now > u->up_ns ? now - u->up_ns : 0;
		uint64_t target = u->gtsc + ns_to_cycles(elapsed, p->vm->guest_tsc_hz);

		u->offset = target - host_tsc(p->vm->host, pcpu, t);
		u->want_update = false;
	}
}

static void up_on_exit(struct policy *p, struct vcpu *v, sim_ns t)
{
	struct uptime_resume *s = p->state;
	struct up_vcpu *u = &s->v[v->id];

	u->gtsc = u->offset + host_tsc(p->vm->host, v->pcpu, t);
	u->up_ns = uptime(s, p->vm->host, v->pcpu, t);
}

static uint64_t up_guest_tsc(struct policy *p, const struct vcpu *v, sim_ns t)
{
	const struct up_vcpu *u = &((struct uptime_resume *)p->state)->v[v->id];

	return u->offset + host_tsc(p->vm->host, v->pcpu, t);
}

/* A write of the TSC MSR sets the saved value (as of now) and forces an offset rewrite at the
 * next entry, which adds the time elapsed since the write. */
static void up_on_tsc_write(struct policy *p, struct vcpu *v, uint64_t value, enum tsc_writer who,
			    sim_ns t)
{
	struct uptime_resume *s = p->state;
	struct up_vcpu *u = &s->v[v->id];

	(void)who;
	u->gtsc = value;
	u->up_ns = uptime(s, p->vm->host, v->pcpu, t);
	u->want_update = true;
}

const struct policy_ops policy_uptime_resume = {
	.version = POLICY_OPS_VERSION,
	.name = "uptime-resume",
	.describe = "NVMM fix of PR 59862: resume after a migration at gtsc + host uptime elapsed "
		    "(tick or raw clock)",
	.state_size = sizeof(struct uptime_resume),
	.options = up_options,
	.promises = POLICY_MONOTONIC_VCPU,
	.init = up_init,
	.fini = up_fini,
	.on_entry = up_on_entry,
	.on_exit = up_on_exit,
	.guest_tsc = up_guest_tsc,
	.on_tsc_write = up_on_tsc_write,
};
