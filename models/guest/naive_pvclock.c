/*
 * naive_pvclock.c: the `naive-pvclock` guest reader, a DEMONSTRATION that no real kernel ships:
 * the pvclock arithmetic of REFERENCE 2.4 without the version protocol. It loads the vCPU's
 * entry field by field (each a READ_ONCE), reads the TSC, and computes; no version check, no
 * retry. A host update landing between two of its loads mixes fields of two versions: a torn
 * read, which pvclock_read_begin()/pvclock_read_retry() (Linux), FreeBSD's and NetBSD's loops
 * exist to prevent. The model checker's torn-read demonstration runs it against the same writer
 * as the real readers (scenarios/check/torn-pvclock.scn).
 */
#include "guest/env.h"
#include "guest/reader.h"

#pragma GCC diagnostic ignored "-Waddress-of-packed-member"

static enum read_status naive_read(struct reader *r, uint64_t *ns)
{
	struct pvclock_vcpu_time_info *src = this_cpu_pvti();
	u64 ts, sys, tsc, delta;
	u32 mul;
	s8 shift;

	(void)r;
	if (!src) {
		*ns = 0;
		return READ_FALLBACK;
	}
	ts = READ_ONCE(src->tsc_timestamp);
	sys = READ_ONCE(src->system_time);
	mul = READ_ONCE(src->tsc_to_system_mul);
	shift = READ_ONCE(src->tsc_shift);
	tsc = rdtsc_ordered();
	/* (tsc - tsc_timestamp) mod 2^64, shifted, times the 32.32 mul, >> 32: as Linux. */
	delta = tsc - ts;
	if (shift < 0)
		delta >>= (unsigned)-shift & 63u;
	else
		delta <<= (unsigned)shift & 63u;
	*ns = sys + mul_u64_u64_shr(delta, mul, 32);
	return READ_OK;
}

const struct reader_ops reader_naive_pvclock = {
	.version = READER_OPS_VERSION,
	.name = "naive-pvclock",
	.describe = "DEMONSTRATION: pvclock without the version protocol (torn reads; no kernel does this)",
	.state_size = 0,
	.read = naive_read,
};
