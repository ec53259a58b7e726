/*
 * registry.c: every built-in layer, one line each. Adding a policy, page provider or reader is
 * its own file in models/ plus one line here; the conformance suite loops over these lists.
 */
#include <string.h>

#include "registry.h"

extern const struct policy_ops policy_ideal;
extern const struct policy_ops policy_gtsc_resume;
extern const struct policy_ops policy_tsc_offset;
extern const struct policy_ops policy_kvm_catchup;
extern const struct policy_ops policy_kvm_scaled;
extern const struct policy_ops policy_vbox_catchup;
extern const struct policy_ops policy_arm64_offset;
extern const struct policy_ops policy_uptime_resume;
extern const struct policy_ops policy_tsc_trap;
extern const struct policy_ops policy_xen_emulate;
extern const struct page_ops page_none;
extern const struct page_ops page_kvmclock;
extern const struct page_ops page_hv_tsc_page;
extern const struct page_ops page_xen_pvclock;
extern const struct reader_ops reader_tsc;
extern const struct reader_ops reader_linux_kvmclock;
extern const struct reader_ops reader_linux_vdso;
extern const struct reader_ops reader_freebsd;
extern const struct reader_ops reader_netbsd;
extern const struct reader_ops reader_kvm_unit_tests;
extern const struct reader_ops reader_hyperv_tsc;
extern const struct reader_ops reader_naive_pvclock;
extern const struct migration_ops migration_tsc_msr;
extern const struct migration_ops migration_tsc_msr_offset;
extern const struct migration_ops migration_old_doc;
extern const struct migration_ops migration_seed004;
extern const struct migration_ops migration_arm64_value;
extern const struct migration_ops migration_arm64_offset;

const struct policy_ops *const vt_policies[] = {
	&policy_ideal,
	&policy_gtsc_resume,
	&policy_tsc_offset,
	&policy_kvm_catchup,
	&policy_kvm_scaled,
	&policy_vbox_catchup,
	&policy_arm64_offset,
	&policy_uptime_resume,
	&policy_tsc_trap,
	&policy_xen_emulate,
	NULL,
};

const struct page_ops *const vt_pages[] = {
	&page_none,
	&page_kvmclock,
	&page_hv_tsc_page,
	&page_xen_pvclock,
	NULL,
};

const struct reader_ops *const vt_readers[] = {
	&reader_tsc,
	&reader_linux_kvmclock,
	&reader_linux_vdso,
	&reader_freebsd,
	&reader_netbsd,
	&reader_kvm_unit_tests,
	&reader_hyperv_tsc,
	&reader_naive_pvclock,
	NULL,
};

/* VMM migration algorithms (models/migration.h). */
const struct migration_ops *const vt_migrations[] = {
	&migration_tsc_msr, /* first: the default an arm gets */
	&migration_tsc_msr_offset,
	&migration_old_doc,
	&migration_seed004,
	&migration_arm64_value,
	&migration_arm64_offset,
	NULL,
};

const struct policy_ops *registry_policy(const char *name)
{
	for (const struct policy_ops *const *p = vt_policies; *p; p++)
		if (strcmp((*p)->name, name) == 0)
			return *p;
	return NULL;
}

const struct page_ops *registry_page(const char *name)
{
	for (const struct page_ops *const *p = vt_pages; *p; p++)
		if (strcmp((*p)->name, name) == 0)
			return *p;
	return NULL;
}

const struct reader_ops *registry_reader(const char *name)
{
	for (const struct reader_ops *const *p = vt_readers; *p; p++)
		if (strcmp((*p)->name, name) == 0)
			return *p;
	return NULL;
}

const struct migration_ops *registry_migration(const char *name)
{
	for (const struct migration_ops *const *p = vt_migrations; *p; p++)
		if (strcmp((*p)->name, name) == 0)
			return *p;
	return NULL;
}
