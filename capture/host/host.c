/* host.c - take the host facts, and write them into a spool (host.h). */
#include "host_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "records.h"

static void defaults(struct kt_host_opts *o, const struct kt_host_opts *in)
{
	if (in)
		*o = *in;
	else
		memset(o, 0, sizeof(*o));
	if (!o->proc_root)
		o->proc_root = "/proc";
	if (!o->max_procs)
		o->max_procs = 65536;
	if (!o->max_sockets)
		o->max_sockets = 262144;
	if (!o->max_conntrack)
		o->max_conntrack = 262144;
}

int kt_host_collect(json_t **out, const struct kt_host_opts *in)
{
	struct kt_netns_set nss = { 0 };
	struct kt_sockmap socks;
	struct kt_host_opts o;
	json_t *node = NULL, *procs = NULL, *netns, *sockets, *ct, *facts = NULL;
	int err;

	defaults(&o, in);
	err = kt_sockmap_init(&socks, 1u << 18);
	if (err)
		goto out;
	err = kt_host_node(&node, &o);
	if (err)
		goto out;
	err = kt_host_procs(&procs, &o, &socks, &nss);
	if (err)
		goto out;
	netns = json_pack("{s:[], s:[]}", "namespaces", "errors");
	sockets = json_pack("{s:[], s:I}", "namespaces", "pid_map_dropped", (json_int_t)socks.dropped);
	ct = json_pack("{s:[]}", "namespaces");
	facts = json_pack("{s:O, s:O, s:o, s:o, s:o}", "node", node, "processes", procs,
			  "netns", netns, "sockets", sockets, "conntrack", ct);
	if (!facts) {
		err = kt_err_set(-ENOMEM, "cannot build the host facts");
		goto out;
	}
	kt_host_named_netns(&o, &nss, json_object_get(netns, "errors"));
	err = kt_host_netns(&o, &nss, &socks, netns, sockets, ct);
	if (err)
		goto out;
	*out = facts;
	facts = NULL;
out:
	json_decref(facts);
	json_decref(node);
	json_decref(procs);
	kt_netns_set_release(&nss);
	kt_sockmap_release(&socks);
	return err;
}

/* The cgroup v2 path of a process (what its cgroup id names), else the
 * first v1 path that named a pod or container. */
static struct kt_str cgroup_path_of(json_t *p)
{
	json_t *cgs = json_object_get(p, "cgroups"), *c;
	struct kt_str s = { "", 0 }, v1 = { "", 0 };
	size_t i;

	json_array_foreach(cgs, i, c) {
		json_t *path = json_object_get(c, "path");
		struct kt_cgroup_info ci;

		if (!json_is_string(path))
			continue;
		if (json_integer_value(json_object_get(c, "hierarchy")) == 0) {
			s.p = json_string_value(path);
			s.len = (uint32_t)json_string_length(path);
			return s;
		}
		if (!v1.len && kt_cgroup_parse(json_string_value(path), &ci) == 0 &&
		    (ci.pod_uid[0] || ci.container_id[0])) {
			v1.p = json_string_value(path);
			v1.len = (uint32_t)json_string_length(path);
		}
	}
	return v1;
}

static struct kt_str str_of(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	struct kt_str s = { "", 0 };

	if (json_is_string(v)) {
		s.p = json_string_value(v);
		s.len = (uint32_t)json_string_length(v);
	}
	return s;
}

int kt_host_write(struct kt_spool *sp, const char *phase, json_t *facts, uint64_t ts)
{
	static const char *const docs[] = { "node", "processes", "netns", "sockets", "conntrack" };
	json_t *procs, *p;
	size_t i;
	int err = 0;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		char rel[128], *text;

		snprintf(rel, sizeof(rel), "host/%s/%s.json", phase, docs[i]);
		text = json_dumps(json_object_get(facts, docs[i]), JSON_INDENT(1) | JSON_SORT_KEYS);
		if (!text) {
			err = kt_err_set(-ENOMEM, "cannot serialize '%s'", rel);
			goto out;
		}
		err = kt_spool_write_file(sp, rel, text, strlen(text));
		free(text);
		if (err)
			goto out;
	}
	procs = json_object_get(json_object_get(facts, "processes"), "processes");
	json_array_foreach(procs, i, p) {
		struct kt_proc r = {
			.ts = ts,
			.kind = KT_PROC_SNAPSHOT,
			.pid = (uint32_t)json_integer_value(json_object_get(p, "pid")),
			.ppid = (uint32_t)json_integer_value(json_object_get(p, "ppid")),
			.cgroup_id = (uint64_t)json_integer_value(json_object_get(p, "cgroup_id")),
			.netns = (uint64_t)json_integer_value(json_object_get(p, "netns")),
			.comm = str_of(p, "comm"),
			.path = cgroup_path_of(p),
			.container_id = str_of(p, "container_id"),
			.pod_uid = str_of(p, "pod_uid"),
		};

		err = kt_spool_append(sp, &kt_proc_schema, &r);
		if (err)
			goto out;
	}
out:
	return err;
}
