/*
 * vcpu.c: the vCPU state machine and the host scheduler.
 *
 * States (models/policy.h) and the transitions, each performed by one function here:
 *
 *                 io_start                  io_end
 *     RUNNING ---------------> EXITED ---------------> RUNNING           (same host CPU)
 *     RUNNING --stall_start--> STALLED --stall_end--> wake(): RUNNING or DESCHEDULED
 *     RUNNING --migrate / quantum preempt--> DESCHEDULED --resched / dispatch--> RUNNING
 *     any ------------pause_vm------------> PAUSED ------resume_vm--> wake()
 *
 * Leaving guest mode calls the policy's on_exit (return to the VMM), leaving the host CPU its
 * on_put; arriving on a host CPU on_load, entering guest mode on_entry, in KVM's order
 * (vcpu_load, then VM entry). An I/O exit returns from KVM_RUN to the VMM, so it is a put and
 * the next KVM_RUN a load, on the same CPU (KVM loads and puts around every KVM_RUN). Stale completions (an I/O end after a pause intervened) are
 * recognised by the vCPU's generation number.
 *
 * Scheduling modes (config sched.mode): pinned (never moves), rate (migrations at a Poisson rate
 * with an off-CPU gap; a wake after a stall lands on another CPU with probability wake_migrate;
 * host CPUs are not a capacity limit), quantum (each host CPU runs one vCPU thread at a time; a
 * quantum timer preempts the running thread when others wait; woken threads take an idle CPU,
 * their last one first, or queue; a freed CPU takes the first queued thread that last ran on it,
 * else the head of the queue).
 */
#include "layers.h"
#include "world.h"

static inline struct vcpu_rt *VCPU(struct world *w, unsigned i)
{
	return &w->vcpus[i];
}

static bool quantum_mode(const struct world *w)
{
	return w->cfg->sched.mode == SCHED_QUANTUM;
}

static void trace_state(struct world *w, struct vcpu_rt *v, const char *what)
{
	if (VT_UNLIKELY(w->trace != NULL))
		world_trace(w, what, (int)v->pub.pcpu, (int)v->pub.id, NULL);
}

/* RUNNING -> (not in guest mode): the VM exit that returns to the VMM. */
static void leave_guest(struct world *w, struct vcpu_rt *v)
{
	policy_on_exit(&w->policy, &v->pub, w->now);
	v->off_cpu_since = w->now;
}

/* The thread arrives on host CPU pcpu (KVM vcpu_load). */
static void load(struct world *w, struct vcpu_rt *v, unsigned pcpu)
{
	v->pub.pcpu = pcpu;
	if (quantum_mode(w))
		w->cpu_owner[pcpu] = (int)v->pub.id;
	policy_on_load(&w->policy, &v->pub, pcpu, w->now);
	page_on_load(&w->page, &v->pub, pcpu, w->now);
}

/* Guest mode begins on v's current host CPU. */
static void enter_guest(struct world *w, struct vcpu_rt *v)
{
	unsigned pcpu = v->pub.pcpu;

	/* The TSC offset is programmed first, then the clock page is written from it (KVM:
	 * kvm_arch_vcpu_load adjusts the offset, kvm_guest_time_update then reads the guest TSC). */
	policy_on_entry(&w->policy, &v->pub, pcpu, w->now);
	page_on_entry(&w->page, &v->pub, pcpu, w->now);
	if (v->entered) {
		v->off_cpu_ns += w->now - v->off_cpu_since;
		if (pcpu != v->last_entry_pcpu) {
			v->migrations++;
			v->migrated_off_ns += w->now - v->off_cpu_since;
			if (w->rec) {
				struct timeline_event e = { TL_MIGRATION, v->off_cpu_since,
							    w->now - v->off_cpu_since, (int32_t)v->pub.id,
							    (int32_t)v->last_entry_pcpu, (int32_t)pcpu };

				record_timeline(w->rec, &e);
			}
		}
	}
	v->entered = true;
	v->last_entry_pcpu = pcpu;
	v->pub.state = VCPU_RUNNING;
	v->preempt_pending = false;
	trace_state(w, v, "vm-entry");
	workload_on_run(w, v);
}

static void dispatch(struct world *w, unsigned pcpu);

/* The thread gives its host CPU up; in quantum mode the CPU takes the next one. */
static void release_cpu(struct world *w, struct vcpu_rt *v)
{
	unsigned pcpu = v->pub.pcpu;

	if (quantum_mode(w) && w->cpu_owner[pcpu] == (int)v->pub.id) {
		w->cpu_owner[pcpu] = -1;
		dispatch(w, pcpu);
	}
}

/* The thread leaves its host CPU (KVM vcpu_put), which may take the next thread. */
static void put(struct world *w, struct vcpu_rt *v)
{
	policy_on_put(&w->policy, &v->pub, w->now);
	release_cpu(w, v);
}

static void runq_push(struct world *w, struct vcpu_rt *v)
{
	unsigned n = w->cfg->vm.nvcpus;

	w->runq[(w->runq_head + w->runq_len) % n] = v->pub.id;
	w->runq_len++;
	v->in_runq = true;
	v->pub.state = VCPU_DESCHEDULED;
}

static void runq_remove(struct world *w, struct vcpu_rt *v)
{
	unsigned n = w->cfg->vm.nvcpus, j = 0;

	for (unsigned i = 0; i < w->runq_len; i++) {
		unsigned id = w->runq[(w->runq_head + i) % n];

		if (id != v->pub.id)
			w->runq[(w->runq_head + j++) % n] = id;
	}
	w->runq_len = j;
	v->in_runq = false;
}

/*
 * Host CPU pcpu is free: it runs the first queued thread that last ran on it (cache affinity,
 * as a per-CPU run queue would), else the head of the queue (load balancing: a migration).
 * Nothing runs while the VM is paused.
 */
static void dispatch(struct world *w, unsigned pcpu)
{
	unsigned n = w->cfg->vm.nvcpus, pick = 0;
	struct vcpu_rt *v;

	if (w->paused || w->runq_len == 0 || w->cpu_owner[pcpu] >= 0)
		return;
	for (unsigned i = 0; i < w->runq_len; i++) {
		if (VCPU(w, w->runq[(w->runq_head + i) % n])->pub.pcpu == pcpu) {
			pick = i;
			break;
		}
	}
	v = VCPU(w, w->runq[(w->runq_head + pick) % n]);
	/* Close the gap the pick leaves (FIFO order of the others is kept). */
	for (unsigned i = pick; i > 0; i--)
		w->runq[(w->runq_head + i) % n] = w->runq[(w->runq_head + i - 1) % n];
	w->runq_head = (w->runq_head + 1) % n;
	w->runq_len--;
	v->in_runq = false;
	load(w, v, pcpu);
	enter_guest(w, v);
}

/* A uniformly chosen host CPU other than `not` (or `not` itself on a one-CPU host). */
static unsigned other_cpu(struct world *w, struct vcpu_rt *v, unsigned not)
{
	unsigned n = w->host.ncpus, c;

	if (n < 2)
		return not;
	c = (unsigned)sim_choose(w, CH_SCHED, v->pub.id, n - 1);
	return c >= not ? c + 1 : c;
}

/* The thread becomes runnable (end of a stall, VM resume): place it on a host CPU. */
static void wake(struct world *w, struct vcpu_rt *v)
{
	const struct config *cfg = w->cfg;
	unsigned last = v->pub.pcpu;

	switch (cfg->sched.mode) {
	case SCHED_PINNED:
		load(w, v, last);
		enter_guest(w, v);
		break;
	case SCHED_RATE: {
		/* One draw decides whether the wake migrates: u < wake_migrate with u in [0,1). A
		 * migration a pause interrupted still ends on another CPU. */
		double u = rng_unit_from(sim_choose(w, CH_SCHED, v->pub.id, 0));
		unsigned to = u < cfg->sched.wake_migrate || v->migrate_pending ? other_cpu(w, v, last)
										   : last;

		v->migrate_pending = false;
		load(w, v, to);
		enter_guest(w, v);
		break;
	}
	case SCHED_QUANTUM: {
		unsigned nidle = 0, pick;

		if (w->cpu_owner[last] < 0) {
			load(w, v, last);
			enter_guest(w, v);
			break;
		}
		for (unsigned c = 0; c < w->host.ncpus; c++)
			nidle += w->cpu_owner[c] < 0;
		if (nidle == 0) {
			runq_push(w, v);
			break;
		}
		pick = (unsigned)sim_choose(w, CH_SCHED, v->pub.id, nidle);
		for (unsigned c = 0; c < w->host.ncpus; c++) {
			if (w->cpu_owner[c] >= 0)
				continue;
			if (pick-- == 0) {
				load(w, v, c);
				enter_guest(w, v);
				break;
			}
		}
		break;
	}
	}
}

static void io_start(struct world *w, struct vcpu_rt *v)
{
	const struct proc_cfg *io = &w->cfg->vm.io;
	unsigned id = v->pub.id;
	/* Draw the next arrival and this duration whatever the state: the stream stays aligned. */
	sim_ns next = world_interval(w, CH_IO, id, io->rate);
	uint64_t d = world_draw(w, CH_IO, id, io->duration);

	world_push(w, w->now + next, EV_IO_START, id, 0);
	if (v->pub.state != VCPU_RUNNING || w->paused) {
		w->load.dropped_arrivals++;
		return;
	}
	/* KVM_RUN returns to the VMM: vcpu_put, though the thread keeps its CPU. */
	leave_guest(w, v);
	policy_on_put(&w->policy, &v->pub, w->now);
	v->pub.state = VCPU_EXITED;
	v->io_exits++;
	v->gen++;
	world_push(w, w->now + d, EV_IO_END, id, v->gen);
}

static void io_end(struct world *w, struct vcpu_rt *v, uint32_t gen)
{
	if (v->pub.state != VCPU_EXITED || gen != v->gen)
		return;
	if (v->preempt_pending) {
		/* The quantum expired during the exit: the thread yields now. */
		v->preempt_pending = false;
		v->preemptions++;
		release_cpu(w, v);
		runq_push(w, v);
		dispatch(w, v->pub.pcpu);
		return;
	}
	/* The next KVM_RUN: vcpu_load on the same CPU, then the entry. */
	load(w, v, v->pub.pcpu);
	enter_guest(w, v);
}

static void stall_start(struct world *w, struct vcpu_rt *v)
{
	const struct proc_cfg *pg = &w->cfg->vm.paging;
	unsigned id = v->pub.id;
	sim_ns next = world_interval(w, CH_PAGING, id, pg->rate);
	uint64_t d = world_draw(w, CH_PAGING, id, pg->duration);

	world_push(w, w->now + next, EV_STALL_START, id, 0);
	if (v->pub.state != VCPU_RUNNING || w->paused) {
		w->load.dropped_arrivals++;
		return;
	}
	/* The fault exits to the host, whose thread blocks paging in: it leaves the CPU. */
	leave_guest(w, v);
	v->pub.state = VCPU_STALLED;
	put(w, v);
	v->stalls++;
	v->gen++;
	world_push(w, w->now + d, EV_STALL_END, id, v->gen);
	if (w->rec) {
		struct timeline_event e = { TL_STALL, w->now, d, (int32_t)id, (int32_t)v->pub.pcpu, -1 };

		record_timeline(w->rec, &e);
	}
}

static void stall_end(struct world *w, struct vcpu_rt *v, uint32_t gen)
{
	if (v->pub.state != VCPU_STALLED || gen != v->gen)
		return;
	if (w->paused) {
		v->pub.state = VCPU_PAUSED;
		v->resume_runnable = true;
		return;
	}
	wake(w, v);
}

static void migrate_out(struct world *w, struct vcpu_rt *v)
{
	unsigned id = v->pub.id;
	sim_ns next = world_interval(w, CH_SCHED, id, w->cfg->sched.migrate_rate);
	uint64_t gap = world_draw(w, CH_SCHED, id, w->cfg->sched.migrate_gap);

	world_push(w, w->now + next, EV_MIGRATE, id, 0);
	if (v->pub.state != VCPU_RUNNING || w->paused) {
		w->load.dropped_arrivals++;
		return;
	}
	leave_guest(w, v);
	put(w, v);
	v->pub.state = VCPU_DESCHEDULED;
	v->preemptions++;
	v->gen++;
	v->migrate_pending = true;
	world_push(w, w->now + gap, EV_RESCHED, id, v->gen);
}

static void resched(struct world *w, struct vcpu_rt *v, uint32_t gen)
{
	if (v->pub.state != VCPU_DESCHEDULED || gen != v->gen)
		return;
	v->migrate_pending = false;
	load(w, v, other_cpu(w, v, v->pub.pcpu));
	enter_guest(w, v);
}

static void quantum_tick(struct world *w, unsigned pcpu)
{
	int owner = w->cpu_owner[pcpu];
	struct vcpu_rt *v;

	world_push(w, w->now + w->cfg->sched.quantum, EV_QUANTUM, pcpu, 0);
	if (owner < 0 || w->runq_len == 0)
		return;
	v = VCPU(w, (unsigned)owner);
	if (v->pub.state == VCPU_EXITED) {
		v->preempt_pending = true;
		return;
	}
	/* Preempt: the CPU goes to the head of the queue, the preempted thread to its tail. */
	leave_guest(w, v);
	v->preemptions++;
	put(w, v);
	runq_push(w, v);
}

void vm_kick(struct vm *vm, unsigned vcpu)
{
	struct world *w = vm->world;
	struct vcpu_rt *v = VCPU(w, vcpu);

	/* An exit handled in the host kernel (not a return to the VMM): the page provider serves
	 * its requests at the re-entry; the TSC policy sees nothing. */
	if (v->pub.state == VCPU_RUNNING)
		page_on_entry(&w->page, &v->pub, v->pub.pcpu, w->now);
}

void vcpu_handle(struct world *w, const struct event *e)
{
	switch (event_kind(e)) {
	case EV_IO_START:
		io_start(w, VCPU(w, e->who));
		break;
	case EV_IO_END:
		io_end(w, VCPU(w, e->who), e->arg);
		break;
	case EV_STALL_START:
		stall_start(w, VCPU(w, e->who));
		break;
	case EV_STALL_END:
		stall_end(w, VCPU(w, e->who), e->arg);
		break;
	case EV_MIGRATE:
		migrate_out(w, VCPU(w, e->who));
		break;
	case EV_RESCHED:
		resched(w, VCPU(w, e->who), e->arg);
		break;
	case EV_QUANTUM:
		/* A CPU the source host had and the destination lacks: its timer dies here. */
		if (e->who < w->host.ncpus)
			quantum_tick(w, e->who);
		else
			w->quantum_live[e->who] = false;
		break;
	default:
		break;
	}
}

void vcpu_pause_vm(struct world *w)
{
	if (w->paused)
		return;
	w->paused = true;
	for (unsigned i = 0; i < w->cfg->vm.nvcpus; i++) {
		struct vcpu_rt *v = VCPU(w, i);

		switch (v->pub.state) {
		case VCPU_RUNNING:
			leave_guest(w, v);
			put(w, v);
			break;
		case VCPU_EXITED: /* already put when it returned to the VMM */
			release_cpu(w, v);
			break;
		case VCPU_DESCHEDULED:
			if (v->in_runq)
				runq_remove(w, v);
			break;
		case VCPU_STALLED: /* still blocked in the host; it joins the pause when it wakes */
		case VCPU_PAUSED:
			continue;
		}
		v->pub.state = VCPU_PAUSED;
		v->resume_runnable = true;
		v->preempt_pending = false;
		v->gen++;
	}
	policy_on_pause(&w->policy, w->now);
	page_on_pause(&w->page, w->now);
	if (w->rec) {
		struct timeline_event e = { TL_PAUSE, w->now, 0, -1, -1, -1 };

		record_timeline(w->rec, &e);
	}
	if (VT_UNLIKELY(w->trace != NULL))
		world_trace(w, "paused", -1, -1, NULL);
}

void vcpu_resume_vm(struct world *w)
{
	if (!w->paused)
		return;
	w->paused = false;
	/* The pause's timeline entry learns its length now. */
	if (w->rec)
		record_pause_end(w->rec, w->now);
	policy_on_resume(&w->policy, w->now);
	page_on_resume(&w->page, w->now);
	for (unsigned i = 0; i < w->cfg->vm.nvcpus; i++) {
		struct vcpu_rt *v = VCPU(w, i);

		if (v->pub.state == VCPU_PAUSED && v->resume_runnable) {
			v->resume_runnable = false;
			wake(w, v);
		}
	}
}

int vcpu_setup(struct world *w)
{
	(void)w;
	return VT_OK;
}

/* Guest boot at true time 0: every vCPU registers its clock page and starts on its initial
 * host CPU (quantum mode: the first free CPU, the rest queue), then the processes start. */
void vcpu_boot(struct world *w)
{
	const struct config *cfg = w->cfg;

	for (unsigned i = 0; i < cfg->vm.nvcpus; i++)
		page_on_register(&w->page, &VCPU(w, i)->pub, 0);
	for (unsigned i = 0; i < cfg->vm.nvcpus; i++) {
		struct vcpu_rt *v = VCPU(w, i);
		unsigned p = cfg->vm.placement[i];

		v->off_cpu_since = 0;
		if (quantum_mode(w) && w->cpu_owner[p] >= 0) {
			unsigned c;

			for (c = 0; c < cfg->host.ncpus && w->cpu_owner[c] >= 0; c++)
				;
			if (c == cfg->host.ncpus) {
				runq_push(w, v);
				continue;
			}
			p = c;
		}
		load(w, v, p);
		enter_guest(w, v);
	}
	for (unsigned i = 0; i < cfg->vm.nvcpus; i++) {
		if (cfg->vm.io.rate > 0)
			world_push(w, world_interval(w, CH_IO, i, cfg->vm.io.rate), EV_IO_START, i, 0);
		if (cfg->vm.paging.rate > 0)
			world_push(w, world_interval(w, CH_PAGING, i, cfg->vm.paging.rate),
				   EV_STALL_START, i, 0);
		if (cfg->sched.mode == SCHED_RATE && cfg->sched.migrate_rate > 0)
			world_push(w, world_interval(w, CH_SCHED, i, cfg->sched.migrate_rate),
				   EV_MIGRATE, i, 0);
	}
	if (quantum_mode(w)) {
		for (unsigned c = 0; c < cfg->host.ncpus; c++)
			world_push(w, 1 + sim_choose(w, CH_QUANTUM, c, cfg->sched.quantum),
				   EV_QUANTUM, c, 0);
		for (unsigned c = 0; c < cfg->host.ncpus; c++)
			w->quantum_live[c] = true;
	}
}
