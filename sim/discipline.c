/*
 * discipline.c: the guest's NTP-like clock discipline (guest.ntp = on).
 *
 * A guest running ntpd or chrony does not show its readers the raw clocksource: the kernel adds
 * a correction that the daemon steers (adjtimex: a frequency offset plus a phase slew, bounded
 * by the kernel's maximum slew; a step when the offset is too large). This file models that
 * correction for the whole VM (one system clock, so every vCPU's reads get the same one):
 *
 *   disciplined(t) = raw + C(t)
 *
 * where raw is what the arm's reader returned for a read at true time t and C is piecewise
 * linear in true time. C changes slope only at polls:
 *
 *   C(t) = base_ns + floor(slope_ppb * (t - base_t) / 10^9),  base_t = the latest poll,
 *   slope_ppb = freq_ppb + phase_ppb,  |slope_ppb| <= slew_limit (guest.ntp.slew_limit,
 *   500 ppm by default: the kernel's MAXFREQ, and ntpd's 500 ppm slew).
 *
 * Polls (EV_NTP_POLL) come every guest.ntp.poll of true time, VM-wide, from a perfect server
 * with zero network delay. A poll measures the guest's clock through vCPU 0's latest read
 * (metrics' last (t, g) of vCPU 0, g already disciplined with C(t)): the raw clock of that read
 * under the CURRENT correction, extrapolated to now at the true rate, so a step or a slope
 * change since that read is counted once:
 *
 *   offset = true - disciplined = (t_last - g_last) - (C(now) - C(t_last))
 *
 * C is re-based at now (continuous: base_ns = C(now)), then
 *   |offset| > guest.ntp.step_threshold (128 ms, ntpd's STEPT):   base_ns += offset (a step),
 *       the phase slew is dropped and the frequency kept;
 *   else:  freq_ppb  += freq_gain * offset / poll   (FLL-like, guest.ntp.freq_gain, 0.05)
 *          phase_ppb  = gain * offset / poll        (PLL-like proportional, guest.ntp.gain, 0.25)
 *   freq_ppb is clamped to the slew limit, and so is freq_ppb + phase_ppb.
 * Without a read of vCPU 0 yet, or while the VM is paused (ntpd does not run), a poll measures
 * nothing and only schedules the next.
 *
 * Integer arithmetic throughout: rates in ppb, offsets and C in ns, the gains as integers in
 * units of 10^-9 (rounded once to nearest from the configured fraction). offset * gain / poll is
 * formed in 128 bits (|offset| < 2^63, gain <= 10^9: < 2^93) and rounded to nearest, ties away
 * from zero; C's slope term is floored (slope_ppb * dt < 2^30 * 2^63 fits in 128 bits; it fits
 * in 64 bits again since |slope_ppb| <= 10^9). With a 1 ms read interval and a 500 ppm slew a
 * reader sees the clock gain at most 500 ns more than true time between reads (+1 ns rounding).
 *
 * Dynamics, for a guest whose raw clock runs fast by d with error e_k = disciplined - true at
 * poll k (P = poll, g = gain, f = freq_gain): e_{k+1} = (1 - g - f) e_k + u_{k-1}, u_k =
 * u_{k-1} - f e_k with u = P (d + freq): eigenvalues of z^2 - (2 - g - f) z + (1 - g), complex
 * for the defaults with modulus sqrt(1 - g) = 0.866 per poll: the offset decays by 1/e every
 * ~7 polls, and freq converges to -d. Metrics are unchanged in definition: they see the
 * disciplined values, as the guest's applications would.
 */
#include "discipline.h"
#include "world.h"

/* a / b rounded to nearest, ties away from zero (b > 0). */
static s128 div_round(s128 a, s128 b)
{
	return a >= 0 ? (a + b / 2) / b : -((-a + b / 2) / b);
}

/* floor(a / b) (b > 0). */
static s128 div_floor(s128 a, s128 b)
{
	s128 q = a / b;

	return q * b > a ? q - 1 : q;
}

static int64_t clamp(s128 x, int64_t lim)
{
	return x > lim ? lim : x < -(s128)lim ? -lim : (int64_t)x;
}

/* A fraction in [0, 1] as an integer in units of 10^-9, rounded to nearest. */
static int64_t fraction_ppb(double x)
{
	return (int64_t)(x * 1e9 + 0.5);
}

int64_t discipline_correction(const struct discipline *d, sim_ns t)
{
	/* t - base_t as signed: a read's true time can be a little before the latest poll (a read
	 * in flight when the poll came); exact while both are below 2^62. */
	s128 dt = (s128)t - (s128)d->base_t;

	return d->base_ns + (int64_t)div_floor((s128)d->slope_ppb * dt, (s128)NS_PER_SEC);
}

uint64_t discipline_apply(const struct discipline *d, sim_ns t, uint64_t raw_ns)
{
	s128 g;

	if (!d->on)
		return raw_ns;
	g = (s128)raw_ns + discipline_correction(d, t);
	return g < 0 ? 0 : g > (s128)UINT64_MAX ? UINT64_MAX : (uint64_t)g;
}

void discipline_start(struct world *w)
{
	struct discipline *d = &w->discipline;
	const struct config *cfg = w->cfg;

	*d = (struct discipline){ 0 };
	if (!cfg->guest_ntp.on)
		return;
	d->on = true;
	d->poll_ns = cfg->guest_ntp.poll;
	d->slew_limit_ppb = cfg->guest_ntp.slew_limit_ppb;
	d->gain_ppb = fraction_ppb(cfg->guest_ntp.gain);
	d->freq_gain_ppb = fraction_ppb(cfg->guest_ntp.freq_gain);
	d->step_threshold_ns = cfg->guest_ntp.step_threshold;
	world_push(w, d->poll_ns, EV_NTP_POLL, 0, 0);
}

/* offset * gain / poll in ppb: (offset ns) * (gain 10^-9) / (poll ns) * 10^9. */
static s128 rate_of(const struct discipline *d, int64_t offset_ns, int64_t gain_ppb)
{
	return div_round((s128)offset_ns * gain_ppb, (s128)d->poll_ns);
}

void discipline_poll(struct world *w)
{
	struct discipline *d = &w->discipline;
	const struct vcpu_metrics *m0 = &w->metrics.v[0];
	sim_ns now = w->now;
	int64_t c_now, c_last, lim = d->slew_limit_ppb;
	s128 off;
	bool step;

	world_push(w, now + d->poll_ns, EV_NTP_POLL, 0, 0);
	if (w->paused || !m0->has_last)
		return;
	c_now = discipline_correction(d, now);
	c_last = discipline_correction(d, m0->last_t);
	/* g_last - t_last as signed (as metrics does), then the correction since that read. */
	off = -(s128)m0->last_err - ((s128)c_now - c_last);
	d->last_offset_ns = clamp(off, INT64_MAX);
	d->base_t = now;
	d->base_ns = c_now;
	d->polls++;
	step = (d->last_offset_ns < 0 ? -(s128)d->last_offset_ns : d->last_offset_ns) >
	       (s128)d->step_threshold_ns;
	if (step) {
		d->base_ns = clamp((s128)c_now + d->last_offset_ns, INT64_MAX);
		d->slope_ppb = d->freq_ppb;
		d->steps++;
	} else {
		s128 phase = rate_of(d, d->last_offset_ns, d->gain_ppb);

		d->freq_ppb = clamp(d->freq_ppb + rate_of(d, d->last_offset_ns, d->freq_gain_ppb), lim);
		d->slope_ppb = clamp(d->freq_ppb + phase, lim);
	}
	if (VT_UNLIKELY(w->trace != NULL))
		world_trace(w, "ntp", -1, 0, "offset=%lld freq_ppb=%lld slope_ppb=%lld%s",
			    (long long)d->last_offset_ns, (long long)d->freq_ppb,
			    (long long)d->slope_ppb, step ? " step" : "");
}
