/* k8s_source.c - `ktcap record --sources k8s`: kubectl snapshots, watches
 * and --k8s-from imports written into the spool (formats/SPEC-k8s.md). */
#include "k8s_source.h"

#include <errno.h>
#include <stdlib.h>

#include "k8scap.h"
#include "spool.h"

static int spool_write(void *ctx, const char *rel, const void *data, size_t len)
{
	return kt_spool_write_file(ctx, rel, data, len);
}

static int spool_append(void *ctx, const char *rel, const void *data, size_t len)
{
	return kt_spool_append_file(ctx, rel, data, len);
}

static int start(struct kt_record_ctx *ctx, void **state)
{
	const struct kt_record_opts *ro = ctx->opts;
	struct kt_k8scap_opts o = {
		.kubectl = ro->kubectl,
		.kubeconfig = ro->kubeconfig,
		.context = ro->context,
		.ns = ro->namespace,
		/* Only an explicit --node limits pods: the host name is not
		 * always the node name. */
		.node = ro->node_name,
		.interval_ns = ro->k8s_interval_ns,
		.no_redact = ro->k8s_no_redact,
		.from = ro->k8s_from,
	};
	struct kt_k8s_sink sink = { spool_write, spool_append, ctx->spool };
	struct kt_k8scap *c = NULL;
	int err;

	if ((err = kt_k8scap_new(&c, &o, &sink)) < 0)
		goto out;
	if ((err = kt_k8scap_start(c)) < 0)
		goto out;
	*state = c;
	c = NULL;
out:
	kt_k8scap_free(c);
	return err;
}

static int fd(void *state)
{
	return kt_k8scap_fd(state);
}

static int poll_(void *state, struct kt_record_ctx *ctx)
{
	(void)ctx;
	return kt_k8scap_poll(state);
}

static int stop(void *state, struct kt_record_ctx *ctx, json_t *report)
{
	json_t *red;
	int err = kt_k8scap_stop(state, report);

	/* The manifest's top-level "redaction" says what each source did. */
	red = json_object_get(report, "redaction");
	if (red) {
		json_t *top = json_object_get(ctx->manifest, "redaction");

		if (!json_is_object(top)) {
			top = json_object();
			json_object_set_new(ctx->manifest, "redaction", top);
		}
		json_object_set(top, "k8s", red);
	}
	return err;
}

static void stats(void *state, struct kt_source_stats *out)
{
	uint64_t errors;

	/* Kubernetes objects are never lost: a failed call is an error, not a
	 * drop, so 'lost' stays 0. */
	kt_k8scap_counts(state, &out->events, &errors);
}

static void free_(void *state)
{
	kt_k8scap_free(state);
}

const struct kt_source_ops kt_source_k8s = {
	.name = "k8s",
	.help = "Kubernetes objects over time through kubectl (snapshots and watches, redacted)",
	.start = start,
	.fd = fd,
	.poll = poll_,
	.stop = stop,
	.free = free_,
	.stats = stats,
};
