/*
 * vt.h: the few types and constants every part of vtsim shares.
 *
 * True simulated time is an unsigned count of nanoseconds since the start of the simulation
 * (sim_ns, 584 years of range). TSC values are unsigned 64-bit counts of cycles that wrap modulo
 * 2^64, exactly as the hardware counter does. Nothing in the simulation state is a double.
 */
#ifndef VT_H
#define VT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True (simulated) time in nanoseconds since the simulation started. */
typedef uint64_t sim_ns;

/* 128-bit intermediates for fixed-point products (gcc and clang both provide them). */
__extension__ typedef unsigned __int128 u128;
__extension__ typedef __int128 s128;

#define NS_PER_US 1000ULL
#define NS_PER_MS 1000000ULL
#define NS_PER_SEC 1000000000ULL

/* Return codes of functions that act (0 is success). */
#define VT_OK 0
#define VT_EINPUT 2    /* bad input: scenario, option, unknown name (exit code 2) */
#define VT_EIO 3       /* I/O or internal error (exit code 3) */
#define VT_ENOMEM 4    /* an allocation failed (reported as exit code 3) */

/* Exit codes of bin/sim (README "Exit codes"). */
#define EXIT_HELD 0      /* every expectation held */
#define EXIT_FAILED 1    /* an expectation failed */
#define EXIT_BADINPUT 2  /* bad input or usage */
#define EXIT_IOERR 3     /* I/O or internal error; wins over 1 */

#define VT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define VT_LIKELY(x) __builtin_expect(!!(x), 1)
#define VT_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define VT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define VT_LIKELY(x) (x)
#define VT_UNLIKELY(x) (x)
#define VT_PRINTF(a, b)
#endif

#define VTSIM_VERSION "0.1.0"

#endif /* VT_H */
