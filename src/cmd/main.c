/*
 * main.c - the herd binary: dispatch to a subcommand by name.
 *
 * herd is one program with subcommands. It also looks at the name it was
 * started under, so that links named after the seed article's tools behave
 * as those tools: `mmhistogram` is `herd hist`, `benchhttp` is
 * `herd bench --lines`.
 */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"

#ifndef HERD_VERSION
#define HERD_VERSION "0.1.0"
#endif

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"serve", cmd_serve, "prefork HTTP server with a choice of accept models"},
	{"bench", cmd_bench, "HTTP load generator (benchhttp-compatible with --lines)"},
	{"hist", cmd_hist, "histogram and statistics of numbers on stdin (mmhistogram-compatible)"},
	{"lab", cmd_lab, "run the accept-balancing experiment and report which model wins"},
	{"watch", cmd_watch, "how a running server's workers share a port's connections (eBPF)"},
	{"balance", cmd_balance, "make a running server's SO_REUSEPORT listeners share by queue (eBPF)"},
};

/* Names this binary answers to when started through a link. */
static const struct {
	const char *link;
	const char *command;
} links[] = {
	{"mmhistogram", "hist"},
	{"benchhttp", "bench"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: herd COMMAND [ARGS]...\n"
		     "       herd help COMMAND | --help | --version\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(out, "  %-7s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nLinks named mmhistogram and benchhttp run `herd hist` and "
		     "`herd bench --lines`.\nExit status: 0 success, 1 failure, 2 usage error.\n");
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const char *self = argc > 0 ? argv[0] : "herd";
	const char *base = strrchr(self, '/');
	base = base ? base + 1 : self;

	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
		if (strcmp(base, links[i].link) == 0) {
			/* argv[0] keeps the link's name: cmd_bench uses it to pick --lines. */
			argv[0] = (char *)links[i].link;
			return find_command(links[i].command)->run(argc, argv);
		}

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
		printf("herd %s\n", HERD_VERSION);
		return 0;
	}
	if (strcmp(name, "help") == 0) {
		if (argc < 3) {
			usage(stdout);
			return 0;
		}
		const struct command *c = find_command(argv[2]);
		if (!c) {
			return cmd_usage_error("herd", "no such command: '%s'", argv[2]);
		}
		char *help_argv[] = {(char *)c->name, "--help", NULL};
		return c->run(2, help_argv);
	}
	const struct command *c = find_command(name);
	if (!c) {
		return cmd_usage_error("herd", "no such command: '%s'", name);
	}
	return c->run(argc - 1, argv + 1);
}
