/* k8scap.c - snapshots and watches through kubectl (k8scap.h), written in
 * the layout of formats/SPEC-k8s.md:
 *
 *   k8s/snapshots/000001/_snapshot.json      what was asked, when, outcome
 *   k8s/snapshots/000001/version.json        kubectl version -o json
 *   k8s/snapshots/000001/nodes.json          cluster-scoped: one file
 *   k8s/snapshots/000001/pods/<ns>.json      namespaced: one file per ns
 *   k8s/watch/pods.jsonl                     {"ts_ns","time","type","object"}
 *   k8s/errors.jsonl                         one line per failed call
 *   k8s/import/001/<path>                    --k8s-from dumps, redacted
 */
#include "k8scap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bytes.h"
#include "error.h"
#include "k8s.h"
#include "kproc.h"
#include "manifest.h"
#include "redact.h"

#define SEC 1000000000ull
#define WATCH_BACKOFF_MAX 30u
#define ERRORS_KEPT 200u
#define ARGV_MAX 24

struct res {
	const char *arg;	/* what kubectl is asked for */
	const char *name;	/* file and report name */
	const char *kind;
	bool cluster, watch;
};

static const struct res resources[] = {
	{ "namespaces", "namespaces", "Namespace", true, false },
	{ "nodes", "nodes", "Node", true, false },
	{ "pods", "pods", "Pod", false, true },
	{ "services", "services", "Service", false, false },
	{ "endpoints", "endpoints", "Endpoints", false, false },
	{ "endpointslices.discovery.k8s.io", "endpointslices", "EndpointSlice", false, true },
	{ "deployments.apps", "deployments", "Deployment", false, false },
	{ "replicasets.apps", "replicasets", "ReplicaSet", false, false },
	{ "statefulsets.apps", "statefulsets", "StatefulSet", false, false },
	{ "daemonsets.apps", "daemonsets", "DaemonSet", false, false },
	{ "jobs.batch", "jobs", "Job", false, false },
	{ "cronjobs.batch", "cronjobs", "CronJob", false, false },
	{ "horizontalpodautoscalers.autoscaling", "horizontalpodautoscalers",
	  "HorizontalPodAutoscaler", false, false },
	{ "networkpolicies.networking.k8s.io", "networkpolicies", "NetworkPolicy",
	  false, false },
	{ "events", "events", "Event", false, true },
	{ "persistentvolumeclaims", "persistentvolumeclaims", "PersistentVolumeClaim",
	  false, false },
	{ "persistentvolumes", "persistentvolumes", "PersistentVolume", true, false },
	{ "storageclasses.storage.k8s.io", "storageclasses", "StorageClass", true, false },
	{ "ingresses.networking.k8s.io", "ingresses", "Ingress", false, false },
	{ "configmaps", "configmaps", "ConfigMap", false, false },
};
#define NRES (sizeof(resources) / sizeof(resources[0]))
#define RES_VERSION (-1)

enum call_type { CALL_LIST, CALL_VERSION, CALL_WATCH };

struct watch;

struct call {
	struct kt_kproc p;
	enum call_type type;
	int res;		/* index in resources, or RES_VERSION */
	uint32_t seq;		/* snapshot */
	uint64_t start_utc;
	struct watch *w;
	bool interrupted;	/* killed because the recording stopped */
};

struct watch {
	int res;
	struct call *call;
	uint64_t restart_at;	/* CLOCK_MONOTONIC, 0: not scheduled */
	unsigned backoff_s;
	uint64_t events, restarts, dropped;
	char last_error[KT_KPROC_LINE_MAX + 64];	/* describe()d: never cut */
};

struct snap {
	uint32_t seq;
	const char *reason;
	uint64_t start_utc, end_utc;
	int next;		/* next job to start: RES_VERSION, then 0.. */
	unsigned running;
	json_t *index;		/* "resources" of _snapshot.json */
	unsigned ok, failed;
};

struct kt_k8scap {
	struct kt_k8scap_opts o;
	struct kt_k8s_sink sink;
	int ep;
	bool res_on[NRES];
	unsigned timeouts[NRES + 1];	/* consecutive, by res + 1 (0: version) */
	struct call *calls[16];
	unsigned ncalls;
	struct watch watches[NRES];
	unsigned nwatches;
	struct snap *active;
	uint32_t seq;
	uint64_t next_snap;	/* CLOCK_MONOTONIC */
	unsigned snaps_done, snaps_skipped;
	bool stopping;
	struct kt_k8s_redaction red;
	json_t *errors;		/* first ERRORS_KEPT */
	uint64_t nerrors;
	json_t *imports;
	uint64_t resources_ok, resources_failed;
	int sink_err;
};

static const char *utc_str(uint64_t ns, char *buf, size_t len)
{
	time_t s = (time_t)(ns / SEC);
	struct tm tm;

	size_t n;

	gmtime_r(&s, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%09lluZ", (unsigned long long)(ns % SEC));
	return buf;
}

static int sink_json(struct kt_k8scap *c, const char *relpath, const json_t *j,
		     bool append)
{
	char *s = json_dumps(j, append ? JSON_COMPACT : JSON_INDENT(1));
	size_t len;
	int err;

	if (!s)
		return -ENOMEM;
	len = strlen(s);
	if (append) {
		/* One whole line per write: a kill leaves whole lines. */
		char *line = realloc(s, len + 2);

		if (!line) {
			free(s);
			return -ENOMEM;
		}
		s = line;
		s[len++] = '\n';
		s[len] = 0;
		err = c->sink.append_file(c->sink.ctx, relpath, s, len);
	} else {
		err = c->sink.write_file(c->sink.ctx, relpath, s, len);
	}
	free(s);
	if (err < 0 && !c->sink_err)
		c->sink_err = err;
	return err;
}

/* How a failed call is classed in the report: what the user should fix. */
static const char *classify(const struct kt_kproc *p, int spawn_err)
{
	if (spawn_err == -ENOENT || spawn_err == -EACCES)
		return "missing";
	if (spawn_err)
		return "failed";
	if (p->timed_out)
		return "timeout";
	if (p->out_overflow)
		return "too-large";
	if (strstr(p->err, "Forbidden") || strstr(p->err, "forbidden"))
		return "denied";
	if (strstr(p->err, "Unauthorized"))
		return "unauthorized";
	if (strstr(p->err, "imeout") || strstr(p->err, "deadline exceeded") ||
	    strstr(p->err, "time allotted"))
		return "timeout";
	if (strstr(p->err, "doesn't have a resource type"))
		return "unsupported";
	if (p->reaped && WIFSIGNALED(p->status))
		return "crashed";
	return "failed";
}

static void record_error(struct kt_k8scap *c, uint32_t seq, const char *resource,
			 const char *call, const char *cls, const char *message)
{
	char ts[40];
	uint64_t now = kt_now_ns();
	json_t *e = json_pack("{s:I,s:s,s:I,s:s,s:s,s:s,s:s}", "ts_ns", (json_int_t)now,
			      "time", utc_str(now, ts, sizeof(ts)), "snapshot",
			      (json_int_t)seq, "resource", resource, "call", call,
			      "class", cls, "message", message);

	if (!e)
		return;
	sink_json(c, "k8s/errors.jsonl", e, true);
	if (c->nerrors++ < ERRORS_KEPT)
		json_array_append(c->errors, e);
	json_decref(e);
}

/* How a call ended, with kubectl's message scrubbed (kt_kproc_describe);
 * a message that held a secret is counted in the redaction report. */
static void describe(struct kt_k8scap *c, const struct call *k, char *buf, size_t len)
{
	unsigned found;

	kt_kproc_describe(&k->p, buf, len, &found);
	c->red.kubectl_messages_scrubbed += found > 0;
}

/* "what: text", text quoting kubectl's output or a dump of it (a parser's
 * "near '...'"), which is no safer than its stderr. what may be NULL. */
static void quote_output(struct kt_k8scap *c, const char *what, const char *text,
			 char *buf, size_t len)
{
	char line[KT_KPROC_LINE_MAX];
	unsigned found = kt_k8s_scrub_line(text, strlen(text), line, sizeof(line));

	c->red.kubectl_messages_scrubbed += found > 0;
	snprintf(buf, len, "%s%s%s", what ? what : "", what ? ": " : "", line);
}

/* ---- argv ---------------------------------------------------------------- */

struct argv {
	char *v[ARGV_MAX + 1];
	int n;
	char tmp[4][512];
	int ntmp;
};

static void arg(struct argv *a, const char *s)
{
	if (a->n < ARGV_MAX)
		a->v[a->n++] = (char *)s;
	a->v[a->n] = NULL;
}

static const char *argcat(struct argv *a, const char *prefix, const char *s)
{
	if (a->ntmp == 4)
		return "";
	snprintf(a->tmp[a->ntmp], sizeof(a->tmp[0]), "%s%s", prefix, s);
	return a->tmp[a->ntmp++];
}

static void argv_common(struct kt_k8scap *c, struct argv *a)
{
	arg(a, c->o.kubectl);
	if (c->o.kubeconfig) {
		arg(a, "--kubeconfig");
		arg(a, c->o.kubeconfig);
	}
	if (c->o.context) {
		arg(a, "--context");
		arg(a, c->o.context);
	}
}

static void argv_get(struct kt_k8scap *c, struct argv *a, const struct res *r,
		     bool watch)
{
	char secs[32];

	argv_common(c, a);
	if (!watch) {
		/* kubectl gives up on its own a little before we kill it. */
		snprintf(secs, sizeof(secs), "%llus",
			 (unsigned long long)(c->o.call_timeout_ns / SEC > 1 ?
					      c->o.call_timeout_ns / SEC - 1 : 1));
		arg(a, argcat(a, "--request-timeout=", secs));
	}
	arg(a, "get");
	arg(a, r->arg);
	if (!r->cluster) {
		if (c->o.ns) {
			arg(a, "--namespace");
			arg(a, c->o.ns);
		} else {
			arg(a, "--all-namespaces");
		}
	}
	if (c->o.node && strcmp(r->name, "pods") == 0)
		arg(a, argcat(a, "--field-selector=spec.nodeName=", c->o.node));
	if (watch) {
		arg(a, "--watch");
		arg(a, "--output-watch-events");
	}
	arg(a, "-o");
	arg(a, "json");
}

static struct call *call_start(struct kt_k8scap *c, enum call_type type, int res,
			       uint32_t seq, struct watch *w)
{
	struct call *k = calloc(1, sizeof(*k));
	struct argv a = { .n = 0 };
	int err;

	if (!k)
		return NULL;
	k->type = type;
	k->res = res;
	k->seq = seq;
	k->w = w;
	k->start_utc = kt_now_ns();
	if (type == CALL_VERSION) {
		argv_common(c, &a);
		arg(&a, "version");
		arg(&a, "-o");
		arg(&a, "json");
	} else {
		argv_get(c, &a, &resources[res], type == CALL_WATCH);
	}
	err = kt_kproc_spawn(&k->p, a.v, c->ep, k,
			     type == CALL_WATCH ? 64u << 20 : c->o.max_output,
			     type == CALL_WATCH ? 0 : c->o.call_timeout_ns);
	if (err < 0) {
		const char *name = res == RES_VERSION ? "version" : resources[res].name;

		record_error(c, seq, name, type == CALL_WATCH ? "watch" :
			     type == CALL_VERSION ? "version" : "list",
			     classify(&k->p, err), kt_err_msg(err));
		if (w)
			snprintf(w->last_error, sizeof(w->last_error), "%s", kt_err_msg(err));
		free(k);
		return NULL;
	}
	c->calls[c->ncalls++] = k;
	return k;
}

/* ---- snapshots ------------------------------------------------------------- */

static json_t *ktcap_block(struct kt_k8scap *c, const struct call *k,
			   size_t items)
{
	const struct res *r = k->res == RES_VERSION ? NULL : &resources[k->res];
	char ts[40];

	return json_pack("{s:I,s:s,s:s?,s:s?,s:s,s:I,s:I,s:s?,s:s?,s:I}",
			 "snapshot", (json_int_t)k->seq, "reason", c->active->reason,
			 "resource", r ? r->name : "version", "kind", r ? r->kind : NULL,
			 "taken", utc_str(k->start_utc, ts, sizeof(ts)),
			 "taken_ns", (json_int_t)k->start_utc,
			 "done_ns", (json_int_t)kt_now_ns(),
			 "namespace", r && !r->cluster ? c->o.ns : NULL,
			 "node", r && c->o.node && strcmp(r->name, "pods") == 0 ?
				 c->o.node : NULL,
			 "items", (json_int_t)items);
}

static int write_list_file(struct kt_k8scap *c, const struct call *k,
			   const json_t *meta, const char *ns, json_t *items,
			   json_t *files)
{
	const struct res *r = &resources[k->res];
	char path[512];
	json_t *doc;
	int err;

	if (r->cluster)
		snprintf(path, sizeof(path), "k8s/snapshots/%06u/%s.json", k->seq, r->name);
	else
		snprintf(path, sizeof(path), "k8s/snapshots/%06u/%s/%s.json", k->seq,
			 r->name, ns);
	/* items is the caller's reference, handed over; so is meta's copy. */
	doc = json_pack("{s:s,s:s,s:o,s:o,s:o}", "apiVersion", "v1", "kind", "List",
			"metadata", meta ? json_incref((json_t *)meta) : json_object(),
			"items", items,
			"ktcap", ktcap_block(c, k, json_array_size(items)));
	if (!doc)
		return -ENOMEM;
	err = sink_json(c, path, doc, false);
	json_decref(doc);
	json_array_append_new(files, json_string(path + 4));
	return err;
}

/* The file names a namespace gives: kept as is when it is a valid DNS
 * label (every real namespace is), else replaced. */
static bool ns_ok(const char *ns)
{
	if (!ns || !*ns || strlen(ns) > 63)
		return false;
	for (const char *p = ns; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return false;
	return true;
}

static int list_done(struct kt_k8scap *c, struct call *k, json_t *status)
{
	const struct res *r = &resources[k->res];
	struct kt_k8s_redaction red = { 0 };
	json_error_t jerr;
	json_t *root = NULL, *items, *by_ns = NULL, *files = json_array();
	size_t n = 0;
	int err = 0;

	root = json_loadb(k->p.out ? k->p.out : "", k->p.out_len, 0, &jerr);
	items = json_object_get(root, "items");
	if (!root || !(json_is_array(items) || json_is_null(items))) {
		char msg[600];

		quote_output(c, "kubectl printed no List", root ? "no items" : jerr.text,
			     msg, sizeof(msg));
		record_error(c, k->seq, r->name, "list", "invalid-output", msg);
		json_object_set_new(status, "status", json_string("failed"));
		json_object_set_new(status, "message", json_string(msg));
		c->active->failed++;
		goto out;
	}
	by_ns = json_object();
	for (size_t i = 0; i < json_array_size(items); i++) {
		json_t *it = json_array_get(items, i);
		const char *ns;
		json_t *arr;

		if (kt_k8s_redact(it, r->kind, c->o.no_redact, &red))
			continue;
		ns = r->cluster ? "" : json_string_value(json_object_get(
				json_object_get(it, "metadata"), "namespace"));
		if (!r->cluster && !ns_ok(ns))
			ns = "_invalid";
		arr = json_object_get(by_ns, ns);
		if (!arr) {
			arr = json_array();
			json_object_set_new(by_ns, ns, arr);
		}
		json_array_append(arr, it);
		n++;
	}
	if (r->cluster) {
		json_t *arr = json_object_get(by_ns, "");

		err = write_list_file(c, k, json_object_get(root, "metadata"), NULL,
				      arr ? json_incref(arr) : json_array(), files);
	} else if (json_object_size(by_ns) == 0) {
		/* Nothing listed is a fact too: it ends what earlier snapshots
		 * saw. The file keeps the snapshot's time and scope. */
		err = write_list_file(c, k, json_object_get(root, "metadata"),
				      c->o.ns ? c->o.ns : "_all", json_array(), files);
	} else {
		const char *ns;
		json_t *arr;

		json_object_foreach(by_ns, ns, arr) {
			err = write_list_file(c, k, json_object_get(root, "metadata"), ns,
					      json_incref(arr), files);
			if (err < 0)
				break;
		}
	}
	kt_k8s_redaction_add(&c->red, &red);
	json_object_set_new(status, "status", json_string("ok"));
	json_object_set_new(status, "items", json_integer((json_int_t)n));
	json_object_set(status, "files", files);
	c->active->ok++;
out:
	json_decref(files);
	json_decref(by_ns);
	json_decref(root);
	return err;
}

static int version_done(struct kt_k8scap *c, struct call *k, json_t *status)
{
	json_t *root = json_loadb(k->p.out ? k->p.out : "", k->p.out_len, 0, NULL);
	char path[128];
	int err = 0;

	if (!json_is_object(root)) {
		json_decref(root);
		return 0;
	}
	json_object_set_new(root, "ktcap", ktcap_block(c, k, 0));
	snprintf(path, sizeof(path), "k8s/snapshots/%06u/version.json", k->seq);
	err = sink_json(c, path, root, false);
	if (json_is_object(json_object_get(root, "serverVersion")))
		json_object_set(status, "server", json_object_get(json_object_get(root,
				"serverVersion"), "gitVersion"));
	json_decref(root);
	return err;
}

static int snapshot_finish(struct kt_k8scap *c)
{
	struct snap *s = c->active;
	char path[128], t0[40], t1[40];
	json_t *doc;
	int err;

	s->end_utc = kt_now_ns();
	doc = json_pack("{s:I,s:s,s:s,s:I,s:s,s:I,s:s?,s:s?,s:b,s:O}",
			"snapshot", (json_int_t)s->seq, "reason", s->reason,
			"started", utc_str(s->start_utc, t0, sizeof(t0)),
			"started_ns", (json_int_t)s->start_utc,
			"finished", utc_str(s->end_utc, t1, sizeof(t1)),
			"finished_ns", (json_int_t)s->end_utc,
			"namespace", c->o.ns, "node", c->o.node,
			"redacted", !c->o.no_redact, "resources", s->index);
	snprintf(path, sizeof(path), "k8s/snapshots/%06u/_snapshot.json", s->seq);
	err = doc ? sink_json(c, path, doc, false) : -ENOMEM;
	json_decref(doc);
	c->resources_ok += s->ok;
	c->resources_failed += s->failed;
	json_decref(s->index);
	free(s);
	c->active = NULL;
	c->snaps_done++;
	return err;
}

static int snapshot_begin(struct kt_k8scap *c, const char *reason)
{
	struct snap *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->seq = ++c->seq;
	s->reason = reason;
	s->start_utc = kt_now_ns();
	s->next = RES_VERSION;
	s->index = json_object();
	/* Secrets are never asked for; say so where people look. */
	json_object_set_new(s->index, "secrets", json_pack("{s:s,s:s}", "status",
			    "skipped", "message", "never requested"));
	c->active = s;
	return 0;
}

static unsigned running_lists(const struct kt_k8scap *c)
{
	unsigned n = 0;

	for (unsigned i = 0; i < c->ncalls; i++)
		n += c->calls[i]->type != CALL_WATCH;
	return n;
}

static void snapshot_pump(struct kt_k8scap *c)
{
	struct snap *s = c->active;

	while (s && s->next < (int)NRES && running_lists(c) < c->o.max_parallel &&
	       c->ncalls < sizeof(c->calls) / sizeof(c->calls[0])) {
		int r = s->next++;
		struct call *k;

		if (r != RES_VERSION && !c->res_on[r])
			continue;
		/* At stop, a resource that already hung is not waited for a
		 * second time: the recording should end when asked. */
		if (strcmp(s->reason, "end") == 0 && c->timeouts[r + 1]) {
			json_object_set_new(s->index, r == RES_VERSION ? "version" :
					    resources[r].name, json_pack("{s:s,s:s}",
					    "status", "skipped", "message",
					    "timed out earlier in this recording"));
			continue;
		}
		k = call_start(c, r == RES_VERSION ? CALL_VERSION : CALL_LIST, r, s->seq,
			       NULL);
		if (k) {
			s->running++;
		} else {
			json_object_set_new(s->index, r == RES_VERSION ? "version" :
					    resources[r].name, json_pack("{s:s,s:s}",
					    "status", "failed", "message", kt_err_msg(-1)));
			s->failed += r != RES_VERSION;
		}
	}
}

/* ---- watches --------------------------------------------------------------- */

static void watch_start(struct kt_k8scap *c, struct watch *w)
{
	w->restart_at = 0;
	w->call = call_start(c, CALL_WATCH, w->res, c->seq, w);
	if (!w->call) {
		w->backoff_s = w->backoff_s ? w->backoff_s * 2 : 1;
		if (w->backoff_s > WATCH_BACKOFF_MAX)
			w->backoff_s = WATCH_BACKOFF_MAX;
		w->restart_at = kt_mono_ns() + w->backoff_s * SEC;
	}
}

static int watch_parse(struct kt_k8scap *c, struct watch *w)
{
	struct kt_kproc *p = &w->call->p;
	const struct res *r = &resources[w->res];
	char path[128];
	size_t pos = 0;
	int err = 0;

	snprintf(path, sizeof(path), "k8s/watch/%s.jsonl", r->name);
	while (pos < p->out_len) {
		json_error_t jerr;
		json_t *ev, *line;
		uint64_t now;
		char ts[40];

		while (pos < p->out_len && strchr(" \t\r\n", p->out[pos]))
			pos++;
		if (pos == p->out_len)
			break;
		ev = json_loadb(p->out + pos, p->out_len - pos,
				JSON_DISABLE_EOF_CHECK, &jerr);
		if (!ev) {
			if (json_error_code(&jerr) == json_error_premature_end_of_input)
				break;	/* the rest of the event is on its way */
			quote_output(c, "invalid watch output", jerr.text, w->last_error,
				     sizeof(w->last_error));
			record_error(c, c->seq, r->name, "watch", "invalid-output",
				     w->last_error);
			pos = p->out_len;
			kt_kproc_kill(p);
			break;
		}
		pos += (size_t)jerr.position;
		now = kt_now_ns();
		if (kt_k8s_redact(ev, r->kind, c->o.no_redact, &c->red) ||
		    !json_is_object(json_object_get(ev, "object"))) {
			w->dropped++;
			json_decref(ev);
			continue;
		}
		line = json_pack("{s:I,s:s,s:O,s:O}", "ts_ns", (json_int_t)now, "time",
				 utc_str(now, ts, sizeof(ts)), "type",
				 json_object_get(ev, "type"), "object",
				 json_object_get(ev, "object"));
		json_decref(ev);
		if (!line)
			return -ENOMEM;
		err = sink_json(c, path, line, true);
		json_decref(line);
		if (err < 0)
			break;
		w->events++;
		w->backoff_s = 0;
	}
	kt_kproc_consume(p, pos);
	return err;
}

/* ---- the loop -------------------------------------------------------------- */

static void call_remove(struct kt_k8scap *c, unsigned i)
{
	kt_kproc_release(&c->calls[i]->p, c->ep);
	free(c->calls[i]);
	c->calls[i] = c->calls[--c->ncalls];
}

static int call_finished(struct kt_k8scap *c, struct call *k)
{
	char msg[KT_KPROC_LINE_MAX + 64];
	const char *name = k->res == RES_VERSION ? "version" : resources[k->res].name;
	json_t *status;
	int err = 0;

	if (k->type == CALL_WATCH) {
		struct watch *w = k->w;

		err = watch_parse(c, w);
		w->call = NULL;
		if (!c->stopping) {
			describe(c, k, msg, sizeof(msg));
			snprintf(w->last_error, sizeof(w->last_error), "%s", msg);
			record_error(c, c->seq, name, "watch", classify(&k->p, 0), msg);
			w->restarts++;
			w->backoff_s = w->backoff_s ? w->backoff_s * 2 : 1;
			if (w->backoff_s > WATCH_BACKOFF_MAX)
				w->backoff_s = WATCH_BACKOFF_MAX;
			w->restart_at = kt_mono_ns() + w->backoff_s * SEC;
		}
		return err;
	}
	status = json_object();
	if (kt_kproc_ok(&k->p))
		c->timeouts[k->res + 1] = 0;
	else if (!k->interrupted && strcmp(classify(&k->p, 0), "timeout") == 0)
		c->timeouts[k->res + 1]++;
	json_object_set_new(status, "duration_ms", json_integer((json_int_t)
			    ((kt_mono_ns() - k->p.started_ns) / 1000000)));
	if (k->interrupted) {
		record_error(c, k->seq, name, "list", "interrupted",
			     "not finished when the recording stopped");
		json_object_set_new(status, "status", json_string("failed"));
		json_object_set_new(status, "class", json_string("interrupted"));
		c->active->failed += k->type == CALL_LIST;
	} else if (k->type == CALL_VERSION) {
		err = version_done(c, k, status);
		if (!kt_kproc_ok(&k->p)) {
			describe(c, k, msg, sizeof(msg));
			record_error(c, k->seq, name, "version", classify(&k->p, 0), msg);
			json_object_set_new(status, "status", json_string("failed"));
			json_object_set_new(status, "message", json_string(msg));
		} else {
			json_object_set_new(status, "status", json_string("ok"));
		}
	} else if (!kt_kproc_ok(&k->p)) {
		describe(c, k, msg, sizeof(msg));
		record_error(c, k->seq, name, "list", classify(&k->p, 0), msg);
		json_object_set_new(status, "status", json_string("failed"));
		json_object_set_new(status, "class", json_string(classify(&k->p, 0)));
		json_object_set_new(status, "message", json_string(msg));
		c->active->failed++;
	} else {
		err = list_done(c, k, status);
	}
	json_object_set_new(c->active->index, name, status);
	c->active->running--;
	return err;
}

int kt_k8scap_poll(struct kt_k8scap *c)
{
	struct epoll_event evs[32];
	uint64_t now = kt_mono_ns();
	int err = 0;

	/* Readiness only wakes the loop; every call is read below. */
	while (epoll_wait(c->ep, evs, 32, 0) == 32)
		;
	for (unsigned i = 0; i < c->ncalls;) {
		struct call *k = c->calls[i];
		bool done = kt_kproc_poll(&k->p, c->ep);

		if (k->type == CALL_WATCH && !done && k->p.out_len) {
			int e = watch_parse(c, k->w);

			if (e < 0 && !err)
				err = e;
		}
		if (!done) {
			i++;
			continue;
		}
		int e = call_finished(c, k);

		if (e < 0 && !err)
			err = e;
		call_remove(c, i);
	}
	if (c->active) {
		snapshot_pump(c);
		if (c->active->next >= (int)NRES && c->active->running == 0) {
			int e = snapshot_finish(c);

			if (e < 0 && !err)
				err = e;
		}
	}
	if (!c->stopping && c->o.interval_ns && now >= c->next_snap) {
		if (c->active)
			c->snaps_skipped++;	/* the last one is still running */
		else if ((err = snapshot_begin(c, "interval")) == 0)
			snapshot_pump(c);
		c->next_snap = now + c->o.interval_ns;
	}
	for (unsigned i = 0; !c->stopping && i < c->nwatches; i++) {
		struct watch *w = &c->watches[i];

		if (!w->call && w->restart_at && now >= w->restart_at) {
			w->restart_at = 0;
			watch_start(c, w);
		}
	}
	return err ? err : c->sink_err;
}

int kt_k8scap_fd(const struct kt_k8scap *c)
{
	return c->ep;
}

unsigned kt_k8scap_snapshots(const struct kt_k8scap *c)
{
	return c->snaps_done;
}

void kt_k8scap_counts(const struct kt_k8scap *c, uint64_t *events, uint64_t *errors)
{
	*events = 0;
	for (unsigned i = 0; i < c->nwatches; i++)
		*events += c->watches[i].events;
	*errors = c->nerrors;
}

/* ---- import ------------------------------------------------------------------ */

struct import {
	struct kt_k8scap *c;
	char hint[64];
	char *buf;
	size_t len, cap;
	uint64_t objects;
};

static int import_doc(void *arg, json_t *doc)
{
	struct import *im = arg;
	char *s;
	size_t n;

	if (kt_k8s_redact(doc, im->hint[0] ? im->hint : NULL, im->c->o.no_redact,
			  &im->c->red))
		return 0;
	s = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!s)
		return -ENOMEM;
	n = strlen(s);
	if (im->len + n + 2 > im->cap) {
		size_t cap = im->cap ? im->cap : 65536;
		char *b;

		while (cap < im->len + n + 2)
			cap *= 2;
		b = realloc(im->buf, cap);
		if (!b) {
			free(s);
			return -ENOMEM;
		}
		im->buf = b;
		im->cap = cap;
	}
	memcpy(im->buf + im->len, s, n);
	im->len += n;
	im->buf[im->len++] = '\n';
	free(s);
	return 0;
}

/* One imported file: redacted document by document, checked by the same
 * loader ktana uses, then written under k8s/import/NNN/. */
static int import_file(struct kt_k8scap *c, unsigned n, const char *path,
		       const char *rel, json_t *rep)
{
	struct import im = { .c = c };
	struct kt_k8s_index *idx = NULL;
	char *data = NULL, dest[1024];
	size_t len = 0;
	uint64_t nobj = 0;
	int err;

	err = kt_read_file(path, c->o.max_output, &data, &len);
	if (err < 0)
		goto out;
	kt_k8s_kind_hint(path, im.hint, sizeof(im.hint));
	err = kt_k8s_docs(data, len, path, import_doc, &im);
	if (err < 0)
		goto out;
	if ((err = kt_k8s_index_new(&idx)) < 0)
		goto out;
	err = kt_k8s_index_load_buffer(idx, im.buf ? im.buf : "", im.len, path, 0, &nobj);
	if (err < 0)
		goto out;
	snprintf(dest, sizeof(dest), "k8s/import/%03u/%s", n, rel);
	err = c->sink.write_file(c->sink.ctx, dest, im.buf ? im.buf : "", im.len);
	if (err < 0)
		goto out;
	json_object_set_new(rep, "files", json_integer(json_integer_value(
			    json_object_get(rep, "files")) + 1));
	json_object_set_new(rep, "objects", json_integer(json_integer_value(
			    json_object_get(rep, "objects")) + (json_int_t)nobj));
out:
	if (err < 0) {
		char msg[KT_KPROC_LINE_MAX];

		quote_output(c, NULL, kt_err_msg(err), msg, sizeof(msg));
		record_error(c, 0, path, "import", "invalid-input", msg);
		json_array_append_new(json_object_get(rep, "errors"), json_string(msg));
	}
	kt_k8s_index_free(idx);
	free(im.buf);
	free(data);
	return err == -ENOMEM ? err : 0;
}

/* Keep file names readable but safe inside the bundle. */
static void safe_name(char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' ||
		      *s == '_' || *s == '/'))
			*s = '_';
}

static bool import_wanted(const char *name)
{
	size_t n = strlen(name);

	return (n > 5 && strcmp(name + n - 5, ".json") == 0) ||
		(n > 6 && strcmp(name + n - 6, ".jsonl") == 0);
}

static int import_walk(struct kt_k8scap *c, unsigned n, const char *path,
		       const char *rel, json_t *rep, int depth)
{
	struct dirent **ents;
	int cnt, err = 0;

	if (depth > KT_K8S_DEPTH_MAX)
		return 0;
	cnt = scandir(path, &ents, NULL, alphasort);
	if (cnt < 0) {
		record_error(c, 0, path, "import", "invalid-input", strerror(errno));
		return 0;
	}
	for (int i = 0; i < cnt; i++) {
		char child[4096], crel[1024];
		struct stat st;

		if (err == 0 && ents[i]->d_name[0] != '.') {
			snprintf(child, sizeof(child), "%s/%s", path, ents[i]->d_name);
			snprintf(crel, sizeof(crel), "%s%s%s", rel, *rel ? "/" : "",
				 ents[i]->d_name);
			safe_name(crel);
			if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
				err = import_walk(c, n, child, crel, rep, depth + 1);
			else if (S_ISREG(st.st_mode) && import_wanted(ents[i]->d_name))
				err = import_file(c, n, child, crel, rep);
		}
		free(ents[i]);
	}
	free(ents);
	return err;
}

static int import_all(struct kt_k8scap *c)
{
	int err = 0;

	for (unsigned i = 0; c->o.from && c->o.from[i] && !err; i++) {
		const char *p = c->o.from[i];
		json_t *rep = json_pack("{s:s,s:i,s:i,s:[]}", "path", p, "files", 0,
					"objects", 0, "errors");
		struct stat st;

		if (!rep)
			return -ENOMEM;
		json_array_append_new(c->imports, rep);
		if (stat(p, &st) < 0) {
			record_error(c, 0, p, "import", "missing", strerror(errno));
			json_array_append_new(json_object_get(rep, "errors"),
					      json_string(strerror(errno)));
		} else if (S_ISDIR(st.st_mode)) {
			err = import_walk(c, i + 1, p, "", rep, 0);
		} else {
			const char *base = strrchr(p, '/');
			char rel[256];

			snprintf(rel, sizeof(rel), "%s", base ? base + 1 : p);
			safe_name(rel);
			err = import_file(c, i + 1, p, rel, rep);
		}
	}
	return err;
}

/* ---- life ---------------------------------------------------------------------- */

int kt_k8scap_new(struct kt_k8scap **out, const struct kt_k8scap_opts *opts,
		  const struct kt_k8s_sink *sink)
{
	struct kt_k8scap *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->o = *opts;
	c->sink = *sink;
	c->ep = -1;
	if (!c->o.kubectl)
		c->o.kubectl = "kubectl";
	if (!c->o.call_timeout_ns)
		c->o.call_timeout_ns = 30 * SEC;
	if (!c->o.max_parallel)
		c->o.max_parallel = 3;
	if (c->o.max_parallel > 8)
		c->o.max_parallel = 8;
	if (!c->o.max_output)
		c->o.max_output = 256u << 20;
	for (unsigned i = 0; i < NRES; i++) {
		c->res_on[i] = !c->o.resources;
		for (unsigned k = 0; c->o.resources && c->o.resources[k]; k++)
			c->res_on[i] |= strcmp(c->o.resources[k], resources[i].name) == 0;
	}
	c->errors = json_array();
	c->imports = json_array();
	if (!c->errors || !c->imports) {
		kt_k8scap_free(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

int kt_k8scap_start(struct kt_k8scap *c)
{
	int err;

	c->ep = epoll_create1(EPOLL_CLOEXEC);
	if (c->ep < 0)
		return kt_err_set(-errno, "cannot create epoll: %s", strerror(errno));
	if ((err = import_all(c)) < 0)
		return err;
	if ((err = snapshot_begin(c, "start")) < 0)
		return err;
	snapshot_pump(c);
	c->next_snap = kt_mono_ns() + c->o.interval_ns;
	for (unsigned i = 0; !c->o.no_watch && i < NRES; i++) {
		if (!resources[i].watch || !c->res_on[i])
			continue;
		c->watches[c->nwatches].res = (int)i;
		watch_start(c, &c->watches[c->nwatches++]);
	}
	return c->sink_err;
}

static void drive(struct kt_k8scap *c, uint64_t until)
{
	struct epoll_event evs[8];

	while ((c->active || (c->ncalls && c->calls[0])) && kt_mono_ns() < until) {
		bool lists = false;

		for (unsigned i = 0; i < c->ncalls; i++)
			lists |= c->calls[i]->type != CALL_WATCH;
		if (!c->active && !lists)
			break;
		epoll_wait(c->ep, evs, 8, 50);
		kt_k8scap_poll(c);
	}
}

int kt_k8scap_stop(struct kt_k8scap *c, json_t *report)
{
	uint64_t budget = c->o.call_timeout_ns * (NRES / c->o.max_parallel + 3);
	json_t *watches = json_object(), *imports;
	const char *status;
	int err = 0;

	if (c->ep >= 0) {
		/* An interval snapshot in flight is cut short (what it got is
		 * written); the last one follows, with the watches still
		 * running so nothing between is missed. */
		c->stopping = true;	/* no interval snapshot, no watch restart */
		if (c->active) {
			c->active->next = NRES;
			for (unsigned i = 0; i < c->ncalls; i++) {
				struct call *k = c->calls[i];

				if (k->type == CALL_WATCH)
					continue;
				k->interrupted = true;
				/* Still no answer when the recording ends: not
				 * asked again by the last snapshot, so a hanging
				 * API does not hold the stop for a full timeout. */
				c->timeouts[k->res + 1]++;
				kt_kproc_kill(&k->p);
			}
		}
		drive(c, kt_mono_ns() + budget);
		if (!c->active && snapshot_begin(c, "end") == 0) {
			snapshot_pump(c);
			drive(c, kt_mono_ns() + budget);
		}
		for (unsigned i = 0; i < c->ncalls; i++)
			if (c->calls[i]->type == CALL_WATCH) {
				kt_kproc_poll(&c->calls[i]->p, c->ep);
				watch_parse(c, c->calls[i]->w);
			}
		while (c->ncalls)
			call_remove(c, 0);
		for (unsigned i = 0; i < c->nwatches; i++)
			c->watches[i].call = NULL;
		if (c->active) {
			record_error(c, c->active->seq, "snapshot", "list", "timeout",
				     "snapshot not finished when recording stopped");
			c->active->next = NRES;
			c->active->failed++;
			snapshot_finish(c);
		}
	}
	for (unsigned i = 0; i < c->nwatches; i++) {
		struct watch *w = &c->watches[i];

		json_object_set_new(watches, resources[w->res].name,
				    json_pack("{s:I,s:I,s:I,s:s?}", "events",
					      (json_int_t)w->events, "restarts",
					      (json_int_t)w->restarts, "dropped",
					      (json_int_t)w->dropped, "last_error",
					      w->last_error[0] ? w->last_error : NULL));
	}
	if (c->resources_ok == 0 && c->snaps_done)
		status = "failed";
	else if (c->nerrors)
		status = "partial";
	else
		status = "ok";
	imports = c->imports;
	c->imports = NULL;
	json_object_set_new(report, "status", json_string(status));
	if (c->nerrors)
		json_object_set_new(report, "message", json_string(json_string_value(
			json_object_get(json_array_get(c->errors, 0), "message"))));
	json_object_set_new(report, "kubectl", json_string(c->o.kubectl));
	if (c->o.context)
		json_object_set_new(report, "context", json_string(c->o.context));
	json_object_set_new(report, "namespace", c->o.ns ? json_string(c->o.ns) : json_null());
	if (c->o.node)
		json_object_set_new(report, "node", json_string(c->o.node));
	json_object_set_new(report, "interval_ns", json_integer((json_int_t)c->o.interval_ns));
	json_object_set_new(report, "snapshots", json_integer(c->snaps_done));
	json_object_set_new(report, "snapshots_skipped", json_integer(c->snaps_skipped));
	json_object_set_new(report, "resources_ok", json_integer((json_int_t)c->resources_ok));
	json_object_set_new(report, "resources_failed",
			    json_integer((json_int_t)c->resources_failed));
	json_object_set_new(report, "watches", watches);
	json_object_set_new(report, "errors_total", json_integer((json_int_t)c->nerrors));
	json_object_set(report, "errors", c->errors);
	json_object_set_new(report, "imports", imports);
	json_object_set_new(report, "redaction", kt_k8s_redaction_json(&c->red,
			    c->o.no_redact));
	err = c->sink_err;
	return err;
}

int kt_k8s_import(const char *const *paths, bool no_redact,
		  const struct kt_k8s_sink *sink, json_t *report)
{
	struct kt_k8scap_opts o = { .from = paths, .no_redact = no_redact };
	struct kt_k8scap *c = NULL;
	int err = kt_k8scap_new(&c, &o, sink);

	if (err)
		return err;
	err = import_all(c);
	if (!err)
		err = c->sink_err;
	json_object_set_new(report, "status", json_string(
		err ? "failed" : c->nerrors ? "partial" : "ok"));
	json_object_set(report, "imports", c->imports);
	json_object_set(report, "errors", c->errors);
	json_object_set_new(report, "redaction", kt_k8s_redaction_json(&c->red, no_redact));
	kt_k8scap_free(c);
	return err;
}

void kt_k8scap_free(struct kt_k8scap *c)
{
	if (!c)
		return;
	while (c->ncalls)
		call_remove(c, 0);
	if (c->active) {
		json_decref(c->active->index);
		free(c->active);
	}
	if (c->ep >= 0)
		close(c->ep);
	json_decref(c->errors);
	json_decref(c->imports);
	free(c);
}

/* ---- directory sink ------------------------------------------------------------ */

static int mkparents(const char *dir, const char *rel)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	for (char *p = path + strlen(dir) + 1; (p = strchr(p, '/')); p++) {
		*p = 0;
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

static int dir_write(void *ctx, const char *rel, const void *data, size_t len)
{
	char path[4096], tmp[4200];
	int fd, err = 0;

	if (strstr(rel, "..") || rel[0] == '/')
		return kt_err_set(-EINVAL, "unsafe path '%s'", rel);
	if ((err = mkparents(ctx, rel)) < 0)
		return kt_err_set(err, "cannot create directories for '%s'", rel);
	snprintf(path, sizeof(path), "%s/%s", (const char *)ctx, rel);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return kt_err_set(-errno, "cannot create '%s': %s", tmp, strerror(errno));
	if (write(fd, data, len) != (ssize_t)len)
		err = kt_err_set(-EIO, "cannot write '%s'", tmp);
	if (close(fd) < 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) < 0)
		err = kt_err_set(-errno, "cannot rename '%s': %s", tmp, strerror(errno));
	return err;
}

static int dir_append(void *ctx, const char *rel, const void *data, size_t len)
{
	char path[4096];
	int fd, err = 0;

	if (strstr(rel, "..") || rel[0] == '/')
		return kt_err_set(-EINVAL, "unsafe path '%s'", rel);
	if ((err = mkparents(ctx, rel)) < 0)
		return err;
	snprintf(path, sizeof(path), "%s/%s", (const char *)ctx, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return kt_err_set(-errno, "cannot open '%s': %s", path, strerror(errno));
	if (write(fd, data, len) != (ssize_t)len)
		err = kt_err_set(-EIO, "cannot append to '%s'", path);
	close(fd);
	return err;
}

int kt_k8s_dir_sink(struct kt_k8s_sink *sink, const char *dir)
{
	sink->ctx = strdup(dir);
	if (!sink->ctx)
		return -ENOMEM;
	sink->write_file = dir_write;
	sink->append_file = dir_append;
	return 0;
}

void kt_k8s_dir_sink_free(struct kt_k8s_sink *sink)
{
	free(sink->ctx);
	sink->ctx = NULL;
}
