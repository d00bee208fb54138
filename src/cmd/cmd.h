/*
 * cmd.h - the subcommands of the herd binary, and the conventions they share.
 *
 * Each cmd_X() takes the arguments after the subcommand name (argv[0] is the
 * subcommand's own name, as getopt expects) and returns the process exit
 * status: 0 success, 1 the work failed, 2 usage error (bad flag or value).
 * Commands print their own messages; library modules never print.
 *
 * One message format for all commands: "PROG: message" on stderr, where
 * PROG is "herd CMD" (or the link name, e.g. "mmhistogram"); a usage error
 * adds " (try PROG --help)" and exits 2.
 */
#ifndef HERD_CMD_H
#define HERD_CMD_H

#include <stdarg.h>

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

int cmd_hist(int argc, char **argv);
int cmd_serve(int argc, char **argv);
/* cmd_bench() behaves as benchhttp (--lines mode) when argv[0] is "benchhttp". */
int cmd_bench(int argc, char **argv);
int cmd_lab(int argc, char **argv);
int cmd_watch(int argc, char **argv);

/* Prints "PROG: message (try PROG --help)" and returns EXIT_USAGE. */
int cmd_usage_error(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "PROG: message" and returns EXIT_FAIL. */
int cmd_fail(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "PROG: message" (a warning or a note); returns nothing. */
void cmd_note(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Resets getopt for a fresh scan of a new argv and silences its own
 * messages (opterr = 0): every command calls this before its getopt loop,
 * so that a command run twice in one process (tests, `herd help CMD`)
 * parses the same way both times. */
void cmd_getopt_reset(void);

/* The usage error for getopt's ':' (missing value) and '?' (unknown
 * option) returns, naming the option as written. optstring must start
 * with ':'. Returns EXIT_USAGE. */
int cmd_getopt_error(const char *prog, int c, char *const argv[]);

/* Installs handler for sig with flags (sa_mask empty). Returns 0 or -errno. */
int cmd_on_signal(int sig, void (*handler)(int), int flags);

#endif
