/*
 * transport.h - the byte stream under one bench connection: plain TCP or TLS.
 *
 * The engine talks to a connection only through these operations (as wrk's
 * src/net.h does), so the HTTP side never knows whether bytes are encrypted,
 * and another stream (HTTP/2 framing on top of TLS, a Unix socket) is one
 * more table. Every call is non-blocking: -EAGAIN means "call again on the
 * next readiness edge" whichever direction the transport is waiting for (the
 * engine registers each socket for both with EPOLLET, so a TLS handshake that
 * wants to read while we want to write is not a special case).
 */
#ifndef HERD_BENCH_TRANSPORT_H
#define HERD_BENCH_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct ssl_st;
struct ssl_session_st;
struct bench_tls;

/* One connection's transport state. fd is the connected socket (or -1). */
struct bench_xport {
	int fd;
	const struct bench_xport_ops *ops;
	struct ssl_st *ssl;		/* TLS only */
	struct ssl_session_st *session; /* TLS resumption: kept across reconnects of this slot */
	const char *error;		/* why the last call failed (static text), or NULL */
};

struct bench_xport_ops {
	const char *name; /* "tcp", "tls" */
	/* Completes the transport's own handshake after the TCP connect:
	 * 0 done, -EAGAIN not yet, another negative errno on failure (x->error
	 * says why). */
	int (*handshake)(struct bench_xport *x);
	/* Reads up to len bytes: the count, 0 at the end of the stream, -EAGAIN,
	 * or a negative errno. */
	ssize_t (*read)(struct bench_xport *x, void *buf, size_t len);
	/* Writes up to len bytes: the count, -EAGAIN, or a negative errno. A
	 * write that returned -EAGAIN must be retried with the same bytes. */
	ssize_t (*write)(struct bench_xport *x, const void *buf, size_t len);
	/* Closes the connection (fd becomes -1); keeps x->session. */
	void (*close)(struct bench_xport *x);
	/* True when a read shorter than asked for means the socket is empty
	 * (plain TCP). TLS returns one record per read: keep reading until
	 * -EAGAIN, or decrypted bytes would sit unread with no edge to come. */
	bool short_read_drains;
};

extern const struct bench_xport_ops bench_xport_tcp;
extern const struct bench_xport_ops bench_xport_tls;

/* TLS settings shared by every connection of a run (an SSL_CTX). */
struct bench_tls_options {
	bool verify;	     /* check the certificate chain and the host name */
	const char *ca_file; /* trust these certificates (PEM) instead of the system store; NULL: system */
	bool resume;	     /* offer the slot's previous session when it reconnects */
	bool h2;	     /* offer only "h2" in ALPN (an HTTP/2 run: the server must choose it) */
};

/* Creates the shared TLS context. Returns 0 or a negative errno; *why gets a
 * static reason on failure (e.g. an unreadable ca_file). */
int bench_tls_new(const struct bench_tls_options *o, struct bench_tls **out, const char **why);
void bench_tls_free(struct bench_tls *t);

/* Turns a connected socket into a TLS client connection for server name sni
 * (sent as SNI unless it is an IP address; checked against the certificate
 * when verifying). x->fd must be set. Returns 0 or -ENOMEM. */
int bench_tls_attach(struct bench_xport *x, struct bench_tls *t, const char *sni);

/* Whether the server chose "h2" in ALPN on x's handshake. */
bool bench_tls_alpn_h2(const struct bench_xport *x);

/* Whether the last handshake on x resumed a session. */
bool bench_tls_resumed(const struct bench_xport *x);

/* Frees the slot's kept session (at the end of the run). */
void bench_xport_forget(struct bench_xport *x);

#endif
