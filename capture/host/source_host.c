/* source_host.c - the recording source "host": host facts at start and stop
 * (host.h), through the interface of capture/source.h. */
#include "host.h"
#include "host_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "manifest.h"
#include "source.h"

struct host_state {
	struct kt_host_opts opts;
	json_t *counts;		/* per phase: what was found, for the manifest */
};

static size_t per_netns(json_t *facts, const char *doc, const char *member)
{
	json_t *arr = json_object_get(json_object_get(facts, doc), "namespaces"), *ns;
	size_t i, n = 0;

	json_array_foreach(arr, i, ns)
		n += json_array_size(json_object_get(ns, member));
	return n;
}

static int take(struct host_state *st, struct kt_record_ctx *ctx, const char *phase)
{
	json_t *facts = NULL;
	int err;

	err = kt_host_collect(&facts, &st->opts);
	if (err)
		goto out;
	err = kt_host_write(ctx->spool, phase, facts, kt_now_ns());
	if (err)
		goto out;
	if (!strcmp(phase, "start")) {
		const char *cg2 = json_string_value(json_object_get(
			json_object_get(facts, "processes"), "cgroup2_mount"));
		uint64_t n = 0;

		if ((err = kt_host_cgroup_walk(ctx->spool, cg2 ? cg2 : "", kt_now_ns(), &n)))
			goto out;
		json_object_set_new(st->counts, "pod_cgroups", json_integer((json_int_t)n));
	}
	json_object_set_new(st->counts, phase, json_pack("{s:I, s:I, s:I, s:I}",
		"processes", (json_int_t)json_array_size(json_object_get(
			json_object_get(facts, "processes"), "processes")),
		"netns", (json_int_t)json_array_size(json_object_get(
			json_object_get(facts, "netns"), "namespaces")),
		"sockets", (json_int_t)per_netns(facts, "sockets", "sockets"),
		"conntrack", (json_int_t)per_netns(facts, "conntrack", "entries")));
out:
	json_decref(facts);
	return err;
}

static int host_start(struct kt_record_ctx *ctx, void **state)
{
	struct host_state *st = calloc(1, sizeof(*st));
	int err;

	if (!st)
		return kt_err_set(-ENOMEM, "cannot allocate the host source");
	st->opts.node_name = ctx->opts ? ctx->opts->node_name : NULL;
	st->counts = json_object();
	err = take(st, ctx, "start");
	if (err) {
		json_decref(st->counts);
		free(st);
		return kt_err_wrap(err, "host facts at start");
	}
	*state = st;
	return 0;
}

static int host_fd(void *state)
{
	(void)state;
	return -1;
}

static int host_poll(void *state, struct kt_record_ctx *ctx)
{
	(void)state;
	(void)ctx;
	return 0;
}

static int host_stop(void *state, struct kt_record_ctx *ctx, json_t *report)
{
	struct host_state *st = state;
	int err = take(st, ctx, "end");

	json_object_update(report, st->counts);
	if (err)
		return kt_err_wrap(err, "host facts at end");
	return 0;
}

static void host_free(void *state)
{
	struct host_state *st = state;

	if (!st)
		return;
	json_decref(st->counts);
	free(st);
}

const struct kt_source_ops kt_host_source = {
	.name = "host",
	.help = "processes, cgroups, pods, netns, interfaces, sockets and conntrack at start and end",
	.start = host_start,
	.fd = host_fd,
	.poll = host_poll,
	.stop = host_stop,
	.free = host_free,
};
