/*
 * mig_tsc_msr.c: two migration algorithms that carry each vCPU's TSC by value through the
 * IA32_TSC MSR (models/migration.h):
 *
 *   tsc-msr         QEMU and Firecracker: at the stop the VMM reads every vCPU's IA32_TSC with
 *                   KVM_GET_MSRS (QEMU target/i386/kvm/kvm.c kvm_get_msrs, env->tsc; Firecracker
 *                   saves the MSR list of each vCPU in its snapshot) and on the destination writes
 *                   it back with KVM_SET_MSRS, a host-initiated write that KVM's TSC matching
 *                   (REFERENCE 1) takes literally or matches within +-1 s. QEMU does not add the
 *                   downtime: the guest TSC resumes where it stopped and the pause is lost to TSC
 *                   readers (adjust = none). adjust = realtime models a VMM that accounts for the
 *                   downtime by adding the CLOCK_REALTIME span between the save on the source and
 *                   the write on the destination, converted at the guest frequency.
 *   tsc-msr-offset  cloud-hypervisor's restore before its PR 8437 ("vmm: cpu: Re-sync vCPU TSC
 *                   offsets after restore"), as the tracepoints in its PR 8383 show it: each
 *                   vCPU's TSC offset is written twice, first by the IA32_TSC value write
 *                   (kvm_write_tsc_offset vcpu=0 prev=0 next=A) and then by a write of the
 *                   KVM_VCPU_TSC_OFFSET attribute with the offset saved at the source (vcpu=0
 *                   prev=A next=B; vcpu=1 prev=0 next=B, KVM matched the value write to vCPU 0's
 *                   offset; vcpu=1 prev=B next=C). The final offset is the source's: right for a
 *                   snapshot restored on the same boot of the same host (the guest TSC then counted
 *                   the pause), wrong by the two hosts' TSC difference across a live migration, and
 *                   in both cases each vCPU ends in its own KVM write generation, so master-clock
 *                   mode does not engage (PR 8383's complaint).
 *
 * Units: TSC values and offsets in guest cycles, mod 2^64; times in ns; frequencies in kHz.
 */
#include <stdlib.h>

#include "migrate.h"
#include "migration.h"

/* tsc-msr's option `adjust` (index into its choices "none|realtime"). */
enum msr_adjust {
	ADJUST_NONE,     /* QEMU / Firecracker: the value as saved, the downtime is lost */
	ADJUST_REALTIME, /* value + (realtime_dst - realtime_src) at the guest frequency */
};

/* What the VMM saved for one vCPU at the stop. */
struct msr_saved {
	uint64_t tsc;    /* IA32_TSC (KVM_GET_MSRS), guest cycles */
	uint64_t offset; /* tsc-msr-offset only: KVM_VCPU_TSC_OFFSET (get_tsc_attr), guest cycles */
};

struct mig_msr {
	bool write_offset;      /* tsc-msr-offset: the second write, of the saved offset */
	enum msr_adjust adjust;
	unsigned n;             /* vCPUs, m->vm->nvcpus at init */
	struct msr_saved *vcpu; /* [n] */
	bool saved;             /* save() ran: restore_vcpu has values to write */
	uint64_t realtime_src;  /* source CLOCK_REALTIME at the save, ns since the epoch */
};

extern const struct migration_ops migration_tsc_msr_offset;

static int msr_init(struct migration *m, const struct opt_set *opts)
{
	struct mig_msr *s = m->state;
	unsigned n = m->vm->nvcpus;

	s->write_offset = m->ops == &migration_tsc_msr_offset;
	/* tsc-msr-offset declares no options (cloud-hypervisor does not adjust the value). */
	s->adjust = s->write_offset ? ADJUST_NONE : (enum msr_adjust)opt_get(opts, "adjust");
	s->n = n;
	s->vcpu = calloc(n ? n : 1, sizeof(*s->vcpu));
	return s->vcpu ? VT_OK : VT_ENOMEM;
}

static void msr_fini(struct migration *m)
{
	struct mig_msr *s = m->state;

	free(s->vcpu);
	s->vcpu = NULL;
}

/*
 * The VM is stopped on the source: KVM_GET_MSRS(IA32_TSC) of every vCPU (the guest TSC the
 * policy gives on the vCPU's last CPU at t) and, for tsc-msr-offset, its KVM_VCPU_TSC_OFFSET.
 * The source's CLOCK_REALTIME is read at the same instant (adjust = realtime).
 */
static void msr_save(struct migration *m, sim_ns t)
{
	struct mig_msr *s = m->state;

	for (unsigned i = 0; i < s->n; i++) {
		struct vcpu *v = vm_vcpu(m->vm, i);

		s->vcpu[i].tsc = m->policy->ops->guest_tsc(m->policy, v, t);
		if (s->write_offset) {
			struct tsc_attr a = { 0 };

			m->policy->ops->get_tsc_attr(m->policy, v, t, &a);
			s->vcpu[i].offset = a.offset;
		}
	}
	s->realtime_src = host_realtime_ns(m->vm->host, t);
	s->saved = true;
}

/*
 * On the destination at t: KVM_SET_MSRS(IA32_TSC) with the saved value, plus, with adjust =
 * realtime, migrate_ns_to_cycles(realtime_dst - realtime_src, guest kHz): floor of the signed
 * span in ns times kHz / 10^6 (a destination realtime behind the source's subtracts). Then, for
 * tsc-msr-offset, the KVM_VCPU_TSC_OFFSET write of the source's offset, which replaces whatever
 * offset the value write (and KVM's matching) produced.
 */
static void msr_restore_vcpu(struct migration *m, struct vcpu *v, sim_ns t)
{
	struct mig_msr *s = m->state;
	uint64_t value;

	if (!s->saved || v->id >= s->n)
		return;
	value = s->vcpu[v->id].tsc;
	if (s->adjust == ADJUST_REALTIME) {
		int64_t downtime_ns = (int64_t)(host_realtime_ns(m->vm->host, t) - s->realtime_src);
		uint32_t khz = (uint32_t)(m->vm->guest_tsc_hz / 1000u);

		value += migrate_ns_to_cycles(downtime_ns, khz);
	}
	m->policy->ops->on_tsc_write(m->policy, v, value, TSC_WRITE_HOST, t);
	if (s->write_offset)
		m->policy->ops->set_tsc_offset(m->policy, v, s->vcpu[v->id].offset, t);
}

static const struct opt_desc msr_options[] = {
	{ "adjust", OPT_ENUM, "none", "none|realtime",
	  "the value written back: as saved (QEMU), or plus the realtime downtime in cycles" },
	{ 0 },
};

const struct migration_ops migration_tsc_msr = {
	.version = MIGRATION_OPS_VERSION,
	.name = "tsc-msr",
	.describe = "QEMU/Firecracker: IA32_TSC saved at the stop, written back by value "
		    "(KVM_GET/SET_MSRS)",
	.state_size = sizeof(struct mig_msr),
	.options = msr_options,
	.needs = MIG_NEEDS_TSC_WRITE,
	.init = msr_init,
	.fini = msr_fini,
	.save = msr_save,
	.restore_vcpu = msr_restore_vcpu,
};

const struct migration_ops migration_tsc_msr_offset = {
	.version = MIGRATION_OPS_VERSION,
	.name = "tsc-msr-offset",
	.describe = "cloud-hypervisor before PR 8437: IA32_TSC by value, then the source's "
		    "KVM_VCPU_TSC_OFFSET (two writes per vCPU)",
	.state_size = sizeof(struct mig_msr),
	.needs = MIG_NEEDS_TSC_WRITE | MIG_NEEDS_TSC_ATTR,
	.init = msr_init,
	.fini = msr_fini,
	.save = msr_save,
	.restore_vcpu = msr_restore_vcpu,
};
