/*
 * layers.h: the thin wrappers through which the engine calls an arm's layers. A method a layer
 * leaves NULL gets its default here (do nothing; a policy without guest_tsc is rejected by the
 * conformance suite, never called). The engine calls only these, never an ops table directly.
 */
#ifndef VT_LAYERS_H
#define VT_LAYERS_H

#include "guest/reader.h"
#include "page.h"
#include "policy.h"

static inline void policy_on_load(struct policy *p, struct vcpu *v, unsigned pcpu, sim_ns t)
{
	if (p->ops->on_load)
		p->ops->on_load(p, v, pcpu, t);
}

static inline void policy_on_put(struct policy *p, struct vcpu *v, sim_ns t)
{
	if (p->ops->on_put)
		p->ops->on_put(p, v, t);
}

static inline void policy_on_entry(struct policy *p, struct vcpu *v, unsigned pcpu, sim_ns t)
{
	if (p->ops->on_entry)
		p->ops->on_entry(p, v, pcpu, t);
}

static inline void policy_on_exit(struct policy *p, struct vcpu *v, sim_ns t)
{
	if (p->ops->on_exit)
		p->ops->on_exit(p, v, t);
}

static inline uint64_t policy_guest_tsc(struct policy *p, const struct vcpu *v, sim_ns t)
{
	return p->ops->guest_tsc(p, v, t);
}

static inline void policy_on_host_change(struct policy *p, const struct host_change *c, sim_ns t)
{
	if (p->ops->on_host_change)
		p->ops->on_host_change(p, c, t);
}

static inline void policy_on_pause(struct policy *p, sim_ns t)
{
	if (p->ops->on_pause)
		p->ops->on_pause(p, t);
}

static inline void policy_on_resume(struct policy *p, sim_ns t)
{
	if (p->ops->on_resume)
		p->ops->on_resume(p, t);
}

static inline void page_on_register(struct page *pg, struct vcpu *v, sim_ns t)
{
	if (pg->ops->on_register)
		pg->ops->on_register(pg, v, t);
}

static inline void page_on_load(struct page *pg, struct vcpu *v, unsigned pcpu, sim_ns t)
{
	if (pg->ops->on_load)
		pg->ops->on_load(pg, v, pcpu, t);
}

static inline void page_on_entry(struct page *pg, struct vcpu *v, unsigned pcpu, sim_ns t)
{
	if (pg->ops->on_entry)
		pg->ops->on_entry(pg, v, pcpu, t);
}

static inline void page_on_pause(struct page *pg, sim_ns t)
{
	if (pg->ops->on_pause)
		pg->ops->on_pause(pg, t);
}

static inline void page_on_resume(struct page *pg, sim_ns t)
{
	if (pg->ops->on_resume)
		pg->ops->on_resume(pg, t);
}

static inline void page_on_host_change(struct page *pg, const struct host_change *c, sim_ns t)
{
	if (pg->ops->on_host_change)
		pg->ops->on_host_change(pg, c, t);
}

static inline void reader_reset(struct reader *r)
{
	if (r->ops->reset)
		r->ops->reset(r);
}

#endif /* VT_LAYERS_H */
