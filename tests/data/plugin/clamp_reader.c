/* A kernel-style reader plugin: ns = tsc * 1e9 / 2.5 GHz, clamped by one global static. */
#include "guest/env.h"

static atomic64_t last_value;

int vtsim_reader(u64 *ns)
{
	u64 tsc = rdtsc_ordered();
	s64 ret = (s64)(tsc * 2 / 5), last = raw_atomic64_read(&last_value);

	do {
		if (ret <= last) { *ns = (u64)last; return 0; }
	} while (!raw_atomic64_try_cmpxchg(&last_value, &last, ret));
	*ns = (u64)ret;
	return 0;
}
