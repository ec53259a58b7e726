/*
 * vbox_catchup.c: the `vbox-catchup` TSC policy: VirtualBox's TM catch-up of a lagging virtual
 * clock.
 *
 * VirtualBox's Time Manager (src/VBox/VMM/VMMR3/TM.cpp, VMMAll/TMAllVirtual.cpp; REFERENCE 7)
 * gives the guest a virtual clock built on the host's monotonic clock (RTTimeNanoTS), and a TSC
 * derived from it. When the VM does not run, that clock does not advance; the lag it accumulates
 * behind the host clock is then caught up by running the clock faster, in periods chosen by the
 * lag (TM.cpp's defaults, CatchUpStartThreshold0..9 / CatchUpPrecentage0..9):
 *
 *     lag >= 0.75 ms: 1.05x    1.5 ms: 1.10x    8 ms: 1.25x    30 ms: 1.50x    75 ms: 1.75x
 *          175 ms: 2x          500 ms: 3x       3 s: 4x        30 s: 5x        55 s: 6x
 *
 * until the lag is below CatchUpStopThreshold (0.5 ms, the catch-up "succeeded"), and it gives up
 * (the lag is written off, the clock jumps to the host clock) at CatchUpGiveUpThreshold (60 s).
 * Option `schedule = linear` replaces the table by one straight line from (start, 1 + min_pct%)
 * to (full_lag, 1 + max_pct%), REFERENCE 7's summary of it.
 *
 * Model: each vCPU has its own virtual clock (VirtualBox's is per VM; per vCPU here so that a
 * vCPU's time off-CPU is its own, as gtsc-resume's loss). It is piecewise linear in the host raw
 * clock (CLOCK_MONOTONIC_RAW of the vCPU's CPU, host_raw_ns): a segment starts at raw clock raw0
 * with value v0 (guest ns since boot) and rate r in parts per million of the raw clock's rate
 * (1,000,000 = 1x; 0 while the vCPU is off its host CPU, between vcpu_put and the next load):
 *
 *     v(raw) = v0 + floor((raw - raw0) * r / 10^6)        (128-bit product: exact)
 *
 * and the guest TSC is floor(v * guest_tsc_hz / 10^9). A new segment starts, at the current
 * value, at every load and put, every VM entry and exit, and every `period` (1 ms) while some
 * vCPU catches up (a vm_timer): there the lag (raw clock since guest boot minus v) picks the rate.
 * Monotonic: each segment starts where the last one is, and rates are never negative.
 *
 * Trade-off: the guest's clock is continuous and never steps back, and lost time comes back
 * gradually rather than in a jump (timers and schedulers see a smooth clock), but while it catches
 * up the guest's clock runs up to 6x fast (rate-based measurements are wrong), a lag below
 * 0.5 ms is never recovered, and a lag over 60 s is given up in one jump.
 */
#include <stdlib.h>

#include <stdio.h>

#include "policy.h"

#define RATE_ONE 1000000ULL /* ppm: 1x */

enum { SCHED_TABLE, SCHED_LINEAR };

/* TM.cpp's default catch-up periods: (lag from which the period applies, extra %). */
static const struct {
	uint64_t start_ns;
	uint32_t pct;
} vbox_periods[] = {
	{ 750000ULL, 5 },        { 1500000ULL, 10 },      { 8000000ULL, 25 },
	{ 30000000ULL, 50 },     { 75000000ULL, 75 },     { 175000000ULL, 100 },
	{ 500000000ULL, 200 },   { 3000000000ULL, 300 },  { 30000000000ULL, 400 },
	{ 55000000000ULL, 500 },
};

struct vb_vcpu {
	uint64_t v0;       /* virtual clock (guest ns) at the segment start */
	uint64_t raw0;     /* host raw clock at the segment start */
	uint64_t rate;     /* ppm of the raw clock's rate; 0: stopped */
	bool on_cpu;       /* loaded on a host CPU: the clock runs */
	bool catching;     /* a catch-up is in progress */
};

struct vbox_catchup {
	struct vb_vcpu *v;
	int schedule;
	uint64_t start_ns, stop_ns, giveup_ns, full_ns, period_ns;
	uint64_t min_ppm, max_ppm; /* extra rate, ppm, linear schedule */
	uint64_t boot_ns;          /* host raw clock at guest boot */
	bool armed;                /* the re-evaluation timer is pending */
};

static const struct opt_desc vb_options[] = {
	{ "schedule", OPT_ENUM, "table", "table|linear",
	  "catch-up rates: VirtualBox's ten periods, or linear from (start, min_pct) to (full_lag, "
	  "max_pct)" },
	{ "start", OPT_TIME, "750us", NULL, "lag from which a catch-up starts (CatchUpStartThreshold0)" },
	{ "stop", OPT_TIME, "500us", NULL, "lag below which a catch-up ends (CatchUpStopThreshold)" },
	{ "giveup", OPT_TIME, "60s", NULL, "lag written off in one jump (CatchUpGiveUpThreshold)" },
	{ "full_lag", OPT_TIME, "55s", NULL, "linear: lag at which the rate reaches max_pct" },
	{ "min_pct", OPT_INT, "5", NULL, "linear: extra speed at `start`, percent (1.05x)" },
	{ "max_pct", OPT_INT, "500", NULL, "linear: extra speed at `full_lag` and beyond, percent (6x)" },
	{ "period", OPT_TIME, "1ms", NULL, "re-evaluation of the rate while catching up" },
	{ 0 },
};

static int vb_init(struct policy *p, const struct opt_set *opts)
{
	struct vbox_catchup *s = p->state;
	int64_t min_pct = opt_get(opts, "min_pct"), max_pct = opt_get(opts, "max_pct");

	s->schedule = (int)opt_get(opts, "schedule");
	s->start_ns = (uint64_t)opt_get(opts, "start");
	s->stop_ns = (uint64_t)opt_get(opts, "stop");
	s->giveup_ns = (uint64_t)opt_get(opts, "giveup");
	s->full_ns = (uint64_t)opt_get(opts, "full_lag");
	s->period_ns = (uint64_t)opt_get(opts, "period");
	if (min_pct < 0 || max_pct < min_pct || max_pct > 100000 || s->period_ns == 0 ||
	    s->stop_ns > s->start_ns || s->full_ns == 0) {
		snprintf(p->err, sizeof(p->err),
			 "vbox-catchup needs 0 <= min_pct <= max_pct <= 100000, period > 0, "
			 "stop <= start and full_lag > 0");
		return VT_EINPUT;
	}
	s->min_ppm = (uint64_t)min_pct * 10000;
	s->max_ppm = (uint64_t)max_pct * 10000;
	s->boot_ns = host_raw_ns(p->vm->host, vm_vcpu(p->vm, 0)->pcpu, 0);
	s->v = calloc(p->vm->nvcpus, sizeof(*s->v));
	if (!s->v)
		return VT_ENOMEM;
	/* Every clock starts stopped at 0; the first load starts it. */
	for (unsigned i = 0; i < p->vm->nvcpus; i++)
		s->v[i].raw0 = s->boot_ns;
	return VT_OK;
}

static void vb_fini(struct policy *p)
{
	struct vbox_catchup *s = p->state;

	free(s->v);
}

/* The segment's value at raw clock `raw` (a raw clock behind raw0 counts as raw0). */
static uint64_t seg_value(const struct vb_vcpu *g, uint64_t raw)
{
	if (raw <= g->raw0 || g->rate == 0)
		return g->v0;
	return g->v0 + (uint64_t)(((u128)(raw - g->raw0) * g->rate) / RATE_ONE);
}

/* The catch-up rate (ppm, above 1x) for a lag, by the schedule. */
static uint64_t catchup_rate(const struct vbox_catchup *s, uint64_t lag)
{
	if (s->schedule == SCHED_TABLE) {
		uint32_t pct = vbox_periods[0].pct;

		for (size_t i = 1; i < VT_ARRAY_SIZE(vbox_periods); i++)
			if (lag >= vbox_periods[i].start_ns)
				pct = vbox_periods[i].pct;
		return RATE_ONE + (uint64_t)pct * 10000;
	}
	if (lag <= s->start_ns)
		return RATE_ONE + s->min_ppm;
	if (lag >= s->full_ns || s->full_ns <= s->start_ns)
		return RATE_ONE + s->max_ppm;
	return RATE_ONE + s->min_ppm +
	       (uint64_t)(((u128)(s->max_ppm - s->min_ppm) * (lag - s->start_ns)) /
			  (s->full_ns - s->start_ns));
}

/*
 * Starts a new segment for g on host CPU pcpu at t, at the clock's current value: measures the
 * lag, decides whether a catch-up starts, goes on, ends or gives up, and sets the rate (0 when
 * the vCPU is off its CPU). Arms the re-evaluation timer while catching up.
 */
static void resegment(struct policy *p, struct vb_vcpu *g, unsigned pcpu, sim_ns t)
{
	struct vbox_catchup *s = p->state;
	uint64_t raw = host_raw_ns(p->vm->host, pcpu, t);
	uint64_t val = seg_value(g, raw);
	uint64_t target = raw > s->boot_ns ? raw - s->boot_ns : 0;
	uint64_t lag = target > val ? target - val : 0;

	if (lag >= s->giveup_ns) {
		val = target; /* offVirtualSyncGivenUp: the lag is written off */
		g->catching = false;
	} else if (g->catching) {
		g->catching = lag >= s->stop_ns;
	} else {
		g->catching = lag >= s->start_ns;
	}
	g->v0 = val;
	g->raw0 = raw;
	g->rate = !g->on_cpu ? 0 : g->catching ? catchup_rate(s, lag) : RATE_ONE;
	if (g->catching && g->on_cpu && !s->armed) {
		s->armed = true;
		vm_timer(p->vm, p, t + s->period_ns, 0);
	}
}

static struct vb_vcpu *VB(struct policy *p, const struct vcpu *v)
{
	return &((struct vbox_catchup *)p->state)->v[v->id];
}

static void vb_on_load(struct policy *p, struct vcpu *v, unsigned pcpu, sim_ns t)
{
	struct vb_vcpu *g = VB(p, v);

	g->on_cpu = true;
	resegment(p, g, pcpu, t);
}

static void vb_on_put(struct policy *p, struct vcpu *v, sim_ns t)
{
	struct vb_vcpu *g = VB(p, v);

	resegment(p, g, v->pcpu, t); /* closes the running segment at its value now */
	g->on_cpu = false;
	g->rate = 0;
}

static void vb_on_entry(struct policy *p, struct vcpu *v, unsigned pcpu, sim_ns t)
{
	resegment(p, VB(p, v), pcpu, t);
}

static void vb_on_exit(struct policy *p, struct vcpu *v, sim_ns t)
{
	resegment(p, VB(p, v), v->pcpu, t);
}

/* The periodic re-evaluation: every vCPU on a CPU gets a new segment; re-armed by resegment
 * while one of them still catches up. */
static void vb_on_timer(struct policy *p, uint32_t arg, sim_ns t)
{
	struct vbox_catchup *s = p->state;

	(void)arg;
	s->armed = false;
	for (unsigned i = 0; i < p->vm->nvcpus; i++) {
		struct vb_vcpu *g = &s->v[i];

		if (g->on_cpu)
			resegment(p, g, vm_vcpu(p->vm, i)->pcpu, t);
	}
}

static uint64_t vb_guest_tsc(struct policy *p, const struct vcpu *v, sim_ns t)
{
	const struct vb_vcpu *g = &((struct vbox_catchup *)p->state)->v[v->id];
	uint64_t ns = seg_value(g, host_raw_ns(p->vm->host, v->pcpu, t));

	/* TMCpuTickGet from the virtual clock: ns * guest Hz / 1e9, floor (exact in 128 bits). */
	return (uint64_t)(((u128)ns * p->vm->guest_tsc_hz) / NS_PER_SEC);
}

const struct policy_ops policy_vbox_catchup = {
	.version = POLICY_OPS_VERSION,
	.name = "vbox-catchup",
	.describe = "VirtualBox TM: a virtual clock that stops off-CPU and catches up its lag at "
		    "1.05x-6x, gives up at 60 s",
	.state_size = sizeof(struct vbox_catchup),
	.options = vb_options,
	.promises = POLICY_MONOTONIC_VCPU,
	.init = vb_init,
	.fini = vb_fini,
	.on_load = vb_on_load,
	.on_put = vb_on_put,
	.on_entry = vb_on_entry,
	.on_exit = vb_on_exit,
	.guest_tsc = vb_guest_tsc,
	.on_timer = vb_on_timer,
};
