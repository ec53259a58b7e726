/*
 * mig_seed004.c: the `seed004` migration algorithm: the procedure seed 004 (David Woodhouse's
 * patch to Documentation/virt/kvm/devices/vcpu.rst adding KVM_VCPU_TSC_SCALE) proposes to carry
 * each vCPU's TSC across a migration with TSC scaling taken into account (REFERENCE 6):
 *
 *   source       1. KVM_GET_CLOCK: host_tsc_src, kvmclock, CLOCK_REALTIME time_src at Tsrc;
 *                2. per vCPU: a. KVM_VCPU_TSC_OFFSET (ofs_src[i]); b. KVM_VCPU_TSC_SCALE
 *                   (ratio_src[i], frac_bits_src[i]); c. tsc_src[i] = (host_tsc_src * ratio) >>
 *                   frac + ofs (computed by migrate_seed004_offset);
 *                   KVM_GET_TSC_KHZ gives freq (kHz), read here from vCPU 0's attributes;
 *   destination  4. KVM_SET_TSC_KHZ: the policy's on_migrate did it (the vCPUs' ratios below are
 *                   those against the destination's tsc_khz);
 *                6. KVM_GET_CLOCK: host_tsc_dst and time_dst at Tdst;
 *                7. dT = time_dst - time_src (ns);
 *                8. per vCPU: a. KVM_VCPU_TSC_SCALE on the destination (ratio_dst[i]);
 *                   b. tsc_dst[i] = tsc_src[i] + dT * freq; c. raw_dst[i] = (host_tsc_dst *
 *                   ratio_dst) >> frac; d. the offset, set with KVM_VCPU_TSC_OFFSET.
 * The arithmetic of 2c and 7-8d is migrate_seed004_offset (models/migrate.c), with its two readings
 * of step 8d (option `variant`): corrected, ofs = tsc_dst - raw_dst, which the algebra needs, and
 * printed, ofs = tsc_dst + raw_dst as the seed prints it (REFERENCE 6: the sign error that
 * matters; the seed's other slips, 8b's tsc_tsc and kHz-as-cycles/ns, 8c's "at time Tsrc", are
 * read as intended in both). The printed offset puts the guest TSC 2 * raw_dst cycles ahead.
 *
 * Not here: step 5 (KVM_SET_CLOCK) and steps 3 and 9 (KVM_GET_CLOCK_GUEST / KVM_SET_CLOCK_GUEST,
 * a posted series not merged in Linux 6.12, which restore kvmclock as a function of the guest
 * TSC). They act on the VM's kvmclock, the page provider's business: the kvmclock provider's
 * on_migrate does the KVM_SET_CLOCK and its on_resume the KVM_SET_CLOCK_GUEST when its option
 * set_clock = guest. This file moves the TSC offsets only.
 *
 * Step 6 is taken per vCPU, at that vCPU's restore instant and on its own host CPU (the vCPU
 * thread that restores it: the offset is then exact for the CPU it will run on); step 1 on vCPU
 * 0's last host CPU. The elapsed time is CLOCK_REALTIME's, host_realtime_ns of each host: the
 * algorithm is only as good as the two hosts' realtime agreement (vcpu.rst's own caveat). If
 * KVM_GET_CLOCK gives no host TSC (page get_clock false: no master clock), the VMM cannot follow
 * the procedure and writes nothing: the vCPU keeps the offset the destination KVM created it with.
 *
 * Units: TSC values and offsets in guest cycles mod 2^64, host TSCs in host cycles; ns; kHz;
 * ratios in fixed point with frac_bits fraction bits.
 */
#include <stdio.h>
#include <stdlib.h>

#include "migrate.h"
#include "migration.h"

struct mig_seed004 {
	enum migrate_seed004 variant;
	unsigned n;                /* vCPUs, m->vm->nvcpus at init */
	struct migrate_vcpu *vsrc; /* [n] step 2a-b: offset and scale of each vCPU at Tsrc */
	struct migrate_side src;   /* step 1, and freq */
	bool saved;                /* save() ran and its KVM_GET_CLOCK gave a host TSC */
};

/* The option's choices "corrected|printed" in order, as opt_get returns their index. */
static const enum migrate_seed004 variants[] = { MIGRATE_SEED004_CORRECTED,
						 MIGRATE_SEED004_PRINTED };

static int seed004_init(struct migration *m, const struct opt_set *opts)
{
	struct mig_seed004 *s = m->state;
	int64_t variant = opt_get(opts, "variant");

	if (variant < 0 || variant >= (int64_t)VT_ARRAY_SIZE(variants)) {
		snprintf(m->err, sizeof(m->err), "variant: expected corrected or printed");
		return VT_EINPUT;
	}
	s->variant = variants[variant];
	s->n = m->vm->nvcpus;
	s->vsrc = calloc(s->n ? s->n : 1, sizeof(*s->vsrc));
	return s->vsrc ? VT_OK : VT_ENOMEM;
}

static void seed004_fini(struct migration *m)
{
	struct mig_seed004 *s = m->state;

	free(s->vsrc);
	s->vsrc = NULL;
}

/* Steps 1 and 2a-b on the source at t, the VM stopped. */
static void seed004_save(struct migration *m, sim_ns t)
{
	struct mig_seed004 *s = m->state;
	struct vcpu *v0 = vm_vcpu(m->vm, 0);
	struct tsc_attr a = { 0 };

	/* KVM_GET_CLOCK, realtime and KVM_GET_TSC_KHZ (freq) through vCPU 0. */
	s->saved = mig_read_side(m, v0, t, &s->src, &a);
	for (unsigned i = 0; i < s->n; i++) {
		m->policy->ops->get_tsc_attr(m->policy, vm_vcpu(m->vm, i), t, &a);
		s->vsrc[i] = (struct migrate_vcpu){ a.offset, a.ratio, a.frac_bits };
	}
}

/* Steps 6-8 for vCPU v on the destination at t (step 4 is the policy's on_migrate). */
static void seed004_restore_vcpu(struct migration *m, struct vcpu *v, sim_ns t)
{
	struct mig_seed004 *s = m->state;
	struct migrate_side dst = { 0 };
	struct migrate_vcpu vdst;
	struct tsc_attr a = { 0 };
	uint64_t ofs;

	if (!s->saved || v->id >= s->n)
		return;
	if (!mig_read_side(m, v, t, &dst, &a))
		return;
	vdst = (struct migrate_vcpu){ a.offset, a.ratio, a.frac_bits }; /* 8a; ofs unused */
	ofs = migrate_seed004_offset(&s->src, &s->vsrc[v->id], &dst, &vdst, s->variant, NULL);
	m->policy->ops->set_tsc_offset(m->policy, v, ofs, t);
}

static const struct opt_desc seed004_options[] = {
	{ "variant", OPT_ENUM, "corrected", "corrected|printed",
	  "step 8d as the algebra needs (tsc_dst - raw_dst) or as printed (tsc_dst + raw_dst)" },
	{ 0 },
};

const struct migration_ops migration_seed004 = {
	.version = MIGRATION_OPS_VERSION,
	.name = "seed004",
	.describe = "seed 004's vcpu.rst procedure: KVM_VCPU_TSC_OFFSET from the scaled TSCs "
		    "and the realtime downtime",
	.state_size = sizeof(struct mig_seed004),
	.options = seed004_options,
	.needs = MIG_NEEDS_TSC_ATTR | MIG_NEEDS_CLOCK,
	.init = seed004_init,
	.fini = seed004_fini,
	.save = seed004_save,
	.restore_vcpu = seed004_restore_vcpu,
};
