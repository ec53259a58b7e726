/*
 * world.c: building one world from a config and an arm, the event loop, the choice point, layer
 * timers and the trace.
 *
 * The loop pops the earliest event by (time, seq) and hands it to the module that owns its kind:
 * vcpu.c for the vCPU state machine and the host scheduler, workload.c for guest reads; host
 * changes, wander, the metrics sampler and layer timers are handled here. It stops at the first
 * event at or after the scenario's duration. Nothing here knows any one policy or reader: layers
 * are reached only through sim/layers.h.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "layers.h"
#include "migrate.h"
#include "plugin.h"
#include "world.h"

static const char *const ev_names[EV_KIND_COUNT] = {
	[EV_END] = "end", [EV_READ] = "read-request", [EV_LOCKED_READ] = "locked-read-request",
	[EV_HOP_READ] = "hop-read-request", [EV_HOP] = "hop", [EV_READ_RETRY] = "read-retry",
	[EV_IO_START] = "io-exit", [EV_IO_END] = "io-done", [EV_STALL_START] = "stall",
	[EV_STALL_END] = "stall-done", [EV_MIGRATE] = "migrate-out", [EV_RESCHED] = "migrate-in",
	[EV_QUANTUM] = "quantum", [EV_PAUSE] = "vm-pause", [EV_RESUME] = "vm-resume",
	[EV_HOST_CHANGE] = "host-tsc-change", [EV_WANDER] = "host-tsc-wander",
	[EV_SAMPLE] = "sample", [EV_TIMER] = "timer", [EV_SERIES] = "series",
	[EV_SMI] = "smi", [EV_SLEEP] = "guest-sleep", [EV_NTP_POLL] = "ntp-poll",
	[EV_WATCHDOG] = "watchdog", [EV_HOST_STEP] = "host-clock-step",
	[EV_MIG_STOP] = "migration-stop", [EV_MIG_RESTORE] = "migration-restore",
	[EV_OUTER_STOP] = "outer-migration-stop", [EV_OUTER_MOVE] = "outer-migration-move",
};

void world_push(struct world *w, sim_ns t, enum ev_kind kind, uint32_t who, uint32_t arg)
{
	if (evq_push(&w->q, t, kind, who, arg) != VT_OK && !w->error)
		w->error = VT_ENOMEM;
}

uint64_t sim_choose(struct world *w, enum choice_kind kind, unsigned index, uint64_t n)
{
	struct rng *r = &w->streams[(size_t)kind * w->stream_stride + index];

	return n ? rng_below(r, n) : rng_next(r);
}

struct choice_ctx {
	struct world *w;
	enum choice_kind kind;
	unsigned index;
};

static uint64_t choice_word(void *ctx)
{
	struct choice_ctx *c = ctx;

	return sim_choose(c->w, c->kind, c->index, 0);
}

uint64_t world_draw(struct world *w, enum choice_kind kind, unsigned index, const struct dist *d)
{
	struct choice_ctx c = { w, kind, index };

	return dist_sample(d, choice_word, &c);
}

sim_ns world_interval(struct world *w, enum choice_kind kind, unsigned index, double rate)
{
	/* sim_choose(w, kind, index, 0) is rng_next of this stream: the same draws, no callback. */
	return rng_exp_interval_rng(rate, &w->streams[(size_t)kind * w->stream_stride + index]);
}

void vm_timer(struct vm *vm, const void *layer, sim_ns at, uint32_t arg)
{
	struct world *w = vm->world;
	unsigned i;

	for (i = 0; i < w->ntimers; i++)
		if (!w->timers[i].used)
			break;
	if (i == w->ntimers) {
		if (w->ntimers == w->cap_timers) {
			unsigned cap = w->cap_timers ? 2 * w->cap_timers : 16;
			struct timer_slot *n = realloc(w->timers, cap * sizeof(*n));

			if (!n) {
				w->error = VT_ENOMEM;
				return;
			}
			w->timers = n;
			w->cap_timers = cap;
		}
		w->ntimers++;
	}
	w->timers[i] = (struct timer_slot){ layer, arg, true };
	world_push(w, at < w->now ? w->now : at, EV_TIMER, i, 0);
}

static void fire_timer(struct world *w, unsigned slot)
{
	struct timer_slot ts = w->timers[slot];

	w->timers[slot].used = false;
	if (ts.layer == &w->policy && w->policy.ops->on_timer)
		w->policy.ops->on_timer(&w->policy, ts.arg, w->now);
	else if (ts.layer == &w->page && w->page.ops->on_timer)
		w->page.ops->on_timer(&w->page, ts.arg, w->now);
}

struct vcpu *vm_vcpu(struct vm *vm, unsigned i)
{
	return &vm->world->vcpus[i].pub;
}

void world_trace(struct world *w, const char *kind, int pcpu, int vcpu, const char *fmt, ...)
{
	va_list ap;

	fprintf(w->trace, "%llu %s cpu=", (unsigned long long)w->now, kind);
	if (pcpu >= 0)
		fprintf(w->trace, "%d", pcpu);
	else
		fputc('-', w->trace);
	fputs(" vcpu=", w->trace);
	if (vcpu >= 0)
		fprintf(w->trace, "%d", vcpu);
	else
		fputc('-', w->trace);
	if (pcpu >= 0)
		fprintf(w->trace, " host_tsc=%llu",
			(unsigned long long)host_tsc(&w->host, (unsigned)pcpu, w->now));
	if (vcpu >= 0 && w->vcpus[vcpu].pub.state == VCPU_RUNNING)
		fprintf(w->trace, " guest_tsc=%llu",
			(unsigned long long)policy_guest_tsc(&w->policy, &w->vcpus[vcpu].pub, w->now));
	if (fmt) {
		fputc(' ', w->trace);
		va_start(ap, fmt);
		vfprintf(w->trace, fmt, ap);
		va_end(ap);
	}
	fputc('\n', w->trace);
}

/* EV_HOST_CHANGE's arg: the index of a host2 event has this bit (host_change). */
#define HOST2_EVENT 0x80000000u

/*
 * The trace line for an event before it is handled: who it concerns and the clocks then. A host
 * CPU's event shows that CPU's TSC only when it is a CPU of the host the VM is on (a change of
 * the other host, a stale wander step, a quantum tick dying on a CPU this host lacks: none).
 */
static void trace_event(struct world *w, const struct event *e)
{
	unsigned k = event_kind(e);
	int pcpu = -1, vcpu = -1;
	bool here = e->who < w->host.ncpus;

	switch (k) {
	case EV_HOST_CHANGE:
		here &= ((e->arg & HOST2_EVENT) != 0) == (w->host_epoch % 2 == 1);
		pcpu = here ? (int)e->who : -1;
		break;
	case EV_WANDER:
		here &= e->arg == w->host_epoch;
		pcpu = here ? (int)e->who : -1;
		break;
	case EV_QUANTUM:
		pcpu = here ? (int)e->who : -1;
		break;
	case EV_READ:
	case EV_LOCKED_READ:
	case EV_READ_RETRY:
	case EV_IO_START:
	case EV_IO_END:
	case EV_STALL_START:
	case EV_STALL_END:
	case EV_MIGRATE:
	case EV_RESCHED:
		vcpu = (int)e->who;
		pcpu = (int)w->vcpus[vcpu].pub.pcpu;
		break;
	case EV_HOP_READ:
	case EV_HOP:
		vcpu = (int)w->hop_vcpu;
		pcpu = (int)w->vcpus[vcpu].pub.pcpu;
		break;
	default:
		break;
	}
	world_trace(w, ev_names[k], pcpu, vcpu, NULL);
}

/*
 * A configured change of a host CPU's TSC (host.cpu[].rate_changes, resets, and host2's). arg
 * is the event's index, with HOST2_EVENT set for host2's. Each host's TSCs change whether the
 * VM is on it or not; a change of the host the VM is not on (the source after an odd number of
 * moves, host2 otherwise) reaches nobody in this VM: the layers learn that host's state when the
 * VM moves there (on_migrate).
 */

static void host_change(struct world *w, unsigned cpu, uint32_t arg)
{
	bool of_host2 = (arg & HOST2_EVENT) != 0, vm_on_host2 = w->host_epoch % 2 == 1;
	struct host *h = of_host2 == vm_on_host2 ? &w->host : &w->host2;
	const struct host_tsc_event *ev = &h->cfg.cpu[cpu].events[arg & ~HOST2_EVENT];
	struct host_change c = { .pcpu = cpu, .before = host_tsc(h, cpu, w->now) };

	if (h != &w->host) {
		if (ev->kind == HOST_EV_RATE)
			host_tsc_set_rate(h, cpu, w->now, ev->value);
		else
			host_tsc_reset(h, cpu, w->now, ev->value);
		return;
	}
	if (ev->kind == HOST_EV_RATE) {
		host_tsc_set_rate(&w->host, cpu, w->now, ev->value);
		c.kind = HOST_CHANGE_RATE;
	} else {
		host_tsc_reset(&w->host, cpu, w->now, ev->value);
		c.kind = HOST_CHANGE_RESET;
	}
	c.after = host_tsc(&w->host, cpu, w->now);
	policy_on_host_change(&w->policy, &c, w->now);
	page_on_host_change(&w->page, &c, w->now);
}

/* One wander step: the frequency error moves by a uniform step in [-wander, +wander] ppb.
 * arg is the host epoch the event was armed in: the source's wander stops at a migration. */
static void wander(struct world *w, unsigned cpu, uint32_t epoch)
{
	int64_t step = w->host.cfg.cpu[cpu].wander_ppb;
	uint64_t span = 2 * (uint64_t)step + 1;

	if (epoch != w->host_epoch)
		return;
	host_tsc_wander(&w->host, cpu, w->now, (int64_t)sim_choose(w, CH_HOST, cpu, span) - step);
	world_push(w, w->now + w->host.cfg.wander_interval, EV_WANDER, cpu, epoch);
}

/* ---- migration (issue 6): the VM moves to host2 or restarts on its host ------------------ */

/*
 * The VM stops on the source: the layers' pause hooks (the VMM saves its state), the
 * algorithm's save, and what the engine needs to judge the move: every vCPU's guest TSC now
 * (on its last host CPU) and each vCPU's last read (for the guest-visible jump).
 */
static void migration_stop(struct world *w, unsigned k)
{
	/* The next migration (config: it starts after this one has resumed the VM). */
	if (k + 1 < w->cfg->migration.n)
		world_push(w, w->cfg->migration.ats[k + 1], EV_MIG_STOP, 0, k + 1);
	vcpu_pause_vm(w);
	w->mig_stop_t = w->now;
	for (unsigned i = 0; i < w->vm.nvcpus; i++)
		w->mig_tsc[i] = policy_guest_tsc(&w->policy, &w->vcpus[i].pub, w->now);
	if (w->mig.ops->save)
		w->mig.ops->save(&w->mig, w->now);
	metrics_mark_migration(&w->metrics);
	for (unsigned i = 0; i < w->vm.nvcpus; i++)
		world_push(w, w->now + w->cfg->migration.downtime + i * w->cfg->migration.vcpu_gap,
			   EV_MIG_RESTORE, i, 0);
}

/*
 * The VM arrives on the destination: it becomes the world's host (the structs swap, so every
 * layer's vm->host now reads the destination), vCPU i is placed on its CPU i mod ncpus, the
 * destination's wander starts, and the layers create the destination VM.
 */
static void migration_arrive(struct world *w)
{
	if (!w->cfg->migration.same_host) {
		struct host tmp = w->host;

		w->host = w->host2;
		w->host2 = tmp;
		w->host_epoch++;
		for (unsigned c = 0; c < w->host.ncpus; c++) {
			w->cpu_owner[c] = -1;
			if (w->host.cfg.cpu[c].wander_ppb != 0)
				world_push(w, w->now + w->host.cfg.wander_interval, EV_WANDER, c,
					   w->host_epoch);
			/* A CPU's quantum ticks go on across moves; those of a CPU the last host
			 * lacked have died at their next tick (vcpu.c), or are still pending when
			 * the VM comes back within a quantum: start a chain only where none is. */
			if (w->cfg->sched.mode == SCHED_QUANTUM && !w->quantum_live[c]) {
				world_push(w, w->now + 1 + sim_choose(w, CH_QUANTUM, c, w->cfg->sched.quantum),
					   EV_QUANTUM, c, 0);
				w->quantum_live[c] = true;
			}
		}
		for (unsigned i = 0; i < w->vm.nvcpus; i++) {
			w->vcpus[i].pub.pcpu = i % w->host.ncpus;
			w->vcpus[i].last_entry_pcpu = w->vcpus[i].pub.pcpu;
		}
		if (VT_UNLIKELY(w->trace != NULL))
			world_trace(w, "migration-arrive", -1, -1, "host_cpus=%u", w->host.ncpus);
	}
	if (w->policy.ops->on_migrate)
		w->policy.ops->on_migrate(&w->policy, w->now);
	if (w->page.ops->on_migrate)
		w->page.ops->on_migrate(&w->page, w->now);
}

/*
 * Judging the move once every vCPU is restored, before the VM resumes (REFERENCE 6): each
 * vCPU's guest TSC should be its value at the stop plus the stopped time at the guest's rate,
 * floor(stopped ns * khz / 10^6), within 1 cycle plus the scaling ratio's rounding over the
 * destination's host counter (when the policy exposes a ratio). Also the spread of the vCPUs'
 * TSCs at this instant: what a task moving between vCPUs sees.
 */
static void migration_judge(struct world *w)
{
	struct metrics *m = &w->metrics;
	uint32_t khz = (uint32_t)(w->vm.guest_tsc_hz / 1000);
	uint64_t ideal = migrate_ns_to_cycles((int64_t)(w->now - w->mig_stop_t), khz);
	uint64_t first = 0;
	int64_t lo = 0, hi = 0;

	for (unsigned i = 0; i < w->vm.nvcpus; i++) {
		const struct vcpu *v = &w->vcpus[i].pub;
		uint64_t g = policy_guest_tsc(&w->policy, v, w->now), bound = 1;
		int64_t err = (int64_t)(g - (w->mig_tsc[i] + ideal)), d;

		if (w->policy.ops->get_tsc_attr) {
			struct tsc_attr a;

			w->policy.ops->get_tsc_attr(&w->policy, v, w->now, &a);
			bound += migrate_ratio_rounding(host_tsc(&w->host, v->pcpu, w->now), a.ratio,
							a.frac_bits, a.khz, a.host_khz);
		}
		if ((err < 0 ? 0 - (uint64_t)err : (uint64_t)err) > bound)
			m->mig_tsc_breaks++;
		if ((err < 0 ? 0 - (uint64_t)err : (uint64_t)err) >
		    (m->mig_tsc_error < 0 ? 0 - (uint64_t)m->mig_tsc_error : (uint64_t)m->mig_tsc_error))
			m->mig_tsc_error = err;
		if (i == 0)
			first = g;
		d = (int64_t)(g - first);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
		if (VT_UNLIKELY(w->trace != NULL))
			world_trace(w, "migration-judge", (int)v->pcpu, (int)i,
				    "tsc_at_stop=%llu tsc_now=%llu error=%lld bound=%llu",
				    (unsigned long long)w->mig_tsc[i], (unsigned long long)g,
				    (long long)err, (unsigned long long)bound);
	}
	if ((uint64_t)(hi - lo) > m->mig_tsc_spread)
		m->mig_tsc_spread = (uint64_t)(hi - lo);
}

/* vCPU i's turn on the destination: the first arrives, the last resumes the VM. */
static void migration_restore(struct world *w, unsigned i)
{
	if (i == 0)
		migration_arrive(w);
	w->mig.ops->restore_vcpu(&w->mig, &w->vcpus[i].pub, w->now);
	if (i + 1 == w->vm.nvcpus) {
		migration_judge(w);
		vcpu_resume_vm(w);
	}
}

void world_migrate_now(struct world *w)
{
	sim_ns stop = w->now;

	migration_stop(w, UINT32_MAX - 1); /* one move, no successor */
	for (unsigned i = 0; i < w->vm.nvcpus; i++) {
		w->now = stop + w->cfg->migration.downtime + i * w->cfg->migration.vcpu_gap;
		migration_restore(w, i);
	}
}

/*
 * A nested host moved by its outer hypervisor to a machine whose TSC runs at outer.freq, without
 * scaling (seed 003). With re-enlightenment (Hyper-V) the outer hypervisor emulates the old
 * frequency until the host has been notified and has updated: Linux's hv_reenlightenment_notify
 * defers the work by HZ/10, whose callback (kvm_hyperv_tsc_notifier) stops every nested VM,
 * stops TSC emulation, re-reads tsc_khz and recomputes every kvmclock and TSC page (Linux 6.12,
 * arch/x86/hyperv/hv_init.c and arch/x86/kvm/x86.c). Here the TSC keeps the old rate until then
 * and the layers hear HOST_CHANGE_RECALIBRATED. Without it the rate changes when the host runs
 * again and nobody in the host learns it: the host's own clock stays right (the outer
 * hypervisor republishes the host's page) but KVM's tsc_khz is stale.
 */
static void outer_move(struct world *w, bool recalibrate)
{
	host_outer_migrate(&w->host, w->now, w->cfg->outer.freq_hz, w->host.cpu[0].err_ppb);
	if (recalibrate) {
		struct host_change c = { .kind = HOST_CHANGE_RECALIBRATED, .pcpu = 0 };

		host_recalibrate(&w->host, w->now);
		c.before = c.after = host_tsc(&w->host, 0, w->now);
		policy_on_host_change(&w->policy, &c, w->now);
		page_on_host_change(&w->page, &c, w->now);
	}
}

/*
 * A guest sleep of a drawn length, armed now on vCPU v. The host delivers the wake-up with a
 * high-resolution timer (after its timer slack) or, with `host.timer = tick`, at a tick: a
 * callout of ceil(length / tick) ticks counted from the current tick, plus one (the partial
 * current tick), as tick-based kernels do (NetBSD PR kern/43997): between one and two ticks late.
 */
static void guest_sleep(struct world *w, unsigned v)
{
	const struct config *cfg = w->cfg;
	uint64_t len = world_draw(w, CH_SLEEP, v, cfg->workload.sleep_length);
	sim_ns want = w->now + len, got;

	world_push(w, w->now + world_interval(w, CH_SLEEP, v, cfg->workload.sleep_rate), EV_SLEEP,
		   v, 0);
	if (cfg->host_timer.tick) {
		sim_ns tick = NS_PER_SEC / cfg->host.hz;
		sim_ns ticks = (len + tick - 1) / tick + 1;

		got = (w->now / tick + ticks) * tick;
	} else {
		got = want + cfg->host_timer.slack;
	}
	if (got < w->frozen_until)
		got = w->frozen_until;
	metrics_sleep(&w->metrics, want, got);
	w->load.sleeps++;
}

/* The recording's series: each vCPU's latest read, if it read since the last tick. */
static void series_tick(struct world *w)
{
	for (unsigned i = 0; i < w->cfg->vm.nvcpus; i++) {
		struct vcpu_rt *v = &w->vcpus[i];
		const struct vcpu_metrics *m = &w->metrics.v[i];

		if (!v->series_pending)
			continue;
		v->series_pending = false;
		record_series(w->rec, i, m->last_t, m->last_g, m->last_err);
	}
	world_push(w, w->now + w->rec->series_interval, EV_SERIES, 0, 0);
}

static void *zalloc(size_t n)
{
	return calloc(1, n ? n : 1);
}

int world_init(struct world *w, const struct config *base, const struct arm_cfg *arm, FILE *trace)
{
	/* An arm that overrides host, vm, sched or workload keys runs on its own config. */
	const struct config *cfg = arm->cfg ? arm->cfg : base;
	const unsigned nv = cfg->vm.nvcpus;
	unsigned nc = cfg->host.ncpus; /* host CPUs to provide for: the larger host's */
	struct reader_ctx rctx;
	int rc;

	memset(w, 0, sizeof(*w));
	w->cfg = cfg;
	w->arm = arm;
	w->trace = trace;
	evq_init(&w->q);
	rc = host_init(&w->host, &cfg->host);
	if (rc)
		return rc;
	if (cfg->migration.on && !cfg->migration.same_host) {
		rc = host_init(&w->host2, &cfg->host2);
		if (rc)
			return rc;
		w->has_host2 = true;
		if (cfg->host2.ncpus > nc)
			nc = cfg->host2.ncpus;
	}

	w->stream_stride = nv > nc ? nv : nc;
	if (w->stream_stride < 3)
		w->stream_stride = 3; /* CH_HOP uses indices 0..2 */
	w->streams = calloc((size_t)CH_KIND_COUNT * w->stream_stride, sizeof(*w->streams));
	w->vcpus = calloc(nv, sizeof(*w->vcpus));
	w->cpu_owner = malloc(nc * sizeof(*w->cpu_owner));
	w->quantum_live = calloc(nc, sizeof(*w->quantum_live));
	w->runq = calloc(nv, sizeof(*w->runq));
	if (!w->streams || !w->vcpus || !w->cpu_owner || !w->quantum_live || !w->runq)
		return VT_ENOMEM;
	for (unsigned k = 0; k < CH_KIND_COUNT; k++)
		for (unsigned i = 0; i < w->stream_stride; i++)
			rng_seed(&w->streams[(size_t)k * w->stream_stride + i], cfg->seed,
				 ((uint64_t)k << 32) | i);
	for (unsigned c = 0; c < nc; c++)
		w->cpu_owner[c] = -1;

	w->vm.nvcpus = nv;
	w->vm.host = &w->host;
	w->vm.guest_tsc_hz = cfg->vm.tsc_hz;
	w->vm.world = w;
	for (unsigned i = 0; i < nv; i++) {
		w->vcpus[i].pub.id = i;
		w->vcpus[i].pub.pcpu = cfg->vm.placement[i];
		w->vcpus[i].pub.state = VCPU_DESCHEDULED;
	}

	rc = metrics_init(&w->metrics, nv, cfg->metrics.sample_interval,
			  cfg->metrics.jump_threshold);
	if (rc)
		return rc;

	w->policy.ops = arm->policy;
	w->policy.vm = &w->vm;
	w->policy.state = zalloc(arm->policy->state_size);
	w->page.ops = arm->page;
	w->page.vm = &w->vm;
	w->page.policy = &w->policy;
	w->page.state = zalloc(arm->page->state_size);
	w->reader.ops = arm->reader;
	w->reader.state = zalloc(arm->reader->state_size);
	w->mig.ops = arm->migration;
	w->mig.vm = &w->vm;
	w->mig.policy = &w->policy;
	w->mig.page = &w->page;
	w->mig.state = zalloc(arm->migration->state_size);
	w->mig_tsc = calloc(nv, sizeof(*w->mig_tsc));
	if (!w->policy.state || !w->page.state || !w->reader.state || !w->mig.state || !w->mig_tsc)
		return VT_ENOMEM;
	if (arm->policy->init && (rc = arm->policy->init(&w->policy, &arm->policy_opts)))
		return rc;
	if (arm->page->init && (rc = arm->page->init(&w->page, &arm->page_opts)))
		return rc;
	rctx.nvcpus = nv;
	rctx.tsc_hz = cfg->vm.tsc_hz;
	rctx.plugin_so = arm->plugin ? arm->plugin->so_path : NULL;
	if (arm->reader->init && (rc = arm->reader->init(&w->reader, &rctx, &arm->reader_opts)))
		return rc;
	if (cfg->migration.on && arm->migration->init &&
	    (rc = arm->migration->init(&w->mig, &arm->migration_opts)))
		return rc;
	return vcpu_setup(w);
}

void world_free(struct world *w)
{
	if (w->mig.ops && w->mig.state && w->mig.ops->fini && w->cfg->migration.on)
		w->mig.ops->fini(&w->mig);
	free(w->mig.state);
	free(w->mig_tsc);
	if (w->has_host2)
		host_free(&w->host2);
	if (w->reader.ops && w->reader.state && w->reader.ops->fini)
		w->reader.ops->fini(&w->reader);
	if (w->page.ops && w->page.state && w->page.ops->fini)
		w->page.ops->fini(&w->page);
	if (w->policy.ops && w->policy.state && w->policy.ops->fini)
		w->policy.ops->fini(&w->policy);
	free(w->reader.state);
	free(w->page.state);
	free(w->policy.state);
	metrics_free(&w->metrics);
	free(w->timers);
	free(w->stores.s);
	free(w->runq);
	free(w->cpu_owner);
	free(w->quantum_live);
	free(w->vcpus);
	free(w->streams);
	host_free(&w->host);
	evq_free(&w->q);
	memset(w, 0, sizeof(*w));
}

int world_run(struct world *w)
{
	const struct config *cfg = w->cfg;
	struct event e;

	/* Host TSC changes and wander. */
	for (unsigned c = 0; c < cfg->host.ncpus; c++) {
		const struct host_cpu_cfg *hc = &cfg->host.cpu[c];

		for (unsigned i = 0; i < hc->nevents; i++)
			world_push(w, hc->events[i].at, EV_HOST_CHANGE, c, i);
		if (hc->wander_ppb != 0)
			world_push(w, cfg->host.wander_interval, EV_WANDER, c, 0);
	}
	/* host2's own changes (its TSCs run from boot too, the VM on them or not). */
	for (unsigned c = 0; w->has_host2 && c < cfg->host2.ncpus; c++)
		for (unsigned i = 0; i < cfg->host2.cpu[c].nevents; i++)
			world_push(w, cfg->host2.cpu[c].events[i].at, EV_HOST_CHANGE, c,
				   i | HOST2_EVENT);
	if (cfg->migration.on)
		world_push(w, cfg->migration.at, EV_MIG_STOP, 0, 0);
	if (cfg->outer.on) {
		world_push(w, cfg->outer.at, EV_OUTER_STOP, 0, 0);
		world_push(w, cfg->outer.at + cfg->outer.downtime +
			   (cfg->outer.reenlighten ? cfg->outer.delay : 0), EV_OUTER_MOVE, 0,
			   cfg->outer.reenlighten);
	}
	for (unsigned i = 0; i < cfg->vm.npauses; i++) {
		world_push(w, cfg->vm.pauses[i].at, EV_PAUSE, 0, i);
		world_push(w, cfg->vm.pauses[i].at + cfg->vm.pauses[i].length, EV_RESUME, 0, i);
	}
	if (cfg->metrics.sample_interval)
		world_push(w, cfg->metrics.sample_interval, EV_SAMPLE, 0, 0);
	if (w->rec)
		world_push(w, w->rec->series_interval, EV_SERIES, 0, 0);
	for (unsigned i = 0; i < cfg->host_smis.n; i++)
		world_push(w, cfg->host_smis.at[i].at, EV_SMI, 0, i);
	for (unsigned i = 0; i < cfg->host_steps.n; i++)
		world_push(w, cfg->host_steps.at[i].at, EV_HOST_STEP, 0, i);
	if (cfg->workload.sleep_rate > 0)
		for (unsigned i = 0; i < cfg->vm.nvcpus; i++)
			world_push(w, world_interval(w, CH_SLEEP, i, cfg->workload.sleep_rate), EV_SLEEP,
				   i, 0);
	for (unsigned c = 0; c < CHAIN_COUNT; c++)
		w->chain_last_vcpu[c] = -1;
	w->wd_boot_ns = host_raw_ns(&w->host, cfg->vm.placement[0], 0);
	vcpu_boot(w);
	workload_start(w);
	discipline_start(w);
	watchdog_start(w);

	while (!w->error && !evq_empty(&w->q) && evq_peek_time(&w->q) < cfg->duration) {
		evq_pop(&w->q, &e);
		w->now = e.time;
		if (VT_UNLIKELY(w->stores.n != 0))
			genv_land_due(w, w->now);
		w->events++;
		if (VT_UNLIKELY((w->events & ((1u << 20) - 1)) == 0) && w->progress)
			w->progress(w, w->progress_ctx);
		if (VT_UNLIKELY(w->trace != NULL))
			trace_event(w, &e);
		switch (event_kind(&e)) {
		case EV_READ:
		case EV_LOCKED_READ:
		case EV_HOP_READ:
		case EV_HOP:
		case EV_READ_RETRY:
			workload_handle(w, &e);
			break;
		case EV_IO_START:
		case EV_IO_END:
		case EV_STALL_START:
		case EV_STALL_END:
		case EV_MIGRATE:
		case EV_RESCHED:
		case EV_QUANTUM:
			vcpu_handle(w, &e);
			break;
		case EV_PAUSE:
			vcpu_pause_vm(w);
			break;
		case EV_RESUME:
			vcpu_resume_vm(w);
			break;
		case EV_HOST_CHANGE:
			host_change(w, e.who, e.arg);
			break;
		case EV_WANDER:
			wander(w, e.who, e.arg);
			break;
		case EV_MIG_STOP:
			migration_stop(w, e.arg);
			break;
		case EV_MIG_RESTORE:
			migration_restore(w, e.who);
			break;
		case EV_OUTER_STOP:
			/* The outer hypervisor stops the whole host: like an SMI for everything here
			 * (the TSCs keep counting at the old rate, the host's page keeps true time). */
			if (w->now + cfg->outer.downtime > w->frozen_until)
				w->frozen_until = w->now + cfg->outer.downtime;
			break;
		case EV_OUTER_MOVE:
			outer_move(w, e.arg != 0);
			break;
		case EV_SAMPLE:
			metrics_sample(&w->metrics, w->now);
			world_push(w, w->now + cfg->metrics.sample_interval, EV_SAMPLE, 0, 0);
			break;
		case EV_TIMER:
			fire_timer(w, e.who);
			break;
		case EV_SERIES:
			series_tick(w);
			break;
		case EV_SMI: {
			/* SMM: every CPU stops; the hypervisor does not see it, TSCs keep counting. */
			sim_ns end = w->now + cfg->host_smis.at[e.arg].length;

			if (end > w->frozen_until)
				w->frozen_until = end;
			break;
		}
		case EV_SLEEP:
			guest_sleep(w, e.who);
			break;
		case EV_NTP_POLL:
			discipline_poll(w);
			break;
		case EV_WATCHDOG:
			watchdog_check(w);
			break;
		case EV_HOST_STEP:
			host_clock_step(&w->host, w->now, cfg->host_steps.at[e.arg].delta);
			break;
		default:
			w->error = VT_EIO;
			break;
		}
		if (VT_UNLIKELY(w->after_event != NULL))
			w->after_event(w, w->after_ctx);
	}
	w->load.events = w->events;
	for (unsigned i = 0; i < cfg->vm.nvcpus; i++) {
		const struct vcpu_rt *v = &w->vcpus[i];

		w->load.migrations += v->migrations;
		w->load.io_exits += v->io_exits;
		w->load.stalls += v->stalls;
		w->load.preemptions += v->preemptions;
		w->load.off_cpu_ns += v->off_cpu_ns;
		w->load.migrated_off_ns += v->migrated_off_ns;
	}
	return w->error;
}
