/*
 * types.h: the kernel integer types the guest ABI and kernel-style reader code use
 * (u8..u64, s8..s64, __u32, ...), on top of <stdint.h>.
 */
#ifndef VT_ABI_TYPES_H
#define VT_ABI_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;
typedef u8 __u8;
typedef u16 __u16;
typedef u32 __u32;
typedef u64 __u64;
typedef s8 __s8;
typedef s32 __s32;
typedef s64 __s64;
/* FreeBSD and NetBSD spellings. */
typedef uint64_t uint64;
typedef uint32_t uint32;

#define VT_PACKED __attribute__((__packed__))

#endif /* VT_ABI_TYPES_H */
