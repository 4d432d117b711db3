/* recorder.c - the recording loop (recorder.h). */
#include "recorder.h"
#include "cli.h"
#include "error.h"
#include "manifest.h"
#include "pack.h"
#include "sources.h"
#include "spool.h"

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_SOURCES 8
#define TICK_NS 100000000ull		/* 100 ms */
#define FLUSH_EVERY_NS 1000000000ull	/* what a kill can lose at most */
#define DRAFT_EVERY_NS 5000000000ull

struct running {
	const struct kt_source_ops *ops;
	void *state;
	int fd;
	bool failed;
};

static const char *spool_for_message;

struct loop {
	struct running *src;
	unsigned n;
};

/* ctx->trouble: every running source that wants trouble hears of it. */
static void dispatch_trouble(struct kt_record_ctx *ctx, const struct kt_trouble *t)
{
	struct loop *l = ctx->loop;

	for (unsigned i = 0; l && i < l->n; i++)
		if (!l->src[i].failed && l->src[i].state && l->src[i].ops->on_trouble)
			l->src[i].ops->on_trouble(l->src[i].state, ctx, t);
}

/* After the first signal, a second SIGINT ends us at once: the spool stays. */
static void second_signal(int sig)
{
	static const char a[] = "\nktcap: stopped at once: the spool is kept in '";
	static const char b[] = "'; pack it with 'ktcap pack SPOOL -o BUNDLE'\n";
	ssize_t r;

	(void)sig;
	r = write(STDERR_FILENO, a, sizeof(a) - 1);
	r = write(STDERR_FILENO, spool_for_message, strlen(spool_for_message));
	r = write(STDERR_FILENO, b, sizeof(b) - 1);
	(void)r;
	_exit(130);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void status_line(struct running *src, unsigned n, struct kt_spool *sp,
			uint64_t elapsed_ns)
{
	struct kt_source_stats total = { 0 };
	double mib = (double)kt_spool_bytes(sp) / (1 << 20);

	for (unsigned i = 0; i < n; i++) {
		struct kt_source_stats s = { 0 };

		if (src[i].failed || !src[i].ops->stats)
			continue;
		src[i].ops->stats(src[i].state, &s);
		total.events += s.events;
		total.lost += s.lost;
	}
	kt_cli_progress("recording %02" PRIu64 ":%02" PRIu64 "  records %" PRIu64
			"  lost %" PRIu64 "  spool %.1f MiB  (Ctrl-C to stop)",
			elapsed_ns / UINT64_C(60000000000), elapsed_ns / UINT64_C(1000000000) % 60,
			kt_spool_records(sp), total.lost, mib);
}

static void fail_source(struct kt_record_ctx *ctx, struct running *r, int err, const char *when)
{
	char msg[1200];

	snprintf(msg, sizeof(msg), "%s: %s", when, kt_err_msg(err));
	r->failed = true;
	kt_manifest_set_source(ctx->manifest, r->ops->name, "failed", msg, NULL);
	if (!kt_cli.quiet)
		fprintf(stderr, "%sktcap: source '%s' %s\n", kt_cli_tty() ? "\r\033[K" : "",
			r->ops->name, msg);
}

int kt_record_run(const struct kt_record_opts *opts, const char *const *names,
		  const char *spool_dir, json_t *options, struct kt_record_result *res)
{
	struct running src[MAX_SOURCES] = { 0 };
	struct kt_record_ctx ctx = { .opts = opts, .trouble = dispatch_trouble };
	struct loop loop = { src, 0 };
	struct kt_pack_opts po = { .finished = true };
	struct kt_pack_result pr;
	unsigned n = 0;
	int efd = -1, sfd = -1, tfd = -1, err = 0;
	sigset_t mask;
	uint64_t t0, last_flush, last_draft, last_status = 0, now;
	bool stop = false;

	memset(res, 0, sizeof(*res));
	spool_for_message = spool_dir;
	for (; names[n]; n++) {
		if (n == MAX_SOURCES)
			return kt_err_set(-E2BIG, "too many sources");
		if (!(src[n].ops = kt_source_find(names[n])))
			return kt_err_set(-EINVAL, "unknown source '%s'", names[n]);
		src[n].fd = -1;
	}
	loop.n = n;
	ctx.loop = &loop;
	if ((err = kt_spool_create(&ctx.spool, spool_dir, NULL)))
		return err;
	ctx.manifest = kt_manifest_new("ktcap");
	if (!ctx.manifest) {
		err = kt_err_set(-ENOMEM, "out of memory");
		goto out;
	}
	if (opts->node_name)
		json_object_set_new(json_object_get(ctx.manifest, "host"), "node_name",
				    json_string(opts->node_name));
	json_object_set(ctx.manifest, "options", options);
	kt_manifest_clock_sample(ctx.manifest, "start", &ctx.boot_to_utc_ns);
	ctx.start_ns = kt_now_ns();
	kt_manifest_set_window(ctx.manifest, ctx.start_ns, ctx.start_ns);
	if ((err = kt_spool_save_manifest(ctx.spool, ctx.manifest)))
		goto out;

	/* signals first, so a Ctrl-C during a slow start still stops cleanly */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	efd = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || tfd < 0 || efd < 0) {
		err = kt_err_set(-errno, "cannot set up the event loop: %s", strerror(errno));
		goto out;
	}
	{
		struct itimerspec its = { { 0, (long)TICK_NS }, { 0, (long)TICK_NS } };
		struct epoll_event ev = { .events = EPOLLIN };

		timerfd_settime(tfd, 0, &its, NULL);
		ev.data.u32 = 1000;
		epoll_ctl(efd, EPOLL_CTL_ADD, sfd, &ev);
		ev.data.u32 = 1001;
		epoll_ctl(efd, EPOLL_CTL_ADD, tfd, &ev);
	}

	for (unsigned i = 0; i < n; i++) {
		kt_err_clear();
		err = src[i].ops->start(&ctx, &src[i].state);
		if (err) {
			fail_source(&ctx, &src[i], err, "cannot start");
			err = 0;
			continue;
		}
		kt_manifest_set_source(ctx.manifest, src[i].ops->name, "running", NULL, NULL);
		src[i].fd = src[i].ops->fd ? src[i].ops->fd(src[i].state) : -1;
		if (src[i].fd >= 0) {
			struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };

			if (epoll_ctl(efd, EPOLL_CTL_ADD, src[i].fd, &ev))
				src[i].fd = -1;	/* served by the tick alone */
		}
		res->sources_ok++;
	}
	kt_spool_save_manifest(ctx.spool, ctx.manifest);

	t0 = last_flush = last_draft = kt_mono_ns();
	res->stop_reason = "signal";
	while (!stop) {
		struct epoll_event evs[16];
		int k = epoll_wait(efd, evs, 16, 1000);
		bool tick = false;

		if (k < 0 && errno != EINTR) {
			err = kt_err_set(-errno, "event loop failed: %s", strerror(errno));
			break;
		}
		for (int e = 0; e < k; e++) {
			uint32_t id = evs[e].data.u32;

			if (id == 1000) {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) == sizeof(si))
					;
				stop = true;
				res->stop_reason = "signal";
			} else if (id == 1001) {
				uint64_t ticks;

				if (read(tfd, &ticks, sizeof(ticks)) < 0)
					(void)0;
				tick = true;
			} else if (id < n && !src[id].failed && src[id].ops->poll) {
				int r = src[id].ops->poll(src[id].state, &ctx);

				if (r)
					fail_source(&ctx, &src[id], r, "stopped");
			}
		}
		if (!tick)
			continue;
		now = kt_mono_ns();
		for (unsigned i = 0; i < n; i++) {
			if (src[i].failed || !src[i].ops->poll)
				continue;
			if ((err = src[i].ops->poll(src[i].state, &ctx))) {
				fail_source(&ctx, &src[i], err, "stopped");
				err = 0;
			}
		}
		if (now - last_flush >= FLUSH_EVERY_NS) {
			if ((err = kt_spool_flush(ctx.spool)))
				break;
			last_flush = now;
		}
		if (now - last_draft >= DRAFT_EVERY_NS) {
			kt_manifest_set_window(ctx.manifest, ctx.start_ns, kt_now_ns());
			kt_spool_save_manifest(ctx.spool, ctx.manifest);
			last_draft = now;
		}
		if (opts->duration_ns && now - t0 >= opts->duration_ns) {
			stop = true;
			res->stop_reason = "duration";
		}
		if (opts->max_size && kt_spool_bytes(ctx.spool) >= opts->max_size) {
			stop = true;
			res->stop_reason = "size limit";
		}
		if (now - last_status >= 1000000000ull) {
			status_line(src, n, ctx.spool, now - t0);
			last_status = now;
		}
	}
	if (kt_cli_tty())
		fputs("\r\033[K", stderr);

	/* From here a second Ctrl-C means: stop now, keep the spool. */
	signal(SIGINT, second_signal);
	signal(SIGTERM, second_signal);
	sigprocmask(SIG_UNBLOCK, &mask, NULL);

	/* Sources that hear of trouble stop last, whatever the order asked
	 * for: the last events of the others (the eBPF source's final drain)
	 * may be trouble, and its packets must still be written. */
	for (unsigned j = 0; j < 2 * n; j++) {
		unsigned i = j % n;
		json_t *report;
		struct kt_source_stats s = { 0 };
		int r;

		if ((j < n) != !src[i].ops->on_trouble)
			continue;
		if (src[i].failed || !src[i].state) {
			res->sources_failed += src[i].failed;
			continue;
		}
		report = json_object();
		r = src[i].ops->stop(src[i].state, &ctx, report);
		if (src[i].ops->stats) {
			src[i].ops->stats(src[i].state, &s);
			res->lost += s.lost;
		}
		if (r) {
			json_decref(report);
			fail_source(&ctx, &src[i], r, "failed while stopping");
			res->sources_failed++;
			continue;
		}
		if (!json_object_get(report, "status"))
			json_object_set_new(report, "status", json_string("ok"));
		json_object_update(json_object_get(json_object_get(ctx.manifest, "sources"),
						   src[i].ops->name), report);
		json_decref(report);
	}
	json_object_set_new(ctx.manifest, "stop_reason", json_string(res->stop_reason));
	kt_manifest_clock_sample(ctx.manifest, "end", NULL);
	kt_manifest_set_window(ctx.manifest, ctx.start_ns, kt_now_ns());
	json_object_set_new(ctx.manifest, "complete", json_true());
	if (!err)
		err = kt_spool_save_manifest(ctx.spool, ctx.manifest);
	{
		int e2 = kt_spool_close(ctx.spool);

		ctx.spool = NULL;
		if (!err)
			err = e2;
	}
	if (err)
		goto out;
	kt_cli_progress("packing %s", opts->output);
	err = kt_pack(spool_dir, opts->output, &po, &pr);
	if (kt_cli_tty())
		fputs("\r\033[K", stderr);
	if (err)
		goto out;
	res->records = pr.records;
	res->bytes_out = pr.bytes_out;
	/* The bundle is whole: a late signal must not claim a spool is kept
	 * while we remove it, nor turn a finished recording into exit 130. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	nftw(spool_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
out:
	for (unsigned i = 0; i < n; i++)
		if (src[i].state && src[i].ops->free)
			src[i].ops->free(src[i].state);
	if (ctx.spool)
		kt_spool_close(ctx.spool);
	json_decref(ctx.manifest);
	if (efd >= 0)
		close(efd);
	if (sfd >= 0)
		close(sfd);
	if (tfd >= 0)
		close(tfd);
	return err;
}
