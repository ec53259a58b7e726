/*
 * page_none.c: the `none` clock-page provider: the host publishes no paravirtual clock page,
 * the guest reads its TSC directly (NVMM today, a guest with kvmclock disabled).
 */
#include "page.h"

static void *none_guest_page(struct page *pg, unsigned vcpu)
{
	(void)pg;
	(void)vcpu;
	return NULL;
}

const struct page_ops page_none = {
	.version = PAGE_OPS_VERSION,
	.name = "none",
	.describe = "no paravirtual clock page: the guest reads the TSC directly",
	.guest_page = none_guest_page,
};
