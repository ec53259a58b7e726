/*
 * gtsc_resume.c: the `gtsc-resume` TSC policy, NetBSD NVMM's TSC handling today.
 *
 * As NVMM's vmx_vcpu_run / svm_vcpu_run (sys/dev/nvmm/x86, NetBSD 10), described in PR
 * port-amd64/59862 (seed 000) and REFERENCE section 4:
 *  - the guest TSC is the host TSC of the CPU the vCPU runs on plus a per-vCPU offset; RDTSC is
 *    not trapped and not scaled;
 *  - at startup the guest sees TSC = 0 (gtsc starts at 0 and the first entry applies it);
 *  - on every return from the run loop to the userland VMM, the guest TSC is saved:
 *    gtsc = offset + rdtsc();
 *  - on entry on a DIFFERENT host CPU than the last entry (also after the guest or the VMM wrote
 *    the TSC MSR), the offset is rewritten so the guest TSC resumes where it left off:
 *    offset = gtsc - rdtsc();
 *  - while the vCPU stays on one host CPU the offset is untouched and the TSC keeps running
 *    through exits, stalls and pauses.
 * Consequences: monotonic per vCPU and host skew hidden, but every off-CPU interval that ends in a
 * migration is lost for good, and each vCPU loses a different amount.
 */
#include <stdlib.h>

#include "policy.h"

#define NO_CPU UINT32_MAX

struct gtsc_vcpu {
	uint64_t offset;   /* guest TSC - host TSC, modulo 2^64 */
	uint64_t gtsc;     /* guest TSC saved at the last return to the VMM */
	uint32_t hcpu_last; /* host CPU of the last entry, NO_CPU before the first */
	bool want_update;  /* rewrite the offset at the next entry (gtsc_want_update) */
};

struct gtsc {
	struct gtsc_vcpu *v;
};

static int gtsc_init(struct policy *p, const struct opt_set *opts)
{
	struct gtsc *s = p->state;

	(void)opts;
	s->v = calloc(p->vm->nvcpus, sizeof(*s->v));
	if (!s->v)
		return VT_ENOMEM;
	for (unsigned i = 0; i < p->vm->nvcpus; i++) {
		s->v[i].hcpu_last = NO_CPU;
		s->v[i].gtsc = 0; /* "On startup, NVMM exposes TSC=0" */
	}
	return VT_OK;
}

static void gtsc_fini(struct policy *p)
{
	struct gtsc *s = p->state;

	free(s->v);
}

static void gtsc_on_entry(struct policy *p, struct vcpu *v, unsigned pcpu, sim_ns t)
{
	struct gtsc_vcpu *g = &((struct gtsc *)p->state)->v[v->id];

	if (g->hcpu_last != pcpu) {
		g->want_update = true;
		g->hcpu_last = pcpu;
	}
	if (g->want_update) {
		g->offset = g->gtsc - host_tsc(p->vm->host, pcpu, t);
		g->want_update = false;
	}
}

static void gtsc_on_exit(struct policy *p, struct vcpu *v, sim_ns t)
{
	struct gtsc_vcpu *g = &((struct gtsc *)p->state)->v[v->id];

	g->gtsc = g->offset + host_tsc(p->vm->host, v->pcpu, t);
}

static uint64_t gtsc_guest_tsc(struct policy *p, const struct vcpu *v, sim_ns t)
{
	const struct gtsc_vcpu *g = &((struct gtsc *)p->state)->v[v->id];

	return g->offset + host_tsc(p->vm->host, v->pcpu, t);
}

/* A write of the TSC MSR sets the saved value and forces an offset rewrite at the next entry. */
static void gtsc_on_tsc_write(struct policy *p, struct vcpu *v, uint64_t value,
			      enum tsc_writer who, sim_ns t)
{
	struct gtsc_vcpu *g = &((struct gtsc *)p->state)->v[v->id];

	(void)who;
	(void)t;
	g->gtsc = value;
	g->want_update = true;
}

const struct policy_ops policy_gtsc_resume = {
	.version = POLICY_OPS_VERSION,
	.name = "gtsc-resume",
	.describe = "NetBSD NVMM: guest TSC resumes where it left off after a host-CPU migration",
	.state_size = sizeof(struct gtsc),
	.promises = POLICY_MONOTONIC_VCPU,
	.init = gtsc_init,
	.fini = gtsc_fini,
	.on_entry = gtsc_on_entry,
	.on_exit = gtsc_on_exit,
	.guest_tsc = gtsc_guest_tsc,
	.on_tsc_write = gtsc_on_tsc_write,
};
