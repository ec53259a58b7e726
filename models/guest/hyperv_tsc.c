/*
 * hyperv_tsc.c: the `hyperv-tsc` guest reader: Linux's hyperv_clocksource_tsc_page, reading the
 * partition's reference TSC page (KVM offers it to Windows and Linux guests, REFERENCE 3).
 *
 * Source: Linux 6.12, drivers/clocksource/hyperv_timer.c read_hv_clock_tsc() and
 * include/clocksource/hyperv_timer.h hv_read_tsc_page_tsc() on hv_get_tsc_page().
 *
 * The arithmetic is not pvclock's: the page gives a 64.64 fixed-point scale in 100 ns units per
 * cycle and an offset in 100 ns units, t100 = mul_u64_u64_shr(tsc, scale, 64) + offset (mod
 * 2^64; the absolute TSC, no delta from a timestamp), and the clocksource runs at 10 MHz: one
 * unit is 100 ns, so ns = t100 * 100 (the kernel's mult/shift for 10 MHz is exact).
 * The protocol: read the sequence; 0 means the page is invalid; read barrier; scale, offset,
 * ordered RDTSC; read barrier; retry while the sequence changed. No odd/even convention (the
 * writer sets the sequence to 0 while it writes) and no clamp. An invalid page (or none) falls
 * back to the reference counter MSR (HV_X64_MSR_TIME_REF_COUNT, a VM exit), which the TLFS
 * guarantees to agree with the page: returned as READ_FALLBACK.
 */
#include "guest/env.h"
#include "guest/reader.h"

/* The ABI structure is packed only to pin its layout; every field is naturally aligned. */
#pragma GCC diagnostic ignored "-Waddress-of-packed-member"

#define HV_CLOCK_NS_PER_UNIT 100u /* HV_CLOCK_HZ = NSEC_PER_SEC / 100 */

/* hv_read_tsc_page_tsc(): true with *time in 100 ns units, false when the page is invalid. */
static bool hv_read_tsc_page_tsc(const struct ms_hyperv_tsc_page *tsc_pg, u64 *cur_tsc, u64 *time)
{
	u64 scale, offset;
	u32 sequence;

	do {
		sequence = READ_ONCE(tsc_pg->tsc_sequence);
		if (!sequence)
			return false;
		smp_rmb(); /* the sequence before the other fields */
		scale = READ_ONCE(tsc_pg->tsc_scale);
		offset = (u64)READ_ONCE(tsc_pg->tsc_offset);
		*cur_tsc = rdtsc_ordered();
		smp_rmb(); /* the other fields before the sequence again */
	} while (READ_ONCE(tsc_pg->tsc_sequence) != sequence);

	*time = mul_u64_u64_shr(*cur_tsc, scale, 64) + offset;
	return true;
}

/* read_hv_clock_tsc(), converted to ns. */
static enum read_status hv_tsc_read(struct reader *r, uint64_t *ns)
{
	const struct ms_hyperv_tsc_page *tsc_pg = hv_get_tsc_page();
	u64 cur_tsc, time;

	(void)r;
	if (likely(tsc_pg != NULL) && hv_read_tsc_page_tsc(tsc_pg, &cur_tsc, &time)) {
		*ns = time * HV_CLOCK_NS_PER_UNIT;
		return READ_OK;
	}
	/* hv_read_reference_counter(): the MSR, 100 ns units since partition creation. */
	rdmsrl(HV_X64_MSR_TIME_REF_COUNT, time);
	*ns = time * HV_CLOCK_NS_PER_UNIT;
	return READ_FALLBACK;
}

const struct reader_ops reader_hyperv_tsc = {
	.version = READER_OPS_VERSION,
	.name = "hyperv-tsc",
	.describe = "Linux 6.12 Hyper-V TSC page clocksource: sequence retry, no clamp; "
		    "sequence 0: the reference-count MSR",
	.read = hv_tsc_read,
};
