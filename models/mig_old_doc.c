/*
 * mig_old_doc.c: the `old-doc` migration algorithm: the procedure Linux's
 * Documentation/virt/kvm/devices/vcpu.rst documented for the KVM_VCPU_TSC_OFFSET attribute
 * before seed 004 rewrote it (REFERENCE 6; the removed lines of seed 004's diff):
 *
 *   source       1. KVM_GET_CLOCK: host TSC (tsc_src), kvmclock ns (guest_src), CLOCK_REALTIME
 *                   (host_src);
 *                2. KVM_VCPU_TSC_OFFSET of every vCPU (ofs_src[i]);
 *                3. KVM_GET_TSC_KHZ (freq);
 *   destination  4. KVM_SET_CLOCK with guest_src and host_src, KVM_CLOCK_REALTIME set: the page
 *                   provider's on_migrate has done it before restore_vcpu is called;
 *                5. KVM_GET_CLOCK: host TSC (tsc_dest) and kvmclock ns (guest_dest);
 *                6. ofs_dst[i] = ofs_src[i] - (guest_src - guest_dest) * freq
 *                                + (tsc_src - tsc_dest)
 *                   (migrate_old_doc_offset: freq is kHz / 10^6 cycles per ns, floor);
 *                7. KVM_VCPU_TSC_OFFSET of every vCPU with ofs_dst[i] (set_tsc_offset).
 *
 * The formula ignores TSC scaling: it adds a host-cycle difference to a guest-cycle offset, which
 * is right only when both hosts run the guest unscaled (ratio 1.0). Across a move to a host of
 * another frequency with a scaled ratio the guest TSC is off by (raw_dst - tsc_dst) -
 * (raw_src - tsc_src) cycles, raw_* = floor(tsc_* * ratio_* / 2^frac) the scaled host TSCs: what
 * scaling did to each host's counter (seed 004: "It ignores TSC scaling"). Its elapsed time is the
 * kvmclock span, so it is as continuous as the KVM_SET_CLOCK of step 4 made kvmclock.
 *
 * Step 5 is taken per vCPU, at that vCPU's restore instant and on its own host CPU (the vCPU
 * thread that restores it), so each vCPU's offset is exact for the CPU it will run on; the
 * documentation reads the clock once, which on a host with synchronized TSCs is the same.
 * Step 1 is read on vCPU 0's last host CPU. If KVM_GET_CLOCK gives no host TSC (page get_clock
 * false: no master clock, REFERENCE 2.1a), the VMM cannot follow the procedure and writes nothing:
 * the vCPU keeps the offset the destination KVM gave it at creation.
 *
 * Units: TSC values and offsets in cycles mod 2^64; kvmclock and CLOCK_REALTIME in ns; kHz.
 */
#include <stdlib.h>

#include "migrate.h"
#include "migration.h"

struct mig_old_doc {
	unsigned n;             /* vCPUs, m->vm->nvcpus at init */
	uint64_t *ofs_src;      /* [n] step 2: KVM_VCPU_TSC_OFFSET at the save, guest cycles */
	struct migrate_side src;/* steps 1 and 3 */
	bool saved;             /* save() ran and its KVM_GET_CLOCK gave a host TSC */
};

static int old_doc_init(struct migration *m, const struct opt_set *opts)
{
	struct mig_old_doc *s = m->state;

	(void)opts;
	s->n = m->vm->nvcpus;
	s->ofs_src = calloc(s->n ? s->n : 1, sizeof(*s->ofs_src));
	return s->ofs_src ? VT_OK : VT_ENOMEM;
}

static void old_doc_fini(struct migration *m)
{
	struct mig_old_doc *s = m->state;

	free(s->ofs_src);
	s->ofs_src = NULL;
}

/* Steps 1-3 on the source at t, the VM stopped. */
static void old_doc_save(struct migration *m, sim_ns t)
{
	struct mig_old_doc *s = m->state;
	struct vcpu *v0 = vm_vcpu(m->vm, 0);
	struct tsc_attr a = { 0 };

	s->saved = mig_read_side(m, v0, t, &s->src, &a);
	for (unsigned i = 0; i < s->n; i++) {
		m->policy->ops->get_tsc_attr(m->policy, vm_vcpu(m->vm, i), t, &a);
		s->ofs_src[i] = a.offset;
	}
}

/* Steps 5-7 for vCPU v on the destination at t (step 4 is behind us, in the page provider). */
static void old_doc_restore_vcpu(struct migration *m, struct vcpu *v, sim_ns t)
{
	struct mig_old_doc *s = m->state;
	struct migrate_side dst = { 0 };
	struct tsc_attr a = { 0 };
	uint64_t ofs;

	if (!s->saved || v->id >= s->n)
		return;
	/* dst.guest_khz is not used by the formula, which takes the source's freq. */
	if (!mig_read_side(m, v, t, &dst, &a))
		return;
	ofs = migrate_old_doc_offset(&s->src, &dst, s->ofs_src[v->id]);
	m->policy->ops->set_tsc_offset(m->policy, v, ofs, t);
}

const struct migration_ops migration_old_doc = {
	.version = MIGRATION_OPS_VERSION,
	.name = "old-doc",
	.describe = "KVM vcpu.rst before seed 004: KVM_VCPU_TSC_OFFSET moved by the kvmclock span "
		    "and the host TSC difference (ignores scaling)",
	.state_size = sizeof(struct mig_old_doc),
	.needs = MIG_NEEDS_TSC_ATTR | MIG_NEEDS_CLOCK,
	.init = old_doc_init,
	.fini = old_doc_fini,
	.save = old_doc_save,
	.restore_vcpu = old_doc_restore_vcpu,
};
