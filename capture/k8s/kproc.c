/* kproc.c - see kproc.h. */
#include "kproc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "manifest.h"
#include "redact.h"

extern char **environ;

static void close_fd(int *fd, int epfd)
{
	if (*fd < 0)
		return;
	if (epfd >= 0)
		epoll_ctl(epfd, EPOLL_CTL_DEL, *fd, NULL);
	close(*fd);
	*fd = -1;
}

int kt_kproc_spawn(struct kt_kproc *p, char *const argv[], int epfd, void *tag,
		   size_t out_max, uint64_t timeout_ns)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dflt;
	int out[2] = { -1, -1 }, err[2] = { -1, -1 };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };
	bool fa_init = false, attr_init = false;
	int rc = 0;

	memset(p, 0, sizeof(*p));
	p->out_fd = p->err_fd = -1;
	p->out_max = out_max;
	if (pipe2(out, O_CLOEXEC | O_NONBLOCK) < 0 || pipe2(err, O_CLOEXEC | O_NONBLOCK) < 0) {
		rc = kt_err_set(-errno, "cannot create pipe: %s", strerror(errno));
		goto out;
	}
	/* The child's ends must block: kubectl does not expect EAGAIN. */
	fcntl(out[1], F_SETFL, 0);
	fcntl(err[1], F_SETFL, 0);
	if ((rc = -posix_spawn_file_actions_init(&fa)) < 0)
		goto out;
	fa_init = true;
	if ((rc = -posix_spawnattr_init(&attr)) < 0)
		goto out;
	attr_init = true;
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	/* Own process group: a timeout kills kubectl and any credential
	 * plugin it started. Signals back to default, none blocked. */
	sigemptyset(&none);
	sigfillset(&dflt);
	sigdelset(&dflt, SIGKILL);
	sigdelset(&dflt, SIGSTOP);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dflt);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
				 POSIX_SPAWN_SETSIGDEF);
	rc = strchr(argv[0], '/') ?
		posix_spawn(&p->pid, argv[0], &fa, &attr, argv, environ) :
		posix_spawnp(&p->pid, argv[0], &fa, &attr, argv, environ);
	if (rc != 0) {
		p->pid = 0;
		rc = kt_err_set(-rc, "cannot run '%s': %s", argv[0], strerror(rc));
		goto out;
	}
	p->started_ns = kt_mono_ns();
	p->deadline_ns = timeout_ns ? p->started_ns + timeout_ns : 0;
	p->out_fd = out[0];
	p->err_fd = err[0];
	out[0] = err[0] = -1;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, p->out_fd, &ev) < 0 ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, p->err_fd, &ev) < 0) {
		rc = kt_err_set(-errno, "cannot watch kubectl output: %s", strerror(errno));
		kt_kproc_release(p, epfd);
		goto out;
	}
out:
	if (fa_init)
		posix_spawn_file_actions_destroy(&fa);
	if (attr_init)
		posix_spawnattr_destroy(&attr);
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	return rc;
}

static void read_out(struct kt_kproc *p, int epfd)
{
	char tmp[65536];

	while (p->out_fd >= 0) {
		ssize_t n = read(p->out_fd, tmp, sizeof(tmp));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close_fd(&p->out_fd, epfd);
			return;
		}
		if (p->out_len + (size_t)n > p->out_max) {
			/* More than we agreed to hold: stop this call rather
			 * than grow without bound. */
			p->out_overflow = true;
			kt_kproc_kill(p);
			close_fd(&p->out_fd, epfd);
			return;
		}
		if (p->out_len + (size_t)n + 1 > p->out_cap) {
			size_t cap = p->out_cap ? p->out_cap : 65536;
			char *nb;

			while (cap < p->out_len + (size_t)n + 1)
				cap *= 2;
			nb = realloc(p->out, cap);
			if (!nb) {
				p->out_overflow = true;
				kt_kproc_kill(p);
				close_fd(&p->out_fd, epfd);
				return;
			}
			p->out = nb;
			p->out_cap = cap;
		}
		memcpy(p->out + p->out_len, tmp, (size_t)n);
		p->out_len += (size_t)n;
		p->out[p->out_len] = 0;
	}
}

static void read_err(struct kt_kproc *p, int epfd)
{
	char tmp[4096];

	while (p->err_fd >= 0) {
		ssize_t n = read(p->err_fd, tmp, sizeof(tmp));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close_fd(&p->err_fd, epfd);
			return;
		}
		/* Keep the beginning: kubectl puts the reason first. */
		size_t room = KT_KPROC_ERR_MAX - p->err_len;
		size_t take = (size_t)n < room ? (size_t)n : room;

		memcpy(p->err + p->err_len, tmp, take);
		p->err_len += take;
		p->err[p->err_len] = 0;
	}
}

bool kt_kproc_poll(struct kt_kproc *p, int epfd)
{
	read_out(p, epfd);
	read_err(p, epfd);
	if (p->pid > 0 && !p->reaped) {
		pid_t r = waitpid(p->pid, &p->status, WNOHANG);

		if (r == p->pid) {
			p->reaped = true;
		} else if (p->deadline_ns && kt_mono_ns() > p->deadline_ns &&
			   !p->timed_out) {
			p->timed_out = true;
			kt_kproc_kill(p);
		}
	}
	if (p->reaped) {
		/* What it wrote before exiting is in the pipes: take it, then a
		 * grandchild holding them open cannot keep us waiting. */
		read_out(p, epfd);
		read_err(p, epfd);
		close_fd(&p->out_fd, epfd);
		close_fd(&p->err_fd, epfd);
		return true;
	}
	return false;
}

void kt_kproc_consume(struct kt_kproc *p, size_t n)
{
	if (n >= p->out_len) {
		p->out_len = 0;
	} else {
		memmove(p->out, p->out + n, p->out_len - n);
		p->out_len -= n;
	}
	if (p->out)
		p->out[p->out_len] = 0;
}

void kt_kproc_kill(struct kt_kproc *p)
{
	if (p->pid > 0 && !p->reaped) {
		kill(-p->pid, SIGKILL);
		kill(p->pid, SIGKILL);
	}
}

bool kt_kproc_ok(const struct kt_kproc *p)
{
	return p->reaped && !p->timed_out && !p->out_overflow &&
		WIFEXITED(p->status) && WEXITSTATUS(p->status) == 0;
}

const char *kt_kproc_describe(const struct kt_kproc *p, char *buf, size_t len,
			      unsigned *scrubbed)
{
	char line[KT_KPROC_LINE_MAX];
	const char *s = p->err, *nl;
	size_t n = p->err_len;
	unsigned found = 0;

	/* The first stderr line is kubectl's message; the rest is usually
	 * usage text or a stack. It may echo a token or an object: it is
	 * scrubbed here, so no caller can keep it unscrubbed. */
	while (n && (*s == '\n' || *s == '\r' || *s == ' ')) {
		s++;
		n--;
	}
	nl = memchr(s, '\n', n);
	if (nl)
		n = (size_t)(nl - s);
	if (n && s[n - 1] == '\r')
		n--;
	line[0] = 0;
	if (p->timed_out || (p->reaped && !p->out_overflow))	/* the cases that show it */
		found = kt_k8s_scrub_line(s, n, line, sizeof(line));
	if (scrubbed)
		*scrubbed = found;
	if (p->timed_out)
		snprintf(buf, len, "killed after %.0f s timeout%s%s",
			 (double)(p->deadline_ns - p->started_ns) / 1e9,
			 line[0] ? ": " : "", line);
	else if (p->out_overflow)
		snprintf(buf, len, "output larger than %zu bytes", p->out_max);
	else if (p->reaped && WIFSIGNALED(p->status))
		snprintf(buf, len, "killed by signal %d%s%s", WTERMSIG(p->status),
			 line[0] ? ": " : "", line);
	else if (p->reaped && WIFEXITED(p->status))
		snprintf(buf, len, "exit status %d%s%s", WEXITSTATUS(p->status),
			 line[0] ? ": " : "", line);
	else
		snprintf(buf, len, "still running");
	return buf;
}

void kt_kproc_release(struct kt_kproc *p, int epfd)
{
	if (p->pid > 0 && !p->reaped) {
		kt_kproc_kill(p);
		while (waitpid(p->pid, &p->status, 0) < 0 && errno == EINTR)
			;
		p->reaped = true;
	}
	close_fd(&p->out_fd, epfd);
	close_fd(&p->err_fd, epfd);
	free(p->out);
	p->out = NULL;
	p->out_len = p->out_cap = 0;
}
