/*
 * test_plan.c - herd bench's plan without a run: --rate's grammar (constant,
 * ramp, steps; every refusal and its reason), --urls lines ([METHOD] URL
 * [BODY], comments, blank lines, CRLF, the file's own line numbers, NUL
 * bytes, the URL limit), targets (one per scheme://host:port, one per
 * scheme with -r or --unix, each fault with the value it is about), and the
 * bounded file read.
 */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "bench/plan.h"

static void test_rate_constant(void **state)
{
	(void)state;
	struct bench_schedule s;
	const char *why = NULL;
	assert_int_equal(bench_rate_parse("100", false, false, 0, &s, &why), 0);
	assert_true(s.rate == 100 && s.steps == NULL && s.nsteps == 0);
	/* A constant rate goes with -n too. */
	assert_int_equal(bench_rate_parse("0.5", true, false, 0, &s, &why), 0);
	assert_true(s.rate == 0.5);
	static const char *const bad[] = {"0", "-5", "x", "2e9", "0.0001", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(bench_rate_parse(bad[i], false, false, 0, &s, &why), -EINVAL);
		assert_string_equal(why, "requests per second > 0, A:B or A,B,C@STEP");
		assert_null(s.steps);
	}
}

static void test_rate_ramp(void **state)
{
	(void)state;
	struct bench_schedule s;
	const char *why = NULL;
	assert_int_equal(bench_rate_parse("10:20", false, true, 5, &s, &why), 0);
	assert_int_equal(s.nsteps, 1);
	assert_true(s.steps[0].duration_s == 5 && s.steps[0].from == 10 && s.steps[0].to == 20);
	assert_true(s.duration_s == 5);
	free(s.steps);
	/* Down to zero is a ramp; zero to zero is not. */
	assert_int_equal(bench_rate_parse("50:0", false, true, 2, &s, &why), 0);
	assert_true(s.steps[0].from == 50 && s.steps[0].to == 0);
	free(s.steps);
	static const char *const bad[] = {"0:0", "1:x", ":5", "5:", "1:2e9", "1:2@1s", "-1:5"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(bench_rate_parse(bad[i], false, true, 1, &s, &why), -EINVAL);
		assert_string_equal(why, "a ramp START:END in requests per second");
		assert_null(s.steps);
	}
	assert_int_equal(bench_rate_parse("1:10", false, false, 0, &s, &why), -EINVAL);
	assert_string_equal(why, "a ramp runs over -d: give -d");
	/* -n is refused before the ramp is even read. */
	assert_int_equal(bench_rate_parse("x:y", true, false, 0, &s, &why), -EINVAL);
	assert_string_equal(why, "a schedule needs -d (or its own steps), not -n");
}

static void test_rate_steps(void **state)
{
	(void)state;
	struct bench_schedule s;
	const char *why = NULL;
	/* Without -d the run lasts the sum of the steps. */
	assert_int_equal(bench_rate_parse("1,2,3@500ms", false, false, 0, &s, &why), 0);
	assert_int_equal(s.nsteps, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_true(s.steps[i].duration_s == 0.5);
		assert_true(s.steps[i].from == (double)(i + 1) && s.steps[i].to == (double)(i + 1));
	}
	assert_true(s.duration_s == 1.5);
	free(s.steps);
	/* With -d, -d's length; a zero step is allowed. */
	assert_int_equal(bench_rate_parse("0,100@2s", false, true, 10, &s, &why), 0);
	assert_int_equal(s.nsteps, 2);
	assert_true(s.steps[0].from == 0 && s.steps[1].to == 100 && s.duration_s == 10);
	free(s.steps);
	assert_int_equal(bench_rate_parse("7@1s", false, false, 0, &s, &why), 0);
	assert_true(s.nsteps == 1 && s.duration_s == 1);
	free(s.steps);

	static const struct {
		const char *arg, *why;
	} bad[] = {
		{"1,2@x", "steps R1,R2,...@DURATION, e.g. 100,200@10s"},
		{"1,2@0s", "steps R1,R2,...@DURATION, e.g. 100,200@10s"},
		{"1,2@2e6", "steps R1,R2,...@DURATION, e.g. 100,200@10s"},
		{"1,,2@1s", "an empty step"},
		{",1@1s", "an empty step"},
		{"1,@1s", "an empty step"},
		{"@1s", "an empty step"},
		{"1,x@1s", "each step a rate in requests per second"},
		{"1,-2@1s", "each step a rate in requests per second"},
		/* A bad rate is found before the empty step that follows it. */
		{"x,,1@1s", "each step a rate in requests per second"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(bench_rate_parse(bad[i].arg, false, false, 0, &s, &why), -EINVAL);
		assert_string_equal(why, bad[i].why);
		assert_null(s.steps);
		assert_int_equal(s.nsteps, 0);
	}
	assert_int_equal(bench_rate_parse("1,2@1s", true, false, 0, &s, &why), -EINVAL);
	assert_string_equal(why, "a schedule needs -d (or its own steps), not -n");
}

static void test_urls_split(void **state)
{
	(void)state;
	char *m, *u, *b;
	char l1[] = "http://a/x";
	assert_int_equal(bench_urls_split(l1, &m, &u, &b), 0);
	assert_null(m);
	assert_string_equal(u, "http://a/x");
	assert_null(b);
	char l2[] = "POST\thttp://a/ some body\r\n";
	assert_int_equal(bench_urls_split(l2, &m, &u, &b), 0);
	assert_string_equal(m, "POST");
	assert_string_equal(u, "http://a/");
	assert_string_equal(b, "some body");
	/* A URL first: the rest of the line is the body. */
	char l3[] = "  HTTPS://a/  the body  ";
	assert_int_equal(bench_urls_split(l3, &m, &u, &b), 0);
	assert_null(m);
	assert_string_equal(u, "HTTPS://a/");
	assert_string_equal(b, "the body  ");
	char l4[] = "GET  http://a/  \r";
	assert_int_equal(bench_urls_split(l4, &m, &u, &b), 0);
	assert_string_equal(m, "GET");
	assert_string_equal(u, "http://a/");
	assert_null(b);
	char l5[] = "   ", l6[] = "# http://a/", l7[] = "  #x", l8[] = "\r";
	assert_int_equal(bench_urls_split(l5, &m, &u, &b), 1);
	assert_int_equal(bench_urls_split(l6, &m, &u, &b), 1);
	assert_int_equal(bench_urls_split(l7, &m, &u, &b), 1);
	assert_int_equal(bench_urls_split(l8, &m, &u, &b), 1);
	char l9[] = "G@T http://a/", l10[] = "GET/1 http://a/";
	assert_int_equal(bench_urls_split(l9, &m, &u, &b), -EINVAL);
	assert_int_equal(bench_urls_split(l10, &m, &u, &b), -EINVAL);
	/* One word that is no URL is a URL all the same (the parser refuses it later). */
	char l11[] = "POST";
	assert_int_equal(bench_urls_split(l11, &m, &u, &b), 0);
	assert_null(m);
	assert_string_equal(u, "POST");
}

/* A NUL-terminated malloc'ed copy, as bench_read_file gives. */
static char *text_of(const char *s, size_t len)
{
	char *t = malloc(len + 1);
	assert_non_null(t);
	memcpy(t, s, len);
	t[len] = '\0';
	return t;
}

static void test_plan_urls(void **state)
{
	(void)state;
	struct bench_plan p = {0};
	struct bench_plan_fault f;
	char *args[] = {"http://arg/1", "http://arg/2"};
	static const char file[] = "# comment\n\nhttp://f/a\nPUT http://f/b data\r\n   \nhttp://f/c x y";
	char *text = text_of(file, sizeof(file) - 1);
	assert_int_equal(bench_plan_urls(&p, args, 2, text, sizeof(file) - 1, &f), 0);
	assert_int_equal(p.nurls, 5);
	static const char *const want[] = {"http://arg/1", "http://arg/2", "http://f/a", "http://f/b", "http://f/c"};
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(p.urls[i], want[i]);
	assert_null(p.methods[0]);
	assert_null(p.methods[2]);
	assert_string_equal(p.methods[3], "PUT");
	assert_string_equal(p.bodies[3], "data");
	assert_string_equal(p.bodies[4], "x y");
	bench_plan_free(&p);

	/* Arguments only. */
	assert_int_equal(bench_plan_urls(&p, args, 2, NULL, 0, &f), 0);
	assert_int_equal(p.nurls, 2);
	bench_plan_free(&p);

	/* The file's own line numbers, blank and comment lines counted. */
	static const char bad[] = "http://f/a\n\n# c\nG@T http://f/b\n";
	text = text_of(bad, sizeof(bad) - 1);
	assert_int_equal(bench_plan_urls(&p, NULL, 0, text, sizeof(bad) - 1, &f), -EINVAL);
	assert_int_equal(f.line, 4);
	bench_plan_free(&p);

	static const char nul[] = "http://f/a\n\0http://f/b\n";
	text = text_of(nul, sizeof(nul) - 1);
	assert_int_equal(bench_plan_urls(&p, NULL, 0, text, sizeof(nul) - 1, &f), -EILSEQ);
	bench_plan_free(&p);

	/* Past BENCH_URLS_MAX (arguments count too): the line that is one too many. */
	char **many = malloc(BENCH_URLS_MAX * sizeof *many);
	assert_non_null(many);
	for (size_t i = 0; i < BENCH_URLS_MAX; i++)
		many[i] = args[0];
	static const char one[] = "# c\nhttp://f/a\n";
	text = text_of(one, sizeof(one) - 1);
	assert_int_equal(bench_plan_urls(&p, many, BENCH_URLS_MAX - 1, text, sizeof(one) - 1, &f), 0);
	assert_int_equal(p.nurls, BENCH_URLS_MAX);
	bench_plan_free(&p);
	text = text_of(one, sizeof(one) - 1);
	assert_int_equal(bench_plan_urls(&p, many, BENCH_URLS_MAX, text, sizeof(one) - 1, &f), -E2BIG);
	assert_int_equal(f.line, 2);
	bench_plan_free(&p);
	/* Over the limit wins over a bad line: the message says why. */
	static const char bad_too[] = "G@T http://f/a\n";
	text = text_of(bad_too, sizeof(bad_too) - 1);
	assert_int_equal(bench_plan_urls(&p, many, BENCH_URLS_MAX, text, sizeof(bad_too) - 1, &f), -E2BIG);
	assert_int_equal(f.line, 1);
	bench_plan_free(&p);
	text = text_of(bad_too, sizeof(bad_too) - 1);
	assert_int_equal(bench_plan_urls(&p, many, BENCH_URLS_MAX - 1, text, sizeof(bad_too) - 1, &f), -EINVAL);
	bench_plan_free(&p);
	free(many);
}

static void test_plan_targets(void **state)
{
	(void)state;
	struct bench_plan p = {0};
	struct bench_plan_fault f;
	char *urls[] = {"http://127.0.0.1:1/a", "http://127.0.0.1:2/",	      "https://127.0.0.1:1/",
			"http://[::1]:1/",	"http://u:p@127.0.0.1:1/b?q", "HTTP://127.0.0.1:1/c"};
	assert_int_equal(bench_plan_urls(&p, urls, 6, NULL, 0, &f), 0);
	assert_int_equal(bench_plan_targets(&p, NULL, NULL, false, &f), 0);
	/* One target per scheme://host:port, in first-seen order. */
	assert_int_equal(p.ntargets, 4);
	static const size_t want[] = {0, 1, 2, 3, 0, 0};
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(p.url_target[i], want[i]);
	assert_false(p.targets[0].tls);
	assert_true(p.targets[2].tls);
	assert_string_equal(p.targets[0].authority, "127.0.0.1:1");
	assert_string_equal(p.targets[3].server_name, "::1");
	assert_int_equal(p.targets[0].addr.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&p.targets[1].addr)->sin_port), 2);
	assert_int_equal(p.targets[3].addr.ss_family, AF_INET6);
	assert_string_equal(p.paths[4], "/b?q");
	assert_string_equal(p.hosts[4], "127.0.0.1:1");
	assert_non_null(p.auth[4]);
	assert_null(p.auth[0]);
	assert_string_equal(p.texts[1], "http://127.0.0.1:2/");
	assert_false(p.any_body);

	struct bench_config cfg;
	bench_config_init(&cfg);
	bench_plan_config(&p, &cfg);
	assert_int_equal(cfg.nurls, 6);
	assert_int_equal(cfg.ntargets, 4);
	assert_ptr_equal(cfg.targets, p.targets);
	assert_null(cfg.url_bodies);
	bench_plan_free(&p);

	/* -r: one address for every host, one target per scheme. */
	assert_int_equal(bench_plan_urls(&p, urls, 6, NULL, 0, &f), 0);
	assert_int_equal(bench_plan_targets(&p, "127.0.0.1:9", NULL, false, &f), 0);
	assert_int_equal(p.ntargets, 2);
	for (size_t t = 0; t < 2; t++)
		assert_int_equal(ntohs(((struct sockaddr_in *)&p.targets[t].addr)->sin_port), 9);
	assert_int_equal(p.url_target[2], 1);
	assert_int_equal(p.url_target[3], 0);
	bench_plan_free(&p);

	/* --unix likewise. */
	assert_int_equal(bench_plan_urls(&p, urls, 6, NULL, 0, &f), 0);
	assert_int_equal(bench_plan_targets(&p, NULL, "/tmp/x.sock", false, &f), 0);
	assert_int_equal(p.ntargets, 2);
	assert_int_equal(p.targets[0].addr.ss_family, AF_UNIX);
	assert_string_equal(((struct sockaddr_un *)&p.targets[0].addr)->sun_path, "/tmp/x.sock");
	bench_plan_free(&p);

	/* A body in the --urls file: every URL gets its length. */
	static const char file[] = "POST http://127.0.0.1:1/ abc\nhttp://127.0.0.1:1/\n";
	char *text = text_of(file, sizeof(file) - 1);
	assert_int_equal(bench_plan_urls(&p, NULL, 0, text, sizeof(file) - 1, &f), 0);
	assert_int_equal(bench_plan_targets(&p, NULL, NULL, false, &f), 0);
	assert_true(p.any_body);
	assert_int_equal(p.body_lens[0], 3);
	assert_int_equal(p.body_lens[1], 0);
	bench_plan_config(&p, &cfg);
	assert_ptr_equal(cfg.url_bodies, p.bodies);
	bench_plan_free(&p);
}

/* bench_plan_targets over one URL list; returns its result, fault in *f. */
static int targets_of(char *url1, char *url2, const char *remote, const char *unix_path, bool keep,
		      struct bench_plan *p, struct bench_plan_fault *f)
{
	char *urls[] = {url1, url2};
	assert_int_equal(bench_plan_urls(p, urls, url2 ? 2 : 1, NULL, 0, f), 0);
	return bench_plan_targets(p, remote, unix_path, keep, f);
}

static void test_plan_faults(void **state)
{
	(void)state;
	struct bench_plan p = {0};
	struct bench_plan_fault f;
	assert_int_equal(targets_of("http://127.0.0.1:1/", "ftp://x/", NULL, NULL, false, &p, &f), -EPROTONOSUPPORT);
	assert_string_equal(f.value, "ftp://x/");
	bench_plan_free(&p);
	assert_int_equal(targets_of("http://", NULL, NULL, NULL, false, &p, &f), -EINVAL);
	assert_string_equal(f.value, "http://");
	bench_plan_free(&p);

	char long_path[200];
	memset(long_path, 'x', sizeof(long_path) - 1);
	long_path[sizeof(long_path) - 1] = '\0';
	assert_int_equal(targets_of("http://a/", NULL, NULL, long_path, false, &p, &f), -ENAMETOOLONG);
	assert_ptr_equal(f.value, long_path);
	bench_plan_free(&p);

	static const char *const not_hostport[] = {"127.0.0.1", "[::1", "127.0.0.1:0", ":80"};
	for (size_t i = 0; i < sizeof(not_hostport) / sizeof(not_hostport[0]); i++) {
		assert_int_equal(targets_of("http://a/", NULL, not_hostport[i], NULL, false, &p, &f), -EDESTADDRREQ);
		assert_string_equal(f.value, not_hostport[i]);
		bench_plan_free(&p);
	}
	/* A URL is parsed before -r is looked at: its fault comes first. */
	assert_int_equal(targets_of("ftp://x/", NULL, "127.0.0.1", NULL, false, &p, &f), -EPROTONOSUPPORT);
	bench_plan_free(&p);

	assert_int_equal(targets_of("http://a/", NULL, "nosuch.invalid:80", NULL, false, &p, &f), -EADDRNOTAVAIL);
	assert_string_equal(f.value, "nosuch.invalid:80");
	assert_non_null(f.why);
	bench_plan_free(&p);

	assert_int_equal(targets_of("http://127.0.0.1:1/", "http://nosuch.invalid/", NULL, NULL, false, &p, &f),
			 -EHOSTUNREACH);
	assert_string_equal(f.value, "nosuch.invalid");
	assert_non_null(f.why);
	bench_plan_free(&p);
	/* benchhttp keeps the host, and its requests fail with Go's words. */
	assert_int_equal(targets_of("http://nosuch.invalid/", "http://127.0.0.1:1/", NULL, NULL, true, &p, &f), 0);
	assert_int_equal(p.ntargets, 2);
	assert_non_null(p.targets[0].resolve_error);
	assert_true(strncmp(p.targets[0].resolve_error, "dial tcp: lookup nosuch.invalid: ", 33) == 0);
	assert_null(p.targets[1].resolve_error);
	bench_plan_free(&p);
}

static void test_read_file(void **state)
{
	(void)state;
	char path[] = "/tmp/test_plan.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "0123456789", 10), 10);
	close(fd);
	char *buf;
	size_t len;
	/* Exactly max bytes is fine, one more is -EFBIG. */
	assert_int_equal(bench_read_file(path, 10, &buf, &len), 0);
	assert_int_equal(len, 10);
	assert_string_equal(buf, "0123456789");
	free(buf);
	assert_int_equal(bench_read_file(path, 9, &buf, &len), -EFBIG);
	assert_int_equal(bench_read_file("/dev/zero", 1000, &buf, &len), -EFBIG);
	assert_int_equal(bench_read_file("/tmp", 1000, &buf, &len), -EISDIR);
	assert_int_equal(bench_read_file("/nonexistent/test_plan", 1000, &buf, &len), -ENOENT);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate_constant), cmocka_unit_test(test_rate_ramp),
		cmocka_unit_test(test_rate_steps),    cmocka_unit_test(test_urls_split),
		cmocka_unit_test(test_plan_urls),     cmocka_unit_test(test_plan_targets),
		cmocka_unit_test(test_plan_faults),   cmocka_unit_test(test_read_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
