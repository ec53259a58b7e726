/*
 * native.c: the native baseline of the reader benchmark. The same reader sources as the
 * simulator's (models/guest/ files), compiled with -DVT_ENV_NATIVE so that rdtsc() is the real
 * instruction, barriers are real fences and this_cpu_pvti() is a real pvclock entry, filled here
 * for this machine's TSC (measured against CLOCK_MONOTONIC_RAW) and kept stable. Prints the cost
 * of one read of each pvclock reader and of the tsc reader, in ns (median of 7 runs).
 *
 *   build/native-bench [READS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "guest/env.h"
#include "guest/reader.h"

struct pvclock_vcpu_time_info *vt_native_pvti;
struct ms_hyperv_tsc_page *vt_native_hv_tsc_page;

extern const struct reader_ops reader_tsc, reader_linux_kvmclock, reader_linux_vdso,
	reader_freebsd, reader_netbsd, reader_kvm_unit_tests, reader_hyperv_tsc;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Default option values from a layer's table (enum: index of the default; bool: yes = 1). */
static void defaults(const struct opt_desc *d, struct opt_set *s, struct opt_val *v)
{
	s->n = 0;
	s->v = v;
	for (; d && d->name; d++, s->n++) {
		v[s->n].desc = d;
		v[s->n].set = 0;
		v[s->n].value = 0;
		if (d->type == OPT_ENUM) {
			const char *c = d->choices;
			size_t n = strlen(d->def);

			for (int i = 0; c; i++) {
				if (strncmp(c, d->def, n) == 0 && (c[n] == '|' || c[n] == '\0')) {
					v[s->n].value = i;
					break;
				}
				c = strchr(c, '|');
				c = c ? c + 1 : NULL;
			}
		} else if (d->type == OPT_BOOL) {
			v[s->n].value = strcmp(d->def, "yes") == 0;
		} else {
			v[s->n].value = strtoll(d->def, NULL, 10);
		}
	}
}

int main(int argc, char **argv)
{
	const struct reader_ops *readers[] = { &reader_tsc, &reader_linux_kvmclock, &reader_linux_vdso,
					       &reader_freebsd, &reader_netbsd,
					       &reader_kvm_unit_tests, &reader_hyperv_tsc };
	long reads = argc > 1 ? atol(argv[1]) : 5000000;
	static struct pvclock_vcpu_time_info page __attribute__((aligned(64)));
	static struct ms_hyperv_tsc_page tp __attribute__((aligned(4096)));
	double t0, t1, hz;
	u64 c0, c1;

	/* This machine's TSC frequency, from 50 ms of CLOCK_MONOTONIC_RAW. */
	t0 = now_ns();
	c0 = rdtsc_ordered();
	do
		t1 = now_ns();
	while (t1 - t0 < 5e7);
	c1 = rdtsc_ordered();
	hz = (double)(c1 - c0) / (t1 - t0) * 1e9;
	/* A stable entry: ns = (tsc - c1) * 1e9 / hz, mul/shift for 1e9 / hz with shift 0 (hz >
	 * 1 GHz) or a left shift. */
	page.version = 2;
	page.tsc_timestamp = c1;
	page.system_time = 0;
	page.tsc_shift = 0;
	while (1e9 / hz * (double)(1ULL << 32) / (double)(1u << (page.tsc_shift > 0 ? page.tsc_shift : 0)) >=
	       4294967296.0)
		page.tsc_shift++;
	page.tsc_to_system_mul = (u32)(1e9 / hz * 4294967296.0 / (double)(1u << page.tsc_shift));
	page.flags = PVCLOCK_TSC_STABLE_BIT;
	tp.tsc_sequence = 1;
	tp.tsc_scale = (u64)(1e7 / hz * 18446744073709551616.0);
	vt_native_pvti = &page;
	vt_native_hv_tsc_page = &tp;
	printf("native reader cost (TSC %.3f MHz, %ld reads, median of 7 runs)\n", hz / 1e6, reads);
	for (size_t i = 0; i < sizeof(readers) / sizeof(readers[0]); i++) {
		const struct reader_ops *ops = readers[i];
		struct opt_val vals[8];
		struct opt_set opts;
		struct reader r = { ops, calloc(1, ops->state_size ? ops->state_size : 1) };
		struct reader_ctx ctx = { 1, (uint64_t)hz, NULL };
		double runs[7];
		uint64_t sink = 0;

		defaults(ops->options, &opts, vals);
		if (ops->init && ops->init(&r, &ctx, &opts) != 0) {
			printf("  %-16s init failed\n", ops->name);
			continue;
		}
		for (int k = 0; k < 7; k++) {
			double a = now_ns();

			for (long n = 0; n < reads; n++) {
				uint64_t ns;

				ops->read(&r, &ns);
				sink += ns;
			}
			runs[k] = (now_ns() - a) / (double)reads;
		}
		for (int x = 0; x < 7; x++)
			for (int y = x + 1; y < 7; y++)
				if (runs[y] < runs[x]) {
					double t = runs[x];

					runs[x] = runs[y];
					runs[y] = t;
				}
		printf("  %-16s %6.1f ns/read   (checksum %llu)\n", ops->name, runs[3],
		       (unsigned long long)(sink & 0xffff));
		if (ops->fini)
			ops->fini(&r);
		free(r.state);
	}
	return 0;
}
