/* test_addr.c - "host:port" splitting, numeric listen addresses, and
 * socket addresses written back as text. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/addr.h"

static void test_split(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int rc;
		const char *host;
		bool bracketed, has_port;
		uint16_t port;
	} cases[] = {
		{"example.com", 0, "example.com", false, false, 0},
		{"example.com:8080", 0, "example.com", false, true, 8080},
		{"127.0.0.1:0", 0, "127.0.0.1", false, true, 0},
		{"[::1]", 0, "::1", true, false, 0},
		{"[::1]:443", 0, "::1", true, true, 443},
		{"h:65535", 0, "h", false, true, 65535},
		{"h:65536", -EINVAL, NULL, false, false, 0},
		{"h:", -EINVAL, NULL, false, false, 0},
		{"h:-1", -EINVAL, NULL, false, false, 0},
		{"h:8x", -EINVAL, NULL, false, false, 0},
		{":80", -EINVAL, NULL, false, false, 0},
		{"", -EINVAL, NULL, false, false, 0},
		{"::1:80", -EINVAL, NULL, false, false, 0},
		{"[::1", -EINVAL, NULL, false, false, 0},
		{"[::1]80", -EINVAL, NULL, false, false, 0},
		{"[::1]:", -EINVAL, NULL, false, false, 0},
		{"[]:80", -EINVAL, NULL, false, false, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct addr_hostport hp;
		int rc = addr_split(cases[i].in, strlen(cases[i].in), &hp);
		if (rc != cases[i].rc)
			fail_msg("'%s': rc %d, want %d", cases[i].in, rc, cases[i].rc);
		if (rc)
			continue;
		if (hp.host_len != strlen(cases[i].host) || memcmp(hp.host, cases[i].host, hp.host_len) != 0 ||
		    hp.bracketed != cases[i].bracketed || hp.has_port != cases[i].has_port || hp.port != cases[i].port)
			fail_msg("'%s': host '%.*s' bracketed %d port %d/%u", cases[i].in, (int)hp.host_len, hp.host,
				 hp.bracketed, hp.has_port, hp.port);
	}
}

static void test_numeric(void **state)
{
	(void)state;
	struct sockaddr_storage ss;
	socklen_t len;
	assert_int_equal(addr_parse_numeric("127.0.0.2:8080", &ss, &len), 0);
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)&ss;
	assert_int_equal(a4->sin_family, AF_INET);
	assert_int_equal(ntohs(a4->sin_port), 8080);
	assert_int_equal(ntohl(a4->sin_addr.s_addr), 0x7f000002);
	assert_int_equal(len, sizeof(struct sockaddr_in));

	assert_int_equal(addr_parse_numeric("[::1]:0", &ss, &len), 0);
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&ss;
	assert_int_equal(a6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(a6->sin6_port), 0);
	assert_int_equal(len, sizeof(struct sockaddr_in6));

	static const char *const bad[] = {"127.0.0.1",	  "localhost:80", "[127.0.0.1]:80", "::1:80",
					  "1.2.3.4.5:80", "[::1]",	  "127.0.0.1:99999"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (addr_parse_numeric(bad[i], &ss, &len) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
}

/* What addr_format writes for the text's address, with and without port;
 * the address is parsed back as addr_parse_numeric reads it. */
static void format_case(const char *in, const char *with, const char *without)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[ADDR_FORMAT_MAX];
	if (addr_parse_numeric(in, &ss, &len) != 0)
		fail_msg("cannot parse '%s'", in);
	int n = addr_format(&ss, true, buf, sizeof buf);
	if (n != (int)strlen(with) || strcmp(buf, with) != 0)
		fail_msg("'%s' with port: %d '%s', want '%s'", in, n, buf, with);
	n = addr_format(&ss, false, buf, sizeof buf);
	if (n != (int)strlen(without) || strcmp(buf, without) != 0)
		fail_msg("'%s' without port: %d '%s', want '%s'", in, n, buf, without);
}

static void test_format(void **state)
{
	(void)state;
	format_case("127.0.0.1:8080", "127.0.0.1:8080", "127.0.0.1");
	format_case("0.0.0.0:0", "0.0.0.0:0", "0.0.0.0");
	format_case("[::1]:443", "[::1]:443", "::1");
	format_case("[::ffff:10.0.0.1]:80", "[::ffff:10.0.0.1]:80", "::ffff:10.0.0.1");
	/* The longest there is fits ADDR_FORMAT_MAX. */
	format_case("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535",
		    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	format_case("[::ffff:255.255.255.255]:65535", "[::ffff:255.255.255.255]:65535", "::ffff:255.255.255.255");

	struct sockaddr_storage ss;
	socklen_t len;
	char buf[16];
	assert_int_equal(addr_parse_numeric("10.0.0.1:80", &ss, &len), 0);
	/* "10.0.0.1:80" is 11 bytes: 12 with the NUL fit, 11 do not. */
	assert_int_equal(addr_format(&ss, true, buf, 12), 11);
	assert_string_equal(buf, "10.0.0.1:80");
	memset(buf, 'x', sizeof buf);
	assert_int_equal(addr_format(&ss, true, buf, 11), -ENOSPC);
	assert_string_equal(buf, "");
	assert_int_equal(addr_format(&ss, true, buf, 0), -ENOSPC);

	memset(&ss, 0, sizeof ss);
	ss.ss_family = AF_UNIX;
	memset(buf, 'x', sizeof buf);
	assert_int_equal(addr_format(&ss, true, buf, sizeof buf), -EAFNOSUPPORT);
	assert_int_equal(addr_format(&ss, false, buf, sizeof buf), -EAFNOSUPPORT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_split), cmocka_unit_test(test_numeric),
					   cmocka_unit_test(test_format)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
