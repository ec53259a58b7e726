/*
 * page_none.c: the `none` clock-page provider: the host publishes no paravirtual clock page,
 * the guest reads its TSC directly (NVMM today, a guest with kvmclock disabled).
 */
#include "page.h"

const struct page_ops page_none = {
	.version = PAGE_OPS_VERSION,
	.name = "none",
	.describe = "no paravirtual clock page: the guest reads the TSC directly",
};
