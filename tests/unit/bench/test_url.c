/*
 * test_url.c - bench's URL parsing (table-driven, good and hostile input),
 * redirect resolution, the rate schedule's due times, and httpresp's
 * Location capture split at every byte.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench/engine.h"
#include "bench/url.h"
#include "http/httpresp.h"

static void test_parse_good(void **state)
{
	(void)state;
	static const struct {
		const char *in, *host, *port, *hosthdr, *path, *auth;
		bool tls;
	} cases[] = {
		{"http://a.b/", "a.b", "80", "a.b", "/", NULL, false},
		{"http://a.b", "a.b", "80", "a.b", "/", NULL, false},
		{"https://a.b/x?y=1#frag", "a.b", "443", "a.b", "/x?y=1", NULL, true},
		{"HTTPS://a.b:8443?q", "a.b", "8443", "a.b:8443", "/?q", NULL, true},
		{"http://[::1]:81/p", "::1", "81", "[::1]:81", "/p", NULL, false},
		{"http://user:pw@h/auth", "h", "80", "h", "/auth", "Authorization: Basic dXNlcjpwdw==", false},
		{"http://u@h:1/", "h", "1", "h:1", "/", "Authorization: Basic dQ==", false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct bench_url u;
		assert_int_equal(bench_url_parse(cases[i].in, &u), 0);
		assert_string_equal(u.host, cases[i].host);
		assert_string_equal(u.port, cases[i].port);
		assert_string_equal(u.hosthdr, cases[i].hosthdr);
		assert_string_equal(u.path, cases[i].path);
		assert_int_equal(u.tls, cases[i].tls);
		if (cases[i].auth)
			assert_string_equal(u.auth_line, cases[i].auth);
		else
			assert_null(u.auth_line);
		bench_url_free(&u);
	}
}

static void test_parse_bad(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int rc;
	} cases[] = {
		{"ftp://h/", -EPROTONOSUPPORT}, {"h/", -EPROTONOSUPPORT},	{"http://", -EINVAL},
		{"http:///x", -EINVAL},		{"http://h:0/", -EINVAL},	{"http://h:65536/", -EINVAL},
		{"http://[::1/", -EINVAL},	{"http://::1/", -EINVAL},	{"http://u@/", -EINVAL},
		{"http://h/a b", -EINVAL},	{"http://h/\r\nX: y", -EINVAL}, {"http://:80/", -EINVAL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct bench_url u;
		int rc = bench_url_parse(cases[i].in, &u);
		if (rc != cases[i].rc)
			fail_msg("%s: got %d, want %d", cases[i].in, rc, cases[i].rc);
		bench_url_free(&u);
	}
}

static void test_resolve(void **state)
{
	(void)state;
	struct bench_url base, out;
	assert_int_equal(bench_url_parse("https://user:pw@a.b:8443/dir/page?x", &base), 0);
	static const struct {
		const char *loc, *text;
		bool auth;
	} cases[] = {
		{"/other", "https://a.b:8443/other", true},
		{"next?y", "https://a.b:8443/dir/next?y", true},
		{"//c.d/z", "https://c.d/z", false},
		{"http://e.f:81/", "http://e.f:81/", false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(bench_url_resolve(&base, cases[i].loc, &out), 0);
		assert_string_equal(out.text, cases[i].text);
		assert_int_equal(out.auth_line != NULL, cases[i].auth);
		bench_url_free(&out);
	}
	assert_int_equal(bench_url_resolve(&base, "ftp://x/", &out), -EPROTONOSUPPORT);
	bench_url_free(&out);
	bench_url_free(&base);
}

/* Due times follow the schedule's integral: a ramp 0 -> 100 req/s over 2 s
 * holds 100 requests, the 25th due at 1 s (25 = 100 * 1^2 / (2 * 2)). */
static void test_schedule(void **state)
{
	(void)state;
	struct bench_rate_step steps[] = {{2, 0, 100}, {1, 50, 50}};
	struct bench_config cfg;
	bench_config_init(&cfg);
	cfg.schedule = steps;
	cfg.nsteps = 2;
	double first[] = {0, 100, 150};
	struct bench_shared sh = {.cfg = &cfg, .step_first = first};
	assert_true(llabs((long long)bench_due_offset_ns(&sh, 25) - 1000000000LL) < 1000);
	assert_true(llabs((long long)bench_due_offset_ns(&sh, 100) - 2000000000LL) < 1000);
	assert_true(llabs((long long)bench_due_offset_ns(&sh, 125) - 2500000000LL) < 1000);
	/* After the schedule the last rate holds: 150 + 50 at 3 s + 1 s. */
	assert_true(llabs((long long)bench_due_offset_ns(&sh, 200) - 4000000000LL) < 1000);
	for (uint64_t i = 1; i < 200; i++)
		assert_true(bench_due_offset_ns(&sh, i) >= bench_due_offset_ns(&sh, i - 1));
	cfg.nsteps = 0;
	cfg.rate = 4;
	assert_int_equal(bench_due_offset_ns(&sh, 6), 1500000000ULL);
}

/* Feeds the n bytes of resp to p, which captures Location into loc[len]:
 * first resp[0, cut) (incomplete), then the rest, which completes it. */
static void feed_capturing(struct httpresp *p, char *loc, size_t len, const char *resp, size_t cut, size_t n)
{
	httpresp_init(p, false);
	httpresp_capture_location(p, loc, len);
	size_t used;
	if (cut > 0)
		assert_int_equal(httpresp_feed(p, resp, cut, &used), HTTPRESP_MORE);
	assert_int_equal(httpresp_feed(p, resp + cut, n - cut, &used), HTTPRESP_DONE);
}

static void test_location_split(void **state)
{
	(void)state;
	static const char resp[] = "HTTP/1.1 302 Found\r\nX-A: 1\r\nLocation:  /next?a=b  \r\n"
				   "Content-Length: 0\r\n\r\n";
	size_t n = sizeof resp - 1;
	struct httpresp p;
	for (size_t cut = 1; cut < n; cut++) {
		char loc[64];
		feed_capturing(&p, loc, sizeof loc, resp, cut, n);
		assert_int_equal(p.status, 302);
		/* Trailing blanks are kept; the engine trims them. */
		assert_true(p.location_len >= 9 && memcmp(loc, "/next?a=b", 9) == 0);
		assert_false(p.location_long);
	}
	char small[4];
	feed_capturing(&p, small, sizeof small, resp, 0, n);
	assert_true(p.location_long);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),     cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_resolve),	       cmocka_unit_test(test_schedule),
		cmocka_unit_test(test_location_split),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
