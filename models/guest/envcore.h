/*
 * envcore.h: the engine's entry points behind the guest environment (env.h), without the
 * kernel-style names, so that engine code can include it without those macros. Reader code
 * includes env.h.
 */
#ifndef VT_ENVCORE_H
#define VT_ENVCORE_H

#include "abi/hyperv.h"
#include "abi/pvclock.h"
#include "abi/types.h"

enum vt_yield {
	VT_YIELD_FENCE, /* a barrier or fence: ~1 ns */
	VT_YIELD_LOAD,  /* READ_ONCE, an acquire load, an atomic read: ~1 ns */
	VT_YIELD_RMW,   /* an atomic read-modify-write: ~1 ns */
	VT_YIELD_PAUSE, /* cpu_relax / pause / a spin-loop backoff: ~10 ns */
};

/* A yield point: in-flight host stores due by now land; the reader's time advances. */
void vt_env_yield(enum vt_yield kind);
/* RDTSC (ordered: preceded by a fence, as rdtsc_ordered and rdtscp). */
u64 vt_env_rdtsc(int ordered);
/* The pvclock entry of vCPU cpu as the guest registered it; cpu < 0: the reading vCPU. NULL when
 * the arm publishes no pvclock page. */
struct pvclock_vcpu_time_info *vt_env_pvti(int cpu);
/* The Hyper-V reference TSC page, or NULL. */
struct ms_hyperv_tsc_page *vt_env_hv_tsc_page(void);
/* RDMSR of the few MSRs a reader may read (HV_X64_MSR_TIME_REF_COUNT). */
u64 vt_env_rdmsr(u32 msr);
/* The reading vCPU's index. */
unsigned int vt_env_cpu(void);
/* What CPUID 0x40000001.EAX tells the guest: feature bit `bit` (KVM_FEATURE_*). */
int vt_env_kvm_feature(unsigned int bit);

#endif /* VT_ENVCORE_H */
