/*
 * hyperv.h: the Hyper-V reference TSC page (Microsoft TLFS, "Partition Reference TSC
 * Mechanism"; REFERENCE section 3). One 4 KiB page for the whole partition. Time is in 100 ns
 * units: t = ((u128)tsc * tsc_scale >> 64) + tsc_offset. A sequence of 0 means the page is not
 * valid and the guest must read the reference-count MSR instead.
 */
#ifndef VT_ABI_HYPERV_H
#define VT_ABI_HYPERV_H

#include "types.h"

struct ms_hyperv_tsc_page {
	u32 tsc_sequence;
	u32 reserved1;
	u64 tsc_scale;  /* 64.64 fixed point: 100 ns units per cycle */
	s64 tsc_offset; /* 100 ns units */
	u64 reserved2[509];
} VT_PACKED;

/* The partition reference counter: 100 ns units since partition creation. */
#define HV_X64_MSR_TIME_REF_COUNT 0x40000020u
#define HV_X64_MSR_REFERENCE_TSC 0x40000021u
/* A sequence value KVM never publishes as valid (it skips 0 and this one). */
#define HV_TSC_SEQUENCE_INVALID 0xFFFFFFFFu

_Static_assert(sizeof(struct ms_hyperv_tsc_page) == 4096, "ms_hyperv_tsc_page size");
_Static_assert(offsetof(struct ms_hyperv_tsc_page, tsc_sequence) == 0, "tsc_sequence");
_Static_assert(offsetof(struct ms_hyperv_tsc_page, tsc_scale) == 8, "tsc_scale");
_Static_assert(offsetof(struct ms_hyperv_tsc_page, tsc_offset) == 16, "tsc_offset");

#endif /* VT_ABI_HYPERV_H */
