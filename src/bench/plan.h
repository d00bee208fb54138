/*
 * plan.h - what herd bench's command line becomes before a run: the URL
 * list (the arguments, then the lines of a --urls file: [METHOD] URL
 * [BODY]), each URL parsed and given a target (one per distinct
 * scheme://host:port, resolved once here; with -r or --unix one address for
 * all), and the --rate schedule. struct bench_config points into a plan.
 *
 * Nothing here prints: an error comes back as a negative errno and, in a
 * struct bench_plan_fault, the value, line or resolver's reason it is about,
 * for the command to word.
 */
#ifndef HERD_BENCH_PLAN_H
#define HERD_BENCH_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "bench/bench.h"

/* --urls and --body are read whole, at most this many bytes: /dev/zero cannot eat memory. */
#define BENCH_FILE_MAX (64u << 20)
/* A --urls file gives at most this many URLs. */
#define BENCH_URLS_MAX 1000000u

struct bench_plan {
	size_t nurls;
	const char **urls; /* as given (arguments, then the file's), parsed by bench_plan_targets */
	const char **texts, **hosts, **paths, **auth, **methods, **bodies;
	size_t *body_lens, *url_target;
	bool any_body; /* some URL of the file has a body */
	struct bench_target *targets;
	size_t ntargets;
	struct bench_rate_step *steps; /* --rate's schedule, from bench_rate_parse; freed with the plan */
	size_t nsteps;
	char *body; /* --body's content, from bench_read_file; freed with the plan */
	size_t body_len;
	void **owned; /* everything else above that was allocated */
	size_t nowned, capowned;
};

/* What a failed plan step was about. */
struct bench_plan_fault {
	const char *value; /* the URL, --unix path, -r value or host at fault */
	const char *why;   /* the resolver's reason, for -EADDRNOTAVAIL and -EHOSTUNREACH */
	unsigned line;	   /* bench_plan_urls: the file's line (1-based) */
};

/* --rate as bench_rate_parse reads it: a constant rate, or a schedule of steps. */
struct bench_schedule {
	double rate;		       /* no steps: requests per second */
	struct bench_rate_step *steps; /* malloc'ed; NULL for a constant rate */
	size_t nsteps;
	double duration_s; /* with steps: how long the run lasts */
};

/* Reads path whole into *buf (malloc'ed, NUL-terminated): 0, -EISDIR, -EFBIG (over max or endless), -ENOMEM, -errno. */
int bench_read_file(const char *path, size_t max, char **buf, size_t *len);

/* Splits a --urls line in place into [METHOD] URL [BODY]: 0, 1 (blank or a # comment), -EINVAL (METHOD not a token). */
int bench_urls_split(char *line, char **method, char **url, char **body);

/* Lists args[0..nargs), then text's lines (len bytes, NUL-terminated, owned by p from here; NULL: none) in p.
 * 0, -EILSEQ (a NUL byte in text), -EINVAL (line f->line is no [METHOD] URL [BODY]),
 * -E2BIG (line f->line is past BENCH_URLS_MAX URLs), -ENOMEM. */
int bench_plan_urls(struct bench_plan *p, char *const *args, size_t nargs, char *text, size_t len,
		    struct bench_plan_fault *f);

/* Parses p's URLs and gives each its target: the URL's host, or remote ("HOST:PORT") or unix_path for all.
 * A host that does not resolve is kept with its resolve_error set when keep_unresolved, else an error.
 * 0, -EPROTONOSUPPORT (URL f->value not http[s]), -EINVAL (URL f->value malformed), -ENAMETOOLONG (unix_path),
 * -EDESTADDRREQ (remote not HOST:PORT), -EADDRNOTAVAIL (remote did not resolve: f->why),
 * -EHOSTUNREACH (host f->value did not resolve: f->why), -ENOMEM. */
int bench_plan_targets(struct bench_plan *p, const char *remote, const char *unix_path, bool keep_unresolved,
		       struct bench_plan_fault *f);

/* Points cfg's URL and target fields (methods, bodies, hosts, paths, targets...) at p's arrays; cannot fail. */
void bench_plan_config(const struct bench_plan *p, struct bench_config *cfg);

/* Frees everything p holds and zeroes it (a zeroed plan is fine). */
void bench_plan_free(struct bench_plan *p);

/* --rate R | A:B (a ramp over duration_s, -d's when have_d) | R1,R2,...@STEP: 0, -EINVAL (*why says why), -ENOMEM. */
int bench_rate_parse(const char *arg, bool have_n, bool have_d, double duration_s, struct bench_schedule *out,
		     const char **why);

#endif
