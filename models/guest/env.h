/*
 * env.h: the guest environment a clock reader runs in.
 *
 * In simulation `genv_rdtsc` returns the reading vCPU's guest TSC at the simulated instant of the
 * read (the arm's TSC policy evaluated on the vCPU's current host CPU). The reader-code
 * environment with the kernel names (rdtsc_ordered, READ_ONCE, virt_rmb, this_cpu_pvti, ...) is
 * built on top of this struct.
 */
#ifndef VT_ENV_H
#define VT_ENV_H

#include <stdint.h>

struct genv {
	unsigned vcpu;     /* the reading vCPU */
	void *page;        /* this vCPU's clock page, or NULL */
	void *impl;        /* private to the engine */
};

/* The guest TSC of the reading vCPU now (RDTSC). */
uint64_t genv_rdtsc(struct genv *env);

#endif /* VT_ENV_H */
