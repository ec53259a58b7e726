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
 * All arithmetic is integer and exact as stated at each step; nothing here is a double.
 */
#include "host.h"

#include <stdlib.h>
#include <string.h>

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
	    cfg->clocksource != CS_HPET && cfg->clocksource != CS_ACPI_PM)
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
	 * false, and KVM's master clock needs both tsc_stable and raw.cs == CS_TSC. */
	raw->cs = cfg->clocksource;
	if (raw->cs == CS_AUTO)
		raw->cs = h->tsc_stable ? CS_TSC : CS_HPET;

	/* The kernel calibrates CPU 0's TSC whatever its clocksource ends up being. */
	raw->tsc_khz = calibrate_khz(cfg->cpu[0].freq_hz, cfg->cpu[0].skew_ppb,
				     cfg->calibration_error_ppb);
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
 * HPET / ACPI PM: one counter for every CPU. We take delta from the oscillator's unwrapped 64-bit
 * count (ext.tsc0 = 0 at t = 0; 14.3 MHz wraps 64 bits after 40,000 years), not from the 32- or
 * 24-bit register: that is what per-tick accumulation yields, and it keeps the raw clock
 * continuous across the register's wrap (every 300 s for HPET, 4.7 s for ACPI PM).
 */
uint64_t host_raw_ns(const struct host *h, unsigned cpu, sim_ns t)
{
	const struct host_raw_clock *raw = &h->raw;
	uint64_t delta;

	if (raw->cs == CS_TSC) {
		delta = (host_tsc(h, cpu, t) - raw->base_cycles) & raw->mask;
		if (delta & ~(raw->mask >> 1))
			delta = 0;
	} else {
		delta = tsc_seg_eval(&raw->ext, t) - raw->base_cycles;
	}
	{
		uint64_t v = raw->base_ns + (uint64_t)(((u128)delta * raw->mult) >> raw->shift);

		/* Host clock steps (host_clock_step), saturating at 0. */
		if (raw->step_ns < 0)
			return (uint64_t)-raw->step_ns > v ? 0 : v - (uint64_t)-raw->step_ns;
		return v + (uint64_t)raw->step_ns;
	}
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
 * the point of a non-invariant TSC.
 */
void host_tsc_set_rate(struct host *h, unsigned cpu, sim_ns t, uint64_t hz)
{
	uint64_t now = host_tsc(h, cpu, t);

	if (h->raw.cs == CS_TSC)
		coarse_note(h, t);
	h->cpu[cpu].freq_hz = hz;
	cpu_new_segment(h, cpu, t, now);
}

/* One wander step: the error becomes err_ppb + delta_ppb (an error reaching -1e9 ppb stops the
 * counter, see tsc_rate); the counter is continuous at t. */
void host_tsc_wander(struct host *h, unsigned cpu, sim_ns t, int64_t delta_ppb)
{
	uint64_t now = host_tsc(h, cpu, t);

	if (h->raw.cs == CS_TSC)
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
 * looks like).
 */
void host_tsc_reset(struct host *h, unsigned cpu, sim_ns t, uint64_t value)
{
	bool rebase = h->raw.cs == CS_TSC;

	if (rebase) {
		coarse_note(h, t);
		h->raw.base_ns = host_raw_ns(h, 0, t);
	}
	cpu_new_segment(h, cpu, t, value);
	if (rebase)
		h->raw.base_cycles = host_tsc(h, 0, t);
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
