/*
 * gate.h: the regression gate (sim/gate.c): a run's metrics against a committed baseline.
 */
#ifndef VT_GATE_H
#define VT_GATE_H

#include <stdio.h>

#include "results.h"

/* drift_ppm is the one metric not compared exactly (README "Regression gate"). */
#define GATE_DRIFT_TOLERANCE_PPB 1  /* 0.001 ppm */

/*
 * Compares every arm's metrics and facts with the baseline's entries for this scenario and
 * prints a table of what changed to out. *changes counts the differences (changed, new, or
 * missing values). Returns VT_OK, VT_EINPUT (the baseline cannot be read or is malformed: err
 * says where) or VT_ENOMEM.
 */
int gate_compare(const char *baseline, const struct results *r, FILE *out, unsigned *changes,
		 char *err, size_t errlen);
/* Replaces this scenario's entries in the baseline with this run's (creating the file). */
int gate_write(const char *baseline, const struct results *r, char *err, size_t errlen);

#endif /* VT_GATE_H */
