/*
 * balance.c - loader for `herd balance`'s program (bpf/balance.bpf.c):
 * open the skeleton -> set the configuration (stall threshold, the wait
 * syscalls' numbers) -> load (where the kernel checks privileges) -> mmap
 * the slots -> attach the worker tracepoint (sched_switch); then sockets are registered (socket
 * array first, cookie last) and the program is attached to each group
 * through one of its sockets. Also the group iterator's runner, the
 * privilege and kernel checks, and pinning.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../../bpf/reuseport_load.h"
#include "balance/balance.h"
#include "lib/util.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif
#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

/* linux/capability.h numbers. */
#define CAP_NET_ADMIN_BIT 12
#define CAP_SYS_PTRACE_BIT 19
#define CAP_SYS_ADMIN_BIT 21
#define CAP_PERFMON_BIT 38
#define CAP_BPF_BIT 39

unsigned balance_caps_missing(void)
{
	unsigned long long eff = 0;
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");
	unsigned missing = 0;
	bool admin;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	if (f)
		fclose(f);
	admin = (eff >> CAP_SYS_ADMIN_BIT) & 1;
	if (!admin && !((eff >> CAP_BPF_BIT) & 1))
		missing |= BALANCE_CAP_BPF;
	if (!admin && !((eff >> CAP_PERFMON_BIT) & 1))
		missing |= BALANCE_CAP_PERFMON;
	if (!((eff >> CAP_NET_ADMIN_BIT) & 1))
		missing |= BALANCE_CAP_NET_ADMIN;
	if (!((eff >> CAP_SYS_PTRACE_BIT) & 1))
		missing |= BALANCE_CAP_SYS_PTRACE;
	return missing;
}

#ifdef HERD_BALANCE_BPF
/* The generated skeleton embeds the BPF object as one long string literal,
 * longer than ISO C promises to support (gcc and clang both cope). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverlength-strings"
#include "balance.skel.h"
#pragma GCC diagnostic pop

struct balance {
	struct balance_bpf *skel;
	struct balance_slot *slots; /* mmap of balance_slots */
	size_t map_len;
	struct bpf_link *link; /* the sched_switch tracepoint */
	bool used[BALANCE_MAX_SLOTS];
};

static bool balance_verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!balance_verbose || level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void quiet(bool verbose)
{
	balance_verbose = verbose;
	libbpf_set_print(libbpf_print);
}

int balance_kernel_check(void)
{
	int r;

	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		return -ENOENT;
	quiet(false);
	r = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SK_REUSEPORT, NULL);
	if (r < 0)
		return r;
	return r == 1 ? 0 : -EOPNOTSUPP;
}

/* Opens the skeleton with only the programs in want loaded. */
static struct balance_bpf *open_with(struct bpf_program *const *want, size_t nwant, struct balance_bpf *sk)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, sk->obj)
	{
		bool on = false;
		for (size_t i = 0; i < nwant; i++)
			on = on || want[i] == p;
		bpf_program__set_autoload(p, on);
	}
	return sk;
}

struct balance_finder {
	struct balance_bpf *skel;
	struct bpf_link *link;
};

int balance_finder_open(struct balance_finder **fp, const uint16_t *ports, unsigned nports, bool verbose)
{
	struct balance_finder *f;
	int err;

	if (!fp || !ports || nports == 0 || nports > BALANCE_MAX_PORTS)
		return -EINVAL;
	*fp = NULL;
	quiet(verbose);
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->skel = balance_bpf__open();
	if (!f->skel) {
		err = -errno;
		goto fail;
	}
	open_with(&f->skel->progs.balance_groups, 1, f->skel);
	for (unsigned i = 0; i < nports; i++)
		f->skel->rodata->balance_ports[i] = ports[i];
	f->skel->rodata->balance_nports = nports;
	/* Loading parses the kernel's BTF (tens of ms): done once, so that a
	 * scan after a listener came or went costs only the walk. */
	err = balance_bpf__load(f->skel);
	if (err)
		goto fail;
	f->link = bpf_program__attach_iter(f->skel->progs.balance_groups, NULL);
	if (!f->link) {
		err = -errno;
		goto fail;
	}
	*fp = f;
	return 0;
fail:
	balance_finder_close(f);
	return err < 0 ? err : -EINVAL;
}

int balance_finder_read(struct balance_finder *f, struct balance_scan *s)
{
	struct balance_sockrec r;
	size_t got = 0;
	int err = 0, fd;

	if (!f || !s)
		return -EINVAL;
	s->n = 0;
	fd = bpf_iter_create(bpf_link__fd(f->link));
	if (fd < 0)
		return -errno;
	/* The iterator writes whole records; a read returns as many as fit. */
	for (;;) {
		ssize_t n = read(fd, (char *)&r + got, sizeof(r) - got);
		struct balance_listener *l;
		void *p;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got < sizeof(r))
			continue;
		got = 0;
		p = util_grow(s->ls, &s->cap, s->n + 1, sizeof(*s->ls));
		if (!p) {
			err = -ENOMEM;
			break;
		}
		s->ls = p;
		l = &s->ls[s->n++];
		memset(l, 0, sizeof(*l));
		l->ino = r.ino;
		l->cookie = r.cookie;
		l->group = r.group;
		l->port = r.port;
		l->family = r.family;
		l->backlog = r.backlog;
		l->max_backlog = r.max_backlog;
		l->has_prog = r.has_prog != 0;
		l->prog_id = r.prog_id;
		l->prog_type = r.prog_type;
		memcpy(l->prog_name, r.prog_name, sizeof(l->prog_name));
		l->prog_name[sizeof(l->prog_name) - 1] = '\0';
		l->holder_fd = -1;
	}
	close(fd);
	return err;
}

void balance_finder_close(struct balance_finder *f)
{
	if (!f)
		return;
	bpf_link__destroy(f->link);
	balance_bpf__destroy(f->skel);
	free(f);
}

/* The syscalls in which a worker waits for work: the list steer's loader
 * uses too (bpf/reuseport_load.h). */
static void set_wait_nrs(struct balance_bpf *sk)
{
	for (unsigned i = 0; i < RL_MAX_WAIT_NR; i++)
		sk->rodata->balance_wait_nr[i] = rl_wait_nr(i);
}

/* Whether pid sleeps in a wait syscall right now (/proc/PID/syscall: the
 * number, or "running"), for a worker's state until its next context
 * switch shows it. Unreadable: assumed waiting, as if it were not known. */
static bool waits_now(pid_t pid)
{
	char path[64], buf[64];
	long nr;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	if (sscanf(buf, "%ld", &nr) != 1)
		return false; /* "running" */
	for (unsigned i = 0; i < RL_MAX_WAIT_NR; i++)
		if (rl_wait_nr(i) >= 0 && rl_wait_nr(i) == nr)
			return true;
	return false;
}

int balance_open(struct balance **bp, const struct balance_config *cfg)
{
	struct bpf_program *want[2];
	struct balance *b;
	long page = sysconf(_SC_PAGESIZE);
	size_t nwant = 0;
	void *map;
	int err;

	if (!bp || !cfg || page <= 0)
		return -EINVAL;
	*bp = NULL;
	quiet(cfg->verbose);
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->skel = balance_bpf__open();
	if (!b->skel) {
		err = -errno;
		goto fail;
	}
	want[nwant++] = b->skel->progs.balance_select;
	if (cfg->busy)
		want[nwant++] = b->skel->progs.balance_switch;
	open_with(want, nwant, b->skel);
	b->skel->rodata->balance_stall_ns = cfg->stall_ns;
	b->skel->rodata->balance_stale_ns = cfg->stale_ns;
	set_wait_nrs(b->skel);
	/* EPERM without CAP_BPF/CAP_NET_ADMIN (maps, the sk_reuseport type)
	 * or CAP_PERFMON (the probe reads, a pointer kept as a number, the
	 * tracepoint). */
	err = balance_bpf__load(b->skel);
	if (err)
		goto fail;
	b->map_len = (BALANCE_MAX_SLOTS * sizeof(struct balance_slot) + (size_t)page - 1) / (size_t)page * (size_t)page;
	map = mmap(NULL, b->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(b->skel->maps.balance_slots), 0);
	if (map == MAP_FAILED) {
		err = -errno;
		goto fail;
	}
	b->slots = map;
	if (cfg->busy) {
		b->link = bpf_program__attach(b->skel->progs.balance_switch);
		if (!b->link) {
			err = -errno;
			goto fail;
		}
	}
	*bp = b;
	return 0;
fail:
	balance_close(b);
	return err < 0 ? err : -EINVAL;
}

int balance_add(struct balance *b, int fd, unsigned *slotp)
{
	__u64 value = (__u64)fd, cookie = 0;
	socklen_t len = sizeof(cookie);
	struct balance_slot *s;
	__u32 key;

	if (!b || fd < 0 || !slotp)
		return -EINVAL;
	for (key = 0; key < BALANCE_MAX_SLOTS && b->used[key]; key++)
		;
	if (key == BALANCE_MAX_SLOTS)
		return -ENOSPC;
	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len) != 0)
		return -errno;
	/* The socket array keeps its back pointer in sk_user_data, so a
	 * socket can be in one array only: EBUSY says another program (a
	 * second herd balance, herd serve's steer) already has it. EINVAL:
	 * not a listening socket of a reuseport group. */
	if (bpf_map_update_elem(bpf_map__fd(b->skel->maps.balance_socks), &key, &value, BPF_NOEXIST) != 0)
		return -errno;
	s = &b->slots[key];
	memset(s, 0, sizeof(*s));
	__atomic_store_n(&s->cookie, cookie, __ATOMIC_RELEASE);
	/* Last: from here on the program can choose it. */
	if (bpf_map_update_elem(bpf_map__fd(b->skel->maps.balance_cookies), &cookie, &key, BPF_ANY) != 0) {
		int err = -errno;
		bpf_map_delete_elem(bpf_map__fd(b->skel->maps.balance_socks), &key);
		s->cookie = 0;
		return err;
	}
	b->used[key] = true;
	*slotp = key;
	return 0;
}

int balance_set_worker(struct balance *b, unsigned slot, pid_t tgid)
{
	struct balance_slot *s;
	__u32 key = slot, old, t;

	if (!b || slot >= BALANCE_MAX_SLOTS || !b->used[slot] || tgid < 0)
		return -EINVAL;
	s = &b->slots[slot];
	old = (__u32)s->tgid;
	if (old == (__u32)tgid)
		return 0;
	if (old) {
		__u32 cur;
		if (bpf_map_lookup_elem(bpf_map__fd(b->skel->maps.balance_tgids), &old, &cur) == 0 && cur == key)
			bpf_map_delete_elem(bpf_map__fd(b->skel->maps.balance_tgids), &old);
	}
	/* Unknown first, then the new worker's state, then the worker: the
	 * program never reads a busy mark of the old worker as the new one's. */
	__atomic_store_n(&s->tgid, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&s->busy_since, 0, __ATOMIC_RELEASE);
	if (!tgid)
		return 0;
	if (!waits_now(tgid)) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts); /* bpf_ktime_get_ns()'s clock */
		__atomic_store_n(&s->busy_since, ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) | 1,
				 __ATOMIC_RELEASE);
	}
	t = (__u32)tgid;
	if (bpf_map_update_elem(bpf_map__fd(b->skel->maps.balance_tgids), &t, &key, BPF_ANY) != 0)
		return -errno;
	__atomic_store_n(&s->tgid, (__u64)tgid, __ATOMIC_RELEASE);
	return 0;
}

int balance_remove(struct balance *b, unsigned slot)
{
	struct balance_slot *s;
	__u32 key = slot;
	__u64 cookie;

	if (!b || slot >= BALANCE_MAX_SLOTS || !b->used[slot])
		return -EINVAL;
	balance_set_worker(b, slot, 0);
	s = &b->slots[slot];
	cookie = s->cookie;
	bpf_map_delete_elem(bpf_map__fd(b->skel->maps.balance_cookies), &cookie);
	/* The kernel takes a closed listener out of the array itself. */
	if (bpf_map_delete_elem(bpf_map__fd(b->skel->maps.balance_socks), &key) != 0 && errno != ENOENT)
		return -errno;
	memset(s, 0, sizeof(*s));
	b->used[slot] = false;
	return 0;
}

int balance_readd(struct balance *b, unsigned slot, int fd)
{
	__u64 value = (__u64)fd;
	__u32 key = slot;

	if (!b || slot >= BALANCE_MAX_SLOTS || !b->used[slot] || fd < 0)
		return -EINVAL;
	if (bpf_map_update_elem(bpf_map__fd(b->skel->maps.balance_socks), &key, &value, BPF_ANY) != 0)
		return -errno;
	return 0;
}

int balance_attach(struct balance *b, int fd)
{
	int prog_fd;

	if (!b || fd < 0)
		return -EINVAL;
	prog_fd = bpf_program__fd(b->skel->progs.balance_select);
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &prog_fd, sizeof(prog_fd)) != 0)
		return -errno;
	return 0;
}

/* Pinned objects: program, maps (the .bss one holds the counters). */
static const char *const pin_names[] = {"balance_select",  "balance_slots", "balance_socks",
					"balance_cookies", "balance_tgids", "balance_bss"};

static struct bpf_map *pin_map(struct balance *b, size_t i)
{
	struct bpf_map *maps[] = {NULL,
				  b->skel->maps.balance_slots,
				  b->skel->maps.balance_socks,
				  b->skel->maps.balance_cookies,
				  b->skel->maps.balance_tgids,
				  b->skel->maps.bss};
	return maps[i];
}

int balance_pin(struct balance *b, const char *dir)
{
	char path[4096];
	int err;

	if (!b || !dir)
		return -EINVAL;
	err = balance_check_bpffs(dir);
	if (err)
		return err;
	for (unsigned i = 0; i < BALANCE_MAX_SLOTS; i++)
		if (b->used[i])
			balance_set_worker(b, i, 0);
	for (size_t i = 0; i < sizeof(pin_names) / sizeof(pin_names[0]); i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, pin_names[i]) >= (int)sizeof(path))
			return -ENAMETOOLONG;
		err = i == 0 ? bpf_program__pin(b->skel->progs.balance_select, path)
			     : bpf_map__pin(pin_map(b, i), path);
		if (err) {
			balance_unpin(dir);
			return err;
		}
	}
	return 0;
}
#else
struct balance {
	int unused;
};

int balance_kernel_check(void)
{
	return -ENOPKG;
}

struct balance_finder {
	int unused;
};

int balance_finder_open(struct balance_finder **fp, const uint16_t *ports, unsigned nports, bool verbose)
{
	(void)ports;
	(void)nports;
	(void)verbose;
	if (fp)
		*fp = NULL;
	return -ENOPKG;
}

int balance_finder_read(struct balance_finder *f, struct balance_scan *s)
{
	(void)f;
	(void)s;
	return -ENOPKG;
}

void balance_finder_close(struct balance_finder *f)
{
	free(f);
}

int balance_open(struct balance **bp, const struct balance_config *cfg)
{
	(void)cfg;
	if (bp)
		*bp = NULL;
	return -ENOPKG;
}

int balance_add(struct balance *b, int fd, unsigned *slot)
{
	(void)b;
	(void)fd;
	(void)slot;
	return -ENOPKG;
}

int balance_set_worker(struct balance *b, unsigned slot, pid_t tgid)
{
	(void)b;
	(void)slot;
	(void)tgid;
	return -ENOPKG;
}

int balance_remove(struct balance *b, unsigned slot)
{
	(void)b;
	(void)slot;
	return -ENOPKG;
}

int balance_readd(struct balance *b, unsigned slot, int fd)
{
	(void)b;
	(void)slot;
	(void)fd;
	return -ENOPKG;
}

int balance_attach(struct balance *b, int fd)
{
	(void)b;
	(void)fd;
	return -ENOPKG;
}

static const char *const pin_names[] = {"balance_select",  "balance_slots", "balance_socks",
					"balance_cookies", "balance_tgids", "balance_bss"};

int balance_pin(struct balance *b, const char *dir)
{
	(void)b;
	(void)dir;
	return -ENOPKG;
}
#endif

int balance_groups_read(const uint16_t *ports, unsigned nports, struct balance_scan *s, bool verbose)
{
	struct balance_finder *f;
	int err = balance_finder_open(&f, ports, nports, verbose);

	if (!err)
		err = balance_finder_read(f, s);
	balance_finder_close(f);
	return err;
}

int balance_detach(int fd)
{
	int one = 1;

	if (setsockopt(fd, SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, &one, sizeof(one)) != 0)
		return -errno;
	return 0;
}

int balance_check_bpffs(const char *dir)
{
	struct statfs fs;
	struct stat st;

	if (stat(dir, &st) != 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (statfs(dir, &fs) != 0)
		return -errno;
	return (unsigned long)fs.f_type == (unsigned long)BPF_FS_MAGIC ? 0 : -EMEDIUMTYPE;
}

int balance_unpin(const char *dir)
{
	char path[4096];
	int n = 0;

	for (size_t i = 0; i < sizeof(pin_names) / sizeof(pin_names[0]); i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, pin_names[i]) >= (int)sizeof(path))
			return -ENAMETOOLONG;
		if (unlink(path) == 0)
			n++;
		else if (errno != ENOENT)
			return -errno;
	}
	return n;
}

const struct balance_slot *balance_slots(const struct balance *b)
{
#ifdef HERD_BALANCE_BPF
	return b ? b->slots : NULL;
#else
	(void)b;
	return NULL;
#endif
}

void balance_counters(const struct balance *b, struct balance_counters *c)
{
	memset(c, 0, sizeof(*c));
#ifdef HERD_BALANCE_BPF
	if (!b || !b->skel->bss)
		return;
	c->fallbacks = __atomic_load_n(&b->skel->bss->balance_fallbacks, __ATOMIC_RELAXED);
	c->unknown = __atomic_load_n(&b->skel->bss->balance_unknown, __ATOMIC_RELAXED);
	c->migrations = __atomic_load_n(&b->skel->bss->balance_migrations, __ATOMIC_RELAXED);
#else
	(void)b;
#endif
}

uint32_t balance_prog_id(const struct balance *b)
{
#ifdef HERD_BALANCE_BPF
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	if (!b)
		return 0;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(bpf_program__fd(b->skel->progs.balance_select), &info, &len) != 0)
		return 0;
	return info.id;
#else
	(void)b;
	return 0;
#endif
}

void balance_close(struct balance *b)
{
	if (!b)
		return;
#ifdef HERD_BALANCE_BPF
	bpf_link__destroy(b->link);
	if (b->slots)
		munmap(b->slots, b->map_len);
	balance_bpf__destroy(b->skel);
#endif
	free(b);
}
