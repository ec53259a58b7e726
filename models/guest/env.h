/*
 * env.h: the guest environment that clock-reader code is written against.
 *
 * Reader code is kernel style: it calls rdtsc_ordered(), virt_rmb(), READ_ONCE(), this_cpu_pvti(),
 * raw_atomic64_try_cmpxchg() (Linux), atomic_load_acq_32(), atomic_fcmpset_64() (FreeBSD),
 * membar_consumer(), atomic_cas_64(), x86_pause() (NetBSD), rdmsrl() (the Hyper-V fallback). This
 * header gives those names two implementations, chosen at compile time:
 *
 *  - simulation (default): every call goes to the engine (sim/genv.c) and is a YIELD POINT, where
 *    the simulator may apply further stores of a host page update that is in flight, and where
 *    the reader's own simulated time advances (a TSC read ~10 ns, a pause ~10 ns, a fence or an
 *    atomic ~1 ns). rdtsc() returns the reading vCPU's guest TSC at that simulated instant, as the
 *    arm's TSC policy computes it. Plain loads and stores between calls are not yield points:
 *    what a real reader can observe is decided at its barriers, atomics and TSC reads;
 *  - native (-DVT_ENV_NATIVE): the real instructions (rdtsc, lfence, pause, compiler barriers,
 *    real atomics) on a real page, for the benchmark's native baseline.
 *
 * The machine is reached through free functions, as real kernel code reaches real hardware:
 * there is no environment argument to pass. The engine sets the current reading vCPU before it
 * calls a reader. A reader's per-VM state (a global clamp) lives in its instance (built-ins) or in
 * its shared object's statics (plugins, loaded afresh for every arm: README "Reader plugins").
 */
#ifndef VT_ENV_H
#define VT_ENV_H

#include "abi/hyperv.h"
#include "abi/pvclock.h"
#include "abi/types.h"
#include "envcore.h"

/*
 * The ABI structures are packed, and READ_ONCE(&entry->field) takes a field's address; every
 * field is naturally aligned, so this is safe (Linux builds with -Wno-address-of-packed-member
 * for the same reason). Silenced here so reader code, including plugins, compiles as it is.
 */
#pragma GCC diagnostic ignored "-Waddress-of-packed-member"

#ifndef __always_inline
#define __always_inline inline __attribute__((__always_inline__))
#endif
#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif
#ifndef __maybe_unused
#define __maybe_unused __attribute__((__unused__))
#endif
#ifndef noinline
#define noinline __attribute__((__noinline__))
#endif

typedef struct {
	s64 counter;
} atomic64_t;

#define ATOMIC64_INIT(i) { (i) }

static __always_inline u64 mul_u64_u64_shr(u64 a, u64 b, unsigned int shift)
{
	return (u64)(((unsigned __int128)a * b) >> shift);
}

#ifndef VT_ENV_NATIVE
/* ---- simulation: the engine's entry points (sim/genv.c) ------------------------------- */

#define rdtsc() vt_env_rdtsc(0)
#define rdtsc_ordered() vt_env_rdtsc(1)
#define barrier() vt_env_yield(VT_YIELD_FENCE)
#define rmb() vt_env_yield(VT_YIELD_FENCE)
#define smp_rmb() vt_env_yield(VT_YIELD_FENCE)
#define virt_rmb() vt_env_yield(VT_YIELD_FENCE)
#define mb() vt_env_yield(VT_YIELD_FENCE)
#define smp_mb() vt_env_yield(VT_YIELD_FENCE)
#define smp_wmb() vt_env_yield(VT_YIELD_FENCE)
#define cpu_relax() vt_env_yield(VT_YIELD_PAUSE)
#define READ_ONCE(x) (vt_env_yield(VT_YIELD_LOAD), *(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) \
	(vt_env_yield(VT_YIELD_LOAD), (void)(*(volatile __typeof__(x) *)&(x) = (v)))

static __always_inline s64 atomic64_read(const atomic64_t *v)
{
	vt_env_yield(VT_YIELD_LOAD);
	return v->counter;
}
#define raw_atomic64_read atomic64_read
#define arch_atomic64_read atomic64_read

static __always_inline void atomic64_set(atomic64_t *v, s64 i)
{
	vt_env_yield(VT_YIELD_RMW);
	v->counter = i;
}

/* Returns the old value; stores `new` only if it equalled `old`. Atomic with respect to other
 * simulated readers: they can only run at yield points. */
static __always_inline s64 atomic64_cmpxchg(atomic64_t *v, s64 old, s64 new)
{
	s64 cur;

	vt_env_yield(VT_YIELD_RMW);
	cur = v->counter;
	if (cur == old)
		v->counter = new;
	return cur;
}
#define raw_atomic64_cmpxchg atomic64_cmpxchg

/* On failure *old is updated to the current value (Linux's try_cmpxchg). */
static __always_inline bool atomic64_try_cmpxchg(atomic64_t *v, s64 *old, s64 new)
{
	s64 cur;

	vt_env_yield(VT_YIELD_RMW);
	cur = v->counter;
	if (cur == *old) {
		v->counter = new;
		return true;
	}
	*old = cur;
	return false;
}
#define raw_atomic64_try_cmpxchg atomic64_try_cmpxchg

#define this_cpu_pvti() vt_env_pvti(-1)
#define pvclock_get_pvti_cpu0_va() vt_env_pvti(0)
#define hv_get_tsc_page() vt_env_hv_tsc_page()
#define smp_processor_id() vt_env_cpu()
#define kvm_para_has_feature(bit) vt_env_kvm_feature(bit)
#define native_read_msr(msr) vt_env_rdmsr(msr)
#define rdmsrl(msr, val) ((val) = vt_env_rdmsr(msr))
#define rdmsr(msr, lo, hi)                          \
	do {                                        \
		u64 vt_msr_ = vt_env_rdmsr(msr);    \
		(lo) = (u32)vt_msr_;                \
		(hi) = (u32)(vt_msr_ >> 32);        \
	} while (0)

/* FreeBSD (machine/atomic.h, machine/cpufunc.h). */
static __always_inline u32 atomic_load_acq_32(const volatile u32 *p)
{
	vt_env_yield(VT_YIELD_LOAD);
	return *p;
}
static __always_inline u64 atomic_load_acq_64(const volatile u64 *p)
{
	vt_env_yield(VT_YIELD_LOAD);
	return *p;
}
#define atomic_thread_fence_acq() vt_env_yield(VT_YIELD_FENCE)
#define atomic_thread_fence_rel() vt_env_yield(VT_YIELD_FENCE)
/* Compare *p with *cmp; equal: store src, return 1; else copy *p into *cmp, return 0. */
static __always_inline int atomic_fcmpset_64(volatile u64 *p, u64 *cmp, u64 src)
{
	vt_env_yield(VT_YIELD_RMW);
	if (*p == *cmp) {
		*p = src;
		return 1;
	}
	*cmp = *p;
	return 0;
}
#define cpu_spinwait() vt_env_yield(VT_YIELD_PAUSE)

/* NetBSD (sys/atomic.h, x86/cpufunc.h). */
#define membar_consumer() vt_env_yield(VT_YIELD_FENCE)
#define membar_producer() vt_env_yield(VT_YIELD_FENCE)
#define membar_sync() vt_env_yield(VT_YIELD_FENCE)
/* Returns the previous value; stores nv only if it equalled expected. */
static __always_inline u64 atomic_cas_64(volatile u64 *p, u64 expected, u64 nv)
{
	u64 cur;

	vt_env_yield(VT_YIELD_RMW);
	cur = *p;
	if (cur == expected)
		*p = nv;
	return cur;
}
#define x86_pause() vt_env_yield(VT_YIELD_PAUSE)
#define SPINLOCK_BACKOFF_HOOK x86_pause()
#define cpu_index_curcpu() vt_env_cpu()

#else /* VT_ENV_NATIVE */
/* ---- native: real instructions on a real page (bench/native.c) ------------------------ */

#include <stdatomic.h>

extern struct pvclock_vcpu_time_info *vt_native_pvti;   /* the page the benchmark fills */
extern struct ms_hyperv_tsc_page *vt_native_hv_tsc_page;

#if defined(__x86_64__) || defined(__i386__)
static __always_inline u64 rdtsc(void)
{
	u32 lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}
static __always_inline u64 rdtsc_ordered(void)
{
	__asm__ volatile("lfence" ::: "memory");
	return rdtsc();
}
#define cpu_relax() __asm__ volatile("pause" ::: "memory")
#elif defined(__aarch64__)
static __always_inline u64 rdtsc(void)
{
	u64 v;

	__asm__ volatile("mrs %0, cntvct_el0" : "=r"(v));
	return v;
}
static __always_inline u64 rdtsc_ordered(void)
{
	__asm__ volatile("isb" ::: "memory");
	return rdtsc();
}
#define cpu_relax() __asm__ volatile("yield" ::: "memory")
#else
#error "the native reader environment needs x86-64 or arm64"
#endif

#define barrier() __asm__ volatile("" ::: "memory")
#define rmb() atomic_thread_fence(memory_order_acquire)
#define smp_rmb() atomic_thread_fence(memory_order_acquire)
#define virt_rmb() atomic_thread_fence(memory_order_acquire)
#define mb() atomic_thread_fence(memory_order_seq_cst)
#define smp_mb() atomic_thread_fence(memory_order_seq_cst)
#define smp_wmb() atomic_thread_fence(memory_order_release)
#define READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) ((void)(*(volatile __typeof__(x) *)&(x) = (v)))

static __always_inline s64 atomic64_read(const atomic64_t *v)
{
	return __atomic_load_n(&v->counter, __ATOMIC_RELAXED);
}
#define raw_atomic64_read atomic64_read
#define arch_atomic64_read atomic64_read
static __always_inline void atomic64_set(atomic64_t *v, s64 i)
{
	__atomic_store_n(&v->counter, i, __ATOMIC_RELAXED);
}
static __always_inline s64 atomic64_cmpxchg(atomic64_t *v, s64 old, s64 new)
{
	__atomic_compare_exchange_n(&v->counter, &old, new, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	return old;
}
#define raw_atomic64_cmpxchg atomic64_cmpxchg
static __always_inline bool atomic64_try_cmpxchg(atomic64_t *v, s64 *old, s64 new)
{
	return __atomic_compare_exchange_n(&v->counter, old, new, 0, __ATOMIC_SEQ_CST,
					   __ATOMIC_SEQ_CST);
}
#define raw_atomic64_try_cmpxchg atomic64_try_cmpxchg

#define this_cpu_pvti() vt_native_pvti
#define pvclock_get_pvti_cpu0_va() vt_native_pvti
#define hv_get_tsc_page() vt_native_hv_tsc_page
#define smp_processor_id() 0u
#define kvm_para_has_feature(bit) 1
#define native_read_msr(msr) ((void)(msr), (u64)0)
#define rdmsrl(msr, val) ((val) = native_read_msr(msr))

static __always_inline u32 atomic_load_acq_32(const volatile u32 *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
static __always_inline u64 atomic_load_acq_64(const volatile u64 *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
#define atomic_thread_fence_acq() atomic_thread_fence(memory_order_acquire)
#define atomic_thread_fence_rel() atomic_thread_fence(memory_order_release)
static __always_inline int atomic_fcmpset_64(volatile u64 *p, u64 *cmp, u64 src)
{
	return __atomic_compare_exchange_n(p, cmp, src, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
#define cpu_spinwait() cpu_relax()
#define membar_consumer() atomic_thread_fence(memory_order_acquire)
#define membar_producer() atomic_thread_fence(memory_order_release)
#define membar_sync() atomic_thread_fence(memory_order_seq_cst)
static __always_inline u64 atomic_cas_64(volatile u64 *p, u64 expected, u64 nv)
{
	__atomic_compare_exchange_n(p, &expected, nv, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	return expected;
}
#define x86_pause() cpu_relax()
#define SPINLOCK_BACKOFF_HOOK cpu_relax()
#define cpu_index_curcpu() 0u

#endif /* VT_ENV_NATIVE */

#endif /* VT_ENV_H */
