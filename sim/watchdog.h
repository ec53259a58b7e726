/*
 * watchdog.h: the guest's clocksource watchdog (sim/watchdog.c).
 */
#ifndef VT_WATCHDOG_H
#define VT_WATCHDOG_H

#include "vt.h"

struct world;
struct vcpu_rt;

struct watchdog {
	bool on;
	bool switched;        /* the guest marked its clocksource unstable and uses the reference */
	bool have_last;
	uint64_t cs_last;     /* the guest clock at the last check (ns) */
	uint64_t wd_last;     /* the reference clock then (ns) */
	unsigned next_vcpu;   /* the check rotates over the vCPUs, as Linux's timer does */
	uint64_t trips;
	sim_ns switched_at;
};

/* Arms the first check when the scenario turns the watchdog on. */
void watchdog_start(struct world *w);
/* One check (EV_WATCHDOG). */
void watchdog_check(struct world *w);
/* The reference clock (the emulated HPET the guest falls back to), ns since guest boot. */
uint64_t watchdog_reference(struct world *w, const struct vcpu_rt *v, sim_ns t);

#endif /* VT_WATCHDOG_H */
