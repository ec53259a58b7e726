/*
 * tsc.c: the `tsc` guest reader: a guest TSC timecounter.
 *
 * The guest converts its TSC to nanoseconds at the frequency it was told at boot (CPUID leaf
 * 0x15/0x16 or the hypervisor's frequency MSR), as a guest that trusts an invariant TSC does
 * (NetBSD's and Linux's `tsc` clocksources): ns = tsc * 1e9 / freq. The conversion is a 64.64
 * fixed-point multiply, ns = floor(tsc * scale / 2^64) with scale = floor(2^64 * 1e9 / freq)
 * split into integer and fraction words; error below 1 ns for every tsc < 2^64 at frequencies
 * above 1 GHz, and no division per read. The guest clock is zero where the guest TSC is zero.
 * Option `freq` models a guest that calibrated another frequency than the one advertised.
 */
#include "guest/env.h"
#include "guest/reader.h"
#include "vt.h"

struct tsc_reader {
	uint64_t scale_int;  /* ns per cycle, integer part */
	uint64_t scale_frac; /* ns per cycle, fraction in units of 2^-64 */
};

static const struct opt_desc tsc_options[] = {
	{ "freq", OPT_FREQ, "0", NULL,
	  "frequency the guest converts at (0: the advertised vm.tsc_freq)" },
	{ 0 },
};

static int tsc_init(struct reader *r, const struct reader_ctx *ctx, const struct opt_set *opts)
{
	struct tsc_reader *s = r->state;
	uint64_t hz = (uint64_t)opt_get(opts, "freq");
	u128 q;

	if (hz == 0)
		hz = ctx->tsc_hz;
	/* scale = 2^64 * 1e9 / hz as 64.64: integer part 1e9 / hz, fraction from the remainder. */
	s->scale_int = NS_PER_SEC / hz;
	q = ((u128)(NS_PER_SEC % hz) << 64) / hz; /* < 2^64 since the remainder < hz; floor */
	s->scale_frac = (uint64_t)q;
	return VT_OK;
}

static enum read_status tsc_read(struct reader *r, uint64_t *ns)
{
	const struct tsc_reader *s = r->state;
	uint64_t tsc = rdtsc_ordered();

	*ns = tsc * s->scale_int + (uint64_t)(((u128)tsc * s->scale_frac) >> 64);
	return READ_OK;
}

const struct reader_ops reader_tsc = {
	.version = READER_OPS_VERSION,
	.name = "tsc",
	.describe = "guest TSC timecounter: ns = tsc * 1e9 / advertised frequency",
	.state_size = sizeof(struct tsc_reader),
	.options = tsc_options,
	.init = tsc_init,
	.read = tsc_read,
};
