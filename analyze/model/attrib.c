/* attrib.c - which entity an end of a connection was, at the time of the
 * connection. The socket's own side is known by its cgroup (pod UID,
 * container ID; else a host process), the far side by its address (pod IP
 * valid at t, ClusterIP, node address, DNS answers). What nothing in the
 * bundle explains is an "unattributed" entity carrying the reason. */
#include "model_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "k8s.h"

static int set_str(char **dst, const char *s)
{
	if (*dst || !s)
		return 0;
	if (!(*dst = strdup(s)))
		return kt_err_set(-ENOMEM, "out of memory");
	return 0;
}

int kt_attrib_unexplained(struct kt_model *m, const char *id, const char *name,
			  const char *reason, uint32_t *out)
{
	int err = kt_entity_get(m, KT_ENT_UNATTRIBUTED, id, name, "", out);

	return err ? err : set_str(&m->ents[*out].reason, reason);
}

static int node_entity(struct kt_model *m, const char *name, uint32_t *out)
{
	char id[300];

	snprintf(id, sizeof(id), "node:%s", name);
	return kt_entity_get(m, KT_ENT_NODE, id, name, "", out);
}

static int this_node(struct kt_model *m, uint32_t *out)
{
	int err;

	if (m->node_ent != KT_ENT_NONE) {
		*out = m->node_ent;
		return 0;
	}
	if ((err = node_entity(m, m->node_name ? m->node_name : "unknown-node", out)))
		return err;
	m->node_ent = *out;
	return 0;
}

static int pod_entity(struct kt_model *m, const struct kt_k8s_object *pod, uint64_t t,
		      uint32_t *out)
{
	const struct kt_k8s_object *wl;
	char id[600];
	uint32_t e, w = KT_ENT_NONE, n = KT_ENT_NONE;
	int err;

	snprintf(id, sizeof(id), "pod:%s/%s", pod->ns ? pod->ns : "", pod->name);
	if ((err = kt_entity_get(m, KT_ENT_POD, id, pod->name, pod->ns, &e)))
		return err;
	*out = e;
	if (m->ents[e].detail || m->ents[e].workload != KT_ENT_NONE)
		return 0;
	wl = kt_k8s_workload(m->k8s, pod, t, NULL);
	if (wl && wl != pod) {
		snprintf(id, sizeof(id), "workload:%s/%s/%s", wl->ns ? wl->ns : "",
			 wl->kind_name, wl->name);
		if ((err = kt_entity_get(m, KT_ENT_WORKLOAD, id, wl->name, wl->ns, &w)) ||
		    (err = set_str(&m->ents[w].detail, wl->kind_name)))
			return err;
	}
	if (pod->u.pod.node && (err = node_entity(m, pod->u.pod.node, &n)))
		return err;
	m->ents[e].workload = w;
	m->ents[e].node = n;
	return set_str(&m->ents[e].detail, pod->u.pod.nips ? pod->u.pod.ips[0] :
					   pod->u.pod.host_network ? "hostNetwork" : "");
}

/* Add id to a '\n'-separated list, once, at most max entries. */
static int add_line(char **list, const char *id, unsigned max)
{
	size_t l = strlen(id), have;
	unsigned n = 1;
	char *s;

	if (!*list)
		return set_str(list, id);
	for (s = *list; *s; s += strcspn(s, "\n"), s += *s == '\n', n++)
		if (!strncmp(s, id, l) && (s[l] == '\n' || !s[l]))
			return 0;
	if (n > max)
		return 0;
	have = strlen(*list);
	if (!(s = realloc(*list, have + l + 2)))
		return kt_err_set(-ENOMEM, "out of memory");
	s[have] = '\n';
	memcpy(s + have + 1, id, l + 1);
	*list = s;
	return 0;
}

/* The container of a cgroup, under its pod: which container of a pod
 * talked is in the pod's node of the JSON. A container that restarted has
 * a new ID under the same name: each ID seen is kept, in order. */
static int container_entity(struct kt_model *m, const struct kt_k8s_object *pod,
			    const char *cid, uint64_t t, uint32_t pod_ent)
{
	const struct kt_k8s_container *k = NULL;
	char id[700];
	uint32_t e;
	int err;

	if (kt_k8s_pod_by_container(m->k8s, cid, t, &k) != pod || !k || !k->name)
		return 0;
	snprintf(id, sizeof(id), "container:%s/%s/%s", pod->ns ? pod->ns : "", pod->name, k->name);
	if ((err = kt_entity_get(m, KT_ENT_CONTAINER, id, k->name, pod->ns, &e)))
		return err;
	m->ents[e].pod = pod_ent;
	return add_line(&m->ents[e].detail, cid, KT_CONTAINER_IDS_MAX);
}

/* A pod known only by the UID in its cgroup path. */
static int uid_pod(struct kt_model *m, const char *uid, uint32_t *out)
{
	char id[64];
	uint32_t n;
	int err;

	snprintf(id, sizeof(id), "pod:uid/%s", uid);
	if ((err = kt_entity_get(m, KT_ENT_POD, id, uid, "", out)))
		return err;
	if (m->ents[*out].reason)
		return 0;
	if ((err = this_node(m, &n)))
		return err;
	m->ents[*out].node = n;
	return set_str(&m->ents[*out].reason, m->k8s_has_pods
		? "pod UID from its cgroup; no Pod object in the bundle has it"
		: "pod UID from its cgroup; the bundle has no Kubernetes objects");
}

static int process_entity(struct kt_model *m, const char *name, uint32_t *out)
{
	char id[400];
	uint32_t n;
	int err;

	if ((err = this_node(m, &n)))
		return err;
	snprintf(id, sizeof(id), "process:%s/%s", m->ents[n].name, name);
	if ((err = kt_entity_get(m, KT_ENT_PROCESS, id, name, "", out)))
		return err;
	m->ents[*out].node = n;
	return 0;
}

static int attrib_ip(struct kt_model *m, const uint8_t ip[16], uint64_t t, uint32_t *out,
		     uint64_t *from, uint64_t *until)
{
	const struct kt_k8s_object *o;
	const struct kt_dnsip *d;
	char ips[64], id[128];
	int err;

	*from = 0;
	*until = UINT64_MAX;
	if (m->k8s_has_pods) {
		uint64_t lo, hi;

		/* the answer holds over the intersection of both spans: the
		 * pod query's, and the node query's when no pod had it */
		if ((o = kt_k8s_pod_by_ip_span(m->k8s, ip, t, from, until)))
			return pod_entity(m, o, t, out);
		o = kt_k8s_node_by_ip_span(m->k8s, ip, t, &lo, &hi);
		if (lo > *from)
			*from = lo;
		if (hi < *until)
			*until = hi;
		if (o)
			return node_entity(m, o->name, out);
		/* nothing had it at t: the answer below may change when a pod
		 * or node takes the address (kept, when the span says so) */
	}
	kt_ip_str(ip, ips, sizeof(ips));
	for (uint32_t i = 0; i < m->nnode_ips; i++)
		if (!memcmp(m->node_ips[i], ip, 16))
			return this_node(m, out);
	if ((d = kt_dns_find(m, ip)) && d->names) {
		char first[256];
		size_t l = strcspn(d->names, "\n");

		snprintf(first, sizeof(first), "%.*s", (int)(l < 255 ? l : 255), d->names);
		snprintf(id, sizeof(id), "external:%s", ips);
		if ((err = kt_entity_get(m, KT_ENT_EXTERNAL, id, first, "", out)))
			return err;
		if ((err = set_str(&m->ents[*out].detail, ips)))
			return err;
		return set_str(&m->ents[*out].names, d->names);
	}
	if (m->k8s_has_pods) {
		/* no pod, service or node had it at t: outside the cluster */
		snprintf(id, sizeof(id), "external:%s", ips);
		if ((err = kt_entity_get(m, KT_ENT_EXTERNAL, id, ips, "", out)))
			return err;
		return set_str(&m->ents[*out].detail, ips);
	}
	snprintf(id, sizeof(id), "unattributed:%s", ips);
	if ((err = kt_entity_get(m, KT_ENT_UNATTRIBUTED, id, ips, "", out)))
		return err;
	if ((err = set_str(&m->ents[*out].detail, ips)))
		return err;
	return set_str(&m->ents[*out].reason,
		       "no Kubernetes objects in the bundle, and no host fact or DNS "
		       "answer names this address");
}

static bool host_netns(const struct kt_model *m, uint64_t netns)
{
	return !netns || !m->host_netns || netns == m->host_netns;
}

struct kt_answer *kt_answer_find(const struct kt_model *m, const uint8_t ip[16])
{
	uint64_t h = kt_hash_ipport(ip, 0, 0);

	for (uint32_t i = kt_map_first(&m->answermap, h); i != KT_MAP_END;
	     i = kt_map_next(&m->answermap, h, i))
		if (!memcmp(m->answers[i].ip, ip, 16))
			return &m->answers[i];
	return NULL;
}

int kt_answer_put(struct kt_model *m, const uint8_t ip[16], uint32_t ent, uint64_t from,
		  uint64_t until)
{
	struct kt_answer *a = kt_answer_find(m, ip);
	int err;

	if (!a) {
		if ((err = kt_grow((void **)&m->answers, &m->capanswers, m->nanswers + 1,
				   sizeof(*m->answers))) ||
		    (err = kt_map_put(&m->answermap, kt_hash_ipport(ip, 0, 0), m->nanswers)))
			return err;
		a = &m->answers[m->nanswers++];
		memcpy(a->ip, ip, 16);
	}
	a->ent = ent;
	a->from = from;
	a->until = until;
	return 0;
}

/* The owner of ip at t, and the span the answer holds over (empty: not to
 * be kept). */
static int remote_span(struct kt_model *m, const uint8_t ip[16], uint64_t t, uint32_t *out,
		       uint64_t *from, uint64_t *until)
{
	const struct kt_answer *a = kt_answer_find(m, ip);
	int err;

	if (a && t >= a->from && t < a->until) {
		*out = a->ent;
		*from = a->from;
		*until = a->until;
		return 0;
	}
	if ((err = attrib_ip(m, ip, t, out, from, until)))
		return err;
	return *until > *from ? kt_answer_put(m, ip, *out, *from, *until) : 0;
}

int kt_attrib_remote(struct kt_model *m, const uint8_t ip[16], uint64_t t, uint32_t *out)
{
	uint64_t from, until;

	return remote_span(m, ip, t, out, &from, &until);
}

int kt_dest_add(struct kt_model *m, const uint8_t ip[16], uint16_t port, uint8_t proto,
		uint64_t h, uint32_t *out)
{
	struct kt_dest *d;
	int err;

	if ((err = kt_grow((void **)&m->dests, &m->capdests, m->ndests + 1, sizeof(*m->dests))) ||
	    (err = kt_map_put(&m->destmap, h, m->ndests)))
		return err;
	d = &m->dests[m->ndests];
	memset(d, 0, sizeof(*d));
	memcpy(d->ip, ip, 16);
	d->port = port;
	d->proto = proto;
	d->svc = d->owner = KT_ENT_NONE;
	*out = m->ndests++;
	return 0;
}

bool kt_dest_nat_ask(struct kt_model *m, uint32_t i)
{
	struct kt_dest *d = &m->dests[i];

	d->nat = kt_nat_to(m, d->proto, d->ip, d->port);
	d->nat_n = m->nnat;
	return d->nat;
}

int kt_attrib_owner_ask(struct kt_model *m, uint32_t i, uint64_t t, uint32_t *out)
{
	struct kt_dest *d = &m->dests[i];
	uint64_t from, until;
	int err;

	if ((err = remote_span(m, d->ip, t, out, &from, &until)))
		return err;
	/* attributing may have grown the array */
	d = &m->dests[i];
	d->owner = *out;
	d->owner_from = from;
	d->owner_until = until;
	return 0;
}

/* kt_attrib_local when its cgroup's answer was not kept for t. */
int kt_attrib_local_ask(struct kt_model *m, const struct kt_side *s, const uint8_t ip[16],
			uint64_t t, struct kt_cg *c, uint32_t *out)
{
	const struct kt_pidinfo *p;
	const char *uid = c && c->uid[0] ? c->uid : NULL;
	const char *name;
	int err;

	if (!uid && !c && s->netns)
		uid = kt_lineage_netns_uid(m, s->netns);
	if (uid || (c && c->cid)) {
		const struct kt_k8s_object *pod = NULL;

		if (m->k8s_has_pods) {
			pod = uid ? kt_k8s_pod_by_uid(m->k8s, uid, t) : NULL;
			if (!pod && c && c->cid)
				pod = kt_k8s_pod_by_container(m->k8s, c->cid, t, NULL);
		}
		if (pod) {
			if ((err = pod_entity(m, pod, t, out)))
				return err;
			if (c && c->cid && (err = container_entity(m, pod, c->cid, t, *out)))
				return err;
			if (c) {
				c->ent = *out;
				c->ent_from = pod->from_ns;
				c->ent_until = pod->until_ns;
			}
			return 0;
		}
		if (uid) {
			if ((err = uid_pod(m, uid, out)))
				return err;
			if (c) {
				c->ent = *out;
				c->ent_from = 0;
				c->ent_until = UINT64_MAX;
			}
			return 0;
		}
	}
	/* Not in a pod. A process of the node's own netns is a host process;
	 * one in a netns of its own (a container outside Kubernetes, a lab's
	 * "external" host) is judged by its address like any far end. */
	if ((c || s->pid || s->comm[0]) && host_netns(m, s->netns ? s->netns : c ? c->netns : 0)) {
		name = s->comm[0] ? s->comm : NULL;
		if (!name && s->pid && (p = kt_lineage_pid(m, s->pid)) && p->comm[0])
			name = p->comm;
		if (!name && c && c->comm[0])
			name = c->comm;
		if (!name && c && c->path) {
			name = strrchr(c->path, '/');
			name = name ? name + 1 : c->path;
		}
		if (name && *name)
			return process_entity(m, name, out);
	}
	return kt_attrib_remote(m, ip, t, out);
}

int kt_attrib_service_ask(struct kt_model *m, uint32_t i, uint64_t t, bool translated,
			  uint32_t *out, bool *found)
{
	const struct kt_dest *d = &m->dests[i];
	const struct kt_k8s_object *svc = NULL;
	uint8_t ip[16];
	uint16_t port = d->port;
	char id[600], ips[64];
	uint64_t lo = 0, hi = 0;
	int err;

	*found = false;
	memcpy(ip, d->ip, 16);
	if (m->k8s_has_pods) {
		/* every connection asks: the answer is kept over its span */
		if (t >= d->svc_from && t < d->svc_until) {
			if (d->svc != KT_ENT_NONE) {
				*out = d->svc;
				*found = true;
				return 0;
			}
			goto none;
		}
		svc = kt_k8s_service_by_ip_span(m->k8s, ip, port,
						d->proto == IPPROTO_UDP ? "UDP" : "TCP", t, NULL,
						&lo, &hi);
	}
	if (svc) {
		snprintf(id, sizeof(id), "service:%s/%s", svc->ns ? svc->ns : "", svc->name);
		if ((err = kt_entity_get(m, KT_ENT_SERVICE, id, svc->name, svc->ns, out)))
			return err;
		kt_ip_str(ip, ips, sizeof(ips));
		*found = true;
		if ((err = set_str(&m->ents[*out].detail, ips)))
			return err;
	}
	if (m->k8s_has_pods && hi > lo) {
		struct kt_dest *w = &m->dests[i];

		w->svc = svc ? *out : KT_ENT_NONE;
		w->svc_from = lo;
		w->svc_until = hi;
	}
	if (svc)
		return 0;
none:
	if (!translated)
		return 0;
	/* kube-proxy translated it, but no Service object names the address */
	kt_ip_str(ip, ips, sizeof(ips));
	snprintf(id, sizeof(id), "service:%s:%u", ips, port);
	snprintf(id + 300, sizeof(id) - 300, "%s:%u", ips, port);
	if ((err = kt_entity_get(m, KT_ENT_SERVICE, id, id + 300, "", out)))
		return err;
	*found = true;
	if ((err = set_str(&m->ents[*out].detail, ips)))
		return err;
	return set_str(&m->ents[*out].reason,
		       "translated to a backend (DNAT), but no Service in the bundle has this address");
}
