/*
 * page.h: the clock-page provider ops table: what paravirtual clock page the host publishes
 * (kvmclock's pvclock_vcpu_time_info, the Hyper-V reference TSC page), if any.
 *
 * The provider writes the page as a step machine at the instants the engine tells it about
 * (registration, vCPU load, its own timers). The spine registers only `none` (no page: the guest
 * reads the TSC directly); kvmclock and hv-tsc-page plug in here. Same shape as policy.h.
 */
#ifndef VT_PAGE_H
#define VT_PAGE_H

#include "policy.h"

#define PAGE_OPS_VERSION 1

struct page;

struct page_ops {
	int version;
	const char *name;
	const char *describe;
	size_t state_size;
	const struct opt_desc *options;

	int (*init)(struct page *pg, const struct opt_set *opts);
	void (*fini)(struct page *pg);
	/* The guest registered its page (boot); the provider writes the first contents. */
	void (*on_register)(struct page *pg, struct vcpu *v, sim_ns t);
	/* The vCPU was loaded on a host CPU (an update trigger in per-vCPU mode). */
	void (*on_load)(struct page *pg, struct vcpu *v, unsigned pcpu, sim_ns t);
	/* Before the vCPU enters the guest (where pending update requests are served). */
	void (*on_entry)(struct page *pg, struct vcpu *v, unsigned pcpu, sim_ns t);
	void (*on_pause)(struct page *pg, sim_ns t);
	void (*on_resume)(struct page *pg, sim_ns t);
	void (*on_timer)(struct page *pg, uint32_t arg, sim_ns t);
	/* The guest-visible page for vCPU id (NULL when there is none). */
	void *(*guest_page)(struct page *pg, unsigned vcpu);
};

struct page {
	const struct page_ops *ops;
	struct vm *vm;
	struct policy *policy;       /* the arm's TSC policy: the page reads guest TSCs through it */
	void *state;
};

#endif /* VT_PAGE_H */
