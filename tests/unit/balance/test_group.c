/*
 * test_group.c - the parts of herd balance's group finder that need no
 * kernel: reading an epoll instance's /proc fdinfo (which files it watches,
 * the worker mapping's evidence), and the rule that puts two listeners in
 * one reuseport group. The fdinfo texts are in the format of Linux 6.x
 * (fs/eventpoll.c ep_show_fdinfo), one "tfd:" line per watched file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "balance/group.h"

static void epoll_fdinfo_targets(void **state)
{
	(void)state;
	const char *text = "pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1057\n"
			   "tfd:        6 events:       19 data:                6  pos:0 ino:a3d4c6b sdev:8\n"
			   "tfd:        9 events:     2019 data:     7f3a2c001000  pos:0 ino:11f sdev:e\n";
	uint64_t inos[4] = {0};

	assert_int_equal(balance_parse_epoll_fdinfo(text, inos, 4), 2);
	assert_int_equal(inos[0], 0xa3d4c6b);
	assert_int_equal(inos[1], 0x11f);
}

static void epoll_fdinfo_more_than_room(void **state)
{
	(void)state;
	const char *text = "tfd: 1 events: 19 data: 1 pos:0 ino:10 sdev:8\n"
			   "tfd: 2 events: 19 data: 2 pos:0 ino:20 sdev:8\n"
			   "tfd: 3 events: 19 data: 3 pos:0 ino:30 sdev:8\n";
	uint64_t inos[2] = {0};

	/* All three counted, two stored. */
	assert_int_equal(balance_parse_epoll_fdinfo(text, inos, 2), 3);
	assert_int_equal(inos[0], 0x10);
	assert_int_equal(inos[1], 0x20);
}

static void not_epoll(void **state)
{
	(void)state;
	uint64_t inos[2];

	/* A socket's or a file's fdinfo has no tfd lines. */
	assert_int_equal(balance_parse_epoll_fdinfo("pos:\t0\nflags:\t02\nmnt_id:\t9\nino:\t1234\n", inos, 2), 0);
	/* A tfd line without its ino field is not a target. */
	assert_int_equal(balance_parse_epoll_fdinfo("tfd: 5 events: 19 data: 5 pos:0\nino:\t77\n", inos, 2), 0);
}

static void same_group(void **state)
{
	(void)state;
	struct balance_diag a = {.ino = 1, .port = 8080, .family = AF_INET, .uid = 0, .ifindex = 0};
	struct balance_diag b;

	a.addr[0] = 127;
	a.addr[3] = 1;
	b = a;
	b.ino = 2;
	b.qlen = 5; /* queue lengths do not matter */
	assert_true(balance_diag_same_group(&a, &b));
	b.port = 8081;
	assert_false(balance_diag_same_group(&a, &b));
	b = a;
	b.addr[3] = 2; /* 127.0.0.2 */
	assert_false(balance_diag_same_group(&a, &b));
	b = a;
	b.uid = 33; /* another user's listener cannot join the group */
	assert_false(balance_diag_same_group(&a, &b));
	b = a;
	b.family = AF_INET6;
	assert_false(balance_diag_same_group(&a, &b));
	b = a;
	b.ifindex = 2; /* SO_BINDTODEVICE */
	assert_false(balance_diag_same_group(&a, &b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(epoll_fdinfo_targets),
		cmocka_unit_test(epoll_fdinfo_more_than_room),
		cmocka_unit_test(not_epoll),
		cmocka_unit_test(same_group),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
