/* test_kind.c - the lab's table of servers (kind.c): every accept model of
 * herd serve is a server of the lab with herd serve's operations and the
 * model's properties, the peers follow with their own, lookups by name
 * find exactly these, and a peer whose program is missing says what to
 * install while herd serve never does. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lab/lab.h"
#include "lab/server.h"
#include "serve/accept.h"

/* The table: accept_models[] in order, then the peers, then the end. */
static void test_table_order(void **state)
{
	(void)state;
	struct lab_server_kind k;
	size_t i = 0;
	for (; accept_models[i]; i++) {
		assert_int_equal(lab_server_kind_at(i, &k), 0);
		assert_ptr_equal(k.model, accept_models[i]);
		assert_string_equal(k.name, accept_models[i]->name);
		assert_string_equal(k.summary, accept_models[i]->summary);
		assert_ptr_equal(k.ops, &lab_server_herd);
		assert_null(k.peer);
	}
	const struct {
		const char *name, *peer, *in_summary;
		const struct lab_server_ops *ops;
	} peers[] = {
		{"nginx-shared", "nginx", "nginx", &lab_server_nginx},
		{"nginx-reuseport", "nginx", "nginx", &lab_server_nginx},
		{"nginx-reuseport+balance", "nginx", "herd balance", &lab_server_nginx},
		{"haproxy", "haproxy", "HAProxy", &lab_server_haproxy},
		{"haproxy-shards", "haproxy", "HAProxy", &lab_server_haproxy},
		{"apache-prefork", "apache", "prefork", &lab_server_apache_prefork},
		{"apache-event", "apache", "event", &lab_server_apache_event},
		{"lighttpd", "lighttpd", "lighttpd", &lab_server_lighttpd},
	};
	for (size_t p = 0; p < sizeof peers / sizeof peers[0]; p++, i++) {
		assert_int_equal(lab_server_kind_at(i, &k), 0);
		assert_string_equal(k.name, peers[p].name);
		assert_ptr_equal(k.ops, peers[p].ops);
		assert_string_equal(k.peer, peers[p].peer);
		assert_null(k.model);
		assert_non_null(strstr(k.summary, peers[p].in_summary));
		/* Every peer says what to install and how to find its version. */
		assert_non_null(k.ops->packages);
		assert_non_null(k.ops->installed);
		assert_non_null(k.ops->version);
	}
	assert_int_equal(lab_server_kind_at(i, &k), -ENOENT);
	assert_int_equal(lab_server_kind_at(i + 1000, &k), -ENOENT);
}

/* Every name of the table resolves to its own entry; anything else does not. */
static void test_find(void **state)
{
	(void)state;
	struct lab_server_kind k, f;
	for (size_t i = 0; lab_server_kind_at(i, &k) == 0; i++) {
		assert_int_equal(lab_server_find(k.name, &f), 0);
		assert_memory_equal(&f, &k, sizeof k);
	}
	const char *bad[] = {"nosuch", "", "nginx", "NGINX-SHARED", "epoll ", "nginx-shared,epoll"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(lab_server_find(bad[i], &f), -ENOENT);
}

/* The properties come from the accept model (herd serve) or the peer's entry. */
static void test_properties(void **state)
{
	(void)state;
	struct lab_server_kind k;
	assert_int_equal(lab_server_find("epoll", &k), 0);
	assert_int_equal(k.flags, 0);
	assert_null(k.needs);
	assert_int_equal(lab_server_find("single", &k), 0);
	assert_int_equal(k.flags, LAB_SERVER_ONE_WORKER);
	assert_int_equal(lab_server_find("reuseport", &k), 0);
	assert_int_equal(k.flags, LAB_SERVER_REUSEPORT);
	assert_int_equal(lab_server_find("steer", &k), 0);
	assert_true(k.flags & LAB_SERVER_REUSEPORT);
	assert_non_null(k.needs);
	assert_non_null(strstr(k.needs, "CAP_BPF"));
	assert_int_equal(lab_server_find("uring", &k), 0);
	assert_true(k.flags & LAB_SERVER_URING);
	assert_false(k.flags & LAB_SERVER_ONE_WORKER);
	assert_int_equal(lab_server_find("nginx-shared", &k), 0);
	assert_int_equal(k.flags, 0);
	assert_int_equal(lab_server_find("nginx-reuseport", &k), 0);
	assert_int_equal(k.flags, LAB_SERVER_REUSEPORT);
	assert_int_equal(lab_server_find("haproxy", &k), 0);
	assert_int_equal(k.flags, 0);
	assert_int_equal(lab_server_find("haproxy-shards", &k), 0);
	assert_int_equal(k.flags, LAB_SERVER_REUSEPORT);
	assert_int_equal(lab_server_find("apache-prefork", &k), 0);
	assert_int_equal(k.flags, 0);
	assert_int_equal(lab_server_find("lighttpd", &k), 0);
	assert_int_equal(k.flags, LAB_SERVER_ONE_WORKER);
}

/* herd serve is always there; a peer whose binary or modules are missing
 * names the packages. */
static void test_missing(void **state)
{
	(void)state;
	struct lab_config cfg;
	lab_config_init(&cfg);
	cfg.exe = "/nonexistent/herd";
	cfg.nginx = "/nonexistent/nginx";
	struct lab_server_kind k;
	assert_int_equal(lab_server_find("fifo", &k), 0);
	assert_null(lab_server_missing(&k, &cfg));
	assert_int_equal(lab_server_find("nginx-reuseport", &k), 0);
	assert_string_equal(lab_server_missing(&k, &cfg), "nginx and libnginx-mod-http-lua");
	/* An executable but no Lua module where the modules should be. */
	cfg.nginx = "/bin/true";
	cfg.nginx_modules = "/nonexistent/modules";
	assert_string_equal(lab_server_missing(&k, &cfg), "nginx and libnginx-mod-http-lua");
	/* --peer-path: a binary that is not there is missing, whatever is
	 * installed at the Debian path. */
	const char *paths[] = {"haproxy=/nonexistent/haproxy", "apache=/nonexistent/apache2",
			       "lighttpd=/nonexistent/lighttpd"};
	cfg.peer_paths = paths;
	cfg.npeer_paths = 3;
	assert_int_equal(lab_server_find("haproxy-shards", &k), 0);
	assert_string_equal(lab_server_missing(&k, &cfg), "haproxy and lua-posix");
	assert_int_equal(lab_server_find("apache-event", &k), 0);
	assert_string_equal(lab_server_missing(&k, &cfg), "apache2-bin and lua-posix");
	assert_int_equal(lab_server_find("lighttpd", &k), 0);
	assert_string_equal(lab_server_missing(&k, &cfg), "lighttpd, lighttpd-modules-lua and lua-socket");
	char v[64];
	assert_int_not_equal(lab_server_version(&k, &cfg, v, sizeof v), 0);
	assert_int_equal(lab_server_find("fifo", &k), 0);
	assert_int_equal(lab_server_version(&k, &cfg, v, sizeof v), -ENOTSUP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_order),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_properties),
		cmocka_unit_test(test_missing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
