/* kproc.h - one kubectl process: spawned with posix_spawn, its stdout and
 * stderr read through non-blocking pipes from the recorder's epoll loop,
 * killed (with its process group) when it runs past its deadline.
 * No threads, no blocking waits. */
#ifndef KT_K8S_KPROC_H
#define KT_K8S_KPROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define KT_KPROC_ERR_MAX 4096	/* bytes of stderr kept */

struct kt_kproc {
	pid_t pid;		/* 0 when not running */
	int out_fd, err_fd;	/* -1 once at EOF and closed */
	char *out;		/* stdout so far (NUL-terminated), owned */
	size_t out_len, out_cap, out_max;
	bool out_overflow;	/* stdout passed out_max: the process is killed */
	char err[KT_KPROC_ERR_MAX + 1];
	size_t err_len;
	uint64_t started_ns;	/* CLOCK_MONOTONIC */
	uint64_t deadline_ns;	/* CLOCK_MONOTONIC, 0: none */
	bool timed_out, reaped;
	int status;		/* from waitpid once reaped */
};

/* Start argv[0] (searched in PATH when it has no '/') with stdin from
 * /dev/null, in its own process group, and register both pipes with epfd
 * (EPOLLIN, data.ptr = tag). out_max bounds stdout held at once.
 * 0, or a negative errno with the message set: "cannot run 'kubectl': ...". */
int kt_kproc_spawn(struct kt_kproc *p, char *const argv[], int epfd, void *tag,
		   size_t out_max, uint64_t timeout_ns);

/* Read what the pipes hold, enforce the deadline and reap the process when
 * it has exited. Returns true once it is finished (reaped, pipes drained). */
bool kt_kproc_poll(struct kt_kproc *p, int epfd);

/* Drop the first n bytes of stdout (a consumer parsed them). */
void kt_kproc_consume(struct kt_kproc *p, size_t n);

/* SIGKILL the process group; it is reaped by a later kt_kproc_poll(). */
void kt_kproc_kill(struct kt_kproc *p);

/* Describe how it ended: "exit status 1: <first stderr line>", "killed
 * after 30 s timeout", "killed by signal 11". The stderr line is scrubbed
 * (kt_k8s_scrub_line: no credential, no control character, valid UTF-8)
 * and cut to KT_KPROC_LINE_MAX bytes; buf gets at most len bytes (with
 * len >= KT_KPROC_LINE_MAX + 64 nothing is cut further). *scrubbed, when
 * not NULL, gets the number of secrets the line had replaced. */
#define KT_KPROC_LINE_MAX 400
const char *kt_kproc_describe(const struct kt_kproc *p, char *buf, size_t len,
			      unsigned *scrubbed);

/* Exit code 0 and not killed. */
bool kt_kproc_ok(const struct kt_kproc *p);

/* Kill if running, reap (blocking: the process was SIGKILLed), close, free. */
void kt_kproc_release(struct kt_kproc *p, int epfd);

#endif
