/*
 * test_accesslog.c - the access log's line format, escaping, buffering and
 * reopen (src/serve/accesslog.c), and the systemd glue (src/serve/sysd.c):
 * LISTEN_PID/LISTEN_FDS parsing and the sd_notify datagram.
 */
#include <errno.h>
#include <fcntl.h>
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

#include "http/http.h"
#include "serve/accesslog.h"
#include "serve/sysd.h"

static char dir[] = "/tmp/herd-alog.XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[64];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static size_t slurp(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, cap - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

static void test_line(void **state)
{
	(void)state;
	char path[128], got[8192];
	snprintf(path, sizeof path, "%s/a.log", dir);
	int fd = accesslog_open_file(path);
	assert_true(fd >= 0);
	static struct accesslog l;
	accesslog_init(&l, fd);
	const char *s = "GET /x?\"q\" HTTP/1.1\r\nHost: h\r\nUser-Agent: ag\xe9nt\r\n\r\n";
	struct http_request req;
	assert_int_equal(http_parse_request(s, strlen(s), 0, &req), (int)strlen(s));
	accesslog_add(&l, "10.0.0.1", &req, 200, 133, 1500000);
	accesslog_add(&l, "::1", NULL, 400, 90, 0);
	/* Buffered: nothing in the file yet. */
	assert_int_equal(slurp(path, got, sizeof got), 0);
	assert_true(accesslog_due(&l) != UINT64_MAX);
	assert_int_equal(accesslog_flush(&l), 0);
	assert_true(accesslog_due(&l) == UINT64_MAX);
	slurp(path, got, sizeof got);
	char *nl = strchr(got, '\n');
	assert_non_null(nl);
	*nl = '\0';
	/* 10.0.0.1 - - [DD/Mon/YYYY:HH:MM:SS +0000] "..." 200 133 "-" "ag\xE9nt" 0.001 */
	assert_memory_equal(got, "10.0.0.1 - - [", 14);
	assert_memory_equal(got + 14 + 20, " +0000] ", 8);
	assert_string_equal(got + 14 + 28, "\"GET /x?\\x22q\\x22 HTTP/1.1\" 200 133 \"-\" \"ag\\xE9nt\" 0.001");
	assert_string_equal(nl + 1 + 14 + 28 - strlen("10.0.0.1") + strlen("::1"), "\"-\" 400 90 \"-\" \"-\" 0.000\n");

	/* Reopen after a rename: old lines stay, new ones go to the new file. */
	char moved[160];
	snprintf(moved, sizeof moved, "%s.1", path);
	assert_int_equal(rename(path, moved), 0);
	accesslog_add(&l, "1.2.3.4", NULL, 408, 1, 0);
	assert_int_equal(accesslog_reopen(&l, path), 0);
	accesslog_add(&l, "5.6.7.8", NULL, 408, 1, 0);
	assert_int_equal(accesslog_flush(&l), 0);
	slurp(moved, got, sizeof got);
	assert_non_null(strstr(got, "1.2.3.4 "));
	assert_null(strstr(got, "5.6.7.8 "));
	slurp(path, got, sizeof got);
	assert_memory_equal(got, "5.6.7.8 ", 8);
	close(l.fd);
}

/* Many long lines: the buffer is written when it fills, never overflows. */
static void test_fill(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof path, "%s/b.log", dir);
	static struct accesslog l;
	accesslog_init(&l, accesslog_open_file(path));
	assert_true(l.fd >= 0);
	static char s[HTTP_MAX_HEAD];
	int n = snprintf(s, sizeof s, "GET /%0*d HTTP/1.1\r\nHost: h\r\nUser-Agent: \"%0*d\"\r\n\r\n", 5000, 0, 5000,
			 0);
	struct http_request req;
	assert_int_equal(http_parse_request(s, (size_t)n, 0, &req), n);
	for (int i = 0; i < 100; i++) {
		accesslog_add(&l, "127.0.0.1", &req, 200, 1, 0);
		assert_true(l.len <= sizeof l.buf);
	}
	assert_int_equal(accesslog_flush(&l), 0);
	close(l.fd);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	int lines = 0, c;
	while ((c = fgetc(f)) != EOF)
		lines += c == '\n';
	fclose(f);
	assert_int_equal(lines, 100);
	/* Logging off: nothing happens. */
	accesslog_init(&l, -1);
	accesslog_add(&l, "127.0.0.1", &req, 200, 1, 0);
	assert_int_equal(l.len, 0);
}

static void test_listen_fds(void **state)
{
	(void)state;
	char pid[16];
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	assert_int_equal(sysd_listen_fds(), 0);
	setenv("LISTEN_PID", "1", 1); /* another process's */
	setenv("LISTEN_FDS", "1", 1);
	assert_int_equal(sysd_listen_fds(), 0);
	assert_null(getenv("LISTEN_FDS")); /* cleared either way */
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "x", 1);
	assert_int_equal(sysd_listen_fds(), -EINVAL);
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "0", 1);
	assert_int_equal(sysd_listen_fds(), 0);
}

static void test_notify(void **state)
{
	(void)state;
	char path[64], buf[64];
	snprintf(path, sizeof path, "%s/notify", dir);
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(sysd_notify("READY=1"), 0); /* no manager: nothing to do */
	int s = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_true(s >= 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(sysd_notify("STOPPING=1"), 0);
	ssize_t n = recv(s, buf, sizeof buf, MSG_DONTWAIT);
	assert_int_equal(n, 10);
	assert_memory_equal(buf, "STOPPING=1", 10);
	setenv("NOTIFY_SOCKET", "relative", 1);
	assert_int_equal(sysd_notify("READY=1"), -EINVAL);
	unsetenv("NOTIFY_SOCKET");
	close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line),
		cmocka_unit_test(test_fill),
		cmocka_unit_test(test_listen_fds),
		cmocka_unit_test(test_notify),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
