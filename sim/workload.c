/*
 * workload.c: the guest's clock reads.
 *
 * Three kinds of request, each from PRNG streams that no arm can perturb:
 *  - free reads: every vCPU reads its clock at workload.read_rate (Poisson or periodic);
 *  - locked reads (kvm-unit-tests kvmclock_test): every vCPU reads under one lock shared by all
 *    vCPUs, at workload.locked_rate; consecutive locked reads form the lock chain (warps, stalls);
 *  - the hopping task: one guest task reading at workload.hop.read_rate that the guest scheduler
 *    moves to another vCPU at workload.hop.rate; its consecutive reads form the hop chain.
 * A request made while its vCPU is not executing guest code waits (at most one of each kind per
 * vCPU) and is served as soon as the vCPU runs again. A read happens at one instant (the TSC
 * read) and keeps the vCPU busy for workload.read_cost; a vCPU performs at most one read per
 * event, so every read sees the host exactly as it is at its own instant.
 */
#include "layers.h"
#include "world.h"

/* Hop stream indices within CH_HOP. */
#define HOP_ARRIVALS 0
#define HOP_MOVES 1
#define HOP_TARGETS 2

/* One guest read on v now; returns the true time the read ends (its reader's own time). */
static sim_ns do_read(struct world *w, struct vcpu_rt *v, int chain)
{
	struct genv_read *r = &w->read;
	uint64_t ns = 0;
	enum read_status st;
	sim_ns t;

	if (VT_UNLIKELY(w->wd.switched)) {
		/* The watchdog switched the guest to its reference clocksource. */
		r->tsc_read = false;
		r->t = w->now + 1000; /* an emulated HPET read is a VM exit */
		r->msr_exits = 1;
		r->livelock = false;
		ns = watchdog_reference(w, v, w->now);
		st = READ_OK;
		t = w->now;
	} else {
		st = genv_read(w, v, r, &ns);
		/* The read's true time is the instant of its TSC read (or its end, without one). */
		t = r->tsc_read ? r->t_tsc : r->t;
	}

	w->load.msr_exits += r->msr_exits;
	if (VT_UNLIKELY(r->livelock)) {
		w->load.livelocks++;
		return r->t;
	}
	/* The system clock: the reader's value plus the guest's NTP correction (discipline.c). */
	ns = discipline_apply(&w->discipline, t, ns);
	if (VT_UNLIKELY(w->rec != NULL)) {
		/* Recording: violations with what they were compared with, and the series. */
		struct read_prev prev;
		unsigned f = metrics_read(&w->metrics, v->pub.id, chain, t, ns, st == READ_FALLBACK,
					  &prev);

		if (f & METRIC_WARP) {
			struct violation x = { VIOL_WARP, t, v->pub.id, v->pub.pcpu,
					       w->chain_last_vcpu[chain], prev.chain_g, ns,
					       chain == CHAIN_LOCK ? "lock" : "hop" };

			record_violation(w->rec, &x);
		}
		if (f & METRIC_BACKSTEP) {
			struct violation x = { VIOL_BACKSTEP, t, v->pub.id, v->pub.pcpu, -1, prev.vcpu_g,
					       ns, NULL };

			record_violation(w->rec, &x);
		}
		if (chain >= 0)
			w->chain_last_vcpu[chain] = (int32_t)v->pub.id;
		v->series_pending = true;
	} else {
		metrics_read(&w->metrics, v->pub.id, chain, t, ns, st == READ_FALLBACK, NULL);
	}
	if (VT_UNLIKELY(w->trace != NULL))
		world_trace(w, "guest-read", (int)v->pub.pcpu, (int)v->pub.id,
			    "chain=%s ns=%llu%s",
			    chain == CHAIN_LOCK ? "lock" : chain == CHAIN_HOP ? "hop" : "none",
			    (unsigned long long)ns, st == READ_FALLBACK ? " fallback" : "");
	return r->t;
}

static void arm_retry(struct world *w, struct vcpu_rt *v, sim_ns at)
{
	if (v->retry_armed)
		return; /* the armed retry re-arms itself if it is too early */
	v->retry_armed = true;
	world_push(w, at, EV_READ_RETRY, v->pub.id, 0);
}

/* Serves one pending read of a running vCPU, and arms a retry for the rest. */
static void serve(struct world *w, struct vcpu_rt *v)
{
	sim_ns t = w->now, cost = w->cfg->workload.read_cost, end;

	if (v->pending == 0 || v->pub.state != VCPU_RUNNING)
		return;
	if (t < v->busy_until || t < w->frozen_until) {
		/* Busy with a read, or every CPU is in SMM. */
		arm_retry(w, v, v->busy_until > w->frozen_until ? v->busy_until : w->frozen_until);
		return;
	}
	end = t;
	if (v->pending & PEND_FREE) {
		v->pending &= ~PEND_FREE;
		end = do_read(w, v, -1);
	} else if (v->pending & PEND_LOCKED) {
		if (t < w->lock_busy_until) {
			arm_retry(w, v, w->lock_busy_until); /* spin on the lock */
			return;
		}
		v->pending &= ~PEND_LOCKED;
		end = do_read(w, v, CHAIN_LOCK);
		w->lock_busy_until = end > t + cost ? end : t + cost;
	} else {
		v->pending &= ~PEND_HOP;
		if (w->hop_vcpu == v->pub.id)
			end = do_read(w, v, CHAIN_HOP);
	}
	/* Busy for the read's cost, or longer when its calls took longer (an MSR exit, a spin). */
	v->busy_until = end > t + cost ? end : t + cost;
	if (v->pending)
		arm_retry(w, v, v->busy_until);
}

void workload_on_run(struct world *w, struct vcpu_rt *v)
{
	if (v->pending)
		serve(w, v);
}

/* A periodic stream's period: 1e9 / rate ns, truncated, clamped into [1 ns, 2^62 ns] (the
 * conversion of a larger double is undefined). */
static sim_ns period_of(double rate)
{
	double p = 1e9 / rate;

	return p >= 4.6e18 ? (sim_ns)1 << 62 : p < 1 ? 1 : (sim_ns)p;
}

static sim_ns next_interval(struct world *w, enum choice_kind k, unsigned idx, double rate)
{
	if (w->cfg->workload.arrivals == ARRIVALS_PERIODIC) {
		/* Computed once per stream kind at the start (the same value every time). */
		if (k == CH_READ)
			return w->period_read;
		if (k == CH_LOCKED)
			return w->period_locked;
		return period_of(rate);
	}
	return world_interval(w, k, idx, rate);
}

/* The first request of each stream: Poisson from time 0, or periodic with a random phase. */
static sim_ns first_at(struct world *w, enum choice_kind k, unsigned idx, double rate)
{
	if (w->cfg->workload.arrivals == ARRIVALS_PERIODIC) {
		sim_ns period = next_interval(w, k, idx, rate);

		return 1 + sim_choose(w, k, idx, period);
	}
	return world_interval(w, k, idx, rate);
}

void workload_start(struct world *w)
{
	const struct config *cfg = w->cfg;

	w->period_read = cfg->workload.read_rate > 0 ? period_of(cfg->workload.read_rate) : 0;
	w->period_locked = cfg->workload.locked_rate > 0 ? period_of(cfg->workload.locked_rate) : 0;
	for (unsigned i = 0; i < cfg->vm.nvcpus; i++) {
		if (cfg->workload.read_rate > 0)
			world_push(w, first_at(w, CH_READ, i, cfg->workload.read_rate), EV_READ, i, 0);
		if (cfg->workload.locked_rate > 0)
			world_push(w, first_at(w, CH_LOCKED, i, cfg->workload.locked_rate),
				   EV_LOCKED_READ, i, 0);
	}
	if (cfg->workload.hop_read_rate > 0) {
		w->hop_vcpu = 0;
		world_push(w, first_at(w, CH_HOP, HOP_ARRIVALS, cfg->workload.hop_read_rate),
			   EV_HOP_READ, 0, 0);
		if (cfg->workload.hop_rate > 0 && cfg->vm.nvcpus > 1)
			world_push(w, world_interval(w, CH_HOP, HOP_MOVES, cfg->workload.hop_rate),
				   EV_HOP, 0, 0);
	}
}

static void request(struct world *w, struct vcpu_rt *v, unsigned bit)
{
	v->pending |= bit;
	if (v->pub.state == VCPU_RUNNING)
		serve(w, v);
}

static void hop(struct world *w)
{
	unsigned n = w->cfg->vm.nvcpus, from = w->hop_vcpu, to;
	struct vcpu_rt *old = &w->vcpus[from];

	world_push(w, w->now + world_interval(w, CH_HOP, HOP_MOVES, w->cfg->workload.hop_rate),
		   EV_HOP, 0, 0);
	to = (unsigned)sim_choose(w, CH_HOP, HOP_TARGETS, n - 1);
	if (to >= from)
		to++;
	w->hop_vcpu = to;
	/* A read the task was waiting to make moves with it. */
	if (old->pending & PEND_HOP) {
		old->pending &= ~PEND_HOP;
		request(w, &w->vcpus[to], PEND_HOP);
	}
}

void workload_handle(struct world *w, const struct event *e)
{
	const struct config *cfg = w->cfg;

	switch (event_kind(e)) {
	case EV_READ:
		world_push(w, w->now + next_interval(w, CH_READ, e->who, cfg->workload.read_rate),
			   EV_READ, e->who, 0);
		request(w, &w->vcpus[e->who], PEND_FREE);
		break;
	case EV_LOCKED_READ:
		world_push(w, w->now + next_interval(w, CH_LOCKED, e->who, cfg->workload.locked_rate),
			   EV_LOCKED_READ, e->who, 0);
		request(w, &w->vcpus[e->who], PEND_LOCKED);
		break;
	case EV_HOP_READ:
		world_push(w, w->now + next_interval(w, CH_HOP, HOP_ARRIVALS,
						      cfg->workload.hop_read_rate),
			   EV_HOP_READ, 0, 0);
		request(w, &w->vcpus[w->hop_vcpu], PEND_HOP);
		break;
	case EV_HOP:
		hop(w);
		break;
	case EV_READ_RETRY:
		w->vcpus[e->who].retry_armed = false;
		serve(w, &w->vcpus[e->who]);
		break;
	default:
		break;
	}
}
