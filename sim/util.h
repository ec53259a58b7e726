/*
 * util.h: small helpers several parts of bin/sim share: reading a whole file, finding vtsim's
 * own source directories next to the executable, naming a host clocksource.
 */
#ifndef VT_UTIL_H
#define VT_UTIL_H

#include "host.h"
#include "vt.h"

/* A whole file, NUL-terminated (malloc'd); *len its length when len is not NULL; NULL with
 * errno on failure. */
char *util_slurp(const char *path, size_t *len);
/*
 * vtsim's directory `sub` ("models", "reports"): $env_var when set, else found upward (up to five
 * levels) from the executable's directory by the presence of `probe` inside it. False if none.
 */
bool util_find_dir(const char *env_var, const char *sub, const char *probe, char *out,
		   size_t len);
/* "tsc", "hpet", "acpi_pm" ("auto" before resolution). */
const char *util_clocksource_name(enum host_clocksource cs);

/* The strings joined, each followed by a newline (malloc'd; "" when n is 0; NULL when out of
 * memory): the --set arguments as the results database and trail files record them. */
char *util_join_lines(const char *const *v, unsigned n);

/* nbytes (<= 64) from the OS's random source (getrandom, else /dev/urandom) as 2 * nbytes
 * lowercase hex digits and a NUL in out: run and sweep identifiers. Returns 0 or an errno. */
int util_random_hex(char *out, size_t nbytes);

#endif /* VT_UTIL_H */
