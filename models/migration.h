/*
 * migration.h: the VMM's migration algorithm ops table: how the VMM carries a vCPU's TSC from
 * the source host to the destination (or across a snapshot restore).
 *
 * The fourth layer of an arm (`migration = NAME`, options `migration.K`), beside the policy, the
 * page provider and the reader. The engine (sim/world.c) drives a migration in this order:
 *
 *   at:            the VM stops on the source: policy on_pause, page on_pause, then save(t)
 *                  (every vCPU is off its CPU; vm->host is the source);
 *   at + downtime: vm->host becomes the destination; policy on_migrate, page on_migrate (the
 *                  destination KVM's fresh VM; the page's KVM_SET_CLOCK plain / realtime);
 *                  then restore_vcpu(vCPU 0) now, restore_vcpu(vCPU i) at + i * migration.vcpu_gap;
 *   after the last restore: policy on_resume, page on_resume (KVM_SET_CLOCK_GUEST here), and
 *                  the vCPUs run again.
 *
 * An algorithm talks to the arm's policy only through the policy's migration methods
 * (on_tsc_write as a host write of IA32_TSC, get_tsc_attr, set_tsc_offset) and to its page only
 * through get_clock; it never sees the engine. Adding one is one file in models/ and one line in
 * models/registry.c; tests/check_conformance.c loops over every registered one.
 */
#ifndef VT_MIGRATION_H
#define VT_MIGRATION_H

#include "migrate.h"
#include "page.h"
#include "policy.h"

#define MIGRATION_OPS_VERSION 1

/* What an algorithm needs of the arm's other layers (checked when the scenario is loaded). */
#define MIG_NEEDS_TSC_ATTR 1u  /* a policy with get_tsc_attr and set_tsc_offset (KVM x86) */
#define MIG_NEEDS_CLOCK 2u     /* a page provider with get_clock (KVM_GET_CLOCK) */
#define MIG_NEEDS_TSC_WRITE 4u /* a policy with on_tsc_write */

struct migration;

struct migration_ops {
	int version;                    /* MIGRATION_OPS_VERSION */
	const char *name;               /* as written in scenarios: "seed004" */
	const char *describe;           /* one line: which VMM or document, which source */
	size_t state_size;              /* private state, zeroed before init */
	const struct opt_desc *options; /* {0}-terminated, or NULL */
	unsigned needs;                 /* MIG_NEEDS_* */

	int (*init)(struct migration *m, const struct opt_set *opts);
	void (*fini)(struct migration *m);
	/* The VM stopped on the source at t: read what the VMM saves (vm->host is the source). */
	void (*save)(struct migration *m, sim_ns t);
	/* On the destination at t, the VM still stopped: restore vCPU v's TSC. Called once per
	 * vCPU per migration, vCPU 0 first, each at its own instant. */
	void (*restore_vcpu)(struct migration *m, struct vcpu *v, sim_ns t);
};

struct migration {
	const struct migration_ops *ops; /* first member */
	struct vm *vm;
	struct policy *policy;           /* the arm's TSC policy */
	struct page *page;               /* the arm's page provider */
	void *state;                     /* ops->state_size bytes */
	char err[LAYER_ERR_LEN];         /* init's reason for VT_EINPUT */
};

/*
 * What a VMM reads of one side at t, through vCPU v: KVM_GET_CLOCK (kvmclock and the host TSC
 * of v's host CPU), the host's CLOCK_REALTIME, and KVM_GET_TSC_KHZ with the rest of v's TSC
 * attributes into *a. False when the page provider has no KVM clock (nothing can be computed).
 * The algorithms built on KVM_GET_CLOCK (old-doc, seed004) share it; needs MIG_NEEDS_CLOCK and
 * MIG_NEEDS_TSC_ATTR.
 */
static inline bool mig_read_side(struct migration *m, struct vcpu *v, sim_ns t,
				 struct migrate_side *side, struct tsc_attr *a)
{
	if (!m->page->ops->get_clock(m->page, v->pcpu, t, &side->kvmclock_ns, &side->host_tsc))
		return false;
	side->realtime_ns = host_realtime_ns(m->vm->host, t);
	m->policy->ops->get_tsc_attr(m->policy, v, t, a);
	side->guest_khz = a->khz;
	return true;
}

#endif /* VT_MIGRATION_H */
