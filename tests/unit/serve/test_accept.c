/* test_accept.c - the accept-model table, listen-address parsing, and the
 * kernel behaviour the models rely on, checked on real loopback sockets in
 * one process: the fifo and reorder models' epoll_ctl bookkeeping and the
 * reuseport slots. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cmocka.h>

#include "serve/accept.h"
#include "lib/addr.h"
#include "serve/serve.h"

static void test_table(void **state)
{
	(void)state;
	const char *names[] = {"single", "blocking", "epoll", "reorder", "fifo", "reuseport", "cpu"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		const struct accept_model *m = accept_find(names[i]);
		assert_non_null(m);
		assert_string_equal(m->name, names[i]);
		assert_non_null(m->summary);
		assert_non_null(m->attach);
		assert_null(strchr(m->summary, '\t'));
		assert_null(strchr(m->summary, '\n'));
	}
	assert_null(accept_find("nosuch"));
	assert_null(accept_find(""));
	assert_true(accept_find("blocking")->flags & ACCEPT_SERIAL);
	assert_true(accept_find("reuseport")->flags & ACCEPT_PER_SLOT);
	assert_true(accept_find("single")->flags & ACCEPT_ONE_WORKER);
	for (size_t i = 0; accept_models[i]; i++) /* names are unique */
		assert_ptr_equal(accept_find(accept_models[i]->name), accept_models[i]);
}

static void test_parse_listen(void **state)
{
	(void)state;
	struct sockaddr_storage ss;
	socklen_t len;
	assert_int_equal(addr_parse_numeric("127.0.0.1:8181", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 8181);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	assert_int_equal(addr_parse_numeric("[::1]:80", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 80);
	assert_int_equal(addr_parse_numeric("0.0.0.0:0", &ss, &len), 0);
	const char *bad[] = {
		"",	  "8181",    "127.0.0.1", "127.0.0.1:",	    "127.0.0.1:65536", "127.0.0.1:x", "localhost:80",
		"::1:80", "[::1]80", "[::1]:",	  "[127.0.0.1]:80", "[]:80",	       "1.2.3:80"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(addr_parse_numeric(bad[i], &ss, &len), -EINVAL);
}

/* A group on 127.0.0.1, port chosen by the kernel. */
static void group_for(struct accept_group *g, const char *model)
{
	struct sockaddr_storage ss;
	socklen_t len;
	assert_int_equal(addr_parse_numeric("127.0.0.1:0", &ss, &len), 0);
	assert_int_equal(accept_group_init(g, accept_find(model), &ss, len, 16, 4), 0);
}

static int connect_to(int lfd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &len), 0);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, len), 0);
	return fd;
}

static void test_fifo_bookkeeping(void **state)
{
	(void)state;
	struct accept_group g;
	group_for(&g, "fifo");
	assert_int_equal(g.model->open(&g), 0);
	assert_true(g.fds[0] >= 0);
	struct accept_worker w = {.g = &g, .slot = 0, .epfd = epoll_create1(0), .fd = -1};
	assert_true(w.epfd >= 0);
	assert_int_equal(g.model->attach(&w), 0);
	assert_true(w.registered);
	assert_int_equal(w.events, EPOLLIN | EPOLLEXCLUSIVE);

	int c = connect_to(g.fds[0]);
	struct epoll_event ev;
	assert_int_equal(epoll_wait(w.epfd, &ev, 1, 1000), 1);
	assert_null(ev.data.ptr); /* the listener is tagged NULL */
	int fd = g.model->accept(&w);
	assert_true(fd >= 0);
	assert_false(w.registered);			 /* took a connection: out of the wait queue */
	assert_int_equal(g.model->idle(&w, 1), -EAGAIN); /* busy: stays out */
	assert_false(w.registered);
	/* Idle with a connection queued: takes it directly, stays out. */
	int c2 = connect_to(g.fds[0]);
	usleep(10000); /* the handshake completes in softirq; give it a moment */
	int fd2 = g.model->idle(&w, 0);
	assert_true(fd2 >= 0);
	assert_false(w.registered);
	/* Idle, queue empty: back in the wait queue, at the end. */
	assert_int_equal(g.model->idle(&w, 0), -EAGAIN);
	assert_true(w.registered);
	assert_int_equal(w.epoll_ctls, 3);
	assert_int_equal(g.model->idle(&w, 0), -EAGAIN); /* already in: no call */
	assert_int_equal(w.epoll_ctls, 3);
	assert_int_equal(w.accepts, 2);
	close(fd2);
	close(c2);
	assert_int_equal(g.model->accept(&w), -EAGAIN);
	assert_true(w.registered); /* nothing taken: stays in */
	accept_generic_detach(&w);
	assert_false(w.registered);
	assert_true(w.detached);
	close(fd);
	close(c);
	close(w.epfd);
	accept_group_free(&g);
}

/* reorder's re-add: DEL + ADD of a registered listener (two calls), and a
 * second worker's epoll on the same shared socket still sees connections.
 * (Which worker the kernel wakes needs sleeping processes: see
 * tests/cli/serve/test_serve_models.sh.) */
static void test_readd(void **state)
{
	(void)state;
	struct accept_group g;
	group_for(&g, "epoll");
	assert_int_equal(g.model->open(&g), 0);
	struct accept_worker w[2];
	for (int i = 0; i < 2; i++) {
		w[i] = (struct accept_worker){.g = &g, .epfd = epoll_create1(0), .fd = -1};
		assert_int_equal(g.model->attach(&w[i]), 0);
	}
	assert_int_equal(accept_worker_readd(&w[0]), 0);
	assert_true(w[0].registered);
	assert_int_equal(w[0].epoll_ctls, 3);
	int c = connect_to(g.fds[0]);
	struct epoll_event ev;
	assert_int_equal(epoll_wait(w[1].epfd, &ev, 1, 1000), 1);
	int fd = accept_generic_accept(&w[1]);
	assert_true(fd >= 0);
	close(fd);
	close(c);
	for (int i = 0; i < 2; i++)
		close(w[i].epfd);
	accept_group_free(&g);
}

static void test_reuseport_slots(void **state)
{
	(void)state;
	struct accept_group g;
	group_for(&g, "reuseport");
	/* Port 0 would give each socket its own port: take one, then reuse it. */
	assert_int_equal(accept_slot_open(&g, 0), 0);
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	assert_int_equal(getsockname(g.fds[0], (struct sockaddr *)&a, &len), 0);
	memcpy(&g.addr, &a, len);
	assert_int_equal(g.model->add_slot(&g, 1), 0);
	assert_int_equal(g.model->add_slot(&g, 1), 0); /* a respawn keeps the listener */
	assert_true(g.fds[1] >= 0);
	assert_int_equal(accept_slot_open(&g, 4), -ERANGE);
	struct accept_worker w = {.g = &g, .slot = 1, .epfd = epoll_create1(0), .fd = -1};
	int keep0 = dup(g.fds[0]);
	assert_int_equal(g.model->attach(&w), 0);
	assert_int_equal(g.fds[0], -1); /* the other slot's listener is closed in the worker */
	assert_int_equal(w.fd, g.fds[1]);
	g.model->remove_slot(&g, 1);
	assert_int_equal(g.fds[1], -1);
	close(keep0);
	close(w.epfd);
	accept_group_free(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_parse_listen),
		cmocka_unit_test(test_fifo_bookkeeping),
		cmocka_unit_test(test_readd),
		cmocka_unit_test(test_reuseport_slots),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
