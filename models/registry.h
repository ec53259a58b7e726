/*
 * registry.h: the lists of every built-in TSC policy, clock-page provider and guest reader.
 * The engine finds layers by name here and nowhere else.
 */
#ifndef VT_REGISTRY_H
#define VT_REGISTRY_H

#include "guest/reader.h"
#include "migration.h"
#include "page.h"
#include "policy.h"

extern const struct policy_ops *const vt_policies[]; /* NULL-terminated */
extern const struct page_ops *const vt_pages[];
extern const struct reader_ops *const vt_readers[];
extern const struct migration_ops *const vt_migrations[];

const struct policy_ops *registry_policy(const char *name);
const struct page_ops *registry_page(const char *name);
const struct reader_ops *registry_reader(const char *name);
const struct migration_ops *registry_migration(const char *name);

#endif /* VT_REGISTRY_H */
