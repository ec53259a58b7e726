/*
 * watchdog.c: a Linux-style clocksource watchdog in the guest (kernel/time/clocksource.c,
 * clocksource_watchdog, Linux 6.12; REFERENCE 9).
 *
 * Every `guest.watchdog.interval` (0.5 s, WATCHDOG_INTERVAL) the check runs on the next vCPU in
 * turn (Linux moves its timer from CPU to CPU) and reads, back to back, the guest's clocksource
 * (the arm's reader) and the watchdog clocksource: an HPET (or ACPI PM) the VMM emulates from the
 * host's clock, here the host's CLOCK_MONOTONIC_RAW since guest boot. It compares how far each
 * advanced since the previous check, which may have run on another vCPU: that is how TSCs that
 * disagree between CPUs are caught. If the two intervals differ by more than the margin (6.12:
 * the clocksources' uncertainty margins, about 125 us each, so 250 us; before 5.14:
 * WATCHDOG_THRESHOLD, 62.5 ms), the guest marks its clocksource unstable and switches to the
 * watchdog clocksource: every later read returns the reference clock. `watchdog_trips` counts
 * it. A check on a vCPU that is not running is skipped (the timer waits for its CPU).
 */
#include "layers.h"
#include "watchdog.h"
#include "world.h"

void watchdog_start(struct world *w)
{
	w->wd.on = w->cfg->guest_wd.margin != 0;
	if (w->wd.on)
		world_push(w, w->cfg->guest_wd.interval, EV_WATCHDOG, 0, 0);
}

uint64_t watchdog_reference(struct world *w, const struct vcpu_rt *v, sim_ns t)
{
	/* The VMM's emulated HPET counts the host's clock from the guest's boot. */
	return host_raw_ns(&w->host, v->pub.pcpu, t) - w->wd_boot_ns;
}

void watchdog_check(struct world *w)
{
	const struct config *cfg = w->cfg;
	struct watchdog *wd = &w->wd;
	struct vcpu_rt *v = &w->vcpus[wd->next_vcpu];
	struct genv_read r;
	uint64_t cs, ref;

	wd->next_vcpu = (wd->next_vcpu + 1) % cfg->vm.nvcpus;
	if (wd->switched)
		return; /* the clocksource was already taken off the watchdog's list */
	world_push(w, w->now + cfg->guest_wd.interval, EV_WATCHDOG, 0, 0);
	if (v->pub.state != VCPU_RUNNING || w->now < w->frozen_until)
		return;
	genv_read(w, v, &r, &cs);
	if (r.livelock)
		return;
	ref = watchdog_reference(w, v, r.tsc_read ? r.t_tsc : w->now);
	if (wd->have_last) {
		int64_t dcs = (int64_t)(cs - wd->cs_last), dwd = (int64_t)(ref - wd->wd_last);
		uint64_t diff = dcs > dwd ? (uint64_t)(dcs - dwd) : (uint64_t)(dwd - dcs);

		if (diff > cfg->guest_wd.margin) {
			wd->trips++;
			w->metrics.watchdog_trips++;
			wd->switched = true;
			wd->switched_at = w->now;
			if (VT_UNLIKELY(w->trace != NULL))
				world_trace(w, "watchdog-trip", (int)v->pub.pcpu, (int)v->pub.id,
					    "cs_delta=%lld wd_delta=%lld", (long long)dcs, (long long)dwd);
			return;
		}
	}
	wd->have_last = true;
	wd->cs_last = cs;
	wd->wd_last = ref;
}
