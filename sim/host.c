/*
 * host.c: the physical host of host.h: its per-CPU TSC oscillators (piecewise linear counters in
 * true time) and the host kernel's view of time: the TSC frequency it calibrated at boot, the
 * clocksource it chose, the mult/shift it converts that clocksource with, and the resulting
 * CLOCK_MONOTONIC_RAW and coarse tick clock (REFERENCE 2.1a).
 *
 * The host kernel is modelled on Linux 6.12 (x86): calibration rounds the boot CPU's frequency to
 * kHz (tsc_khz), the TSC clocksource is registered with clocksource_register_khz(tsc_khz), HPET
 * and ACPI PM with clocksource_register_hz, and mult/shift come from
 * __clocksource_update_freq_scale and clocks_calc_mult_shift (kernel/time/clocksource.c).
 * A nested host (seed 003) reads the outer hypervisor's Hyper-V reference TSC page or its
 * kvmclock instead (Linux's hyperv_clocksource_tsc_page and kvm-clock, both registered with
 * clocksource_register_hz and a 64-bit mask); the outer hypervisor's page publishing and its
 * migrations of the host are modelled here too (host_outer_migrate, host_recalibrate).
 * All arithmetic is integer and exact as stated at each step; nothing here is a double.
 */
#include "host.h"

#include <stdlib.h>
#include <string.h>

#include "timescale.h"

/* 10^18: the denominator of hz (cycles/s) * (1e9 + ppb) (parts per 1e9) / 1e18 = cycles/ns. */
#define E18 1000000000000000000ULL
/* Frequency errors (oscillator, calibration, HPET) must lie strictly within +-1e9 ppb (+-100%),
 * which keeps every product below in range; real errors are below 1e6 ppb (REFERENCE 9). */
#define PPB_LIMIT 1000000000LL

/*
 * rate = hz * (1e9 + err_ppb) / 1e18 cycles per ns, as 64.64 fixed point, floor:
 *   A = hz * (1e9 + err_ppb), exact in 128 bits (below 2^64 * 2^63);
 *   rate_int = floor(A / 1e18), saturated at 2^64 - 1 (never reached: that is 1.8e19 GHz);
 *   rate_frac = floor((A mod 1e18) * 2^64 / 1e18), exact: (A mod 1e18) < 2^60, so the shifted
 *   value is below 2^124.
 * A non-positive 1e9 + err_ppb (an error of -100% or worse) gives rate 0: a stopped counter.
 */
void tsc_rate(uint64_t hz, int64_t err_ppb, uint64_t *rate_int, uint64_t *rate_frac)
{
	s128 scale = (s128)NS_PER_SEC + err_ppb;
	u128 a, q;

	*rate_int = 0;
	*rate_frac = 0;
	if (scale <= 0)
		return;
	a = (u128)hz * (u128)scale;
	q = a / E18;
	*rate_int = q > UINT64_MAX ? UINT64_MAX : (uint64_t)q;
	*rate_frac = (uint64_t)(((a % E18) << 64) / E18);
}

/*
 * As Linux's clocks_calc_mult_shift (kernel/time/clocksource.c, 6.12). First sftacc, the number
 * of bits mult may have: 32 minus the bit length of (maxsec * from) >> 32, so that maxsec seconds
 * of counts (maxsec * from < 2^(64 - sftacc)) times mult (< 2^sftacc) fit 64 bits. Then, from
 * shift 32 down, mult = round-half-up((to << shift) / from) (add from / 2, floor-divide); the first
 * (largest) shift whose mult fits sftacc bits wins. If none does, Linux leaves the shift-1 mult
 * (truncated to 32 bits) with shift 0; so do we.
 */
void host_calc_mult_shift(uint32_t *mult, uint32_t *shift, uint32_t from, uint32_t to,
			  uint32_t maxsec)
{
	uint64_t tmp = ((uint64_t)maxsec * from) >> 32;
	uint32_t sft, sftacc = 32;

	while (tmp) {
		tmp >>= 1;
		sftacc--;
	}
	for (sft = 32; sft > 0; sft--) {
		/* to < 2^32, so to << 32 plus from / 2 < 2^64: no overflow */
		tmp = ((uint64_t)to << sft) + from / 2;
		tmp /= from;
		if ((tmp >> sftacc) == 0)
			break;
	}
	*mult = (uint32_t)tmp;
	*shift = sft;
}

/*
 * As Linux's __clocksource_update_freq_scale (kernel/time/clocksource.c, 6.12), the part that
 * sets mult/shift for a counter of freq * scale Hz (scale 1 for clocksource_register_hz, 1000 for
 * clocksource_register_khz):
 *   sec = mask / freq / scale (floor, floor): seconds until the counter wraps; at least 1; at
 *   most 600 for counters wider than 32 bits (10 minutes bounds the idle time and keeps the
 *   shift large: 24 for a 64-bit counter at 2.5 GHz);
 *   clocks_calc_mult_shift(freq, NSEC_PER_SEC / scale, sec * scale);
 *   then, while mult plus 11% (maxadj, the NTP adjustment room, floor of mult * 11 / 100) would
 *   overflow 32 bits, halve mult (floor) and decrement shift. (Never triggers for the TSC, HPET
 *   or ACPI PM frequencies, kept so that any frequency follows Linux.)
 */
static void cs_update_freq_scale(uint64_t mask, uint32_t scale, uint32_t freq, uint32_t *mult,
				 uint32_t *shift)
{
	uint64_t sec = mask / freq / scale;
	uint64_t maxadj;

	if (sec == 0)
		sec = 1;
	else if (sec > 600 && mask > UINT32_MAX)
		sec = 600;
	host_calc_mult_shift(mult, shift, freq, (uint32_t)(NS_PER_SEC / scale),
			     (uint32_t)(sec * scale));
	maxadj = (uint64_t)*mult * 11 / 100;
	while ((uint64_t)*mult + maxadj > UINT32_MAX && *shift > 0) {
		*mult >>= 1;
		*shift -= 1;
		maxadj = (uint64_t)*mult * 11 / 100;
	}
}

/*
 * The kernel's boot-time calibration of CPU 0's TSC, in kHz (Linux tsc_khz):
 *   true_hz = freq_hz * (1e9 + skew_ppb) / 1e9, measured with relative error cal_ppb:
 *   tsc_khz = round-half-up(freq_hz * (1e9 + skew_ppb) * (1e9 + cal_ppb) / 1e21).
 * Exact: the product is below 2^64 * 2^31 * 2^31 = 2^126 (errors within +-1e9 ppb).
 * Returns 0 when the result does not fit 32 bits (tsc_khz is a u32 in Linux), or is 0.
 */
static uint32_t calibrate_khz(uint64_t freq_hz, int64_t skew_ppb, int64_t cal_ppb)
{
	const u128 e21 = (u128)E18 * 1000;
	u128 a = (u128)freq_hz * (u128)((int64_t)NS_PER_SEC + skew_ppb) *
		 (u128)((int64_t)NS_PER_SEC + cal_ppb);
	u128 khz = (a + e21 / 2) / e21;

	return khz > UINT32_MAX ? 0 : (uint32_t)khz;
}

/*
 * Derives whether the host kernel would trust its TSC: every CPU's counter runs at one rate from
 * one origin, so no reader can ever see it go backwards across CPUs. Stable iff no CPU has a
 * scheduled rate change or reset, every CPU has the same nominal frequency and the same skew,
 * none wanders (an independent random walk per CPU makes them diverge), and the boot offsets are
 * all within tsc_sync_tolerance cycles of each other (max - min, offsets compared as plain
 * integers, not modulo 2^64).
 */
static bool tsc_derive_stable(const struct host_cfg *cfg)
{
	const struct host_cpu_cfg *c0 = &cfg->cpu[0];
	uint64_t lo = c0->offset, hi = c0->offset;

	for (unsigned i = 0; i < cfg->ncpus; i++) {
		const struct host_cpu_cfg *c = &cfg->cpu[i];

		for (unsigned j = 0; j < c->nevents; j++)
			if (c->events[j].kind == HOST_EV_RATE || c->events[j].kind == HOST_EV_RESET)
				return false;
		if (c->freq_hz != c0->freq_hz || c->skew_ppb != c0->skew_ppb || c->wander_ppb != 0)
			return false;
		if (c->offset < lo)
			lo = c->offset;
		if (c->offset > hi)
			hi = c->offset;
	}
	return hi - lo <= cfg->tsc_sync_tolerance;
}

static bool ppb_ok(int64_t ppb)
{
	return ppb > -PPB_LIMIT && ppb < PPB_LIMIT;
}

/* VT_OK if the configuration can be modelled, else VT_EINPUT. */
static int host_cfg_check(const struct host_cfg *cfg)
{
	if (cfg->ncpus == 0 || cfg->cpu == NULL || cfg->hz == 0)
		return VT_EINPUT;
	if (cfg->clocksource != CS_AUTO && cfg->clocksource != CS_TSC &&
	    cfg->clocksource != CS_HPET && cfg->clocksource != CS_ACPI_PM &&
	    cfg->clocksource != CS_HYPERV && cfg->clocksource != CS_KVMCLOCK)
		return VT_EINPUT;
	/* The reference TSC page cannot describe a TSC of 10 MHz or less (its scale, 100 ns units
	 * per cycle as a 0.64 fraction, would reach 1); no x86 TSC is that slow. */
	if (cfg->clocksource == CS_HYPERV && cfg->cpu[0].freq_hz <= HV_REF_HZ)
		return VT_EINPUT;
	if (!ppb_ok(cfg->calibration_error_ppb) || !ppb_ok(cfg->hpet_skew_ppb))
		return VT_EINPUT;
	for (unsigned i = 0; i < cfg->ncpus; i++) {
		const struct host_cpu_cfg *c = &cfg->cpu[i];

		if (c->freq_hz == 0 || !ppb_ok(c->skew_ppb))
			return VT_EINPUT;
		if (c->nevents > 0 && c->events == NULL)
			return VT_EINPUT;
	}
	return VT_OK;
}

/* True when the raw clock's counter is computed from the reading CPU's TSC. */
static bool cs_reads_tsc(enum host_clocksource cs)
{
	return cs == CS_TSC || cs == CS_HYPERV || cs == CS_KVMCLOCK;
}

/*
 * The reference TSC page scale for a TSC of nominal hz: 100 ns units per cycle as a 0.64 fixed
 * point fraction, scale = floor(2^64 * 1e7 / hz). 2^64 * 1e7 < 2^88, exact in 128 bits; the
 * quotient is below 2^64 for hz > 1e7. The floor makes the page slow by under one unit per 2^64
 * cycles (never visible). A TSC of 10 MHz or less (refused by host_init, possible only through
 * host_outer_migrate) saturates to 2^64 - 1, just under one unit per cycle, and hz = 0 (a
 * stopped TSC) gives the same: the page then advances by at most one unit per cycle.
 */
static uint64_t hv_page_scale(uint64_t hz)
{
	if (hz <= HV_REF_HZ)
		return UINT64_MAX;
	return (uint64_t)(((u128)1 << 64) * HV_REF_HZ / hz);
}

/* floor(tsc * scale / 2^64): the 128-bit product, as Linux's mul_u64_u64_shr(tsc, scale, 64). */
static uint64_t hv_scaled(uint64_t tsc, uint64_t scale)
{
	return (uint64_t)(((u128)tsc * scale) >> 64);
}

/*
 * The outer hypervisor's page as read on CPU `cpu` at true time t, from that CPU's own TSC:
 * CS_HYPERV: 100 ns units, floor(tsc * scale / 2^64) + offset, the s64 offset added modulo 2^64,
 *   as Linux's hv_read_tsc_page_tsc (include/clocksource/hyperv_timer.h, 6.12; REFERENCE 3).
 *   A reading lags tsc * 1e7 / f by less than one unit plus the scale's floor (under one unit
 *   per 2^64 cycles): it is floor of the exact count or, when that count is an integer, one less.
 * CS_KVMCLOCK: ns, system_time + pvclock_scale_delta(tsc - tsc_timestamp, mul, shift), as
 *   Linux's __pvclock_read_cycles (arch/x86/include/asm/pvclock.h, 6.12; REFERENCE 2.4): slow by
 *   under 1 ns per second of delta (mul is a floor). The snapshot is a master-clock one (one for
 *   all CPUs, PVCLOCK_TSC_STABLE_BIT set), so pvclock_clocksource_read returns it without its
 *   last_value clamp. A CPU whose TSC is behind tsc_timestamp makes the delta wrap to a huge
 *   value, as on real hardware; the raw clock's clocksource_delta check then treats a reading
 *   behind the base as no time at all (host_raw_ns).
 */
static uint64_t outer_page_read(const struct host *h, unsigned cpu, sim_ns t)
{
	const struct host_outer_page *pg = &h->raw.page;
	uint64_t tsc = host_tsc(h, cpu, t);

	if (h->raw.cs == CS_HYPERV)
		return hv_scaled(tsc, pg->hv_scale) + (uint64_t)pg->hv_offset;
	return pg->system_time + pvclock_scale_delta(tsc - pg->tsc_timestamp, pg->mul, pg->shift);
}

/*
 * The outer hypervisor (re)publishes its page at t for CPU 0's current nominal frequency f, so
 * that the page read on CPU 0 at t gives exactly `now` (the reading just before the publish, in
 * the page's units; 0 at the first publish at t = 0): the page is continuous on CPU 0 at each
 * publish, and other CPUs' readings move by their skew only.
 * CS_HYPERV: scale = hv_page_scale(f); offset = now - floor(tsc * scale / 2^64), computed modulo
 *   2^64 and stored as the s64 of the same bits (the page's field is an s64 the reader adds
 *   modulo 2^64). Like KVM's writer (REFERENCE 3: offset = system_time/100 - ((tsc * scale) >>
 *   64)) but with the exact f instead of kvmclock's mul and with `now` from the page itself.
 * CS_KVMCLOCK: (shift, mul) = kvm_get_time_scale(1e9, f), tsc_timestamp = CPU 0's TSC at t,
 *   system_time = now: KVM's kvm_guest_time_update fields (REFERENCE 2.2) from one master-clock
 *   snapshot, system_time taken from the page's own reading to stay continuous.
 */
static void outer_publish(struct host *h, sim_ns t, uint64_t now)
{
	struct host_outer_page *pg = &h->raw.page;
	uint64_t tsc = host_tsc(h, 0, t);
	uint64_t f = h->cpu[0].freq_hz;

	if (h->raw.cs == CS_HYPERV) {
		pg->hv_scale = hv_page_scale(f);
		pg->hv_offset = (int64_t)(now - hv_scaled(tsc, pg->hv_scale));
	} else {
		kvm_get_time_scale(NS_PER_SEC, f, &pg->shift, &pg->mul);
		pg->tsc_timestamp = tsc;
		pg->system_time = now;
	}
}

/*
 * As Linux's pvclock_tsc_khz (arch/x86/kernel/pvclock.c, 6.12), which kvm_get_tsc_khz returns as
 * a KVM guest's tsc_khz: khz = floor(1e6 * 2^32 / mul), then shifted left by -shift when
 * shift < 0, right by shift otherwise (floor). 1e6 * 2^32 < 2^52, so the division is exact in 64
 * bits; the shifts are done in 128 bits and shifts beyond 63 either way give 0. The result can
 * miss f / 1000 by a few kHz (kvm_get_time_scale's halvings drop low bits of f, and both
 * divisions floor: 2,999,999,999 Hz gives 2,999,998). Returns 0 (host_init then refuses the
 * configuration) for mul = 0 or a result that does not fit Linux's 32-bit tsc_khz.
 */
static uint32_t pvclock_khz(uint32_t mul, int8_t shift)
{
	u128 khz;

	if (mul == 0 || shift <= -64 || shift >= 64)
		return 0;
	khz = (1000000ULL << 32) / mul;
	if (shift < 0)
		khz <<= -shift;
	else
		khz >>= shift;
	return khz > UINT32_MAX ? 0 : (uint32_t)khz;
}

/*
 * The configuration is copied by value; its cpu[] and events[] arrays are not copied and must
 * outlive the host (they belong to the scenario).
 */
int host_init(struct host *h, const struct host_cfg *cfg)
{
	struct host_raw_clock *raw = &h->raw;
	int rc;

	memset(h, 0, sizeof(*h));
	rc = host_cfg_check(cfg);
	if (rc != VT_OK)
		goto fail;
	h->cfg = *cfg;
	h->ncpus = cfg->ncpus;
	h->cpu = calloc(cfg->ncpus, sizeof(*h->cpu));
	if (h->cpu == NULL) {
		rc = VT_ENOMEM;
		goto fail;
	}
	for (unsigned i = 0; i < h->ncpus; i++) {
		struct host_cpu *c = &h->cpu[i];

		c->freq_hz = cfg->cpu[i].freq_hz;
		c->err_ppb = cfg->cpu[i].skew_ppb;
		c->seg.t0 = 0;
		c->seg.tsc0 = cfg->cpu[i].offset;
		tsc_rate(c->freq_hz, c->err_ppb, &c->seg.rate_int, &c->seg.rate_frac);
	}

	h->tsc_stable = cfg->tsc_stable >= 0 ? cfg->tsc_stable != 0 : tsc_derive_stable(cfg);
	/* CS_AUTO: Linux keeps the TSC while it is trusted, else falls back to HPET. An explicit
	 * CS_TSC on an untrusted TSC is honoured (the user forced clocksource=tsc); tsc_stable stays
	 * false, and KVM's master clock needs both tsc_stable and raw.cs == CS_TSC. CS_AUTO never
	 * resolves to CS_HYPERV or CS_KVMCLOCK: a nested host is one only when configured so. */
	raw->cs = cfg->clocksource;
	if (raw->cs == CS_AUTO)
		raw->cs = h->tsc_stable ? CS_TSC : CS_HPET;

	switch (raw->cs) {
	case CS_HYPERV:
		/* A Hyper-V guest's tsc_khz comes from the hypervisor, not from a calibration:
		 * Linux's hv_get_tsc_khz (arch/x86/kernel/cpu/mshyperv.c, 6.12) returns
		 * HV_X64_MSR_TSC_FREQUENCY / 1000, floor, the MSR holding f in Hz (no calibration
		 * error). f > 1e7 (host_cfg_check), so khz >= 10000. */
		outer_publish(h, 0, 0);
		raw->tsc_khz = cfg->cpu[0].freq_hz / 1000 > UINT32_MAX ?
				       0 : (uint32_t)(cfg->cpu[0].freq_hz / 1000);
		break;
	case CS_KVMCLOCK:
		/* A KVM guest's tsc_khz is Linux's kvm_get_tsc_khz (arch/x86/kernel/kvmclock.c,
		 * 6.12): pvclock_tsc_khz of the page's mul/shift. */
		outer_publish(h, 0, 0);
		raw->tsc_khz = pvclock_khz(raw->page.mul, raw->page.shift);
		break;
	default:
		/* The kernel calibrates CPU 0's TSC whatever its clocksource ends up being. */
		raw->tsc_khz = calibrate_khz(cfg->cpu[0].freq_hz, cfg->cpu[0].skew_ppb,
					     cfg->calibration_error_ppb);
		break;
	}
	if (raw->tsc_khz == 0) {
		rc = VT_EINPUT;
		goto fail;
	}

	switch (raw->cs) {
	case CS_TSC:
		/* clocksource_register_khz(&clocksource_tsc, tsc_khz), CLOCKSOURCE_MASK(64) */
		raw->mask = UINT64_MAX;
		cs_update_freq_scale(raw->mask, 1000, raw->tsc_khz, &raw->mult, &raw->shift);
		raw->base_cycles = h->cpu[0].seg.tsc0; /* CPU 0's TSC at t = 0 */
		break;
	case CS_HPET:
	case CS_ACPI_PM: {
		/* clocksource_register_hz: HPET CLOCKSOURCE_MASK(32) at 14318180 Hz, ACPI PM
		 * CLOCKSOURCE_MASK(24) at 3579545 Hz (PMTMR_TICKS_PER_SEC). */
		uint64_t hz = raw->cs == CS_HPET ? HPET_HZ : ACPI_PM_HZ;

		raw->mask = raw->cs == CS_HPET ? 0xffffffffULL : 0xffffffULL;
		cs_update_freq_scale(raw->mask, 1, (uint32_t)hz, &raw->mult, &raw->shift);
		raw->ext.t0 = 0;
		raw->ext.tsc0 = 0;
		tsc_rate(hz, cfg->hpet_skew_ppb, &raw->ext.rate_int, &raw->ext.rate_frac);
		raw->base_cycles = 0; /* the unwrapped count at t = 0 */
		break;
	}
	case CS_HYPERV:
		/* clocksource_register_hz(&hyperv_cs_tsc, NSEC_PER_SEC / 100), CLOCKSOURCE_MASK(64)
		 * (drivers/clocksource/hyperv_timer.c, 6.12): a 10 MHz counter. sec = 600, and
		 * clocks_calc_mult_shift(1e7, 1e9, 600): 600 * 1e7 >> 32 = 1 (1 bit), sftacc 31;
		 * mult = 100 * 2^sft < 2^31 first at sft = 24: mult 1677721600, shift 24, exactly
		 * 100 ns per unit (no rounding). */
		raw->mask = UINT64_MAX;
		cs_update_freq_scale(raw->mask, 1, (uint32_t)HV_REF_HZ, &raw->mult, &raw->shift);
		raw->base_cycles = outer_page_read(h, 0, 0); /* 0 by construction */
		break;
	case CS_KVMCLOCK:
		/* clocksource_register_hz(&kvm_clock, NSEC_PER_SEC), CLOCKSOURCE_MASK(64)
		 * (arch/x86/kernel/kvmclock.c, 6.12): a 1 GHz counter. sec = 600, and
		 * clocks_calc_mult_shift(1e9, 1e9, 600): 600e9 >> 32 = 139 (8 bits), sftacc 24;
		 * mult = 2^sft < 2^24 first at sft = 23: mult 2^23, shift 23, exactly 1 ns per
		 * ns. */
		raw->mask = UINT64_MAX;
		cs_update_freq_scale(raw->mask, 1, (uint32_t)NS_PER_SEC, &raw->mult, &raw->shift);
		raw->base_cycles = outer_page_read(h, 0, 0); /* 0 by construction */
		break;
	case CS_AUTO:
		break; /* resolved above */
	}
	raw->base_ns = 0;
	h->tick_ns = NS_PER_SEC / cfg->hz;
	h->coarse_tick_t = 0;
	h->coarse_tick_ns = 0;
	return VT_OK;

fail:
	free(h->cpu);
	memset(h, 0, sizeof(*h));
	return rc;
}

void host_free(struct host *h)
{
	free(h->cpu);
	h->cpu = NULL;
	h->ncpus = 0;
}

/*
 * The raw clock's clocksource counter as read on CPU `cpu` at t: the TSC, the outer page
 * (CS_HYPERV in 100 ns units, CS_KVMCLOCK in ns), or the HPET / ACPI PM oscillator's unwrapped
 * count.
 */
static uint64_t cs_read(const struct host *h, unsigned cpu, sim_ns t)
{
	switch (h->raw.cs) {
	case CS_TSC:
		return host_tsc(h, cpu, t);
	case CS_HYPERV:
	case CS_KVMCLOCK:
		return outer_page_read(h, cpu, t);
	default:
		return tsc_seg_eval(&h->raw.ext, t);
	}
}

/*
 * CLOCK_MONOTONIC_RAW = base_ns + ((delta * mult) >> shift), delta the clocksource counts since
 * the base instant, product in 128 bits then floor (result truncated to 64 bits: exact while the
 * raw clock is below 2^64 ns, 584 years).
 *
 * Linux accumulates the counter into the timekeeper at every tick, keeping nanoseconds shifted
 * left by `shift` so that the sum of the per-tick products equals the product of the sum: its
 * raw clock is exactly (total counts * mult) >> shift from boot, however many times a narrow
 * counter wrapped. We compute the same value in one step:
 *
 * TSC: the 64-bit counter of the reading CPU. delta = (tsc - base_cycles) & mask, and a delta
 * with the mask's top bit set (this CPU's TSC is behind the base: a skewed CPU) counts as 0, as
 * Linux's clocksource_delta (kernel/time/timekeeping_internal.h, 6.12: "prevent time going
 * backwards by checking the MSB of mask"). The real kernel compares with the last tick's cycles,
 * not with boot's, so a reader up to one tick behind sees the clamp there; here the clamp applies
 * only to CPUs behind CPU 0's counter at the base instant (a simplification: clocksource reads
 * between ticks are not modelled separately).
 *
 * CS_HYPERV, CS_KVMCLOCK: the outer page read on the reading CPU (outer_page_read), a 64-bit
 * counter treated exactly as the TSC is, clamp included.
 *
 * HPET / ACPI PM: one counter for every CPU. We take delta from the oscillator's unwrapped 64-bit
 * count (ext.tsc0 = 0 at t = 0; 14.3 MHz wraps 64 bits after 40,000 years), not from the 32- or
 * 24-bit register: that is what per-tick accumulation yields, and it keeps the raw clock
 * continuous across the register's wrap (every 300 s for HPET, 4.7 s for ACPI PM).
 */
static uint64_t raw_unstepped(const struct host *h, unsigned cpu, sim_ns t)
{
	const struct host_raw_clock *raw = &h->raw;
	uint64_t delta = cs_read(h, cpu, t) - raw->base_cycles;

	if (cs_reads_tsc(raw->cs)) {
		delta &= raw->mask;
		if (delta & ~(raw->mask >> 1))
			delta = 0;
	}
	return raw->base_ns + (uint64_t)(((u128)delta * raw->mult) >> raw->shift);
}

uint64_t host_raw_ns(const struct host *h, unsigned cpu, sim_ns t)
{
	const struct host_raw_clock *raw = &h->raw;
	uint64_t v = raw_unstepped(h, cpu, t);

	/* Host clock steps (host_clock_step), saturating at 0. */
	if (raw->step_ns < 0)
		return (uint64_t)-raw->step_ns > v ? 0 : v - (uint64_t)-raw->step_ns;
	return v + (uint64_t)raw->step_ns;
}

/*
 * The instant of the last tick at or before t. Tick k is due at exactly k * 1e9 / hz ns and
 * happens at the first whole ns at or after that: ceil(k * 1e9 / hz). The last tick at or before
 * t is k = floor(t * hz / 1e9) (k * 1e9 / hz <= t iff its ceiling <= t, t being whole). Products
 * in 128 bits (t * hz < 2^96), exact. For hz dividing 1e9 (100, 250, 1000) tick k is at
 * k * (1e9 / hz) exactly.
 */
static sim_ns tick_at_or_before(const struct host *h, sim_ns t)
{
	u128 hz = h->cfg.hz;
	u128 k = (u128)t * hz / NS_PER_SEC;

	return (sim_ns)((k * NS_PER_SEC + hz - 1) / hz);
}

/*
 * Called before a change of the raw clock's inputs at t: remembers the raw clock at the last tick
 * at or before t, while the old segment can still evaluate it. Only the first change in a tick
 * interval records (later ones in the same interval find the value already there, computed from
 * the state that was current at the tick). The old state is valid at that tick: its segments and
 * base began at earlier changes, each in an earlier tick interval or recorded already.
 */
static void coarse_note(struct host *h, sim_ns t)
{
	sim_ns tk = tick_at_or_before(h, t);

	if (tk != h->coarse_tick_t) {
		h->coarse_tick_ns = host_raw_ns(h, 0, tk);
		h->coarse_tick_t = tk;
	}
}

/*
 * Linux's coarse clocks (CLOCK_MONOTONIC_COARSE, jiffies-based time) return the timekeeper as
 * last updated by the tick; CLOCK_MONOTONIC_RAW has no coarse variant in Linux, so this is the
 * raw clock sampled at ticks (no NTP adjustment in the model either way).
 */
uint64_t host_coarse_ns(const struct host *h, sim_ns t)
{
	sim_ns tk = tick_at_or_before(h, t);

	if (tk == h->coarse_tick_t)
		return h->coarse_tick_ns;
	return host_raw_ns(h, 0, tk);
}

/* Starts CPU cpu's new segment at t from counter value tsc_at_t, at its current frequency and
 * error. */
static void cpu_new_segment(struct host *h, unsigned cpu, sim_ns t, uint64_t tsc_at_t)
{
	struct host_cpu *c = &h->cpu[cpu];

	c->seg.t0 = t;
	c->seg.tsc0 = tsc_at_t;
	tsc_rate(c->freq_hz, c->err_ppb, &c->seg.rate_int, &c->seg.rate_frac);
}

/*
 * A non-invariant TSC following a P-state change: the counter is continuous at t and runs at the
 * new nominal rate hz (times the same oscillator error) from t on; hz = 0 stops it (deep C-state).
 * The raw clock just keeps following the TSC: the host does not know the rate changed, which is
 * the point of a non-invariant TSC. A nested host's outer page is not republished either (only
 * host_outer_migrate and host_tsc_reset republish it), so it follows the new rate too.
 */
void host_tsc_set_rate(struct host *h, unsigned cpu, sim_ns t, uint64_t hz)
{
	uint64_t now = host_tsc(h, cpu, t);

	if (cs_reads_tsc(h->raw.cs))
		coarse_note(h, t);
	h->cpu[cpu].freq_hz = hz;
	cpu_new_segment(h, cpu, t, now);
}

/* One wander step: the error becomes err_ppb + delta_ppb (an error reaching -1e9 ppb stops the
 * counter, see tsc_rate); the counter is continuous at t. */
void host_tsc_wander(struct host *h, unsigned cpu, sim_ns t, int64_t delta_ppb)
{
	uint64_t now = host_tsc(h, cpu, t);

	if (cs_reads_tsc(h->raw.cs))
		coarse_note(h, t);
	h->cpu[cpu].err_ppb += delta_ppb;
	cpu_new_segment(h, cpu, t, now);
}

/*
 * The counter jumps to value at t (host suspend to RAM resets the TSC; a warp). While the raw
 * clock reads the TSC it is re-based so that it stays continuous: base_ns = the raw clock at t as
 * read on CPU 0 before the reset, base_cycles = CPU 0's counter after it. This is what the host's
 * timekeeping_resume does (it restarts accumulation from the clocksource's value after resume);
 * the time spent suspended, which Linux adds to the boot-based clocks only, is not modelled here,
 * and the fraction of a ns the timekeeper carried in its shifted nanoseconds is dropped (< 1 ns).
 * A reset of another CPU alone leaves CPU 0's view unchanged (up to that fraction); that CPU's
 * raw reads then clamp or jump as clocksource_delta dictates (what a real unsynchronized resume
 * looks like). base_ns excludes the host clock steps (host_raw_ns adds them on every read).
 *
 * A nested host reading the outer page (CS_HYPERV, CS_KVMCLOCK): the model has the outer
 * hypervisor republish its page at t instead (as at a migration), continuous on CPU 0, so the
 * raw clock needs no re-base; this avoids evaluating a kvmclock delta across the reset's
 * backwards jump, where pvclock_scale_delta of the wrapped delta is not linear.
 */
void host_tsc_reset(struct host *h, unsigned cpu, sim_ns t, uint64_t value)
{
	enum host_clocksource cs = h->raw.cs;
	uint64_t now = 0;

	if (cs_reads_tsc(cs)) {
		coarse_note(h, t);
		now = cs == CS_TSC ? raw_unstepped(h, 0, t) : outer_page_read(h, 0, t);
	}
	cpu_new_segment(h, cpu, t, value);
	if (cs == CS_TSC) {
		h->raw.base_ns = now;
		h->raw.base_cycles = host_tsc(h, 0, t);
	} else if (cs_reads_tsc(cs)) {
		outer_publish(h, t, now);
	}
}

/*
 * The host's clock steps by delta_ns at t (a host whose timekeeping jumps: a clocksource switch
 * gone wrong, a buggy resume, a VMM reading a stepped clock): everything that reads the raw clock
 * from t on (kvmclock's system_time, emulated devices, the uptime policies) sees the step; the
 * TSCs do not move. A raw reading saturates at 0 rather than wrap.
 */
void host_clock_step(struct host *h, sim_ns t, int64_t delta_ns)
{
	coarse_note(h, t);
	h->raw.step_ns += delta_ns;
}

/*
 * The outer hypervisor migrates the nested host at t (host.h). Order: the coarse cache first
 * (while the old segments can still evaluate the last tick), then the page's reading on CPU 0
 * (old segment, old page), then every CPU's new segment from its own value at t (continuous: the
 * outer hypervisor does not scale or offset the TSC), then the republish, which makes the page
 * read exactly that value on CPU 0 at t. With CS_TSC nothing else changes: the kernel's mult
 * still assumes the old frequency (seed 003: only the pvclocks are republished, a bare TSC
 * clocksource is the "Don't Do That Then" case). HPET / ACPI PM: the raw clock does not read the
 * TSC, so neither it nor the coarse cache is touched.
 */
void host_outer_migrate(struct host *h, sim_ns t, uint64_t new_hz, int64_t new_err_ppb)
{
	enum host_clocksource cs = h->raw.cs;
	bool page = cs == CS_HYPERV || cs == CS_KVMCLOCK;
	uint64_t now = 0;

	if (cs_reads_tsc(cs))
		coarse_note(h, t);
	if (page)
		now = outer_page_read(h, 0, t);
	for (unsigned i = 0; i < h->ncpus; i++) {
		uint64_t tsc = host_tsc(h, i, t);

		h->cpu[i].freq_hz = new_hz;
		h->cpu[i].err_ppb = new_err_ppb;
		cpu_new_segment(h, i, t, tsc);
	}
	if (page)
		outer_publish(h, t, now);
}

/*
 * The host kernel re-reads its TSC frequency at t (host.h): as Linux's hyperv_stop_tsc_emulation
 * (arch/x86/hyperv/hv_init.c, 6.12), run from the re-enlightenment callback, tsc_khz =
 * HV_X64_MSR_TSC_FREQUENCY / 1000, floor, the MSR holding CPU 0's nominal frequency in Hz.
 * For CS_TSC the kernel then converts with the mult/shift the new tsc_khz gives, as a
 * clocksource_register_khz(&clocksource_tsc, tsc_khz) would (cs_update_freq_scale, scale 1000;
 * what tsc_refine_calibration_work does at boot). hyperv_stop_tsc_emulation itself changes only
 * tsc_khz; the re-registration is this model's account of a host that does correct its TSC
 * clocksource. It re-bases first so the raw clock is continuous at t: base_ns = the raw clock on
 * CPU 0 at t under the old mult (without the steps, which host_raw_ns adds), base_cycles = CPU
 * 0's TSC at t; only the fraction of a ns the timekeeper carried is dropped (< 1 ns).
 */
void host_recalibrate(struct host *h, sim_ns t)
{
	struct host_raw_clock *raw = &h->raw;
	uint64_t khz = h->cpu[0].freq_hz / 1000;

	if (khz == 0 || khz > UINT32_MAX)
		return; /* Linux's u32 tsc_khz cannot hold it: keep the old value */
	raw->tsc_khz = (uint32_t)khz;
	if (raw->cs != CS_TSC)
		return;
	coarse_note(h, t);
	raw->base_ns = raw_unstepped(h, 0, t);
	raw->base_cycles = host_tsc(h, 0, t);
	cs_update_freq_scale(raw->mask, 1000, raw->tsc_khz, &raw->mult, &raw->shift);
}
