/*
 * statskeys.h - the keys of a worker line of /stats.txt, shared by the
 * writer (serve/stats.c) and the readers (the lab's parser, and the nginx
 * peer's Lua handler, which serves the same format), so that a renamed key
 * cannot silently break the lab's reconciliation.
 *
 * A worker line is "worker I pid P accepted A requests R cpu_us C ..."
 * followed by more "key value" pairs that readers may skip.
 */
#ifndef HERD_STATSKEYS_H
#define HERD_STATSKEYS_H

#define STATS_KEY_WORKER "worker"     /* first word; then the slot index */
#define STATS_KEY_PID "pid"	      /* the worker process in that slot */
#define STATS_KEY_ACCEPTED "accepted" /* connections accepted */
#define STATS_KEY_REQUESTS "requests" /* requests answered or being answered */
#define STATS_KEY_CPU_US "cpu_us"     /* utime + stime, microseconds */

/* Access log lines lost (a full disk), later in the line; also the exit
 * table's key. */
#define STATS_KEY_LOG_DROPPED "log_dropped"

#endif
