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

#include "abi/hyperv.h"
#include "abi/pvclock.h"
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
	void (*on_host_change)(struct page *pg, const struct host_change *c, sim_ns t);
	/* vCPU vcpu's pvclock entry as the guest registered it (NULL: none published). */
	struct pvclock_vcpu_time_info *(*pvti)(struct page *pg, unsigned vcpu);
	/* The Hyper-V reference TSC page (NULL: none). */
	struct ms_hyperv_tsc_page *(*hv_tsc_page)(struct page *pg);
	/* CPUID 0x40000001.EAX as the guest sees it (KVM_FEATURE_* bits). */
	uint32_t (*kvm_features)(struct page *pg);
	/* An MSR read the provider emulates (a VM exit); false: not handled (reads as 0). */
	bool (*read_msr)(struct page *pg, unsigned vcpu, uint32_t msr, sim_ns t, uint64_t *val);
	/*
	 * Migration (issue 6), optional. get_clock: KVM_GET_CLOCK at t, the VM's kvmclock in ns
	 * and the host TSC of host CPU cpu it was computed against (false: no KVM clock here).
	 */
	bool (*get_clock)(struct page *pg, unsigned cpu, sim_ns t, uint64_t *clock_ns,
			  uint64_t *host_tsc);
	/* The VM was moved to another host (vm->host is the destination; the VM is stopped, the
	 * policy's on_migrate has run): the destination KVM's fresh VM clock, then the provider's
	 * KVM_SET_CLOCK as its options say (the TSC-based KVM_SET_CLOCK_GUEST waits for resume,
	 * after the TSCs are restored). */
	void (*on_migrate)(struct page *pg, sim_ns t);
	/* Optional (the model checker's host writer): the host asks for a new master-clock
	 * snapshot and every entry rewritten at the vCPUs' next entries (KVM's
	 * kvm_gen_update_masterclock, as when the host clock changes under it). */
	void (*on_update)(struct page *pg, sim_ns t);
	/* Facts reported at the end of a run: names ({0}-terminated, at most LAYER_MAX_FACTS) and
	 * their values in the same order. */
	const struct layer_fact *facts;
	void (*get_facts)(struct page *pg, int64_t *values);
};

/*
 * Writing guest memory the way a host CPU does: one aligned store of 1, 2, 4 or 8 bytes landing
 * at true time `at`, issued from vCPU `owner`'s context (KVM writes a vCPU's page in that vCPU's
 * thread before it enters the guest). Stores land in the order issued. Until a store lands,
 * other vCPUs' readers see the old bytes; the owner itself sees every store it issued (program
 * order). This is what lets a reader on another vCPU observe an odd version or a half-written
 * page. Stores land at the engine's yield points (sim/genv.c) and between events.
 */
void vm_store(struct vm *vm, unsigned owner, sim_ns at, void *dst, uint64_t value, unsigned size);
/* An IPI to vCPU vcpu (kvm_vcpu_kick): a running vCPU exits to the host kernel and re-enters at
 * once, so a pending request is served now; others serve it at their next entry. */
void vm_kick(struct vm *vm, unsigned vcpu);
/* Lands every store `owner` issued that has not landed yet (a new update from the same context
 * starts after the previous one finished). */
void vm_store_flush_owner(struct vm *vm, unsigned owner);

struct page {
	const struct page_ops *ops;
	struct vm *vm;
	struct policy *policy;       /* the arm's TSC policy: the page reads guest TSCs through it */
	void *state;
	char err[LAYER_ERR_LEN];     /* init's reason for VT_EINPUT */
};

#endif /* VT_PAGE_H */
