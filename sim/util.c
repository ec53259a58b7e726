/*
 * util.c: helpers shared by the plugin builder, the report writer and the output code.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>

#include "util.h"

char *util_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		size_t got;

		if (n == cap) {
			char *nb;

			cap = cap ? 2 * cap : 65536;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return NULL;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		fclose(f);
		errno = EIO;
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

bool util_find_dir(const char *env_var, const char *sub, const char *probe, char *out,
		   size_t len)
{
	const char *env = env_var ? getenv(env_var) : NULL;
	char exe[PATH_MAX], try[PATH_MAX + 128];
	ssize_t n;

	if (env && *env) {
		snprintf(out, len, "%s", env);
		return true;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	for (int up = 0; up < 5; up++) {
		char *slash = strrchr(exe, '/');

		if (!slash)
			return false;
		*slash = '\0';
		snprintf(try, sizeof(try), "%s/%s/%s", exe, sub, probe);
		if (access(try, R_OK) == 0) {
			int w = snprintf(out, len, "%s/%s", exe, sub);

			return w > 0 && (size_t)w < len;
		}
	}
	return false;
}

const char *util_clocksource_name(enum host_clocksource cs)
{
	switch (cs) {
	case CS_TSC:
		return "tsc";
	case CS_HPET:
		return "hpet";
	case CS_ACPI_PM:
		return "acpi_pm";
	case CS_HYPERV: /* Linux's hyperv_cs_tsc (drivers/clocksource/hyperv_timer.c, 6.12) */
		return "hyperv_clocksource_tsc_page";
	case CS_KVMCLOCK: /* Linux's kvm_clock (arch/x86/kernel/kvmclock.c, 6.12) */
		return "kvm-clock";
	default:
		return "auto";
	}
}

char *util_join_lines(const char *const *v, unsigned n)
{
	size_t len = 1, at = 0;
	char *s;

	for (unsigned i = 0; i < n; i++)
		len += strlen(v[i]) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	for (unsigned i = 0; i < n; i++) {
		size_t k = strlen(v[i]);

		memcpy(s + at, v[i], k);
		at += k;
		s[at++] = '\n';
	}
	s[at] = '\0';
	return s;
}

int util_random_hex(char *out, size_t nbytes)
{
	unsigned char b[64];
	size_t got = 0;

	if (nbytes > sizeof(b))
		return EINVAL;
	while (got < nbytes) {
		ssize_t n = getrandom(b + got, nbytes - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got < nbytes) {
		/* A kernel without getrandom(2): the device. */
		int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			return errno;
		for (got = 0; got < nbytes;) {
			ssize_t n = read(fd, b + got, nbytes - got);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				int e = n < 0 ? errno : EIO;

				close(fd);
				return e;
			}
			got += (size_t)n;
		}
		close(fd);
	}
	for (size_t i = 0; i < nbytes; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	return 0;
}
