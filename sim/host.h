/*
 * host.h: the physical host: one TSC oscillator per host CPU, and the host kernel's clocks.
 *
 * A host TSC is piecewise linear in true time. Each segment starts at true time t0 with counter
 * value tsc0 and runs at a rate of cycles per ns held as an exact 64.64 fixed-point number
 * (rate_int + rate_frac / 2^64), computed once per segment from an integer frequency in Hz and an
 * error in parts per billion. Evaluating the counter is then
 *
 *     tsc(t) = tsc0 + (t - t0) * rate_int + floor((t - t0) * rate_frac / 2^64)   (mod 2^64)
 *
 * one 64x64 multiply and one 64x64->128 multiply, floor rounding, no division, exact for any
 * t - t0 < 2^64 and wrapping modulo 2^64 like the real counter. Wander, rate changes (a
 * non-invariant TSC following P-states) and resets (host suspend) each start a new segment at the
 * current counter value, so the counter is continuous except at a reset.
 *
 * The host kernel's CLOCK_MONOTONIC_RAW (REFERENCE 2.1a) is a separate clock: its clocksource
 * (the TSC of the CPU doing the read, or HPET / ACPI PM when the host deems its TSC unstable)
 * converted with the host's own mult/shift, which the kernel derived from the frequency it
 * calibrated at boot, not from the true frequency. The coarse tick clock is that raw clock as of
 * the last tick at HZ.
 *
 * A nested host (seed 003) is itself the guest of an outer hypervisor. Its TSCs are the outer
 * machine's, and it may read time through the outer hypervisor's clock page instead of the bare
 * TSC: the Hyper-V reference TSC page (CS_HYPERV, a 10 MHz count) or its own kvmclock
 * (CS_KVMCLOCK, a 1 GHz count). Both are computed from the TSC of the CPU doing the read with one
 * (scale, offset) published for all CPUs; the outer hypervisor republishes it when it moves the
 * host to another machine (host_outer_migrate), so those clocks keep the right rate where a bare
 * TSC clocksource does not.
 */
#ifndef VT_HOST_H
#define VT_HOST_H

#include "vt.h"

/* One linear piece of a counter: cycles per ns = rate_int + rate_frac / 2^64. */
struct tsc_seg {
	sim_ns t0;
	uint64_t tsc0;
	uint64_t rate_int;
	uint64_t rate_frac;
};

/*
 * The counter value at true time t >= s->t0. Floor of the exact product; exact for all
 * t - t0 < 2^64; wraps modulo 2^64.
 */
static inline uint64_t tsc_seg_eval(const struct tsc_seg *s, sim_ns t)
{
	uint64_t dt = t - s->t0;

	return s->tsc0 + dt * s->rate_int + (uint64_t)(((u128)dt * s->rate_frac) >> 64);
}

/*
 * The 64.64 rate of an oscillator of nominal frequency hz with error err_ppb parts per billion:
 * cycles per ns = hz * (1e9 + err_ppb) / 1e18, floor to 2^-64 cycles/ns (truncation error below
 * 1 cycle per 2^64 ns, i.e. never visible). Requires 1e9 + err_ppb > 0.
 */
void tsc_rate(uint64_t hz, int64_t err_ppb, uint64_t *rate_int, uint64_t *rate_frac);

/* Host clocksource names (Linux's): what CLOCK_MONOTONIC_RAW is read from. */
enum host_clocksource {
	CS_AUTO,    /* configuration only: tsc when the TSC is deemed stable, else hpet */
	CS_TSC,     /* the TSC of the CPU doing the read */
	CS_HPET,    /* the HPET main counter, 14.31818 MHz nominal, one counter for all CPUs */
	CS_ACPI_PM, /* the ACPI PM timer, 3.579545 MHz nominal, 24 bits */
	CS_HYPERV,  /* nested: the host is a Hyper-V guest reading the outer hypervisor's reference
		       TSC page (a 10 MHz clock computed from the TSC of the CPU doing the read) */
	CS_KVMCLOCK,/* nested: the host is a KVM guest reading its own kvmclock (1 GHz, from the TSC
		       of the CPU doing the read) */
};

#define HPET_HZ 14318180ULL
#define ACPI_PM_HZ 3579545ULL
/* Hyper-V reference time: a 10 MHz count (100 ns units), Linux's HV_CLOCK_HZ. */
#define HV_REF_HZ 10000000ULL

/* A scheduled change of one host CPU's TSC. */
struct host_tsc_event {
	sim_ns at;
	enum { HOST_EV_RATE, HOST_EV_RESET } kind;
	uint64_t value; /* HOST_EV_RATE: new nominal frequency in Hz; HOST_EV_RESET: new counter value */
};

/* Configuration of one host CPU (from the scenario). */
struct host_cpu_cfg {
	uint64_t freq_hz;      /* nominal TSC frequency */
	int64_t skew_ppb;      /* frequency error of the oscillator, parts per billion */
	uint64_t offset;       /* counter value at true time 0 (boot offset), cycles */
	int64_t wander_ppb;    /* random-walk step of the frequency error per wander interval */
	unsigned nevents;
	const struct host_tsc_event *events; /* sorted by time */
};

struct host_cfg {
	unsigned ncpus;
	const struct host_cpu_cfg *cpu;
	sim_ns wander_interval;        /* how often wander steps the error (ns; > 0) */
	enum host_clocksource clocksource;
	int tsc_stable;                /* -1 derive from the scenario, 0 no, 1 yes */
	uint64_t tsc_sync_tolerance;   /* cycles: boot offsets within this count as synchronized */
	int64_t calibration_error_ppb; /* error of the boot-time TSC calibration */
	int64_t hpet_skew_ppb;         /* frequency error of the HPET / ACPI PM oscillator */
	unsigned hz;                   /* host tick rate: 100, 250, 1000 ... */
	int64_t realtime_offset_ns;    /* this host's CLOCK_REALTIME minus true time (NTP error) */
};

/* CLOCK_REALTIME at true time 0 on a host whose realtime is exact: 2023-11-14 22:13:20 UTC. */
#define HOST_REALTIME_EPOCH_NS 1700000000000000000ULL

struct host_cpu {
	struct tsc_seg seg;  /* the current segment */
	uint64_t freq_hz;    /* current nominal frequency (changes with HOST_EV_RATE) */
	int64_t err_ppb;     /* current frequency error (skew plus wander so far) */
};

/*
 * The outer hypervisor's clock page a nested host reads (raw.cs CS_HYPERV or CS_KVMCLOCK). One
 * page serves every CPU, each applying it to its own TSC (so cross-CPU TSC skew shows through).
 * It is published at true time 0 and again at each host_outer_migrate and host_tsc_reset, from
 * CPU 0's TSC and CPU 0's nominal frequency f (cpu[0].freq_hz), continuous on CPU 0 at that
 * instant.
 */
struct host_outer_page {
	/* CS_HYPERV (REFERENCE 3): page time in 100 ns units =
	 * floor(tsc * hv_scale / 2^64) + hv_offset, mod 2^64. */
	uint64_t hv_scale;      /* 100 ns units per cycle, 0.64 fixed point: floor(2^64 1e7 / f) */
	int64_t hv_offset;      /* 100 ns units */
	/* CS_KVMCLOCK (REFERENCE 2.4): ns = system_time +
	 * pvclock_scale_delta(tsc - tsc_timestamp, mul, shift), mod 2^64. */
	uint64_t tsc_timestamp; /* CPU 0's TSC at the publish instant, cycles */
	uint64_t system_time;   /* the kvmclock at that instant, ns */
	uint32_t mul;           /* ns per shifted cycle, 0.32 fixed point (kvm_get_time_scale) */
	int8_t shift;           /* binary shift applied to the TSC delta before mul */
};

/* The host kernel's timekeeper for CLOCK_MONOTONIC_RAW. */
struct host_raw_clock {
	enum host_clocksource cs;     /* resolved: never CS_AUTO */
	uint32_t mult, shift;         /* ns = (cycles * mult) >> shift */
	uint64_t mask;                /* counter width mask (HPET 32 bits, ACPI PM 24 bits, TSC and
				       * the nested pages 64) */
	uint64_t base_cycles;         /* counter value at the base instant */
	uint64_t base_ns;             /* raw clock value at the base instant, without step_ns */
	int64_t step_ns;              /* the sum of the host clock steps so far */
	struct tsc_seg ext;           /* the HPET / ACPI PM oscillator when cs is one of those */
	struct host_outer_page page;  /* the outer hypervisor's page when cs is a nested one */
	uint32_t tsc_khz;             /* calibrated TSC frequency (Linux tsc_khz), kHz */
};

struct host {
	struct host_cfg cfg;
	unsigned ncpus;
	struct host_cpu *cpu;
	bool tsc_stable;             /* what the host kernel believes (resolved from cfg) */
	struct host_raw_clock raw;
	sim_ns tick_ns;              /* 1e9 / hz, floor */
	/*
	 * The coarse clock's value at the last tick before the latest change of the raw clock's
	 * inputs (a new segment of a TSC, a re-base): host_coarse_ns returns it for reads in the
	 * same tick interval, where the new segment cannot be evaluated at the (earlier) tick.
	 */
	sim_ns coarse_tick_t;        /* that tick's instant (ns of true time) */
	uint64_t coarse_tick_ns;     /* the raw clock (CPU 0) at that instant */
};

/* Builds the host at true time 0. Returns VT_OK or VT_ENOMEM / VT_EINPUT (bad frequency). */
int host_init(struct host *h, const struct host_cfg *cfg);
void host_free(struct host *h);

/* Host CPU `cpu`'s TSC at true time t (t at or after the last segment change). */
static inline uint64_t host_tsc(const struct host *h, unsigned cpu, sim_ns t)
{
	return tsc_seg_eval(&h->cpu[cpu].seg, t);
}

/* Starts a new segment at t with nominal frequency hz (non-invariant TSC rate change). */
void host_tsc_set_rate(struct host *h, unsigned cpu, sim_ns t, uint64_t hz);
/* Adds delta_ppb to the frequency error at t (one wander step). */
void host_tsc_wander(struct host *h, unsigned cpu, sim_ns t, int64_t delta_ppb);
/* Sets the counter to value at t (host suspend / reset); the raw clock re-bases. */
void host_tsc_reset(struct host *h, unsigned cpu, sim_ns t, uint64_t value);

/* The host's clock steps by delta_ns (either way) at t; the TSCs do not move. */
void host_clock_step(struct host *h, sim_ns t, int64_t delta_ns);

/*
 * The outer hypervisor moves this (nested) host at true time t (ns) to a machine whose TSCs run
 * at nominal new_hz (Hz) with oscillator error new_err_ppb (parts per billion), without TSC
 * scaling. The engine (world.c) calls it when the host runs again after the outer migration
 * (host.outer in the scenario). Every CPU's TSC continues
 * from its value at t (a new segment) at the new rate; cpu[].freq_hz and err_ppb become new_hz and
 * new_err_ppb. The raw clock then depends on the clocksource:
 *   CS_HYPERV, CS_KVMCLOCK: the outer hypervisor republishes its page at t for new_hz, so the raw
 *     clock is continuous at t (exactly, on CPU 0) and keeps its rate (up to the page's rounding);
 *   CS_TSC: the host kernel's mult/shift stay those of the old frequency, so the raw clock runs
 *     fast or slow by new_hz / old_hz from t on ("Don't Do That Then", seed 003);
 *   CS_HPET, CS_ACPI_PM: unaffected.
 * raw.tsc_khz does not change: the host kernel does not know yet (see host_recalibrate).
 */
void host_outer_migrate(struct host *h, sim_ns t, uint64_t new_hz, int64_t new_err_ppb);

/*
 * The host kernel learns its TSC's new frequency at true time t (ns): Hyper-V re-enlightenment,
 * where Linux's hv_reenlightenment callback stops TSC emulation and re-reads
 * HV_X64_MSR_TSC_FREQUENCY. The engine (world.c) calls it right after host_outer_migrate when the
 * host handles re-enlightenment (host.reenlightenment = yes); it may be called at any later t,
 * once the TSCs run at the new rate. raw.tsc_khz becomes floor(cpu[0].freq_hz / 1000) kHz (kept
 * as it was if that is 0 or does not fit 32 bits). With CS_TSC the kernel also re-derives
 * mult/shift from the new tsc_khz, re-based at t so that the raw clock is continuous there (to
 * under 1 ns) and runs at the right rate again; other clocksources' raw clocks are unaffected.
 */
void host_recalibrate(struct host *h, sim_ns t);

/* The host's CLOCK_REALTIME at true time t: ns since the Unix epoch (host clock steps move it). */
static inline uint64_t host_realtime_ns(const struct host *h, sim_ns t)
{
	return HOST_REALTIME_EPOCH_NS + t + (uint64_t)h->cfg.realtime_offset_ns +
	       (uint64_t)h->raw.step_ns;
}

/* The host's CLOCK_MONOTONIC_RAW as read on CPU `cpu` at true time t (ns since host boot). */
uint64_t host_raw_ns(const struct host *h, unsigned cpu, sim_ns t);
/* The coarse tick clock: the raw clock (as read on CPU 0) at the last tick at or before t
 * (t at or after the last segment change or reset). */
uint64_t host_coarse_ns(const struct host *h, sim_ns t);

/*
 * Linux's clocks_calc_mult_shift: the (mult, shift) pair converting a counter at `from` Hz to
 * `to` Hz with the largest shift for which `maxsec` seconds of counts cannot overflow 64 bits
 * when multiplied; mult rounded to nearest.
 */
void host_calc_mult_shift(uint32_t *mult, uint32_t *shift, uint32_t from, uint32_t to,
			  uint32_t maxsec);

#endif /* VT_HOST_H */
