/* test_addr.c - "host:port" splitting and numeric listen addresses. */
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

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_split), cmocka_unit_test(test_numeric)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
