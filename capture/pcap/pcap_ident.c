/* pcap_ident.c - who is behind each captured interface.
 *
 * The interface blocks of a fragment name the node, the netns the packets
 * were captured in, and, for a pod's veth, the pod. The pod comes from the
 * host facts the host source wrote at start (host/start/netns.json,
 * processes.json; collected here when that source does not run): the veth's
 * peer is the interface of another netns whose index is the veth's link and
 * whose link is the veth; the processes of that netns carry the pod UID and
 * container ID in their cgroup paths. The pod's name and the container's
 * come from the newest pods snapshot of the k8s source, when it runs.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "error.h"
#include "manifest.h"
#include "host.h"
#include "pcap_int.h"

#define PODS_FILE_MAX (64u << 20)
#define PODS_RELOAD_NS 1000000000ull

static json_int_t jint(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static json_t *find_link(json_t *ns, const char *name)
{
	json_t *l;
	size_t i;

	json_array_foreach(json_object_get(ns, "links"), i, l) {
		const char *n = json_string_value(json_object_get(l, "name"));

		if (n && !strcmp(n, name))
			return l;
	}
	return NULL;
}

/* The netns holding the other end of veth 'l' of our netns, 0 unknown.
 * Candidates have the peer's index and point back at ours; the netns id
 * our netns gives them (RTM_GETNSID) must be the veth's link_netnsid. */
static uint64_t peer_netns(json_t *namespaces, uint64_t own, json_t *l,
			   json_t **peer_link)
{
	json_int_t idx = jint(l, "index"), link = jint(l, "link");
	json_t *ns, *pl, *want = json_object_get(l, "link_netnsid");
	uint64_t found = 0, unverified = 0;
	unsigned nunverified = 0;
	size_t i, j;

	if (!link || link == idx)
		return 0;
	json_array_foreach(namespaces, i, ns) {
		const char *path = json_string_value(json_object_get(ns, "path"));
		int32_t nsid;

		if ((uint64_t)jint(ns, "netns") == own)
			continue;
		json_array_foreach(json_object_get(ns, "links"), j, pl) {
			if (jint(pl, "index") != link || jint(pl, "link") != idx)
				continue;
			if (want && path && !kt_pcap_nsid_of(path, &nsid)) {
				if (nsid == (int32_t)json_integer_value(want)) {
					found = (uint64_t)jint(ns, "netns");
					*peer_link = pl;
				}
			} else {
				unverified = (uint64_t)jint(ns, "netns");
				nunverified++;
				if (!found)
					*peer_link = pl;
			}
		}
	}
	if (!found && nunverified != 1)
		*peer_link = NULL;
	return found ? found : nunverified == 1 ? unverified : 0;
}

static void pod_of_netns(json_t *procs, uint64_t netns, struct kt_pcap_ident *id)
{
	json_t *p;
	size_t i;

	json_array_foreach(json_object_get(procs, "processes"), i, p) {
		const char *uid = json_string_value(json_object_get(p, "pod_uid"));
		const char *cid = json_string_value(json_object_get(p, "container_id"));

		if ((uint64_t)jint(p, "netns") != netns || !uid || !*uid)
			continue;
		if (json_is_true(json_object_get(p, "monitor")))
			continue;
		snprintf(id->pod_uid, sizeof(id->pod_uid), "%s", uid);
		if (cid && !*id->container_id)
			snprintf(id->container_id, sizeof(id->container_id), "%s", cid);
	}
}

void kt_pcap_ident_from_host(struct kt_pcap_src *s, json_t *facts, unsigned from)
{
	json_t *nsdoc = json_object_get(facts, "netns");
	json_t *procs = json_object_get(facts, "processes");
	json_t *namespaces = json_object_get(nsdoc, "namespaces"), *own = NULL, *ns;
	size_t i;

	json_array_foreach(namespaces, i, ns)
		if ((uint64_t)jint(ns, "netns") == s->own_netns)
			own = ns;
	for (unsigned k = from; own && k < s->nifs; k++) {
		struct kt_pcap_iface *f = &s->ifs[k];
		json_t *l, *pl = NULL;
		const char *kind, *ip;

		if (f->closed)	/* gone: what was known stays */
			continue;
		if (!(l = find_link(own, f->name))) {
			s->all_netns = true;	/* "any", or gone since */
			continue;
		}
		kind = json_string_value(json_object_get(l, "kind"));
		f->id.veth = kind && !strcmp(kind, "veth");
		f->id.peer_netns = peer_netns(namespaces, s->own_netns, l, &pl);
		if (f->id.peer_netns)
			pod_of_netns(procs, f->id.peer_netns, &f->id);
		/* the pod's IP names it in the k8s snapshot even when no process
		 * of it was alive at start */
		ip = json_string_value(json_object_get(json_array_get(
			json_object_get(pl, "addresses"), 0), "address"));
		if (ip)
			snprintf(f->id.peer_ip, sizeof(f->id.peer_ip), "%s", ip);
		else if (f->id.veth)
			s->all_netns = true;
	}
	if (!own)
		s->all_netns = true;
}

bool kt_pcap_netns_seen(const struct kt_pcap_src *s, uint64_t netns)
{
	if (s->all_netns || !netns || netns == s->own_netns)
		return true;
	for (unsigned k = 0; k < s->nifs; k++)
		if (s->ifs[k].id.peer_netns == netns)
			return true;
	return false;
}

static int load_doc(const char *dir, const char *name, json_t *into)
{
	char path[4096];
	json_error_t je;
	json_t *j;

	snprintf(path, sizeof(path), "%s/host/start/%s.json", dir, name);
	if (!(j = json_load_file(path, 0, &je)))
		return -ENOENT;
	json_object_set_new(into, name, j);
	return 0;
}

int kt_pcap_ident_load_host(struct kt_pcap_src *s)
{
	json_t *facts = json_object();
	int err;

	if (!facts)
		return kt_err_set(-ENOMEM, "out of memory");
	/* the host source, when it runs, started first and wrote them */
	err = load_doc(kt_spool_dir(s->ctx->spool), "netns", facts);
	if (!err)
		err = load_doc(kt_spool_dir(s->ctx->spool), "processes", facts);
	if (err) {
		struct kt_host_opts o = { .max_sockets = 1, .max_conntrack = 1 };

		json_decref(facts);
		facts = NULL;
		if ((err = kt_host_collect(&facts, &o))) {
			s->all_netns = true;
			return err;
		}
	}
	kt_pcap_ident_from_host(s, facts, 0);
	json_decref(facts);
	return 0;
}

int kt_pcap_ident_collect(struct kt_pcap_src *s, unsigned from)
{
	/* a whole walk of the node, but only when a pod came: rare */
	struct kt_host_opts o = { .max_sockets = 1, .max_conntrack = 1 };
	json_t *facts = NULL;
	int err = kt_host_collect(&facts, &o);

	if (err) {
		s->all_netns = true;
		return err;
	}
	kt_pcap_ident_from_host(s, facts, from);
	json_decref(facts);
	s->pods_dir[0] = 0;	/* names for the new ones from the snapshot */
	return 0;
}

/* "containerd://abc..." -> "abc..." */
static const char *bare_id(const char *cid)
{
	const char *p = cid ? strstr(cid, "://") : NULL;

	return p ? p + 3 : cid;
}

void kt_pcap_pods_add(json_t *map, json_t *list)
{
	json_t *pod, *cs;
	size_t i, j;

	json_array_foreach(json_object_get(list, "items"), i, pod) {
		json_t *md = json_object_get(pod, "metadata"), *containers = json_object();
		const char *uid = json_string_value(json_object_get(md, "uid"));
		const char *ns = json_string_value(json_object_get(md, "namespace"));
		const char *name = json_string_value(json_object_get(md, "name"));
		json_t *entry;
		char full[300];

		if (!uid || !name || !containers) {
			json_decref(containers);
			continue;
		}
		json_array_foreach(json_object_get(json_object_get(pod, "status"),
						   "containerStatuses"), j, cs) {
			const char *cid = bare_id(json_string_value(json_object_get(cs, "containerID")));
			const char *cname = json_string_value(json_object_get(cs, "name"));

			if (cid && cname)
				json_object_set_new(containers, cid, json_string(cname));
		}
		snprintf(full, sizeof(full), "%s/%s", ns ? ns : "", name);
		entry = json_pack("{s:s, s:s, s:o}", "pod", full, "uid", uid,
				  "containers", containers);
		json_object_set(map, uid, entry);
		/* hostNetwork pods share the node's address: not a pod's own */
		if (!json_is_true(json_object_get(json_object_get(pod, "spec"), "hostNetwork"))) {
			json_t *ip;
			size_t k;

			json_array_foreach(json_object_get(json_object_get(pod, "status"), "podIPs"), k, ip) {
				const char *a = json_string_value(json_object_get(ip, "ip"));
				char key[64];

				if (a && snprintf(key, sizeof(key), "ip:%s", a) < (int)sizeof(key))
					json_object_set(map, key, entry);
			}
			if ((ip = json_object_get(json_object_get(pod, "status"), "podIP")) &&
			    json_string_value(ip)) {
				char key[64];

				if (snprintf(key, sizeof(key), "ip:%s", json_string_value(ip)) <
				    (int)sizeof(key))
					json_object_set(map, key, entry);
			}
		}
		json_decref(entry);
	}
}

/* The newest snapshot directory of the k8s source that has pods. */
static int newest_pods_dir(const char *spool, char *out, size_t len)
{
	char base[4096], best[32] = "";
	struct dirent *e;
	DIR *d;

	snprintf(base, sizeof(base), "%s/k8s/snapshots", spool);
	if (!(d = opendir(base)))
		return -ENOENT;
	while ((e = readdir(d))) {
		char pods[4400];
		DIR *pd;

		if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof(best))
			continue;
		snprintf(pods, sizeof(pods), "%s/%s/pods", base, e->d_name);
		if (!(pd = opendir(pods)))
			continue;
		closedir(pd);
		if (strcmp(e->d_name, best) > 0)
			snprintf(best, sizeof(best), "%s", e->d_name);
	}
	closedir(d);
	if (!*best)
		return -ENOENT;
	return snprintf(out, len, "%s/%s/pods", base, best) < (int)len ? 0 : -ENAMETOOLONG;
}

void kt_pcap_ident_refresh_pods(struct kt_pcap_src *s)
{
	uint64_t now = kt_now_ns();
	bool want = false;
	char dir[4096];
	struct dirent *e;
	json_t *map;
	DIR *d;

	for (unsigned k = 0; k < s->nifs; k++)
		want |= (*s->ifs[k].id.pod_uid || *s->ifs[k].id.peer_ip) && !*s->ifs[k].id.pod;
	if (!want || (s->pods_loaded_ns && now - s->pods_loaded_ns < PODS_RELOAD_NS))
		return;
	s->pods_loaded_ns = now;
	/* a new snapshot is read once: the k8s interval bounds the work */
	if (newest_pods_dir(kt_spool_dir(s->ctx->spool), dir, sizeof(dir)) ||
	    !strcmp(dir, s->pods_dir) || !(d = opendir(dir)))
		return;
	snprintf(s->pods_dir, sizeof(s->pods_dir), "%s", dir);
	map = json_object();
	while (map && (e = readdir(d))) {
		char path[8192], *buf = NULL;
		size_t len;
		json_t *list;

		if (e->d_name[0] == '.' || !strstr(e->d_name, ".json"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (kt_read_file(path, PODS_FILE_MAX, &buf, &len))
			continue;
		if ((list = json_loadb(buf, len, 0, NULL)))
			kt_pcap_pods_add(map, list);
		json_decref(list);
		free(buf);
	}
	closedir(d);
	json_decref(s->pods);
	s->pods = map;
	for (unsigned k = 0; map && k < s->nifs; k++) {
		struct kt_pcap_ident *id = &s->ifs[k].id;
		json_t *p = *id->pod_uid ? json_object_get(map, id->pod_uid) : NULL;
		const char *cname;
		char key[64];

		if (!p && *id->peer_ip && snprintf(key, sizeof(key), "ip:%s", id->peer_ip) <
		    (int)sizeof(key))
			p = json_object_get(map, key);
		if (!p)
			continue;
		if (!*id->pod_uid)
			snprintf(id->pod_uid, sizeof(id->pod_uid), "%s",
				 json_string_value(json_object_get(p, "uid")));
		snprintf(id->pod, sizeof(id->pod), "%s", json_string_value(json_object_get(p, "pod")));
		cname = json_string_value(json_object_get(json_object_get(p, "containers"),
							  id->container_id));
		if (cname)
			snprintf(id->container, sizeof(id->container), "%s", cname);
	}
}

void kt_pcap_ident_describe(const struct kt_pcap_src *s, const struct kt_pcap_iface *i,
			    char *buf, size_t len)
{
	const struct kt_pcap_ident *id = &i->id;
	size_t n;

	n = (size_t)snprintf(buf, len, "node=%s netns=%llu", s->node ? s->node : "",
			     (unsigned long long)id->netns);
	if (n < len && id->peer_netns)
		n += (size_t)snprintf(buf + n, len - n, " peer_netns=%llu",
				      (unsigned long long)id->peer_netns);
	if (n < len && *id->pod)
		n += (size_t)snprintf(buf + n, len - n, " pod=%s", id->pod);
	if (n < len && *id->pod_uid)
		n += (size_t)snprintf(buf + n, len - n, " pod_uid=%s", id->pod_uid);
	if (n < len && *id->container)
		n += (size_t)snprintf(buf + n, len - n, " container=%s", id->container);
	if (n < len && *id->container_id)
		snprintf(buf + n, len - n, " container_id=%.12s", id->container_id);
}
