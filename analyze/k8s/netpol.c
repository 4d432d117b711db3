/* netpol.c - what the NetworkPolicies at a time say of one connection
 * (k8s.h, kt_k8s_netpol_check): the rules of networking.k8s.io/v1 read from
 * each policy's spec as the API defines them. A pod is isolated in a
 * direction when a policy of its namespace selects it with that policy
 * type; then a connection passes only when a rule of one of those policies
 * admits it: one of its peers (from/to) names the other end and one of its
 * ports the destination port. Not what a CNI enforces: what the objects ask.
 */
#include "k8s.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct check {
	const struct kt_k8s_index *idx;
	bool ingress;
	const struct kt_k8s_object *src, *dst;
	const char *src_ip, *dst_ip;
	const char *protocol;
	int32_t port;
	uint64_t t;
	struct kt_np_result *out;
	bool admitted, unknown;
};

static bool label_in(const json_t *values, const char *v)
{
	const json_t *x;
	size_t i;

	json_array_foreach(values, i, x)
		if (json_is_string(x) && !strcmp(json_string_value(x), v))
			return true;
	return false;
}

/* The value of key among labels, and the one the API server sets on every
 * Namespace (kubernetes.io/metadata.name) when ns_name is given. */
static const char *label_of(const struct kt_k8s_label *labels, uint32_t n, const char *ns_name,
			    const char *key)
{
	for (uint32_t i = 0; i < n; i++)
		if (labels[i].key && !strcmp(labels[i].key, key))
			return labels[i].value ? labels[i].value : "";
	if (ns_name && !strcmp(key, "kubernetes.io/metadata.name"))
		return ns_name;
	return NULL;
}

/* A LabelSelector in JSON against labels: {} matches everything; an
 * operator this does not know matches nothing. */
static bool selects(const json_t *sel, const struct kt_k8s_label *labels, uint32_t n,
		    const char *ns_name)
{
	const json_t *v, *e;
	const char *k;
	size_t i;

	if (!json_is_object(sel))
		return false;
	json_object_foreach((json_t *)json_object_get(sel, "matchLabels"), k, v) {
		const char *have = label_of(labels, n, ns_name, k);

		if (!have || !json_is_string(v) || strcmp(have, json_string_value(v)))
			return false;
	}
	json_array_foreach(json_object_get(sel, "matchExpressions"), i, e) {
		const char *key = json_string_value(json_object_get(e, "key"));
		const char *op = json_string_value(json_object_get(e, "operator"));
		const json_t *values = json_object_get(e, "values");
		const char *have;

		if (!key || !op)
			return false;
		have = label_of(labels, n, ns_name, key);
		if (!strcmp(op, "In")) {
			if (!have || !label_in(values, have))
				return false;
		} else if (!strcmp(op, "NotIn")) {
			if (have && label_in(values, have))
				return false;
		} else if (!strcmp(op, "Exists")) {
			if (!have)
				return false;
		} else if (!strcmp(op, "DoesNotExist")) {
			if (have)
				return false;
		} else {
			return false;
		}
	}
	return true;
}

/* ip within "a.b.c.d/n" or "x::y/n"? */
static bool in_cidr(const char *ip, const char *cidr)
{
	uint8_t a[16], net[16];
	char buf[64];
	const char *slash = cidr ? strchr(cidr, '/') : NULL;
	size_t len;
	long bits;
	char *end;

	if (!ip || !slash || (len = (size_t)(slash - cidr)) >= sizeof(buf))
		return false;
	memcpy(buf, cidr, len);
	buf[len] = '\0';
	bits = strtol(slash + 1, &end, 10);
	if (*end || bits < 0 || kt_k8s_ip_parse(buf, net) || kt_k8s_ip_parse(ip, a))
		return false;
	if (!strchr(buf, ':'))
		bits += 96;		/* IPv4, held as ::ffff:a.b.c.d */
	if (bits > 128)
		return false;
	for (long b = 0; b < bits; b++)
		if ((a[b / 8] ^ net[b / 8]) & (0x80 >> (b % 8)))
			return false;
	return true;
}

/* Does peer (an entry of from/to) of a policy in namespace ns name the
 * other end? */
static bool peer_matches(const struct check *c, const char *ns, const json_t *peer)
{
	const json_t *ipb = json_object_get(peer, "ipBlock");
	const json_t *nsel = json_object_get(peer, "namespaceSelector");
	const json_t *psel = json_object_get(peer, "podSelector");
	const struct kt_k8s_object *other = c->ingress ? c->src : c->dst;
	const char *ip = c->ingress ? c->src_ip : c->dst_ip;
	const json_t *x;
	size_t i;

	if (ipb) {
		if (!in_cidr(ip, json_string_value(json_object_get(ipb, "cidr"))))
			return false;
		json_array_foreach(json_object_get(ipb, "except"), i, x)
			if (in_cidr(ip, json_string_value(x)))
				return false;
		return true;
	}
	if (!other || !other->ns || (!nsel && !psel))
		return false;
	if (nsel) {
		const struct kt_k8s_object *nso = kt_k8s_get(c->idx, KT_K8S_NAMESPACE, NULL,
							      other->ns, c->t);

		if (!selects(nsel, nso ? nso->labels : NULL, nso ? nso->nlabels : 0, other->ns))
			return false;
	} else if (!ns || strcmp(other->ns, ns)) {
		return false;
	}
	return !psel || selects(psel, other->labels, other->nlabels, NULL);
}

/* The number of the destination pod's container port named name. */
static int32_t named_port(const struct check *c, const char *name)
{
	const struct kt_k8s_pod *p = c->dst && c->dst->kind == KT_K8S_POD ? &c->dst->u.pod : NULL;

	for (uint32_t i = 0; p && i < p->ncontainers; i++)
		for (uint32_t j = 0; j < p->containers[i].nports; j++) {
			const struct kt_k8s_port *pt = &p->containers[i].ports[j];

			if (pt->name && !strcmp(pt->name, name) &&
			    !strcasecmp(pt->protocol ? pt->protocol : "TCP", c->protocol))
				return pt->port;
		}
	return 0;
}

static bool port_matches(const struct check *c, const json_t *p)
{
	const char *proto = json_string_value(json_object_get(p, "protocol"));
	const json_t *port = json_object_get(p, "port");
	json_int_t end = json_integer_value(json_object_get(p, "endPort"));

	if (strcasecmp(proto ? proto : "TCP", c->protocol))
		return false;
	if (!port)
		return true;
	if (json_is_string(port))
		return named_port(c, json_string_value(port)) == c->port && c->port;
	if (!json_is_integer(port))
		return false;
	if (end)
		return c->port >= json_integer_value(port) && c->port <= end;
	return c->port == json_integer_value(port);
}

/* Does a rule (an entry of ingress/egress) admit the connection? An absent
 * or empty from/to (ports) admits every peer (port). */
static bool rule_admits(const struct check *c, const char *ns, const json_t *rule)
{
	const json_t *peers = json_object_get(rule, c->ingress ? "from" : "to");
	const json_t *ports = json_object_get(rule, "ports"), *x;
	bool ok = !json_array_size(peers);
	size_t i;

	json_array_foreach(peers, i, x)
		if (!ok && peer_matches(c, ns, x))
			ok = true;
	if (!ok || !json_array_size(ports))
		return ok;
	json_array_foreach(ports, i, x)
		if (port_matches(c, x))
			return true;
	return false;
}

static int policy_cb(void *arg, const struct kt_k8s_object *np)
{
	struct check *c = arg;
	const json_t *rule;
	json_t *spec;
	size_t i;

	if (c->ingress ? !np->u.np.ingress : !np->u.np.egress)
		return 0;
	if (!c->out->npolicies++)
		c->out->policy = np;
	if (c->admitted)
		return 0;
	if (!np->u.np.spec_json || !(spec = json_loads(np->u.np.spec_json, 0, NULL))) {
		c->unknown = true;	/* isolates, with rules that cannot be read */
		return 0;
	}
	json_array_foreach(json_object_get(spec, c->ingress ? "ingress" : "egress"), i, rule) {
		if (rule_admits(c, np->ns, rule)) {
			c->admitted = true;
			c->out->policy = np;
			break;
		}
	}
	json_decref(spec);
	return 0;
}

int kt_k8s_netpol_check(const struct kt_k8s_index *idx, bool ingress,
			const struct kt_k8s_object *src, const char *src_ip,
			const struct kt_k8s_object *dst, const char *dst_ip,
			const char *protocol, int32_t port, uint64_t t,
			struct kt_np_result *out)
{
	struct check c = { idx, ingress, src, dst, src_ip, dst_ip,
			   protocol ? protocol : "TCP", port, t, out, false, false };
	const struct kt_k8s_object *end = ingress ? dst : src;
	int err;

	memset(out, 0, sizeof(*out));
	/* a pod on the node's network is the node's: policies do not apply */
	if (!end || end->kind != KT_K8S_POD || end->u.pod.host_network)
		return 0;
	if ((err = kt_k8s_policies_for(idx, end, t, policy_cb, &c)) < 0)
		return err;
	out->v = !out->npolicies ? KT_NP_OPEN : c.admitted ? KT_NP_ADMITTED :
		 c.unknown ? KT_NP_UNKNOWN : KT_NP_DENIED;
	return 0;
}
