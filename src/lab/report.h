/*
 * report.h - the lab's results as terminal tables (report_text.c), JSON
 * (report_json.c) and a self-contained HTML page (report_html.c: inline CSS
 * and SVG, no script, nothing fetched). Each shows every figure as the
 * median and range over the valid repetitions, the verdicts from their
 * struct, the noise header, and every INVALID run.
 *
 * Every function writes to the stream it is given and returns 0 or a
 * negative errno (-EIO when the stream reports an error); none prints
 * anything else.
 */
#ifndef HERD_REPORT_H
#define HERD_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "lab/lab.h"

int report_text(FILE *out, const struct lab_report *rep);

/* Every number, as one JSON object. Non-finite numbers are written as null. */
int report_json(FILE *out, const struct lab_report *rep);

int report_html(FILE *out, const struct lab_report *rep);

/* The seed latency histogram of one model (valid repetitions pooled), as
 * `herd hist` prints it; nothing when there is none. */
int report_hist(FILE *out, const struct lab_model *m);

#endif
