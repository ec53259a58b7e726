/*
 * genv.c: the engine's side of the guest environment (models/guest/env.h), and the stores of
 * host page updates in flight.
 *
 * A guest read runs the arm's reader as a plain call. Before the call the engine makes the
 * reading vCPU current; every environment call the reader makes is then a yield point that
 *  1. lands the in-flight host stores due by the reader's own simulated time (other vCPUs'
 *     updates become visible store by store, so an odd version or a half-written page can be
 *     seen exactly as on hardware), and
 *  2. advances the reader's time by the call's cost (REFERENCE 9: RDTSC ~10 ns; a pause ~10 ns;
 *     a fence, load or atomic ~1 ns; an MSR read is a VM exit, ~1 us).
 * RDTSC returns the vCPU's guest TSC at the reader's time, from the arm's TSC policy. A reader
 * that makes more than GENV_MAX_CALLS calls in one read is abandoned (a livelock: counted, never
 * a hang).
 *
 * The current reader is a file-scope pointer: kernel-style reader code reaches the machine
 * through free functions (rdtsc(), this_cpu_pvti()), as real kernel code reaches real hardware,
 * so there is no argument to carry it. It is set only for the duration of one read.
 */
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "genv.h"
#include "layers.h"
#include "world.h"

#define COST_FENCE_NS 1
#define COST_RDTSC_NS 10
#define COST_PAUSE_NS 10
#define COST_MSR_EXIT_NS 1000

static struct genv_read *cur;

/* ---- stores in flight ----------------------------------------------------------------- */

static void store_apply(const struct pending_store *s)
{
	switch (s->size) {
	case 1: {
		uint8_t v = (uint8_t)s->value;

		memcpy(s->dst, &v, 1);
		break;
	}
	case 2: {
		uint16_t v = (uint16_t)s->value;

		memcpy(s->dst, &v, 2);
		break;
	}
	case 4: {
		uint32_t v = (uint32_t)s->value;

		memcpy(s->dst, &v, 4);
		break;
	}
	default:
		memcpy(s->dst, &s->value, 8);
		break;
	}
}

void vm_store(struct vm *vm, unsigned owner, sim_ns at, void *dst, uint64_t value, unsigned size)
{
	struct world *w = vm->world;
	struct store_queue *q = &w->stores;

	if (q->n == q->cap) {
		unsigned cap = q->cap ? 2 * q->cap : 32;
		struct pending_store *n = realloc(q->s, cap * sizeof(*n));

		if (!n) {
			w->error = VT_ENOMEM;
			return;
		}
		q->s = n;
		q->cap = cap;
	}
	/* Kept in issue order; due times of one owner never decrease. */
	q->s[q->n++] = (struct pending_store){ at, dst, value, (uint8_t)size, owner };
}

/*
 * Lands, in issue order, every store due by t (when by_time) and every store of `owner` (program
 * order: a context sees its own stores).
 */
static void stores_land(struct world *w, sim_ns t, int owner, bool by_time)
{
	struct store_queue *q = &w->stores;
	unsigned j = 0;

	for (unsigned i = 0; i < q->n; i++) {
		const struct pending_store *s = &q->s[i];

		if ((by_time && s->at <= t) || (int)s->owner == owner) {
			/* A store may not pass an earlier pending store of the same owner. */
			bool blocked = false;

			for (unsigned k = 0; k < j && !blocked; k++)
				blocked = q->s[k].owner == s->owner;
			if (!blocked) {
				store_apply(s);
				continue;
			}
		}
		q->s[j++] = *s;
	}
	q->n = j;
}

void vm_store_flush_owner(struct vm *vm, unsigned owner)
{
	struct world *w = vm->world;

	if (w->stores.n)
		stores_land(w, 0, (int)owner, false);
}

bool genv_land_oldest(struct world *w, struct pending_store *landed)
{
	struct store_queue *q = &w->stores;

	if (q->n == 0)
		return false;
	store_apply(&q->s[0]);
	if (landed)
		*landed = q->s[0];
	memmove(q->s, q->s + 1, (q->n - 1) * sizeof(*q->s));
	q->n--;
	return true;
}

struct genv_read *genv_current(void)
{
	return cur;
}

void genv_set_current(struct genv_read *r)
{
	cur = r;
}

void genv_land_due(struct world *w, sim_ns t)
{
	stores_land(w, t, -1, true);
}

/* ---- the environment ------------------------------------------------------------------ */

/* Inlined into every environment call: it runs ~8 times per kvmclock read. */
static inline __attribute__((always_inline)) void step(enum vt_yield kind, sim_ns cost)
{
	struct genv_read *r = cur;

	if (++r->calls > r->max_calls)
		longjmp(r->abort, 1);
	if (VT_UNLIKELY(r->script != NULL)) {
		if (r->script->yield)
			r->script->yield(r->script->ctx, kind);
		return;
	}
	if (r->w->stores.n)
		stores_land(r->w, r->t, -1, true);
	r->t += cost;
}

void vt_env_yield(enum vt_yield kind)
{
	step(kind, kind == VT_YIELD_PAUSE ? COST_PAUSE_NS : COST_FENCE_NS);
}

u64 vt_env_rdtsc(int ordered)
{
	struct genv_read *r = cur;
	uint64_t tsc;

	if (ordered)
		step(VT_YIELD_FENCE, COST_FENCE_NS);
	step(VT_YIELD_LOAD, 0);
	if (VT_UNLIKELY(r->script != NULL))
		return r->script->rdtsc ? r->script->rdtsc(r->script->ctx, ordered)
					: r->script->read_tsc(r->script->ctx);
	r->t_tsc = r->t;
	r->tsc_read = true;
	if (VT_UNLIKELY(r->w->policy.ops->on_rdtsc != NULL)) {
		/* Trapped: the hypervisor emulates the value; the exit costs the reader. */
		sim_ns cost = COST_MSR_EXIT_NS;

		tsc = r->w->policy.ops->on_rdtsc(&r->w->policy, &r->v->pub, r->t, &cost);
		r->t += cost;
		r->msr_exits++;
		return tsc;
	}
	tsc = policy_guest_tsc(&r->w->policy, &r->v->pub, r->t);
	r->t += COST_RDTSC_NS;
	return tsc;
}

struct pvclock_vcpu_time_info *vt_env_pvti(int cpu)
{
	struct genv_read *r = cur;
	unsigned id;

	step(VT_YIELD_LOAD, 0);
	if (VT_UNLIKELY(r->script != NULL))
		return r->script->pvti ? r->script->pvti(r->script->ctx,
							 cpu < 0 ? r->script->vcpu : (unsigned)cpu)
				       : NULL;
	id = cpu < 0 ? r->v->pub.id : (unsigned)cpu;
	if (!r->w->page.ops->pvti || id >= r->w->cfg->vm.nvcpus)
		return NULL;
	return r->w->page.ops->pvti(&r->w->page, id);
}

struct ms_hyperv_tsc_page *vt_env_hv_tsc_page(void)
{
	struct genv_read *r = cur;

	step(VT_YIELD_LOAD, 0);
	if (VT_UNLIKELY(r->script != NULL))
		return r->script->hv_tsc_page ? r->script->hv_tsc_page(r->script->ctx) : NULL;
	return r->w->page.ops->hv_tsc_page ? r->w->page.ops->hv_tsc_page(&r->w->page) : NULL;
}

u64 vt_env_rdmsr(u32 msr)
{
	struct genv_read *r = cur;
	uint64_t val = 0;

	/* An MSR read exits to the host, which answers at the exit's instant. */
	step(VT_YIELD_FENCE, 0);
	r->msr_exits++;
	if (VT_UNLIKELY(r->script != NULL))
		return r->script->read_msr ? r->script->read_msr(r->script->ctx, msr) : 0;
	if (r->w->page.ops->read_msr)
		r->w->page.ops->read_msr(&r->w->page, r->v->pub.id, msr, r->t, &val);
	r->t += COST_MSR_EXIT_NS;
	return val;
}

unsigned int vt_env_cpu(void)
{
	return cur->script ? cur->script->vcpu : cur->v->pub.id;
}

int vt_env_kvm_feature(unsigned int bit)
{
	struct genv_read *r = cur;
	uint32_t f;

	step(VT_YIELD_FENCE, 0);
	if (r->script)
		f = r->script->kvm_features;
	else
		f = r->w->page.ops->kvm_features ? r->w->page.ops->kvm_features(&r->w->page) : 0;
	return bit < 32 && (f >> bit) & 1u;
}

enum read_status genv_read(struct world *w, struct vcpu_rt *v, struct genv_read *r,
			   uint64_t *ns)
{
	enum read_status st;

	r->script = NULL;
	r->w = w;
	r->v = v;
	r->t = w->now;
	r->t_tsc = w->now;
	r->tsc_read = false;
	r->calls = 0;
	r->max_calls = GENV_MAX_CALLS;
	r->msr_exits = 0;
	r->livelock = false;
	/* The vCPU sees everything its own context wrote (program order), and what has landed. */
	if (w->stores.n)
		stores_land(w, w->now, (int)v->pub.id, true);
	cur = r;
	if (setjmp(r->abort) == 0) {
		st = w->reader.ops->read(&w->reader, ns);
	} else {
		r->livelock = true;
		st = READ_OK;
		*ns = 0;
	}
	cur = NULL;
	return st;
}

enum read_status genv_read_scripted(struct reader *rd, const struct genv_script *s, uint64_t *ns,
				    uint64_t *calls, bool *livelock)
{
	struct genv_read r;
	enum read_status st = READ_OK;

	memset(&r, 0, sizeof(r));
	r.script = s;
	r.max_calls = s->max_calls ? s->max_calls : GENV_MAX_CALLS;
	cur = &r;
	if (setjmp(r.abort) == 0) {
		st = rd->ops->read(rd, ns);
		*livelock = false;
	} else {
		*livelock = true;
		*ns = 0;
	}
	cur = NULL;
	*calls = r.calls;
	return st;
}
