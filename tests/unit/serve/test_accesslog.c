/*
 * test_accesslog.c - the access log's line format, escaping, buffering and
 * reopen (src/serve/accesslog.c), what it does when the file cannot take
 * more (dropped lines counted, a cut line finished, never glued to
 * another, also across writers), and the systemd glue (src/serve/sysd.c):
 * LISTEN_PID/LISTEN_FDS parsing and the sd_notify datagram.
 *
 * A full disk is played by RLIMIT_FSIZE: past the limit write() behaves as
 * on a full disk, short first (up to the limit), then failing (EFBIG, with
 * SIGXFSZ, ignored here), and no mount is needed.
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
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
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
	signal(SIGXFSZ, SIG_IGN); /* a write past RLIMIT_FSIZE fails with EFBIG instead */
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
	accesslog_init(&l, fd, NULL, 1);
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
	accesslog_init(&l, accesslog_open_file(path), NULL, 1);
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
	accesslog_init(&l, -1, NULL, 1);
	accesslog_add(&l, "127.0.0.1", &req, 200, 1, 0);
	assert_int_equal(l.len, 0);
}

/* The file's lines: whole (as accesslog_add writes a "10.0.0.x" line),
 * bad (cut short, or glued to another), and a last one cut without '\n'. */
struct tally {
	int whole, bad, frag;
	char last[80]; /* the peer of the last whole line */
};

static struct tally tally(const char *path)
{
	static char text[64 * 1024];
	struct tally t = {0};
	size_t n = slurp(path, text, sizeof text);
	for (char *p = text, *nl; p < text + n; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(text + n - p));
		if (!nl) {
			t.frag++;
			break;
		}
		*nl = '\0';
		/* 10.0.0.1 - - [06/Dec/2026:20:44:02 +0000] "-" 408 1 "-" "-" 0.000 */
		static const char tailstr[] = "] \"-\" 408 1 \"-\" \"-\" 0.000";
		char *mark = strstr(p, " - - [");
		if (strncmp(p, "10.0.0.", 7) == 0 && mark && !strstr(mark + 1, " - - [") &&
		    strlen(mark) == 6 + 26 + strlen(tailstr) && strcmp(mark + 6 + 26, tailstr) == 0) {
			t.whole++;
			snprintf(t.last, sizeof t.last, "%.*s", (int)(mark - p), p);
		} else {
			t.bad++;
		}
	}
	return t;
}

static off_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_size : -1;
}

/* The file cannot grow past `bytes` (RLIMIT_INFINITY: no limit again). */
static void limit_file(rlim_t bytes)
{
	struct rlimit rl;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &rl), 0);
	rl.rlim_cur = bytes;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

static void add_lines(struct accesslog *l, const char *peer, int n)
{
	for (int i = 0; i < n; i++)
		accesslog_add(l, peer, NULL, 408, 1, 0);
}

/* A full disk: lines are dropped and counted; the line the write cut is
 * finished first once there is room, so every line in the file is whole. */
static void test_full(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof path, "%s/full.log", dir);
	static struct accesslog l;
	accesslog_init(&l, accesslog_open_file(path), NULL, 1);
	assert_true(l.fd >= 0);
	/* A line is 66 bytes: 1000 holds 15 and cuts the 16th. */
	limit_file(1000);
	add_lines(&l, "10.0.0.1", 40);
	assert_int_equal(accesslog_flush(&l), -EFBIG);
	assert_int_equal(file_size(path), 1000);
	struct tally t = tally(path);
	assert_int_equal(t.whole, 15);
	assert_int_equal(t.frag, 1);
	assert_int_equal(l.dropped, 40 - 15 - 1); /* the cut one is owed, not lost */
	assert_int_equal(l.err, -EFBIG);
	assert_int_equal(l.own.state, ACCESSLOG_OWED);
	assert_true(l.own.len == 16 * 66 - 1000 && l.own.rest[l.own.len - 1] == '\n');
	assert_int_equal(l.len, 0);
	/* Still full: the new lines go, the rest stays owed. */
	add_lines(&l, "10.0.0.1", 10);
	assert_int_equal(accesslog_flush(&l), -EFBIG);
	assert_int_equal(l.dropped, 24 + 10);
	assert_int_equal(l.own.state, ACCESSLOG_OWED);
	/* Room again: the cut line is finished before the new ones. */
	limit_file(RLIM_INFINITY);
	add_lines(&l, "10.0.0.1", 5);
	assert_int_equal(accesslog_flush(&l), 0);
	t = tally(path);
	assert_int_equal(t.bad, 0);
	assert_int_equal(t.frag, 0);
	assert_int_equal(t.whole, 15 + 1 + 5);
	assert_int_equal(t.whole + (int)l.dropped, 40 + 10 + 5);
	assert_int_equal(l.own.state, ACCESSLOG_CLEAR);
	close(l.fd);
}

/* The file was truncated to make room: the start of the cut line is gone,
 * so its rest is dropped, not written as a fragment. */
static void test_truncated(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof path, "%s/trunc.log", dir);
	static struct accesslog l;
	accesslog_init(&l, accesslog_open_file(path), NULL, 1);
	limit_file(1000);
	add_lines(&l, "10.0.0.1", 40);
	assert_int_equal(accesslog_flush(&l), -EFBIG);
	limit_file(RLIM_INFINITY);
	assert_int_equal(truncate(path, 0), 0);
	add_lines(&l, "10.0.0.1", 3);
	assert_int_equal(accesslog_flush(&l), 0);
	struct tally t = tally(path);
	assert_int_equal(t.whole, 3);
	assert_int_equal(t.bad + t.frag, 0);
	assert_int_equal(l.dropped, 24 + 1);
	assert_int_equal(l.err, -ESTALE);
	assert_int_equal(l.own.state, ACCESSLOG_CLEAR);
	close(l.fd);
}

/* Two writers: the one that writes next finishes the other's cut line,
 * even after the other stopped; a writer at work on the shared state
 * keeps the other waiting; one killed at it leaves the line to be ended
 * with a newline. */
static void test_shared(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof path, "%s/shared.log", dir);
	static struct accesslog a, b;
	static struct accesslog_shared sh; /* zeroed: CLEAR */
	accesslog_init(&a, accesslog_open_file(path), &sh, 1);
	accesslog_init(&b, accesslog_open_file(path), &sh, 2);
	limit_file(1000);
	add_lines(&a, "10.0.0.1", 40);
	assert_int_equal(accesslog_flush(&a), -EFBIG);
	assert_int_equal(sh.state, ACCESSLOG_OWED);
	accesslog_fini(&a); /* a stops; still full: the rest stays owed */
	assert_int_equal(sh.state, ACCESSLOG_OWED);
	assert_int_equal(a.dropped, 24);
	add_lines(&b, "10.0.0.2", 3);
	assert_int_equal(accesslog_flush(&b), -EFBIG);
	assert_int_equal(b.dropped, 3);
	limit_file(RLIM_INFINITY);
	add_lines(&b, "10.0.0.2", 3);
	assert_int_equal(accesslog_flush(&b), 0); /* a's rest, then b's lines */
	assert_int_equal(sh.state, ACCESSLOG_CLEAR);
	struct tally t = tally(path);
	assert_int_equal(t.bad + t.frag, 0);
	assert_int_equal(t.whole, 15 + 1 + 3);
	assert_string_equal(t.last, "10.0.0.2");

	/* b cuts a line; a (a new worker in its slot) is taken to be at work
	 * on it, is killed, and the master orphans it. */
	accesslog_init(&a, a.fd, &sh, 1);
	limit_file((rlim_t)file_size(path) + 500);
	add_lines(&b, "10.0.0.2", 40);
	assert_int_equal(accesslog_flush(&b), -EFBIG);
	assert_int_equal(sh.state, ACCESSLOG_OWED);
	limit_file(RLIM_INFINITY);
	sh.state = a.id;
	add_lines(&b, "10.0.0.2", 1);
	assert_int_equal(accesslog_flush(&b), -EBUSY); /* waits a little, then keeps its line */
	assert_int_equal(b.lines, 1);
	accesslog_orphan(&sh, 2); /* not the one at work: no change */
	assert_int_equal(sh.state, 1);
	accesslog_orphan(&sh, 1);
	assert_int_equal(sh.state, ACCESSLOG_ORPHAN);
	add_lines(&b, "10.0.0.2", 1);
	assert_int_equal(accesslog_flush(&b), 0);
	assert_int_equal(sh.state, ACCESSLOG_CLEAR);
	t = tally(path);
	assert_int_equal(t.bad, 1); /* b's cut line, ended by a newline */
	assert_int_equal(t.frag, 0);
	assert_int_equal(t.whole, 19 + 7 + 2);
	assert_string_equal(t.last, "10.0.0.2");
	close(a.fd);
	close(b.fd);
}

/* Rotation: the reopen writes a rest owed to the old file there, when it
 * can; one still owed belongs to another file then, and is not written
 * into the new one. */
static void test_rotated(void **state)
{
	(void)state;
	char path[128], moved[160];
	snprintf(path, sizeof path, "%s/rot.log", dir);
	snprintf(moved, sizeof moved, "%s.1", path);
	static struct accesslog l;
	accesslog_init(&l, accesslog_open_file(path), NULL, 1);
	limit_file(1000);
	add_lines(&l, "10.0.0.1", 40);
	assert_int_equal(accesslog_flush(&l), -EFBIG);
	limit_file(RLIM_INFINITY);
	assert_int_equal(rename(path, moved), 0);
	assert_int_equal(accesslog_reopen(&l, path), 0);
	struct tally t = tally(moved);
	assert_int_equal(t.whole, 16);
	assert_int_equal(t.bad + t.frag, 0);
	assert_int_equal(l.dropped, 24);

	limit_file(1000);
	add_lines(&l, "10.0.0.1", 40);
	assert_int_equal(accesslog_flush(&l), -EFBIG);
	assert_int_equal(rename(path, moved), 0);
	assert_int_equal(accesslog_reopen(&l, path), 0); /* its flush fails: still full */
	limit_file(RLIM_INFINITY);
	add_lines(&l, "10.0.0.1", 2);
	assert_int_equal(accesslog_flush(&l), 0);
	t = tally(path);
	assert_int_equal(t.whole, 2);
	assert_int_equal(t.bad + t.frag, 0);
	assert_int_equal(l.dropped, 24 + 24 + 1);
	assert_int_equal(l.own.state, ACCESSLOG_CLEAR);
	close(l.fd);
}

/* A file an earlier run left ending inside a line. */
static void test_check_end(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof path, "%s/cut.log", dir);
	struct accesslog_shared sh = {0};
	assert_int_equal(accesslog_check_end(&sh, path), -ENOENT);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(accesslog_check_end(&sh, path), 0); /* empty */
	f = fopen(path, "a");
	fputs("10.0.0.1 - - [06/Dec\n", f);
	fclose(f);
	assert_int_equal(accesslog_check_end(&sh, path), 0);
	assert_int_equal(sh.state, ACCESSLOG_CLEAR);
	f = fopen(path, "a");
	fputs("10.0.0.1 - - [06/Dec", f);
	fclose(f);
	assert_int_equal(accesslog_check_end(&sh, path), 1);
	assert_int_equal(sh.state, ACCESSLOG_ORPHAN);
	static struct accesslog l;
	accesslog_init(&l, accesslog_open_file(path), &sh, 1);
	add_lines(&l, "10.0.0.1", 2);
	assert_int_equal(accesslog_flush(&l), 0);
	struct tally t = tally(path);
	assert_int_equal(t.whole, 2);
	assert_int_equal(t.bad, 2); /* the two cut lines, each alone */
	close(l.fd);
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
		cmocka_unit_test(test_line),	  cmocka_unit_test(test_fill),	     cmocka_unit_test(test_full),
		cmocka_unit_test(test_truncated), cmocka_unit_test(test_shared),     cmocka_unit_test(test_rotated),
		cmocka_unit_test(test_check_end), cmocka_unit_test(test_listen_fds), cmocka_unit_test(test_notify),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
