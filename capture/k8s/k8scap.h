/* k8scap.h - Kubernetes objects over a recording, through the user's kubectl.
 *
 * Snapshots (every listed resource plus the server version) at start, every
 * interval and at stop; between them `kubectl get --watch` streams for pods,
 * endpointslices and events. Every call has a timeout; at most max_parallel
 * list calls run at once (the three watches are long-lived streams on top).
 * A call that fails (RBAC, missing kubectl, timeout, crash, bad output) is
 * recorded in k8s/errors.jsonl and the report, and the others go on.
 * Everything is redacted (redact.h) before it is written. Layout:
 * formats/SPEC-k8s.md.
 *
 * Single-threaded: the caller polls kt_k8scap_fd() in its epoll loop and
 * calls kt_k8scap_poll() when it is readable and on every tick.
 */
#ifndef KT_K8SCAP_H
#define KT_K8SCAP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where files go: the spool in ktcap (kt_spool_write_file and
 * kt_spool_append_file), a plain directory in tests. relpath is relative
 * ("k8s/snapshots/000001/pods/default.json"). 0 or a negative errno. */
struct kt_k8s_sink {
	int (*write_file)(void *ctx, const char *relpath, const void *data, size_t len);
	int (*append_file)(void *ctx, const char *relpath, const void *data, size_t len);
	void *ctx;
};

struct kt_k8scap_opts {
	const char *kubectl;		/* default "kubectl" from PATH */
	const char *kubeconfig;		/* --kubeconfig; KUBECONFIG is inherited */
	const char *context;
	const char *ns;			/* NULL: all namespaces */
	const char *node;		/* limit pods to this node */
	uint64_t interval_ns;		/* 0: snapshots at start and stop only */
	uint64_t call_timeout_ns;	/* default 30 s */
	unsigned max_parallel;		/* list calls at once, default 3 */
	size_t max_output;		/* bytes of one call's output, default 256 MiB */
	bool no_redact;			/* Secrets are dropped regardless */
	bool no_watch;
	const char *const *from;	/* --k8s-from paths, NULL-terminated */
	const char *const *resources;	/* override the list (tests), NULL-terminated */
};

struct kt_k8scap;

/* opts and sink are copied. Nothing runs until kt_k8scap_start(). */
int kt_k8scap_new(struct kt_k8scap **out, const struct kt_k8scap_opts *opts,
		  const struct kt_k8s_sink *sink);

/* Import --k8s-from dumps, then start the first snapshot and the watches.
 * Fails only when nothing can work (no epoll); kubectl problems are
 * recorded, not returned. */
int kt_k8scap_start(struct kt_k8scap *c);

/* An epoll fd, readable when any kubectl has output or has exited. */
int kt_k8scap_fd(const struct kt_k8scap *c);

/* Read output, finish calls, start queued ones, start the next snapshot when
 * the interval has passed. 0, or a negative errno when the sink fails. */
int kt_k8scap_poll(struct kt_k8scap *c);

/* Take the final snapshot (waiting up to the call timeout per call), stop
 * the watches, and fill report (sources.k8s in the manifest). */
int kt_k8scap_stop(struct kt_k8scap *c, json_t *report);

/* Snapshots finished so far. */
unsigned kt_k8scap_snapshots(const struct kt_k8scap *c);

/* Watch events written so far, and failed calls (for the status line). */
void kt_k8scap_counts(const struct kt_k8scap *c, uint64_t *events, uint64_t *errors);

void kt_k8scap_free(struct kt_k8scap *c);

/* Import dumps people already have (the --k8s-from shapes) through sink,
 * redacted unless no_redact, without running kubectl: what `ktana import
 * --k8s` does. report gets "imports" (per path: files, objects, errors),
 * "errors", "redaction" and "status" (ok, partial, failed). Fails only when
 * the sink does; unreadable inputs are in the report. */
int kt_k8s_import(const char *const *paths, bool no_redact,
		  const struct kt_k8s_sink *sink, json_t *report);

/* A sink writing into a directory (atomic files through rename, appends with
 * O_APPEND), for tests and for tools without a spool. dir must exist. */
int kt_k8s_dir_sink(struct kt_k8s_sink *sink, const char *dir);
void kt_k8s_dir_sink_free(struct kt_k8s_sink *sink);

#endif
