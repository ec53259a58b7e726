/*
 * kvmclock.c: the `kvmclock` and `hv-tsc-page` clock-page providers: KVM's pvclock writer, and
 * its Hyper-V reference TSC page, as KVM does them (arch/x86/kvm/x86.c kvm_guest_time_update,
 * kvm_setup_guest_pvclock, pvclock_update_vm_gtod_copy, kvm_gen_kvmclock_update; hyperv.c
 * kvm_hv_setup_tsc_page, compute_tsc_page_parameters; Linux 6.12; REFERENCE 2.1-2.3, 2.1a, 3).
 *
 * Each vCPU has a pvclock_vcpu_time_info entry in guest memory, at the stride the guest
 * registered (Linux 64 bytes, FreeBSD 32). KVM rewrites a vCPU's entry from that vCPU's own
 * context just before it enters the guest, when an update was requested:
 *   tsc_timestamp = the vCPU's guest TSC at the reference instant,
 *   system_time   = the host's boot-based CLOCK_MONOTONIC_RAW at that instant + kvmclock_offset,
 *   mul, shift    = kvm_get_time_scale(1e9, guest TSC Hz), recomputed only when it changes,
 *   flags         = PVCLOCK_TSC_STABLE_BIT exactly in master-clock mode, plus GUEST_STOPPED
 *                   when the VMM asked for it after a pause.
 * Per-vCPU mode: the reference instant is the update itself, each vCPU sampling its own host TSC
 * and raw clock (so two vCPUs' entries disagree slightly). Master-clock mode: one shared
 * (master_cycle_now, master_kernel_ns) snapshot for all vCPUs, used only when the host
 * clocksource is TSC-based, every vCPU's TSC is in one generation, no backwards host TSC was ever
 * seen and vCPU 0 does not use the old MSR (option `masterclock = auto`); `on` forces it where
 * KVM would refuse, to show why it refuses.
 *
 * The entry is written as a sequence of stores (vm_store): version odd, each field, version
 * even, spread over `write_ns`; another vCPU reading meanwhile sees the odd version or a
 * half-written entry. Update requests: guest registration; a vCPU loaded on another host CPU
 * (per-vCPU mode only), which also schedules a global update reaching every vCPU 100 ms later
 * (KVMCLOCK_UPDATE_DELAY); a periodic sync every 300 s (KVMCLOCK_SYNC_PERIOD); VM resume.
 *
 * hv-tsc-page adds the partition's reference TSC page, written from vCPU 0's update: sequence 0
 * while writing, scale = 2^(32+shift) * mul / 100, offset = system_time/100 - tsc_timestamp *
 * scale / 2^64, then sequence + 1 skipping 0 and 0xFFFFFFFF; left at 0 (invalid: the guest reads
 * the reference-count MSR) outside master-clock mode or when the scale would overflow.
 */
#include <stdlib.h>
#include <string.h>

#include "migrate.h"
#include "page.h"
#include "timescale.h"

#define KVMCLOCK_UPDATE_DELAY_NS (100 * NS_PER_MS)
#define KVMCLOCK_SYNC_PERIOD_NS (300 * NS_PER_SEC)

enum { TIMER_GLOBAL_UPDATE = 1, TIMER_PERIODIC_SYNC = 2 };
enum { MC_AUTO, MC_ON, MC_OFF };
/* option set_clock: what the VMM does with the VM clock across a pause or a migration */
enum { SET_CLOCK_NONE, SET_CLOCK_PLAIN, SET_CLOCK_REALTIME, SET_CLOCK_GUEST };

struct kvc_vcpu {
	uint64_t hw_tsc_khz;    /* the frequency its mul/shift were computed for (0: none yet) */
	int8_t shift;           /* its entry's tsc_shift and tsc_to_system_mul */
	uint32_t mul;
	bool requested;         /* KVM_REQ_CLOCK_UPDATE pending */
	bool stopped_pending;   /* set GUEST_STOPPED in the next update */
	int last_pcpu;          /* -1 before the first load */
	uint32_t version;       /* KVM's cached hv_clock.version */
};

struct kvmclock {
	bool hv;                         /* hv-tsc-page: also the reference TSC page */
	unsigned stride;                 /* bytes between vCPU entries */
	unsigned char *mem;              /* the guest's registered array */
	struct kvc_vcpu *v;
	struct ms_hyperv_tsc_page *tsc_page;
	struct pvclock_wall_clock wall;
	uint32_t tsc_seq;

	uint64_t *cpu_khz;               /* per host CPU: cpu_tsc_khz, as cpufreq updates it */
	uint64_t told_khz;               /* the guest's frequency when it differs from the host's */
	int64_t kvmclock_offset;         /* ns added to the host's raw clock */

	int mode;                        /* MC_* option */
	bool use_master;                 /* ka->use_master_clock */
	bool backwards_tsc;              /* ka->backwards_tsc_observed: never cleared */
	unsigned master_cpu;
	sim_ns master_t;
	uint64_t master_cycle;           /* host TSC of master_cpu at the snapshot */
	uint64_t master_ns;              /* host raw clock at the snapshot */

	bool old_msr;                    /* vCPU 0 uses MSR_KVM_SYSTEM_TIME (0x12) */
	bool stable_cpuid;               /* KVM_FEATURE_CLOCKSOURCE_STABLE_BIT in CPUID */
	bool periodic_sync;
	bool stop_on_resume;             /* the VMM sets GUEST_STOPPED after a pause */
	bool cpu_change_only;            /* updates on a CPU change only, as KVM before 3.11 */
	int set_clock;                   /* SET_CLOCK_* */
	uint64_t saved_clock;            /* KVM_GET_CLOCK at the pause: kvmclock ns ... */
	uint64_t saved_real;             /* ... and the host's CLOCK_REALTIME, ns */
	struct pvclock_vcpu_time_info saved_pvti; /* KVM_GET_CLOCK_GUEST: vCPU 0's entry then */
	bool clock_set;                  /* a migration's on_migrate already did KVM_SET_CLOCK */
	bool migrated;                   /* on_migrate ran since the pause */
	bool hv_keep_sequence;           /* tsc_page_sequence = keep (a broken writer) */
	sim_ns write_ns;
	bool global_armed;
	bool master_ever;                /* master-clock mode was on at some point */
	uint64_t updates;                /* entries written */
};

static const struct opt_desc kvmclock_options[] = {
	{ "masterclock", OPT_ENUM, "auto", "auto|on|off",
	  "master-clock mode: KVM's conditions, forced on, or never" },
	{ "stride", OPT_ENUM, "linux", "linux|freebsd", "entry stride the guest registers (64 / 32)" },
	{ "write_ns", OPT_TIME, "20ns", NULL, "time from the odd to the even version store" },
	{ "stable_cpuid", OPT_BOOL, "yes", NULL, "advertise KVM_FEATURE_CLOCKSOURCE_STABLE_BIT" },
	{ "old_msr", OPT_BOOL, "no", NULL, "vCPU 0 registers through the old MSR (no master clock)" },
	{ "periodic_sync", OPT_BOOL, "yes", NULL, "kvmclock_periodic_sync: a global update every 300 s" },
	{ "guest_stopped", OPT_BOOL, "yes", NULL, "set PVCLOCK_GUEST_STOPPED after a VM pause" },
	{ "set_clock", OPT_ENUM, "none", "none|plain|realtime|guest",
	  "after a pause or migration the VMM restores kvmclock: not, KVM_SET_CLOCK as saved, "
	  "+ realtime elapsed, or KVM_SET_CLOCK_GUEST (the same function of the guest TSC)" },
	{ "tsc_page_sequence", OPT_ENUM, "zero", "zero|keep",
	  "hv-tsc-page: the writer zeroes the sequence while it updates (KVM), or, a DEMONSTRATION "
	  "of a broken writer, only bumps it at the end" },
	{ "load_update", OPT_ENUM, "every", "every|cpu_change",
	  "on an unstable host TSC, a load on the same CPU asks an update (6.12) or not (KVM 3.x)" },
	{ 0 },
};

static struct pvclock_vcpu_time_info *entry(struct kvmclock *k, unsigned vcpu)
{
	return (struct pvclock_vcpu_time_info *)(k->mem + (size_t)vcpu * k->stride);
}

/* The guest TSC of v had it been on host CPU pcpu at t (the policy's function of the host TSC). */
static uint64_t guest_tsc_on(struct page *pg, const struct vcpu *v, unsigned pcpu, sim_ns t)
{
	struct vcpu tmp = *v;

	tmp.pcpu = pcpu;
	return pg->policy->ops->guest_tsc(pg->policy, &tmp, t);
}

/*
 * pvclock_update_vm_gtod_copy: decide master-clock mode and take the snapshot on `cpu` at t.
 * KVM takes master_cycle_now and master_kernel_ns from one read of the host clocksource.
 */
static void update_master(struct page *pg, unsigned cpu, sim_ns t)
{
	struct kvmclock *k = pg->state;
	const struct host *h = pg->vm->host;
	/* gtod_is_based_on_tsc (x86.c, 6.12): the TSC, or nested on Hyper-V its TSC page, whose
	 * vgettsc reads the raw TSC behind the page (seed 003); a kvmclock-based host is not. */
	bool host_tsc_clocksource = (h->raw.cs == CS_TSC || h->raw.cs == CS_HYPERV) &&
				    h->tsc_stable;
	bool matched = pg->policy->ops->one_generation
			       ? pg->policy->ops->one_generation(pg->policy)
			       : (pg->policy->ops->promises & POLICY_ONE_GENERATION) != 0;

	if (k->mode == MC_ON)
		k->use_master = true;
	else if (k->mode == MC_OFF)
		k->use_master = false;
	else
		k->use_master = host_tsc_clocksource && matched && !k->backwards_tsc && !k->old_msr;
	k->master_ever |= k->use_master;
	k->master_cpu = cpu;
	k->master_t = t;
	k->master_cycle = host_tsc(h, cpu, t);
	k->master_ns = host_raw_ns(h, cpu, t);
}

/* kvm_make_all_cpus_request(KVM_REQ_CLOCK_UPDATE): every vCPU, kicked out of the guest. */
static void request_all(struct page *pg)
{
	struct kvmclock *k = pg->state;

	for (unsigned i = 0; i < pg->vm->nvcpus; i++)
		k->v[i].requested = true;
	for (unsigned i = 0; i < pg->vm->nvcpus; i++)
		vm_kick(pg->vm, i);
}

/* kvm_gen_kvmclock_update: this vCPU now, every vCPU after KVMCLOCK_UPDATE_DELAY. */
static void global_update(struct page *pg, unsigned vcpu, sim_ns t)
{
	struct kvmclock *k = pg->state;

	k->v[vcpu].requested = true;
	if (!k->global_armed) {
		k->global_armed = true;
		vm_timer(pg->vm, pg, t + KVMCLOCK_UPDATE_DELAY_NS, TIMER_GLOBAL_UPDATE);
	}
}

/* compute_tsc_page_parameters + kvm_hv_setup_tsc_page, from vCPU 0's new entry. */
static void write_tsc_page(struct page *pg, const struct pvclock_vcpu_time_info *hv, sim_ns t)
{
	struct kvmclock *k = pg->state;
	struct ms_hyperv_tsc_page *tp = k->tsc_page;
	sim_ns step = k->write_ns / 4;
	uint64_t scale;
	int64_t offset;

	/* The page is shared by all vCPUs: invalidate it while it changes (a broken writer,
	 * tsc_page_sequence = keep, does not: readers may mix old and new fields). */
	if (!k->hv_keep_sequence)
		vm_store(pg->vm, 0, t, &tp->tsc_sequence, 0, 4);
	if (!k->use_master || !hv_tsc_scale(hv->tsc_to_system_mul, hv->tsc_shift, &scale))
		return; /* stays invalid: the guest falls back to the reference-count MSR */
	/* offset = system_time / 100 - floor(tsc_timestamp * scale / 2^64), in 100 ns units. */
	offset = (int64_t)(hv->system_time / 100) -
		 (int64_t)(uint64_t)(((u128)hv->tsc_timestamp * scale) >> 64);
	vm_store(pg->vm, 0, t + step, &tp->tsc_scale, scale, 8);
	vm_store(pg->vm, 0, t + 2 * step, &tp->tsc_offset, (uint64_t)offset, 8);
	k->tsc_seq++;
	if (k->tsc_seq == 0 || k->tsc_seq == HV_TSC_SEQUENCE_INVALID)
		k->tsc_seq = 1;
	vm_store(pg->vm, 0, t + 3 * step, &tp->tsc_sequence, k->tsc_seq, 4);
}

/* kvm_guest_time_update + kvm_setup_guest_pvclock for vCPU v on host CPU pcpu at t. */
static void write_entry(struct page *pg, struct vcpu *v, unsigned pcpu, sim_ns t)
{
	struct kvmclock *k = pg->state;
	struct kvc_vcpu *kv = &k->v[v->id];
	struct pvclock_vcpu_time_info *g = entry(k, v->id), hv;
	const struct host *h = pg->vm->host;
	uint64_t kernel_ns;
	sim_ns step = k->write_ns / 6;
	uint32_t odd;

	memset(&hv, 0, sizeof(hv));
	if (k->use_master) {
		hv.tsc_timestamp = guest_tsc_on(pg, v, k->master_cpu, k->master_t);
		kernel_ns = k->master_ns;
		hv.flags = PVCLOCK_TSC_STABLE_BIT;
	} else {
		hv.tsc_timestamp = guest_tsc_on(pg, v, pcpu, t);
		kernel_ns = host_raw_ns(h, pcpu, t);
	}
	hv.system_time = kernel_ns + (uint64_t)k->kvmclock_offset;
	{
		/* kvm_guest_time_update: mul/shift are recomputed only when the target frequency
		 * changed. tgt_tsc_khz is this host CPU's cpu_tsc_khz, scaled by the vCPU's ratio
		 * when the hardware scales (kvm_scale_tsc: floor(khz * ratio / 2^frac)): the rate
		 * the guest TSC really runs at, so a guest whose slower rate KVM refused without
		 * scaling gets kvmclock at the host's rate. A policy without KVM's attributes:
		 * the rate the guest was told, else the host CPU's. */
		uint64_t tgt = k->told_khz ? k->told_khz : k->cpu_khz[pcpu];

		if (pg->policy->ops->get_tsc_attr) {
			struct tsc_attr a;

			pg->policy->ops->get_tsc_attr(pg->policy, v, t, &a);
			tgt = (uint64_t)(((u128)k->cpu_khz[pcpu] * a.ratio) >> a.frac_bits);
		}

		if (kv->hw_tsc_khz != tgt) {
			kvm_get_time_scale(NS_PER_SEC, tgt * 1000, &kv->shift, &kv->mul);
			kv->hw_tsc_khz = tgt;
		}
	}
	hv.tsc_to_system_mul = kv->mul;
	hv.tsc_shift = kv->shift;
	if (kv->stopped_pending) {
		hv.flags |= PVCLOCK_GUEST_STOPPED;
		kv->stopped_pending = false;
	}
	/* A new update from this vCPU's context follows the previous one. */
	vm_store_flush_owner(pg->vm, v->id);
	/* version = (guest's version + 1) | 1; KVM keeps a GUEST_STOPPED the guest has not
	 * cleared yet. */
	odd = (g->version + 1) | 1;
	hv.flags |= g->flags & PVCLOCK_GUEST_STOPPED;
	vm_store(pg->vm, v->id, t, &g->version, odd, 4);
	vm_store(pg->vm, v->id, t + step, &g->tsc_timestamp, hv.tsc_timestamp, 8);
	vm_store(pg->vm, v->id, t + 2 * step, &g->system_time, hv.system_time, 8);
	vm_store(pg->vm, v->id, t + 3 * step, &g->tsc_to_system_mul, hv.tsc_to_system_mul, 4);
	vm_store(pg->vm, v->id, t + 4 * step, &g->tsc_shift, (uint8_t)hv.tsc_shift, 1);
	vm_store(pg->vm, v->id, t + 5 * step, &g->flags, hv.flags, 1);
	vm_store(pg->vm, v->id, t + 6 * step, &g->version, odd + 1, 4);
	kv->version = odd + 1;
	k->updates++;
	if (k->hv && v->id == 0)
		write_tsc_page(pg, &hv, t + 6 * step);
}

static int kvc_init_common(struct page *pg, const struct opt_set *opts, bool hv)
{
	struct kvmclock *k = pg->state;
	const struct host *h = pg->vm->host;
	unsigned n = pg->vm->nvcpus;

	k->hv = hv;
	k->mode = (int)opt_get(opts, "masterclock");
	k->stride = opt_get(opts, "stride") == 0 ? PVCLOCK_STRIDE_LINUX : PVCLOCK_STRIDE_FREEBSD;
	k->write_ns = (sim_ns)opt_get(opts, "write_ns");
	k->stable_cpuid = opt_get(opts, "stable_cpuid") != 0;
	k->old_msr = opt_get(opts, "old_msr") != 0;
	k->periodic_sync = opt_get(opts, "periodic_sync") != 0;
	k->stop_on_resume = opt_get(opts, "guest_stopped") != 0;
	k->cpu_change_only = opt_get(opts, "load_update") == 1;
	k->set_clock = (int)opt_get(opts, "set_clock");
	k->hv_keep_sequence = opt_get(opts, "tsc_page_sequence") == 1;
	k->mem = aligned_alloc(64, ((size_t)n * k->stride + 63) / 64 * 64);
	k->v = calloc(n, sizeof(*k->v));
	k->cpu_khz = calloc(h->ncpus, sizeof(*k->cpu_khz));
	if (hv)
		k->tsc_page = aligned_alloc(4096, sizeof(*k->tsc_page));
	if (!k->mem || !k->v || !k->cpu_khz || (hv && !k->tsc_page))
		return VT_ENOMEM;
	memset(k->mem, 0, (size_t)n * k->stride);
	if (hv)
		memset(k->tsc_page, 0, sizeof(*k->tsc_page));
	for (unsigned i = 0; i < n; i++)
		k->v[i].last_pcpu = -1;
	/*
	 * mul/shift convert guest TSC cycles to ns at the TSC frequency KVM believes: the host's
	 * calibrated tsc_khz (every CPU's cpu_tsc_khz at boot; KVM's virtual_tsc_khz without
	 * scaling) unless the guest was told another frequency, in kHz as KVM keeps it.
	 */
	for (unsigned c = 0; c < h->ncpus; c++)
		k->cpu_khz[c] = h->raw.tsc_khz;
	if (pg->vm->guest_tsc_hz / 1000 != (uint64_t)h->cfg.cpu[0].freq_hz / 1000)
		k->told_khz = pg->vm->guest_tsc_hz / 1000;
	/* kvmclock counts from 0 at VM creation: kvmclock_offset = -raw clock then. */
	k->kvmclock_offset = -(int64_t)host_raw_ns(h, vm_vcpu(pg->vm, 0)->pcpu, 0);
	update_master(pg, vm_vcpu(pg->vm, 0)->pcpu, 0);
	if (k->periodic_sync)
		vm_timer(pg->vm, pg, KVMCLOCK_SYNC_PERIOD_NS, TIMER_PERIODIC_SYNC);
	return VT_OK;
}

static int kvc_init(struct page *pg, const struct opt_set *opts)
{
	return kvc_init_common(pg, opts, false);
}

static int hv_init(struct page *pg, const struct opt_set *opts)
{
	return kvc_init_common(pg, opts, true);
}

static void kvc_fini(struct page *pg)
{
	struct kvmclock *k = pg->state;

	free(k->mem);
	free(k->v);
	free(k->cpu_khz);
	free(k->tsc_page);
}

/* The guest wrote the system-time MSR (boot): the entry needs its first contents; vCPU 0 also
 * writes the wall-clock MSR, answered at once (the guest is not running yet). */
static void kvc_on_register(struct page *pg, struct vcpu *v, sim_ns t)
{
	struct kvmclock *k = pg->state;

	(void)t;
	k->v[v->id].requested = true;
	if (v->id == 0) {
		k->wall.version = 2;
		k->wall.sec = 0;
		k->wall.nsec = 0;
	}
}

/* kvm_arch_vcpu_load: a vCPU on another host CPU than last time (or any load on an unstable
 * TSC) asks for a global update unless the master clock makes entries CPU-independent. */
static void kvc_on_load(struct page *pg, struct vcpu *v, unsigned pcpu, sim_ns t)
{
	struct kvmclock *k = pg->state;
	struct kvc_vcpu *kv = &k->v[v->id];

	/* KVM runs this block on a CPU change, and on every load when the host TSC is unstable
	 * (kvm_check_tsc_unstable()). */
	if (kv->last_pcpu != (int)pcpu || (!pg->vm->host->tsc_stable && !k->cpu_change_only)) {
		if (!k->use_master || kv->last_pcpu < 0)
			global_update(pg, v->id, t);
		kv->last_pcpu = (int)pcpu;
	}
}

/* vcpu_enter_guest: a pending KVM_REQ_CLOCK_UPDATE is served before the guest runs. */
static void kvc_on_entry(struct page *pg, struct vcpu *v, unsigned pcpu, sim_ns t)
{
	struct kvmclock *k = pg->state;

	if (k->v[v->id].requested) {
		k->v[v->id].requested = false;
		write_entry(pg, v, pcpu, t);
	}
}

static void kvc_on_timer(struct page *pg, uint32_t arg, sim_ns t)
{
	struct kvmclock *k = pg->state;

	if (arg == TIMER_GLOBAL_UPDATE) {
		/* kvmclock_update_fn: KVM_REQ_CLOCK_UPDATE on every vCPU. */
		k->global_armed = false;
		request_all(pg);
	} else if (arg == TIMER_PERIODIC_SYNC) {
		/* kvmclock_sync_fn: schedule the global update, re-arm. */
		if (!k->global_armed) {
			k->global_armed = true;
			vm_timer(pg->vm, pg, t, TIMER_GLOBAL_UPDATE);
		}
		vm_timer(pg->vm, pg, t + KVMCLOCK_SYNC_PERIOD_NS, TIMER_PERIODIC_SYNC);
	}
}

/*
 * KVM's get_kvmclock_ns (x86.c, 6.12): in master-clock mode the master snapshot extrapolated
 * with the host TSC of CPU cpu (at the host's calibrated frequency), else the host's boot-based
 * clock; plus kvmclock_offset.
 */
static uint64_t kvmclock_now(struct page *pg, unsigned cpu, sim_ns t)
{
	struct kvmclock *k = pg->state;
	const struct host *h = pg->vm->host;

	if (k->use_master) {
		int8_t shift;
		uint32_t mul;

		kvm_get_time_scale(NS_PER_SEC, (uint64_t)h->raw.tsc_khz * 1000, &shift, &mul);
		return k->master_ns + (uint64_t)k->kvmclock_offset +
		       pvclock_scale_delta(host_tsc(h, cpu, t) - k->master_cycle, mul, shift);
	}
	return host_raw_ns(h, cpu, t) + (uint64_t)k->kvmclock_offset;
}

/* The VMM stops the VM: with set_clock it saves KVM_GET_CLOCK (kvmclock and realtime). */
static void kvc_on_pause(struct page *pg, sim_ns t)
{
	struct kvmclock *k = pg->state;

	k->saved_clock = kvmclock_now(pg, vm_vcpu(pg->vm, 0)->pcpu, t);
	k->saved_real = host_realtime_ns(pg->vm->host, t);
	/* KVM_GET_CLOCK_GUEST: the boot vCPU's parameters as KVM last wrote them. */
	vm_store_flush_owner(pg->vm, 0);
	k->saved_pvti = *entry(k, 0);
	k->clock_set = false;
}

/* KVM_SET_CLOCK (kvm_vm_ioctl_set_clock): kvmclock reads `target` at t from now on. KVM
 * re-takes the master snapshot, then sets kvmclock_offset against it. */
static void set_clock_to(struct page *pg, uint64_t target, sim_ns t)
{
	struct kvmclock *k = pg->state;
	unsigned cpu = vm_vcpu(pg->vm, 0)->pcpu;

	update_master(pg, cpu, t);
	k->kvmclock_offset = 0;
	k->kvmclock_offset = (int64_t)(target - kvmclock_now(pg, cpu, t));
}

/* KVM_SET_CLOCK as the option says, plain or with KVM_CLOCK_REALTIME (migrate.c kvm_set_clock:
 * the realtime elapsed since the save is added only when positive). */
static void restore_clock(struct page *pg, sim_ns t)
{
	struct kvmclock *k = pg->state;

	set_clock_to(pg, kvm_set_clock(k->saved_clock, k->saved_real,
				       host_realtime_ns(pg->vm->host, t),
				       k->set_clock == SET_CLOCK_REALTIME), t);
}

/*
 * KVM_SET_CLOCK_GUEST (seed 004 step 9; a posted series, not in 6.12; REFERENCE 6): kvmclock
 * becomes the same function of the guest TSC the saved entry was, pinned at this instant: at
 * vCPU 0's guest TSC now, kvmclock reads what the source's entry gives for that TSC. Continuous
 * exactly when the guest TSC is.
 */
static void restore_clock_guest(struct page *pg, sim_ns t)
{
	struct kvmclock *k = pg->state;
	const struct pvclock_vcpu_time_info *e = &k->saved_pvti;
	struct vcpu *v0 = vm_vcpu(pg->vm, 0);
	uint64_t g = guest_tsc_on(pg, v0, v0->pcpu, t);

	set_clock_to(pg, e->system_time + pvclock_scale_delta(g - e->tsc_timestamp,
							     e->tsc_to_system_mul, e->tsc_shift), t);
}

/*
 * After a pause the VMM resumes the VM. With set_clock it first restores the saved clock with
 * KVM_SET_CLOCK (kvm_vm_ioctl_set_clock): plain, kvmclock restarts where it was saved (the pause
 * is lost, QEMU's default); with KVM_CLOCK_REALTIME it is advanced by the realtime elapsed since
 * the save when that is positive (REFERENCE 6). KVM re-takes the master snapshot, then sets
 * kvmclock_offset so that kvmclock reads the target now. Every entry is rewritten; QEMU's
 * KVM_KVMCLOCK_CTRL makes the next one carry GUEST_STOPPED (the guest then pets its watchdogs).
 */
static void kvc_on_resume(struct page *pg, sim_ns t)
{
	struct kvmclock *k = pg->state;

	if (k->set_clock == SET_CLOCK_GUEST)
		restore_clock_guest(pg, t);
	else if (k->set_clock != SET_CLOCK_NONE && !k->clock_set)
		restore_clock(pg, t);
	else if (k->migrated)
		/* The VMM's TSC writes (a restore) may have changed the generations: KVM's
		 * kvm_track_tsc_matching requested a master-clock update, served now. */
		update_master(pg, vm_vcpu(pg->vm, 0)->pcpu, t);
	k->clock_set = false;
	k->migrated = false;
	request_all(pg);
	if (k->stop_on_resume)
		for (unsigned i = 0; i < pg->vm->nvcpus; i++)
			k->v[i].stopped_pending = true;
}

/* A host TSC reset (suspend) is a backwards TSC: master-clock mode ends for good. */
static void kvc_on_host_change(struct page *pg, const struct host_change *c, sim_ns t)
{
	struct kvmclock *k = pg->state;

	if (c->kind == HOST_CHANGE_RATE) {
		/* A non-invariant TSC: cpufreq's notifier updates that CPU's cpu_tsc_khz in
		 * proportion to its new nominal rate (KVM's kvmclock_cpufreq_notifier). */
		const struct host *h = pg->vm->host;

		k->cpu_khz[c->pcpu] = (uint64_t)h->raw.tsc_khz * h->cpu[c->pcpu].freq_hz /
				      h->cfg.cpu[c->pcpu].freq_hz;
		for (unsigned i = 0; i < pg->vm->nvcpus; i++)
			if (vm_vcpu(pg->vm, i)->pcpu == c->pcpu)
				k->v[i].requested = true;
	}
	if (c->kind == HOST_CHANGE_RECALIBRATED) {
		/* kvm_hyperv_tsc_notifier: every CPU's cpu_tsc_khz becomes the new tsc_khz, the
		 * master clock is re-taken and every vCPU's entry rewritten (the nested VMs are
		 * held out of the guest meanwhile: KVM_REQ_MCLOCK_INPROGRESS). */
		const struct host *h = pg->vm->host;

		for (unsigned i = 0; i < h->ncpus; i++)
			k->cpu_khz[i] = h->raw.tsc_khz;
		update_master(pg, c->pcpu, t);
		request_all(pg);
	}
	if (c->kind == HOST_CHANGE_RESET) {
		k->backwards_tsc = true;
		update_master(pg, c->pcpu, t);
		request_all(pg);
	}
}

/* kvm_gen_update_masterclock: a new master snapshot (on vCPU 0's CPU), every entry requested. */
static void kvc_on_update(struct page *pg, sim_ns t)
{
	update_master(pg, vm_vcpu(pg->vm, 0)->pcpu, t);
	request_all(pg);
}

/* KVM_GET_CLOCK: kvmclock now as computed on host CPU cpu, and that CPU's TSC. */
static bool kvc_get_clock(struct page *pg, unsigned cpu, sim_ns t, uint64_t *clock_ns,
			  uint64_t *host_tsc_out)
{
	*clock_ns = kvmclock_now(pg, cpu, t);
	*host_tsc_out = host_tsc(pg->vm->host, cpu, t);
	return true;
}

/*
 * The VM arrives on another host (or restarts on its own): the destination KVM's fresh VM.
 * Its kvmclock counts from 0 at creation (kvmclock_offset = -raw clock now), its per-CPU
 * frequencies are the destination's tsc_khz, no backwards TSC was seen there, every entry must
 * be rewritten (mul/shift recomputed). Then the VMM's KVM_SET_CLOCK, plain or realtime, before
 * the TSCs are restored (the old documented procedure reads KVM_GET_CLOCK after it);
 * KVM_SET_CLOCK_GUEST waits for the resume, after the TSCs.
 */
static void kvc_on_migrate(struct page *pg, sim_ns t)
{
	struct kvmclock *k = pg->state;
	const struct host *h = pg->vm->host;
	unsigned cpu = vm_vcpu(pg->vm, 0)->pcpu;
	uint64_t *khz = realloc(k->cpu_khz, h->ncpus * sizeof(*khz));

	if (khz) /* on failure the old array (at least as large as vCPU 0's CPU) is kept */
		k->cpu_khz = khz;
	for (unsigned c = 0; c < h->ncpus && khz; c++)
		k->cpu_khz[c] = h->raw.tsc_khz;
	k->told_khz = pg->vm->guest_tsc_hz / 1000 != (uint64_t)h->cfg.cpu[0].freq_hz / 1000
			      ? pg->vm->guest_tsc_hz / 1000
			      : 0;
	k->backwards_tsc = false;
	k->migrated = true;
	for (unsigned i = 0; i < pg->vm->nvcpus; i++) {
		k->v[i].last_pcpu = -1;
		k->v[i].hw_tsc_khz = 0;
		k->v[i].requested = true;
	}
	k->kvmclock_offset = -(int64_t)host_raw_ns(h, cpu, t);
	update_master(pg, cpu, t);
	if (k->set_clock == SET_CLOCK_PLAIN || k->set_clock == SET_CLOCK_REALTIME) {
		restore_clock(pg, t);
		k->clock_set = true;
	}
}

static struct pvclock_vcpu_time_info *kvc_pvti(struct page *pg, unsigned vcpu)
{
	return entry(pg->state, vcpu);
}

static struct ms_hyperv_tsc_page *kvc_hv_tsc_page(struct page *pg)
{
	return ((struct kvmclock *)pg->state)->tsc_page;
}

static uint32_t kvc_kvm_features(struct page *pg)
{
	const struct kvmclock *k = pg->state;

	return (1u << KVM_FEATURE_CLOCKSOURCE) | (1u << KVM_FEATURE_CLOCKSOURCE2) |
	       (k->stable_cpuid ? 1u << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT : 0);
}

/*
 * HV_X64_MSR_TIME_REF_COUNT: get_kvmclock_ns() / 100 (hyperv.c get_time_ref_counter). In
 * master-clock mode KVM extrapolates the master snapshot with the host TSC of the CPU taking the
 * exit; otherwise it is the host's boot-based clock plus kvmclock_offset.
 */
static bool kvc_read_msr(struct page *pg, unsigned vcpu, uint32_t msr, sim_ns t, uint64_t *val)
{
	if (msr != HV_X64_MSR_TIME_REF_COUNT)
		return false;
	*val = kvmclock_now(pg, vm_vcpu(pg->vm, vcpu)->pcpu, t) / 100;
	return true;
}

static const struct layer_fact kvc_facts[] = {
	{ "masterclock", "1 when master-clock mode was on at the end of the run" },
	{ "masterclock_ever", "1 when master-clock mode was on at any time" },
	{ "page_updates", "pvclock entries written" },
	{ 0 },
};

static const struct layer_fact hv_facts[] = {
	{ "masterclock", "1 when master-clock mode was on at the end of the run" },
	{ "masterclock_ever", "1 when master-clock mode was on at any time" },
	{ "page_updates", "pvclock entries written" },
	{ "tsc_page_valid", "1 when the reference TSC page was valid (sequence != 0) at the end" },
	{ 0 },
};

static void kvc_get_facts(struct page *pg, int64_t *v)
{
	const struct kvmclock *k = pg->state;

	v[0] = k->use_master;
	v[1] = k->master_ever;
	v[2] = (int64_t)k->updates;
	if (k->hv)
		v[3] = k->tsc_page->tsc_sequence != 0;
}

const struct page_ops page_kvmclock = {
	.version = PAGE_OPS_VERSION,
	.name = "kvmclock",
	.describe = "KVM's pvclock writer: per-vCPU or master-clock mode (arch/x86/kvm/x86.c, 6.12)",
	.state_size = sizeof(struct kvmclock),
	.options = kvmclock_options,
	.init = kvc_init,
	.fini = kvc_fini,
	.on_register = kvc_on_register,
	.on_load = kvc_on_load,
	.on_entry = kvc_on_entry,
	.on_pause = kvc_on_pause,
	.on_resume = kvc_on_resume,
	.on_timer = kvc_on_timer,
	.on_host_change = kvc_on_host_change,
	.get_clock = kvc_get_clock,
	.on_migrate = kvc_on_migrate,
	.on_update = kvc_on_update,
	.pvti = kvc_pvti,
	.kvm_features = kvc_kvm_features,
	.facts = kvc_facts,
	.get_facts = kvc_get_facts,
};

const struct page_ops page_hv_tsc_page = {
	.version = PAGE_OPS_VERSION,
	.name = "hv-tsc-page",
	.describe = "kvmclock plus KVM's Hyper-V reference TSC page (master-clock mode only)",
	.state_size = sizeof(struct kvmclock),
	.options = kvmclock_options,
	.init = hv_init,
	.fini = kvc_fini,
	.on_register = kvc_on_register,
	.on_load = kvc_on_load,
	.on_entry = kvc_on_entry,
	.on_pause = kvc_on_pause,
	.on_resume = kvc_on_resume,
	.on_timer = kvc_on_timer,
	.on_host_change = kvc_on_host_change,
	.get_clock = kvc_get_clock,
	.on_migrate = kvc_on_migrate,
	.on_update = kvc_on_update,
	.pvti = kvc_pvti,
	.hv_tsc_page = kvc_hv_tsc_page,
	.kvm_features = kvc_kvm_features,
	.read_msr = kvc_read_msr,
	.facts = hv_facts,
	.get_facts = kvc_get_facts,
};
