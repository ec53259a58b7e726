/*
 * discipline.h: the guest's NTP-like clock discipline (guest.ntp): a correction added to every
 * guest clock read, re-steered at each poll of a perfect time server. The model is described
 * at the top of discipline.c.
 */
#ifndef VT_DISCIPLINE_H
#define VT_DISCIPLINE_H

#include "vt.h"

struct config;
struct world;

/*
 * The correction C(t) in ns at true time t, piecewise linear:
 *   C(t) = base_ns + floor(slope_ppb * (t - base_t) / 10^9)
 * re-based at every poll. All zero (and `on` false) when the discipline is off.
 */
struct discipline {
	bool on;
	sim_ns poll_ns;
	int64_t slew_limit_ppb;     /* |slope_ppb| <= slew_limit_ppb */
	int64_t gain_ppb;           /* guest.ntp.gain in units of 10^-9 */
	int64_t freq_gain_ppb;      /* guest.ntp.freq_gain in units of 10^-9 */
	sim_ns step_threshold_ns;

	sim_ns base_t;              /* true time of the last re-base (a poll) */
	int64_t base_ns;            /* C(base_t) */
	int64_t slope_ppb;          /* freq_ppb + phase slew, clamped */
	int64_t freq_ppb;           /* the frequency correction (FLL part) */
	int64_t last_offset_ns;     /* offset measured at the latest poll */
	uint64_t polls, steps;      /* polls that measured; of which stepped */
};

/* Sets the discipline up from w's config and schedules its first poll (nothing when off). */
void discipline_start(struct world *w);
/* EV_NTP_POLL: measure the offset through vCPU 0's latest read, step or re-steer. */
void discipline_poll(struct world *w);
/* C(t), ns. */
int64_t discipline_correction(const struct discipline *d, sim_ns t);
/* The disciplined clock for a read at true time t that returned raw_ns (saturating at 0 and
 * 2^64 - 1); raw_ns itself when the discipline is off. */
uint64_t discipline_apply(const struct discipline *d, sim_ns t, uint64_t raw_ns);

#endif /* VT_DISCIPLINE_H */
