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
#include <stddef.h>
#include <stdint.h>

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };
/* What a command's option, validation and step functions return: CMD_GO_ON
 * to go on to the next step, else the exit status to end with (the message
 * already printed). -1, so that it is no exit status. */
enum { CMD_GO_ON = -1 };

int cmd_hist(int argc, char **argv);
int cmd_serve(int argc, char **argv);
/* cmd_bench() behaves as benchhttp (--lines mode) when argv[0] is "benchhttp". */
int cmd_bench(int argc, char **argv);
int cmd_lab(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_balance(int argc, char **argv);

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

/* A numeric option whose only handling is "parse a whole number in
 * [min, max], else a usage error, else store": a command keeps a table of
 * these, one row per option, and cmd_uint_opt() walks it. */
struct cmd_uint_opt {
	int id;		  /* what getopt_long returns for the option */
	const char *name; /* as the usage error names it, e.g. "--workers" */
	uint64_t min, max;
	const char *what; /* the range in words, for commands whose message says it */
	size_t off;	  /* where the value goes: offsetof() the field in the command's options */
	size_t size;	  /* sizeof that field: an unsigned (max <= UINT_MAX) or a uint64_t */
};

/* The off and size columns of a cmd_uint_opt row for field f of type. */
#define CMD_FIELD(type, f) offsetof(type, f), sizeof(((type *)0)->f)

/* What cmd_uint_opt found. */
enum cmd_uint_result {
	CMD_UINT_BAD = -1,   /* it was not (nothing stored; *row names the option, for the
			  * command's own usage message) */
	CMD_UINT_OTHER = 0,  /* id is not in the table: another kind of option */
	CMD_UINT_STORED = 1, /* arg was a number in the row's range, stored in its field of base */
};
/* Looks id up in table (n rows) and parses arg for it. */
enum cmd_uint_result cmd_uint_opt(const struct cmd_uint_opt *table, size_t n, int id, const char *arg, void *base,
				  const struct cmd_uint_opt **row);

/* Installs handler for sig with flags (sa_mask empty). Returns 0 or -errno. */
int cmd_on_signal(int sig, void (*handler)(int), int flags);

#endif
