/*
 * cmd.c - what every subcommand shares: the message format, the usage-error
 * exit path, the getopt reset, numeric options read from a table and
 * checked signal handlers (see cmd.h).
 */
#include "cmd/cmd.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lib/util.h"

/* "PROG: message" plus, for a usage error, the --help hint, in one write:
 * stderr is unbuffered, and one fprintf call keeps the line whole when
 * other processes (lab's children) write to the same terminal. */
static void vsay(const char *prog, bool hint, const char *fmt, va_list ap)
{
	char msg[1024];
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (hint)
		fprintf(stderr, "%s: %s (try %s --help)\n", prog, msg, prog);
	else
		fprintf(stderr, "%s: %s\n", prog, msg);
}

/* The body of each variadic wrapper below. */
#define SAY(prog, hint, fmt)               \
	do {                               \
		va_list ap;                \
		va_start(ap, fmt);         \
		vsay(prog, hint, fmt, ap); \
		va_end(ap);                \
	} while (0)

int cmd_usage_error(const char *prog, const char *fmt, ...)
{
	SAY(prog, true, fmt);
	return EXIT_USAGE;
}

int cmd_fail(const char *prog, const char *fmt, ...)
{
	SAY(prog, false, fmt);
	return EXIT_FAIL;
}

void cmd_note(const char *prog, const char *fmt, ...)
{
	SAY(prog, false, fmt);
}

void cmd_getopt_reset(void)
{
	/* glibc: optind = 0 (not 1) also forgets the position inside a group
	 * of short options ("-lj") left over from an earlier, interrupted scan. */
	optind = 0;
	opterr = 0;
}

int cmd_getopt_error(const char *prog, int c, char *const argv[])
{
	/* optind has moved past the offending word; for "-x" in "-lx" it still
	 * names the group, so the short option itself is named from optopt. */
	const char *word = argv[optind - 1];
	if (c == ':')
		return cmd_usage_error(prog, "option '%s' needs a value", word);
	if (optopt && word[0] == '-' && word[1] != '-')
		return cmd_usage_error(prog, "unknown option '-%c'", optopt);
	return cmd_usage_error(prog, "unknown option '%s'", word);
}

int cmd_on_signal(int sig, void (*handler)(int), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL) < 0 ? -errno : 0;
}

enum cmd_uint_result cmd_uint_opt(const struct cmd_uint_opt *table, size_t n, int id, const char *arg, void *base,
				  const struct cmd_uint_opt **row)
{
	for (size_t i = 0; i < n; i++) {
		const struct cmd_uint_opt *r = &table[i];
		if (r->id != id)
			continue;
		*row = r;
		uint64_t v;
		if (util_parse_u64(arg, r->min, r->max, &v) < 0)
			return CMD_UINT_BAD;
		char *field = (char *)base + r->off;
		if (r->size == sizeof(uint64_t))
			*(uint64_t *)field = v;
		else
			*(unsigned *)field = (unsigned)v;
		return CMD_UINT_STORED;
	}
	return CMD_UINT_OTHER;
}
