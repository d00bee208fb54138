/*
 * cmd_watch.h - the output half of `herd watch` (src/cmd/cmd_watch_out.c):
 * the live table, the plain lines and the JSON of an interval or the total.
 */
#ifndef HERD_CMD_WATCH_H
#define HERD_CMD_WATCH_H

#include <stdio.h>

#include "lib/json.h"
#include "watch/report.h"

struct cmd_watch_head {
	const uint16_t *ports;
	size_t nports;
	int pid; /* 0: none */
	bool sys_exit;
	bool uring; /* with sys_exit: io_uring accepts seen too */
	double t_s; /* since the start */
};

/* Full-screen table for a terminal (clears the screen first when clear). */
void cmd_watch_table(FILE *f, const struct cmd_watch_head *h, const struct watch_interval *iv, const char *title,
		     bool clear);
/* key=value lines, one per row: "interval ..." / "worker ..." / "listener ...". */
void cmd_watch_plain(FILE *f, const struct cmd_watch_head *h, const struct watch_interval *iv, const char *what);
/* One JSON object for the interval (under key k inside an object, or in an array when k is NULL). */
void cmd_watch_json(struct json_writer *j, const char *k, const struct cmd_watch_head *h,
		    const struct watch_interval *iv);

#endif
