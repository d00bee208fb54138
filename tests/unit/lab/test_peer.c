/* test_peer.c - the pure parts of the lab's peers with a file-counting Lua
 * handler (peer.c): the counter files' names and contents, the version a
 * binary prints, a peer's binary from --peer-path, the files a peer needs,
 * the handler's Lua, and the access-log names of --server-logs. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lab/lab.h"
#include "lab/server.h"

/* counts/PID.TID holds the requests that Lua state answered. */
static void test_parse_count(void **state)
{
	(void)state;
	int pid = 0, tid = 0;
	uint64_t n = 0;
	assert_int_equal(lab_peer_parse_count("1234.1240", "57\n", &pid, &tid, &n), 0);
	assert_int_equal(pid, 1234);
	assert_int_equal(tid, 1240);
	assert_int_equal(n, 57);
	assert_int_equal(lab_peer_parse_count("99.99", "0", &pid, &tid, &n), 0);
	assert_int_equal(n, 0);
	const char *bad_names[] = {"",	   ".",	       "12",   "12.", ".12",  "a.12",
				   "12.b", "12.13.14", "-1.2", "0.5", "12.0", "99999999999.1"};
	for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++)
		assert_int_equal(lab_peer_parse_count(bad_names[i], "1\n", &pid, &tid, &n), -EINVAL);
	const char *bad_text[] = {"", "\n", "x", "12x\n", "99999999999999999999999\n"};
	for (size_t i = 0; i < sizeof bad_text / sizeof bad_text[0]; i++)
		assert_int_equal(lab_peer_parse_count("1.1", bad_text[i], &pid, &tid, &n), -EINVAL);
}

/* The version follows the program's own words in what `-v` prints. */
static void test_version_parse(void **state)
{
	(void)state;
	char v[32];
	assert_int_equal(lab_peer_version_parse("nginx version: nginx/1.22.1\n", "nginx/", v, sizeof v), 0);
	assert_string_equal(v, "1.22.1");
	assert_int_equal(lab_peer_version_parse("HAProxy version 2.6.12-1+deb12u4 2026/10/17 - https://haproxy.org/\n",
						"HAProxy version ", v, sizeof v),
			 0);
	assert_string_equal(v, "2.6.12-1+deb12u4");
	assert_int_equal(lab_peer_version_parse("Server version: Apache/2.4.71 (Debian)\n", "Apache/", v, sizeof v), 0);
	assert_string_equal(v, "2.4.71");
	assert_int_equal(lab_peer_version_parse("lighttpd/1.4.69 (ssl) - a light and fast webserver\n", "lighttpd/", v,
						sizeof v),
			 0);
	assert_string_equal(v, "1.4.69");
	/* Cut to the buffer. */
	char small[4];
	assert_int_equal(lab_peer_version_parse("x/123456", "x/", small, sizeof small), 0);
	assert_string_equal(small, "123");
	assert_int_equal(lab_peer_version_parse("nothing here", "nginx/", v, sizeof v), -ENOENT);
	assert_int_equal(lab_peer_version_parse("nginx/ 1.2", "nginx/", v, sizeof v), -ENOENT);
}

/* A binary that prints a version, found by running it. */
static void test_version_run(void **state)
{
	(void)state;
	char v[64];
	assert_int_equal(lab_peer_version("/bin/echo", "demo/4.5.6 (x)", "demo/", "demo", v, sizeof v), 0);
	assert_string_equal(v, "demo 4.5.6");
	assert_int_equal(lab_peer_version("/bin/echo", "no version", "demo/", "demo", v, sizeof v), -ENOENT);
	assert_int_equal(lab_peer_version("/nonexistent/bin", "-v", "demo/", "demo", v, sizeof v), -ENOENT);
}

static void test_bin_and_files(void **state)
{
	(void)state;
	struct lab_config cfg;
	lab_config_init(&cfg);
	assert_string_equal(lab_peer_bin(&cfg, "haproxy", "/usr/sbin/haproxy"), "/usr/sbin/haproxy");
	const char *paths[] = {"haproxyx=/a", "haproxy=/opt/h", "apache=/opt/a"};
	cfg.peer_paths = paths;
	cfg.npeer_paths = 3;
	assert_string_equal(lab_peer_bin(&cfg, "haproxy", "/usr/sbin/haproxy"), "/opt/h");
	assert_string_equal(lab_peer_bin(&cfg, "apache", "/usr/sbin/apache2"), "/opt/a");
	assert_string_equal(lab_peer_bin(&cfg, "lighttpd", "/usr/sbin/lighttpd"), "/usr/sbin/lighttpd");
	const char *there[] = {"/bin/sh", "/b*n/s?", NULL};
	assert_true(lab_peer_files(there));
	const char *missing[] = {"/bin/sh", "/nonexistent/*/x.so", NULL};
	assert_false(lab_peer_files(missing));
}

/* The handler's Lua: the counter folder, the routes' work, the clock. */
static void test_lua(void **state)
{
	(void)state;
	char buf[8192];
	int n = lab_peer_lua(buf, sizeof buf, "/tmp/x/counts", LAB_LUA_POSIX);
	assert_true(n > 0 && (size_t)n == strlen(buf));
	assert_non_null(strstr(buf, "[==[/tmp/x/counts]==]"));
	assert_non_null(strstr(buf, "CLOCK_THREAD_CPUTIME_ID"));
	assert_non_null(strstr(buf, "nanosleep"));
	assert_non_null(strstr(buf, "'&us=(%d+)'"));
	assert_non_null(strstr(buf, "'&ms=(%d+)'"));
	assert_non_null(strstr(buf, "ms % 1000"));
	assert_null(strstr(buf, "socket.core"));
	n = lab_peer_lua(buf, sizeof buf, "/c", LAB_LUA_PLAIN);
	assert_true(n > 0);
	assert_non_null(strstr(buf, "socket.core"));
	assert_non_null(strstr(buf, "os.clock"));
	assert_null(strstr(buf, "posix"));
	assert_int_equal(lab_peer_lua(buf, 100, "/c", LAB_LUA_PLAIN), -ENAMETOOLONG);
}

/* --server-logs DIR: one file per server started, numbered from 1. */
static void test_log_path(void **state)
{
	(void)state;
	struct lab_config cfg;
	lab_config_init(&cfg);
	struct lab_server_kind k = {.name = "apache-event"};
	struct lab_server s = {.cfg = &cfg, .kind = &k};
	char p[PATH_MAX];
	assert_int_equal(lab_peer_log_path(&s, "access.log", p, sizeof p), -ENOENT);
	char dir[] = "/tmp/herd-test-peer.XXXXXX";
	assert_non_null(mkdtemp(dir));
	cfg.server_logs = dir;
	char want[PATH_MAX];
	for (int k2 = 1; k2 <= 3; k2++) {
		assert_int_equal(lab_peer_log_path(&s, "access.log", p, sizeof p), 0);
		snprintf(want, sizeof want, "%s/apache-event-%d.access.log", dir, k2);
		assert_string_equal(p, want);
		assert_int_equal(lab_peer_write(p, "x\n"), 0);
	}
	assert_int_equal(lab_peer_log_path(&s, "access.log", p, 10), -ENAMETOOLONG);
	for (int k2 = 1; k2 <= 3; k2++) {
		snprintf(want, sizeof want, "%s/apache-event-%d.access.log", dir, k2);
		unlink(want);
	}
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_count), cmocka_unit_test(test_version_parse),
		cmocka_unit_test(test_version_run), cmocka_unit_test(test_bin_and_files),
		cmocka_unit_test(test_lua),	    cmocka_unit_test(test_log_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
