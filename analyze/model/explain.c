/* explain.c - what the Kubernetes objects say about why an edge's
 * connections failed (refused, timed out, unreachable), at the start of its
 * first failed one: a Service with no ready endpoint (kube-proxy rejects
 * or drops what is sent to it), or NetworkPolicies that isolate the
 * server's pod for ingress, or the client's for egress, with no rule that
 * admits the connection. A hint where to look, said as what the objects
 * ask. The other way round, an edge whose connections were established
 * although the policies deny them says the cluster did not enforce them.
 */
#include "model_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "k8s.h"

#define EXPLAIN_BACKENDS_MAX 16	/* backends of a Service checked */

static int add(json_t *out, const char *text)
{
	const json_t *x;
	size_t i;

	json_array_foreach(out, i, x)
		if (!strcmp(json_string_value(x), text))
			return 0;
	if (json_array_append_new(out, json_string(text)))
		return kt_err_set(-ENOMEM, "out of memory");
	return 0;
}

/* The pod object an entity stands for at t, or NULL. */
static const struct kt_k8s_object *pod_of(const struct kt_model *m, const struct kt_entity *e,
					  uint64_t t)
{
	if (e->kind != KT_ENT_POD || !e->ns[0])
		return NULL;
	return kt_k8s_get(m->k8s, KT_K8S_POD, e->ns, e->name, t);
}

static const char *pod_ip(const struct kt_k8s_object *p)
{
	return p && p->u.pod.nips ? p->u.pod.ips[0] : NULL;
}

/* The policies of one direction said as a sentence into buf. */
static void denied_text(char *buf, size_t len, bool ingress, const struct kt_np_result *r,
			const char *isolated, const char *other, const char *proto, int32_t port)
{
	char more[48] = "";

	if (r->npolicies > 1)
		snprintf(more, sizeof(more), " (and %" PRIu32 " more)", r->npolicies - 1);
	snprintf(buf, len, "NetworkPolicy %s/%s%s isolates %s for %s and no rule admits %s %s "
		 "%s on %s %" PRId32, r->policy->ns ? r->policy->ns : "",
		 r->policy->name ? r->policy->name : "", more, isolated,
		 ingress ? "ingress" : "egress", ingress ? "connections from" : "connections to",
		 other, ingress ? "to it" : "from it", proto, port);
}

struct backends {
	const struct kt_model *m;
	const struct kt_k8s_object *src;
	const char *src_ip, *proto, *src_name;
	const char *node;	/* the client is this node (a host process, a
				 * hostNetwork pod): its pods admit it */
	uint64_t t;
	uint32_t ready, not_ready, checked, unknown, denied_in, denied_out;
	char in[600], out[600];		/* the first denial of each direction */
	int err;
};

/* Both directions of src -> dst:port (dst a pod, or NULL with the far
 * end's address and id in dst_ip, dst_id); the first denial of each kept. */
static int check_pair(struct backends *b, const struct kt_k8s_object *dst, const char *dst_ip,
		      const char *dst_id, int32_t port)
{
	struct kt_np_result in, out;
	char dname[300];
	int err;

	if (dst)
		snprintf(dname, sizeof(dname), "%s/%s", dst->ns ? dst->ns : "",
			 dst->name ? dst->name : "");
	else
		snprintf(dname, sizeof(dname), "%s", dst_id);
	if ((err = kt_k8s_netpol_check(b->m->k8s, true, b->src, b->src_ip, dst, dst_ip, b->proto,
				       port, b->t, &in)) ||
	    (err = kt_k8s_netpol_check(b->m->k8s, false, b->src, b->src_ip, dst, dst_ip, b->proto,
				       port, b->t, &out)))
		return err;
	/* an isolated pod still takes connections from its own node */
	if (b->node && dst && dst->u.pod.node && !strcmp(dst->u.pod.node, b->node))
		in.v = KT_NP_OPEN;
	b->checked++;
	if (in.v == KT_NP_DENIED && !b->denied_in++)
		denied_text(b->in, sizeof(b->in), true, &in, dname, b->src_name, b->proto, port);
	if (out.v == KT_NP_DENIED && !b->denied_out++)
		denied_text(b->out, sizeof(b->out), false, &out, b->src_name, dname, b->proto, port);
	return 0;
}

static int backend_cb(void *arg, const struct kt_k8s_endpoint *ep, int32_t port,
		      const struct kt_k8s_object *from)
{
	struct backends *b = arg;
	const struct kt_k8s_object *pod;

	(void)from;
	if (!ep->ready) {
		b->not_ready++;
		return 0;
	}
	b->ready++;
	if (b->checked >= EXPLAIN_BACKENDS_MAX)
		return 0;
	if (!ep->ip || !port || !(pod = kt_k8s_pod_by_ip_str(b->m->k8s, ep->ip, b->t))) {
		b->unknown++;	/* a backend the policies cannot be asked about */
		return 0;
	}
	return (b->err = check_pair(b, pod, ep->ip, NULL, port)) ? 1 : 0;
}

struct pick {
	struct kt_k8s_selector sel;
	uint32_t n, ready;
};

static int pick_cb(void *arg, const struct kt_k8s_object *pod)
{
	struct pick *p = arg;

	if (!kt_k8s_selector_match(&p->sel, pod->labels, pod->nlabels) || !pod->u.pod.phase ||
	    !strcmp(pod->u.pod.phase, "Succeeded") || !strcmp(pod->u.pod.phase, "Failed"))
		return 0;
	p->n++;
	p->ready += pod->u.pod.ready;
	return 0;
}

/* A Service with no ready endpoint at t, said as a sentence; "" when it has
 * one, or none to speak of: a Service without selector is fed by hand, and
 * a ready pod its selector picks means the endpoints were not recorded. */
static int no_endpoint(const struct kt_model *m, const struct kt_k8s_object *svc,
		       const struct backends *b, char *buf, size_t len)
{
	struct pick p = { { .match = svc->u.svc.selector, .nmatch = svc->u.svc.nselector,
			    .present = true }, 0, 0 };
	int err;

	buf[0] = '\0';
	if (b->ready)
		return 0;
	if (b->not_ready) {
		snprintf(buf, len, "Service %s/%s had no ready endpoint: its %" PRIu32 " addresses "
			 "were not ready", svc->ns, svc->name, b->not_ready);
		return 0;
	}
	if (!svc->u.svc.nselector)
		return 0;
	if ((err = kt_k8s_each(m->k8s, KT_K8S_POD, svc->ns, b->t, pick_cb, &p)) < 0)
		return err;
	if (!p.n)
		snprintf(buf, len, "Service %s/%s had no endpoint: its selector matched no pod",
			 svc->ns, svc->name);
	else if (!p.ready)
		snprintf(buf, len, "Service %s/%s had no ready endpoint: none of the %" PRIu32
			 " pods its selector matched was ready", svc->ns, svc->name, p.n);
	return 0;
}

/* Connections established although the policies deny every end checked:
 * the denial, and that the cluster did not enforce it. */
static int not_enforced(const struct backends *b, const struct kt_edge *e, json_t *out)
{
	char text[800];
	int err;

	if (!b->checked || b->unknown)
		return 0;
	for (int dir = 0; dir < 2; dir++) {
		if ((dir ? b->denied_out : b->denied_in) != b->checked)
			continue;
		snprintf(text, sizeof(text), "%s, yet %" PRIu64 " %s established: not enforced",
			 dir ? b->out : b->in, e->total.established,
			 e->total.established == 1 ? "was" : "were");
		if ((err = add(out, text)))
			return err;
	}
	return 0;
}

int kt_model_explain(const struct kt_model *m, const struct kt_edge *e, json_t *out)
{
	const struct kt_entity *s = &m->ents[e->src], *d = &m->ents[e->dst];
	uint64_t t = e->first_failed;
	struct backends b = { .m = m };
	char sname[300], text[700];
	int err;

	bool failed = t && (e->total.failed[KT_FAIL_REFUSED] || e->total.failed[KT_FAIL_TIMEOUT] ||
			    e->total.failed[KT_FAIL_UNREACHABLE]);

	if (!m->k8s_has_pods)
		return 0;
	if (!failed) {
		/* established where a policy says no: it was not enforced */
		if (!e->total.established || !m->k8s_has_netpol)
			return 0;
		t = e->total.first_seen;
	}
	b.t = t;
	b.proto = e->proto == IPPROTO_UDP ? "UDP" : "TCP";
	b.src = pod_of(m, s, t);
	b.src_ip = b.src ? pod_ip(b.src) : s->kind == KT_ENT_EXTERNAL ||
		   s->kind == KT_ENT_UNATTRIBUTED ? s->detail : NULL;
	snprintf(sname, sizeof(sname), "%s%s%s", b.src ? b.src->ns : "", b.src ? "/" : "",
		 b.src ? b.src->name : s->id);
	b.src_name = sname;
	if (s->kind == KT_ENT_PROCESS || s->kind == KT_ENT_NODE)
		b.node = m->node_name;
	else if (b.src && b.src->u.pod.host_network)
		b.node = b.src->u.pod.node;

	if (d->kind == KT_ENT_SERVICE && d->ns[0]) {
		const struct kt_k8s_object *svc = kt_k8s_get(m->k8s, KT_K8S_SERVICE, d->ns, d->name, t);
		const struct kt_k8s_port *sport = NULL;

		if (!svc)
			return 0;
		for (uint32_t i = 0; i < svc->u.svc.nports; i++)
			if (svc->u.svc.ports[i].port == e->port &&
			    !strcasecmp(svc->u.svc.ports[i].protocol ? svc->u.svc.ports[i].protocol :
					"TCP", b.proto))
				sport = &svc->u.svc.ports[i];
		if (!sport)
			return 0;
		if (!failed) {
			/* the backends that served it, when the bundle shows them */
			for (uint32_t i = 0; i < e->nbackends && !b.err; i++) {
				const struct kt_k8s_object *pod = pod_of(m, &m->ents[e->backends[i].ent], t);

				if (!pod)
					b.unknown++;
				else
					b.err = check_pair(&b, pod, pod_ip(pod), NULL, e->backends[i].port);
			}
			if (b.err)
				return b.err;
			return not_enforced(&b, e, out);
		}
		if ((err = kt_k8s_backends(m->k8s, svc, sport, t, backend_cb, &b)) < 0)
			return err;
		if (b.err)
			return b.err;
		if ((err = no_endpoint(m, svc, &b, text, sizeof(text))))
			return err;
		if (text[0])
			return add(out, text);
	} else if (d->kind == KT_ENT_POD) {
		const struct kt_k8s_object *dst = pod_of(m, d, t);

		if (!dst || (err = check_pair(&b, dst, pod_ip(dst), NULL, e->port)))
			return dst ? err : 0;
	} else if (b.src && d->detail && (d->kind == KT_ENT_EXTERNAL ||
					   d->kind == KT_ENT_UNATTRIBUTED)) {
		/* outside the pods: only the client's egress policies speak */
		if ((err = check_pair(&b, NULL, d->detail, d->id, e->port)))
			return err;
	}
	if (!failed)
		return not_enforced(&b, e, out);
	/* a denial counts when every backend was checked and denied */
	if (!b.checked || b.unknown)
		return 0;
	if (b.denied_in == b.checked && (err = add(out, b.in)))
		return err;
	if (b.denied_out == b.checked && (err = add(out, b.out)))
		return err;
	return 0;
}
