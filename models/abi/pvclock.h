/*
 * pvclock.h: the pvclock ABI shared by KVM's kvmclock and Xen (REFERENCE section 2): the per-vCPU
 * time info the host publishes and the wall-clock structure. Layouts exactly as the guest ABI
 * defines them (Linux arch/x86/include/asm/pvclock-abi.h): packed, little-endian; every offset
 * is asserted at compile time.
 */
#ifndef VT_ABI_PVCLOCK_H
#define VT_ABI_PVCLOCK_H

#include "types.h"

/* 32 bytes, one per vCPU; the guest registers an array of them at its own stride. */
struct pvclock_vcpu_time_info {
	u32 version;           /* odd while the host is writing */
	u32 pad0;
	u64 tsc_timestamp;     /* guest TSC at the reference instant */
	u64 system_time;       /* guest ns at the reference instant */
	u32 tsc_to_system_mul; /* ns = ((tsc - tsc_timestamp) << shift) * mul >> 32 */
	s8 tsc_shift;
	u8 flags;              /* PVCLOCK_TSC_STABLE_BIT, PVCLOCK_GUEST_STOPPED */
	u8 pad[2];
} VT_PACKED;

/* The wall-clock time of kvmclock zero, written when the guest writes the wall-clock MSR. */
struct pvclock_wall_clock {
	u32 version;
	u32 sec;
	u32 nsec;
} VT_PACKED;

#define PVCLOCK_TSC_STABLE_BIT (1u << 0)
#define PVCLOCK_GUEST_STOPPED (1u << 1)
/* Bit 2 (PVCLOCK_COUNTS_FROM_ZERO) is retired. */

/* KVM's MSRs and CPUID bits (REFERENCE 2). */
#define MSR_KVM_WALL_CLOCK_NEW 0x4b564d00u
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01u
#define MSR_KVM_WALL_CLOCK 0x11u
#define MSR_KVM_SYSTEM_TIME 0x12u
#define KVM_FEATURE_CLOCKSOURCE 0        /* CPUID 0x40000001.EAX bit */
#define KVM_FEATURE_CLOCKSOURCE2 3
#define KVM_FEATURE_CLOCKSOURCE_STABLE_BIT 24

/* Strides at which guests register their per-vCPU array. */
#define PVCLOCK_STRIDE_LINUX 64u   /* Linux: one entry per 64-byte cache line */
#define PVCLOCK_STRIDE_FREEBSD 32u /* FreeBSD: packed array */

_Static_assert(sizeof(struct pvclock_vcpu_time_info) == 32, "pvclock_vcpu_time_info size");
_Static_assert(offsetof(struct pvclock_vcpu_time_info, version) == 0, "version");
_Static_assert(offsetof(struct pvclock_vcpu_time_info, pad0) == 4, "pad0");
_Static_assert(offsetof(struct pvclock_vcpu_time_info, tsc_timestamp) == 8, "tsc_timestamp");
_Static_assert(offsetof(struct pvclock_vcpu_time_info, system_time) == 16, "system_time");
_Static_assert(offsetof(struct pvclock_vcpu_time_info, tsc_to_system_mul) == 24, "mul");
_Static_assert(offsetof(struct pvclock_vcpu_time_info, tsc_shift) == 28, "tsc_shift");
_Static_assert(offsetof(struct pvclock_vcpu_time_info, flags) == 29, "flags");
_Static_assert(offsetof(struct pvclock_vcpu_time_info, pad) == 30, "pad");
_Static_assert(sizeof(struct pvclock_wall_clock) == 12, "pvclock_wall_clock size");
_Static_assert(offsetof(struct pvclock_wall_clock, sec) == 4, "sec");
_Static_assert(offsetof(struct pvclock_wall_clock, nsec) == 8, "nsec");

#endif /* VT_ABI_PVCLOCK_H */
