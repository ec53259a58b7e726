/*
 * policy.h: the TSC policy ops table: how a hypervisor derives the guest's TSC.
 *
 * The engine calls a policy at the vCPU's transitions (SQLite VFS shape: a version field, the
 * instance's first member points to the ops, missing methods get defaults from the wrappers in
 * sim/layers.c) and asks it for the guest TSC whenever guest code executes RDTSC. A policy sees
 * the VM through struct vm (read-only except its own state) and the host through host.h; it may
 * arm timers with vm_timer(). Adding a policy is one file in models/ plus one line in
 * models/registry.c; tests/check_conformance.c loops over every registered one.
 */
#ifndef VT_POLICY_H
#define VT_POLICY_H

#include "host.h"
#include "opts.h"
#include "vt.h"

/* vCPU states (sim/vcpu.c draws the machine and performs the transitions). */
enum vcpu_state {
	VCPU_RUNNING,     /* executing guest code on host CPU `pcpu` */
	VCPU_EXITED,      /* returned to the VMM (an I/O exit); its thread still holds `pcpu` */
	VCPU_DESCHEDULED, /* thread runnable but on no host CPU (preempted, migrating) */
	VCPU_STALLED,     /* thread blocked in the host (EPT fault paging in) */
	VCPU_PAUSED,      /* the whole VM is paused */
};

/* What a policy may read of a vCPU. */
struct vcpu {
	unsigned id;
	unsigned pcpu;           /* current host CPU, or the last one when not on a CPU */
	enum vcpu_state state;
};

struct world;

/* What a policy may read of the VM. */
struct vm {
	unsigned nvcpus;
	const struct host *host;
	uint64_t guest_tsc_hz;   /* the TSC frequency the guest is told (CPUID / MSR) */
	struct world *world;     /* opaque: for vm_timer() */
};

/* vCPU i of the VM (i < nvcpus). */
struct vcpu *vm_vcpu(struct vm *vm, unsigned i);

/* Arms a timer: the layer's on_timer(arg) runs at true time `at` (>= now). */
void vm_timer(struct vm *vm, const void *layer, sim_ns at, uint32_t arg);

/* The TSC attributes of one vCPU as a VMM reads them from KVM (KVM_GET_MSRS of IA32_TSC aside):
 * KVM_VCPU_TSC_OFFSET, seed 004's KVM_VCPU_TSC_SCALE and KVM_GET_TSC_KHZ (REFERENCE 1, 6). */
struct tsc_attr {
	uint64_t offset;    /* guest cycles, mod 2^64: guest = floor(host * ratio / 2^frac) + offset */
	uint64_t ratio;     /* scaling ratio, 1.0 = 2^frac_bits (unscaled: exactly 2^frac_bits) */
	unsigned frac_bits; /* 48 (VMX) or 32 (SVM) */
	uint32_t khz;       /* the guest TSC frequency KVM reports, kHz */
	uint32_t host_khz;  /* the host's calibrated tsc_khz the ratio was computed against */
};

/* Who wrote the TSC MSR (KVM treats host-initiated writes differently). */
enum tsc_writer { TSC_WRITE_GUEST, TSC_WRITE_HOST };

/* A host change the policy may react to. */
struct host_change {
	/* RATE: one CPU's nominal rate changed (cpufreq on a non-invariant TSC); RESET: its TSC
	 * was set (suspend); RECALIBRATED: the host kernel learned a new TSC frequency for every
	 * CPU (raw.tsc_khz; Hyper-V re-enlightenment after the outer hypervisor migrated a nested
	 * host: KVM's kvm_hyperv_tsc_notifier), pcpu 0, before == after. */
	enum { HOST_CHANGE_RATE, HOST_CHANGE_RESET, HOST_CHANGE_RECALIBRATED } kind;
	unsigned pcpu;
	uint64_t before; /* the CPU's TSC just before the change */
	uint64_t after;  /* and just after (differs only for a reset) */
};

#define POLICY_OPS_VERSION 1

/* What a policy promises (the conformance suite holds it to these). */
#define POLICY_MONOTONIC_VCPU 1u /* each vCPU's guest TSC never goes backwards while the host's
				    TSCs only move forward (a host TSC reset may break it) */
#define POLICY_SCALES_TSC 4u     /* not a promise: the guest TSC is a scaled function of the full
				    64-bit host counter (VMX/SVM TSC scaling), so a host counter
				    wrap moves it, as on hardware */
#define POLICY_ONE_GENERATION 2u /* every vCPU's TSC has the same offset from the host's (KVM's
				    "all vCPUs matched", a condition of master-clock mode) */

struct policy;

struct policy_ops {
	int version;              /* POLICY_OPS_VERSION */
	const char *name;         /* as written in scenarios: "gtsc-resume" */
	const char *describe;     /* one line: which real system, which source */
	size_t state_size;        /* private per-VM state, zeroed before init */
	const struct opt_desc *options; /* {0}-terminated, or NULL */
	unsigned promises;        /* POLICY_* bits */
	uint64_t guest_hz;        /* the TSC frequency the guest must be told (vm.tsc_freq); 0: any */

	int (*init)(struct policy *p, const struct opt_set *opts);   /* VT_OK or VT_ENOMEM */
	void (*fini)(struct policy *p);
	/* The vCPU thread was scheduled onto host CPU pcpu (KVM vcpu_load). */
	void (*on_load)(struct policy *p, struct vcpu *v, unsigned pcpu, sim_ns t);
	/* The vCPU thread left its host CPU (KVM vcpu_put). */
	void (*on_put)(struct policy *p, struct vcpu *v, sim_ns t);
	/* The vCPU is about to execute guest code on pcpu (VM entry). */
	void (*on_entry)(struct policy *p, struct vcpu *v, unsigned pcpu, sim_ns t);
	/* The vCPU stopped executing guest code and returned to the VMM (VM exit to the VMM). */
	void (*on_exit)(struct policy *p, struct vcpu *v, sim_ns t);
	/* The guest TSC of v at t, while v executes guest code on v->pcpu. The hot path. */
	uint64_t (*guest_tsc)(struct policy *p, const struct vcpu *v, sim_ns t);
	/*
	 * Optional: the guest executed RDTSC and the policy traps it (TSC trapping, Xen's emulated
	 * TSC). Returns the value the hypervisor emulates, may change state (a +1 bump), and sets
	 * *cost_ns to what the trap costs the reader (a VM exit). NULL: RDTSC is not trapped and
	 * reads guest_tsc at ~10 ns.
	 */
	uint64_t (*on_rdtsc)(struct policy *p, struct vcpu *v, sim_ns t, sim_ns *cost_ns);
	void (*on_tsc_write)(struct policy *p, struct vcpu *v, uint64_t value, enum tsc_writer who,
			     sim_ns t);
	void (*on_host_change)(struct policy *p, const struct host_change *c, sim_ns t);
	void (*on_pause)(struct policy *p, sim_ns t);
	void (*on_resume)(struct policy *p, sim_ns t);
	void (*on_vcpu_add)(struct policy *p, struct vcpu *v, sim_ns t);
	void (*on_timer)(struct policy *p, uint32_t arg, sim_ns t);

	/*
	 * Migration and restore (issue 6). All optional; a VMM migration algorithm that needs one a
	 * policy lacks is refused when the scenario is loaded (models/migration.h `needs`).
	 *
	 * get_tsc_attr: vCPU v's TSC attributes at t (v need not be on a CPU). NULL: the policy has
	 * no KVM-style offset/ratio (gtsc-resume, xen-emulate ...).
	 */
	void (*get_tsc_attr)(struct policy *p, const struct vcpu *v, sim_ns t, struct tsc_attr *a);
	/* A host write of the KVM_VCPU_TSC_OFFSET attribute (kvm_arch_tsc_set_attr, with KVM's
	 * matching: exact offset, same kHz), at t, while the VM is stopped. */
	void (*set_tsc_offset)(struct policy *p, struct vcpu *v, uint64_t offset, sim_ns t);
	/* Whether every vCPU's TSC is in one write generation now (KVM's nr_vcpus_matched_tsc + 1
	 * == online_vcpus). NULL: the POLICY_ONE_GENERATION promise answers. */
	bool (*one_generation)(struct policy *p);
	/*
	 * The VM was moved to another host: vm->host now is the destination, the VM is stopped and
	 * no vCPU is on a CPU. The destination VMM created the VM afresh: KVM's own creation writes
	 * (every vCPU matched, offsets such that the guest TSC reads 0 at t on vCPU 0's new CPU),
	 * KVM_SET_TSC_KHZ with the guest's frequency against the destination's tsc_khz. The saved
	 * state arrives afterwards through on_tsc_write / set_tsc_offset (the migration algorithm).
	 */
	void (*on_migrate)(struct policy *p, sim_ns t);
};

/* What a layer's init says when it returns VT_EINPUT: which option, what range. */
#define LAYER_ERR_LEN 200

struct policy {
	const struct policy_ops *ops; /* first member */
	struct vm *vm;
	void *state;                  /* ops->state_size bytes */
	char err[LAYER_ERR_LEN];      /* init's reason for VT_EINPUT */
};

#endif /* VT_POLICY_H */
