/* lineage.c - what the bundle says about the node before any connection:
 * cgroups, processes and netns to pods (proc stream), translated
 * connections (conntrack stream), names of addresses (dns stream), and the
 * node itself (host facts). */
#include "model_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

int kt_grow(void **arr, uint32_t *cap, uint32_t need, size_t elem)
{
	uint32_t n = *cap ? *cap : 16;
	void *p;

	if (need <= *cap)
		return 0;
	while (n < need) {
		if (n > UINT32_MAX / 2)
			return kt_err_set(-E2BIG, "too many elements");
		n *= 2;
	}
	if (!(p = realloc(*arr, (size_t)n * elem)))
		return kt_err_set(-ENOMEM, "out of memory");
	memset((char *)p + (size_t)*cap * elem, 0, (size_t)(n - *cap) * elem);
	*arr = p;
	*cap = n;
	return 0;
}

static void copy_str(char *dst, size_t cap, const struct kt_str *s)
{
	size_t n = s->len < cap - 1 ? s->len : cap - 1;

	memcpy(dst, s->p, n);
	dst[n] = '\0';
}

/* Pod UIDs appear with dashes (API) or underscores (systemd slices). */
static void uid_norm(char out[37], const struct kt_str *s)
{
	copy_str(out, 37, s);
	for (char *p = out; *p; p++)
		if (*p == '_')
			*p = '-';
}

struct kt_cg *kt_lineage_cgroup(const struct kt_model *m, uint64_t id)
{
	uint64_t h = kt_hash64(id);

	for (uint32_t i = kt_map_first(&m->cgmap, h); i != KT_MAP_END;
	     i = kt_map_next(&m->cgmap, h, i))
		if (m->cgs[i].id == id)
			return &m->cgs[i];
	return NULL;
}

const struct kt_pidinfo *kt_lineage_pid(const struct kt_model *m, uint32_t pid)
{
	uint64_t h = kt_hash64(pid);

	for (uint32_t i = kt_map_first(&m->pidmap, h); i != KT_MAP_END;
	     i = kt_map_next(&m->pidmap, h, i))
		if (m->pids[i].pid == pid)
			return &m->pids[i];
	return NULL;
}

const char *kt_lineage_netns_uid(const struct kt_model *m, uint64_t netns)
{
	uint64_t h = kt_hash64(netns);

	for (uint32_t i = kt_map_first(&m->nsmap, h); i != KT_MAP_END;
	     i = kt_map_next(&m->nsmap, h, i))
		if (m->nss[i].netns == netns)
			return m->nss[i].uid;
	return NULL;
}

static int cgroup_note(struct kt_model *m, const struct kt_proc *p)
{
	struct kt_cg *c = kt_lineage_cgroup(m, p->cgroup_id);
	int err;

	if (!c) {
		if ((err = kt_grow((void **)&m->cgs, &m->capcgs, m->ncgs + 1, sizeof(*m->cgs))))
			return err;
		c = &m->cgs[m->ncgs];
		memset(c, 0, sizeof(*c));
		c->id = p->cgroup_id;
		c->ent = KT_ENT_NONE;
		if ((err = kt_map_put(&m->cgmap, kt_hash64(c->id), m->ncgs)))
			return err;
		m->ncgs++;
		m->st.cgroups++;
	}
	if (!c->uid[0] && p->pod_uid.len == 36)
		uid_norm(c->uid, &p->pod_uid);
	if (!c->cid && p->container_id.len && !(c->cid = strndup(p->container_id.p, p->container_id.len)))
		return kt_err_set(-ENOMEM, "out of memory");
	if (!c->path && p->path.len && p->kind != KT_PROC_EXEC &&
	    !(c->path = strndup(p->path.p, p->path.len)))
		return kt_err_set(-ENOMEM, "out of memory");
	if (!c->comm[0] && p->comm.len)
		copy_str(c->comm, sizeof(c->comm), &p->comm);
	if (!c->netns)
		c->netns = p->netns;
	return 0;
}

static int pid_note(struct kt_model *m, const struct kt_proc *p)
{
	const struct kt_pidinfo *q = kt_lineage_pid(m, p->pid);
	struct kt_pidinfo *w;
	int err;

	if (!q) {
		if ((err = kt_grow((void **)&m->pids, &m->cappids, m->npids + 1, sizeof(*m->pids))))
			return err;
		w = &m->pids[m->npids];
		w->pid = p->pid;
		if ((err = kt_map_put(&m->pidmap, kt_hash64(p->pid), m->npids)))
			return err;
		m->npids++;
	} else {
		w = (struct kt_pidinfo *)q;
	}
	if (p->comm.len)
		copy_str(w->comm, sizeof(w->comm), &p->comm);
	if (p->cgroup_id)
		w->cgroup = p->cgroup_id;
	return 0;
}

static int netns_note(struct kt_model *m, const struct kt_proc *p)
{
	int err;

	if (kt_lineage_netns_uid(m, p->netns))
		return 0;
	if ((err = kt_grow((void **)&m->nss, &m->capnss, m->nnss + 1, sizeof(*m->nss))))
		return err;
	m->nss[m->nnss].netns = p->netns;
	uid_norm(m->nss[m->nnss].uid, &p->pod_uid);
	if ((err = kt_map_put(&m->nsmap, kt_hash64(p->netns), m->nnss)))
		return err;
	m->nnss++;
	return 0;
}

int kt_model_add_proc(struct kt_model *m, const struct kt_proc *p)
{
	int err;

	m->st.proc_records++;
	if (p->cgroup_id && (err = cgroup_note(m, p)))
		return err;
	if (p->pid && p->kind != KT_PROC_EXIT && (err = pid_note(m, p)))
		return err;
	/* pid 1 seen by the host walk lives in the node's own netns */
	if (p->pid == 1 && p->kind == KT_PROC_SNAPSHOT && p->netns && !m->host_netns)
		m->host_netns = p->netns;
	/* a pod's processes share its netns: the netns names the pod too */
	if (p->netns && p->pod_uid.len == 36 && (err = netns_note(m, p)))
		return err;
	return 0;
}

/* ---- conntrack: original tuple -> reply tuple ---------------------------- */

static uint64_t nat_hash(uint8_t proto, const uint8_t src[16], uint16_t sport,
			 const uint8_t dst[16], uint16_t dport)
{
	return kt_hash_ip(dst, kt_hash_ip(src, (uint64_t)proto << 32 | (uint64_t)sport << 16 |
							dport));
}

static bool nat_same(const struct kt_nat *n, uint8_t proto, const uint8_t src[16],
		     uint16_t sport, const uint8_t dst[16], uint16_t dport)
{
	return n->proto == proto && n->osport == sport && n->odport == dport &&
	       !memcmp(n->osrc, src, 16) && !memcmp(n->odst, dst, 16);
}

static uint64_t natdst_hash(uint8_t proto, const uint8_t dst[16], uint16_t dport)
{
	return kt_hash_ipport(dst, proto, dport);
}

bool kt_nat_to(const struct kt_model *m, uint8_t proto, const uint8_t dst[16], uint16_t dport)
{
	uint64_t h = natdst_hash(proto, dst, dport);

	for (uint32_t i = kt_map_first(&m->natdstmap, h); i != KT_MAP_END;
	     i = kt_map_next(&m->natdstmap, h, i)) {
		const struct kt_nat *n = &m->nat[i];

		if (n->proto == proto && n->odport == dport && !memcmp(n->odst, dst, 16))
			return true;
	}
	return false;
}

/* Set n's bit in the tuple filter; first, when it would hold more than an
 * entry per eight bits, double it and set every entry's bit again (the
 * filter grows with entries, never with lookups). 0 or -ENOMEM. */
static int nattup_add(struct kt_model *m, const struct kt_nat *n)
{
	uint32_t b;

	if (!m->nattup_log2 || (uint64_t)(m->nnat + 1) * 8 > 1ull << m->nattup_log2) {
		uint32_t log2 = m->nattup_log2 ? m->nattup_log2 + 1 : 12;
		uint64_t *bits;

		if (log2 > 31)
			return kt_err_set(-E2BIG, "too many conntrack entries");
		if (!(bits = calloc((size_t)1 << (log2 - 6), sizeof(*bits))))
			return kt_err_set(-ENOMEM, "out of memory");
		free(m->nattup_bits);
		m->nattup_bits = bits;
		m->nattup_log2 = log2;
		for (uint32_t i = 0; i < m->nnat; i++) {
			const struct kt_nat *o = &m->nat[i];

			b = kt_nattup_bit(m, o->osrc, o->osport, o->odst, o->odport);
			bits[b >> 6] |= 1ull << (b & 63);
		}
	}
	b = kt_nattup_bit(m, n->osrc, n->osport, n->odst, n->odport);
	m->nattup_bits[b >> 6] |= 1ull << (b & 63);
	return 0;
}

int kt_model_add_conntrack(struct kt_model *m, const struct kt_conntrack *c)
{
	uint64_t h;
	struct kt_nat *n;
	int err;

	m->st.ct_records++;
	/* only translated destinations say anything a socket does not */
	if (!memcmp(c->reply_src, c->orig_dst, 16) && c->reply_sport == c->orig_dport &&
	    !memcmp(c->reply_dst, c->orig_src, 16) && c->reply_dport == c->orig_sport)
		return 0;
	if (kt_ip_is_unset(c->reply_src))
		return 0;
	h = nat_hash(c->proto, c->orig_src, c->orig_sport, c->orig_dst, c->orig_dport);
	for (uint32_t i = kt_map_first(&m->natmap, h); i != KT_MAP_END;
	     i = kt_map_next(&m->natmap, h, i)) {
		n = &m->nat[i];
		if (!nat_same(n, c->proto, c->orig_src, c->orig_sport, c->orig_dst, c->orig_dport) ||
		    n->destroyed || memcmp(n->rsrc, c->reply_src, 16) || n->rsport != c->reply_sport)
			continue;
		/* the same entry again (update, destroy, a later dump) */
		if (c->ts < n->first)
			n->first = c->ts;
		if (c->ts > n->last)
			n->last = c->ts;
		if (c->kind == KT_CT_DESTROY)
			n->destroyed = true;
		return 0;
	}
	if ((err = kt_grow((void **)&m->nat, &m->capnat, m->nnat + 1, sizeof(*m->nat))))
		return err;
	n = &m->nat[m->nnat];
	n->proto = c->proto;
	memcpy(n->osrc, c->orig_src, 16);
	memcpy(n->odst, c->orig_dst, 16);
	memcpy(n->rsrc, c->reply_src, 16);
	n->osport = c->orig_sport;
	n->odport = c->orig_dport;
	n->rsport = c->reply_sport;
	memcpy(n->rdst, c->reply_dst, 16);
	n->rdport = c->reply_dport;
	n->first = n->last = c->ts;
	n->destroyed = c->kind == KT_CT_DESTROY;
	if ((err = kt_map_put(&m->natmap, h, m->nnat)) || (err = nattup_add(m, n)))
		return err;
	if ((err = kt_map_put(memcmp(n->rdst, n->osrc, 16) || n->rdport != n->osport ?
			      &m->snatmap : &m->dnatmap,
			      nat_hash(n->proto, n->rsrc, n->rsport, n->rdst, n->rdport), m->nnat)))
		return err;
	/* the first entry to a destination stands for all (kt_nat_to) */
	if (!kt_nat_to(m, n->proto, n->odst, n->odport)) {
		uint32_t b = kt_natdst_bit(n->odst, n->odport);

		if ((err = kt_map_put(&m->natdstmap, natdst_hash(n->proto, n->odst, n->odport),
				      m->nnat)))
			return err;
		m->natdst_bits[b >> 6] |= 1ull << (b & 63);
	}
	m->nnat++;
	m->st.nat_entries++;
	return 0;
}

uint64_t kt_nat_hash(uint8_t proto, const uint8_t src[16], uint16_t sport,
		     const uint8_t dst[16], uint16_t dport)
{
	return nat_hash(proto, src, sport, dst, dport);
}

const struct kt_nat *kt_nat_find(const struct kt_model *m, uint8_t proto,
				 const uint8_t src[16], uint16_t sport,
				 const uint8_t dst[16], uint16_t dport, uint64_t t, uint64_t h)
{
	const struct kt_nat *best = NULL;
	uint64_t bestd = UINT64_MAX;

	/* A client port is reused over a capture, and an entry lives on in
	 * conntrack (TIME_WAIT) past its connection: the entry created nearest
	 * to the connection's start is its own, not one whose life covers it. */
	for (uint32_t i = kt_map_first(&m->natmap, h); i != KT_MAP_END;
	     i = kt_map_next(&m->natmap, h, i)) {
		const struct kt_nat *n = &m->nat[i];
		uint64_t d;

		if (!nat_same(n, proto, src, sport, dst, dport))
			continue;
		d = t < n->first ? n->first - t : t - n->first;
		if (d < bestd) {
			bestd = d;
			best = n;
		}
	}
	return best;
}

bool kt_nat_unsnat(const struct kt_model *m, uint8_t proto, const uint8_t srv[16],
		   uint16_t sport, const uint8_t peer[16], uint16_t pport, uint64_t t,
		   const uint8_t **cip, uint16_t *cport)
{
	const struct kt_nat *best = NULL;
	uint64_t bestd = UINT64_MAX, h;

	if (!m->snatmap.n)	/* no source rewritten: every server event asks */
		return false;
	h = nat_hash(proto, srv, sport, peer, pport);
	for (uint32_t i = kt_map_first(&m->snatmap, h); i != KT_MAP_END;
	     i = kt_map_next(&m->snatmap, h, i)) {
		const struct kt_nat *n = &m->nat[i];
		uint64_t d;

		if (n->proto != proto || n->rsport != sport || n->rdport != pport ||
		    memcmp(n->rsrc, srv, 16) || memcmp(n->rdst, peer, 16))
			continue;
		d = t < n->first ? n->first - t : t > n->last ? t - n->last : 0;
		if (d < bestd) {
			bestd = d;
			best = n;
		}
	}
	if (!best)
		return false;
	*cip = best->osrc;
	*cport = best->osport;
	return true;
}

bool kt_nat_is_reply(const struct kt_model *m, uint8_t proto, const uint8_t sender[16],
		     uint16_t sport, const uint8_t peer[16], uint16_t pport)
{
	const struct kt_map *maps[2] = { &m->dnatmap, &m->snatmap };
	uint64_t h = nat_hash(proto, sender, sport, peer, pport);

	for (int k = 0; k < 2; k++) {
		for (uint32_t i = kt_map_first(maps[k], h); i != KT_MAP_END;
		     i = kt_map_next(maps[k], h, i)) {
			const struct kt_nat *n = &m->nat[i];

			if (n->proto == proto && n->rsport == sport && n->rdport == pport &&
			    !memcmp(n->rsrc, sender, 16) && !memcmp(n->rdst, peer, 16))
				return true;
		}
	}
	return false;
}

/* ---- dns: names of addresses ---------------------------------------------- */

const struct kt_dnsip *kt_dns_find(const struct kt_model *m, const uint8_t ip[16])
{
	uint64_t h = kt_hash_bytes(ip, 16, 1);

	for (uint32_t i = kt_map_first(&m->dnsmap, h); i != KT_MAP_END;
	     i = kt_map_next(&m->dnsmap, h, i))
		if (!memcmp(m->dns[i].ip, ip, 16))
			return &m->dns[i];
	return NULL;
}

static int dns_name(struct kt_model *m, const uint8_t ip[16], const char *name,
		    size_t nlen, uint64_t t)
{
	struct kt_dnsip *d = (struct kt_dnsip *)kt_dns_find(m, ip);
	size_t have;
	char *p;
	int err;

	if (!d) {
		if ((err = kt_grow((void **)&m->dns, &m->capdns, m->ndns + 1, sizeof(*m->dns))))
			return err;
		d = &m->dns[m->ndns];
		memcpy(d->ip, ip, 16);
		d->first = t;
		if ((err = kt_map_put(&m->dnsmap, kt_hash_bytes(ip, 16, 1), m->ndns)))
			return err;
		m->ndns++;
		m->st.dns_ips++;
	}
	if (t < d->first)
		d->first = t;
	/* is the name there already? */
	for (const char *s = d->names; s && *s;) {
		const char *e = strchr(s, '\n');
		size_t l = e ? (size_t)(e - s) : strlen(s);

		if (l == nlen && !memcmp(s, name, nlen))
			return 0;
		s = e ? e + 1 : s + l;
	}
	have = d->names ? strlen(d->names) : 0;
	if (d->nnames >= KT_DNS_NAMES_MAX || have + nlen + 2 > KT_DNS_NAMES_BYTES)
		return 0;
	if (!(p = realloc(d->names, have + nlen + 2)))
		return kt_err_set(-ENOMEM, "out of memory");
	if (have)
		p[have++] = '\n';
	memcpy(p + have, name, nlen);
	p[have + nlen] = '\0';
	d->names = p;
	d->nnames++;
	return 0;
}

int kt_model_add_dns(struct kt_model *m, const struct kt_dns *d)
{
	const char *s = d->answers.p, *end = s ? s + d->answers.len : s;
	size_t qlen = d->qname.len;
	int err;

	m->st.dns_records++;
	if ((err = kt_dnsfail_add(m, d)))
		return err;
	if (d->rcode != 0 || !qlen)
		return 0;
	if (qlen > 253)
		qlen = 253;
	/* answers: "TYPE DATA TTL" a line; A and AAAA name an address with
	 * the name the client asked for (what its config says) */
	while (s < end) {
		const char *e = memchr(s, '\n', (size_t)(end - s));
		char line[128], type[8], data[64];
		size_t l;
		uint8_t ip[16];

		if (!e)
			e = end;
		l = (size_t)(e - s) < sizeof(line) - 1 ? (size_t)(e - s) : sizeof(line) - 1;
		memcpy(line, s, l);
		line[l] = '\0';
		s = e + 1;
		if (sscanf(line, "%7s %63s", type, data) != 2)
			continue;
		if (strcmp(type, "A") && strcmp(type, "AAAA"))
			continue;
		if (kt_ip_parse(ip, data))
			continue;
		if ((err = dns_name(m, ip, d->qname.p, qlen, d->ts)))
			return err;
	}
	return 0;
}

/* ---- host facts: the node's name and addresses ---------------------------- */

static void node_ip_add(struct kt_model *m, const uint8_t ip[16])
{
	for (uint32_t i = 0; i < m->nnode_ips; i++)
		if (!memcmp(m->node_ips[i], ip, 16))
			return;
	if (m->nnode_ips < KT_NODE_IPS_MAX)
		memcpy(m->node_ips[m->nnode_ips++], ip, 16);
}

static int host_listeners(struct kt_model *m, const json_t *doc, uint64_t from)
{
	const json_t *ns, *sk;
	size_t i, j;
	int err;

	json_array_foreach(json_object_get(doc, "namespaces"), i, ns) {
		uint64_t netns = (uint64_t)json_integer_value(json_object_get(ns, "netns"));

		json_array_foreach(json_object_get(ns, "sockets"), j, sk) {
			const char *st = json_string_value(json_object_get(sk, "state"));
			const char *pr = json_string_value(json_object_get(sk, "proto"));
			json_int_t port = json_integer_value(json_object_get(sk, "sport"));
			json_int_t pid = json_integer_value(json_object_get(sk, "pid"));
			const struct kt_pidinfo *p;

			if (!st || strcmp(st, "listen") || !pr || strcmp(pr, "tcp") ||
			    port <= 0 || port > 65535 || pid < 0 || pid > UINT32_MAX)
				continue;
			p = pid ? kt_lineage_pid(m, (uint32_t)pid) : NULL;
			err = kt_listen_add(m, netns, (uint16_t)port, (uint32_t)pid,
					    p ? p->comm : NULL, p ? strlen(p->comm) : 0,
					    p ? p->cgroup : 0, from);
			if (err)
				return err;
		}
	}
	return 0;
}

int kt_model_add_host_entry(struct kt_model *m, const char *relpath,
			    const char *data, size_t len)
{
	json_error_t jerr;
	json_t *doc, *nss, *ns;
	size_t i, j, k;
	const char *base = strrchr(relpath, '/');

	base = base ? base + 1 : relpath;
	if (strcmp(base, "netns.json") && strcmp(base, "node.json") && strcmp(base, "sockets.json"))
		return 0;
	if (!(doc = json_loadb(data, len, 0, &jerr)))
		return kt_err_set(-EPROTO, "'%s': %s at line %d", relpath, jerr.text, jerr.line);
	if (!strcmp(base, "sockets.json")) {
		/* listeners at the start served all along; those only seen at
		 * the end came during the capture: they serve when no other
		 * listener is known (a LISTEN event is more exact) */
		int err = host_listeners(m, doc, strstr(relpath, "/end/") ? UINT64_MAX - 1 : 0);

		json_decref(doc);
		return err;
	}
	if (!strcmp(base, "node.json")) {
		const char *n = json_string_value(json_object_get(doc, "node_name"));

		if (n && *n && !m->node_name && !(m->node_name = strdup(n))) {
			json_decref(doc);
			return kt_err_set(-ENOMEM, "out of memory");
		}
		json_decref(doc);
		return 0;
	}
	/* the collector ran in the node's netns: its addresses are the node's */
	if (!m->host_netns)
		m->host_netns = (uint64_t)json_integer_value(json_object_get(doc, "own_netns"));
	nss = json_object_get(doc, "namespaces");
	json_array_foreach(nss, i, ns) {
		json_t *link, *addr;

		if ((uint64_t)json_integer_value(json_object_get(ns, "netns")) != m->host_netns)
			continue;
		json_array_foreach(json_object_get(ns, "links"), j, link) {
			json_array_foreach(json_object_get(link, "addresses"), k, addr) {
				const char *a = json_string_value(json_object_get(addr, "address"));
				json_t *scope = json_object_get(addr, "scope");
				uint8_t ip[16];

				if (!a || kt_ip_parse(ip, a))
					continue;
				/* rtnetlink scope: 0 universe; link and host are not the node's */
				if (json_is_integer(scope) && json_integer_value(scope) != 0)
					continue;
				node_ip_add(m, ip);
			}
		}
	}
	json_decref(doc);
	return 0;
}

int kt_model_set_manifest(struct kt_model *m, const json_t *manifest)
{
	const char *n = json_string_value(json_object_get(json_object_get(manifest, "host"),
							  "node_name"));

	if (n && *n && !m->node_name && !(m->node_name = strdup(n)))
		return kt_err_set(-ENOMEM, "out of memory");
	return 0;
}
