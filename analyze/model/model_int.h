/* model_int.h - the model's insides, shared by its files. Internal. */
#ifndef KT_MODEL_INT_H
#define KT_MODEL_INT_H

#include <string.h>

#include "map.h"
#include "model.h"

/* An address with a protocol and a port, hashed with the process's key
 * (hash.h). An IPv4 address (::ffff:a.b.c.d) leaves its first word zero,
 * the low 16 bits of its second zero and the next 16 all ones: the port and
 * the protocol fold into that word without losing a bit, and one round of
 * the keyed mixer does where kt_hash_ip takes two (every flow record and
 * every connection hashes such keys). Other addresses take kt_hash_ip's
 * two rounds. */
static inline uint64_t kt_hash_ipport(const uint8_t ip[16], uint8_t proto, uint16_t port)
{
	uint64_t a, b, extra = (uint64_t)proto << 16 | port;

	__builtin_memcpy(&a, ip, 8);
	__builtin_memcpy(&b, ip + 8, 8);
	if (!a && (uint32_t)b == 0xffff0000u)
		return kt_hash64(b ^ extra);
	return kt_hash_ip(ip, extra);
}

#define KT_NODE_IPS_MAX 64
#define KT_DNS_NAMES_MAX 8
#define KT_DNS_NAMES_BYTES 1024

struct kt_cg {			/* a cgroup: what lives in it */
	/* what every folded connection asks (kt_attrib_local) first: the
	 * lookup then usually touches one cache line, not two */
	uint64_t id;
	uint32_t ent;		/* cached attribution, valid over [from, until) */
	uint64_t ent_from, ent_until;
	char uid[37];		/* pod UID with dashes, or "" */
	char *cid;		/* container ID, or NULL */
	char *path;		/* cgroup path, or NULL */
	char comm[16];		/* a process seen in it */
	uint64_t netns;
};

struct kt_pidinfo {
	uint32_t pid;
	char comm[16];
	uint64_t cgroup;
};

struct kt_nsinfo {
	uint64_t netns;
	char uid[37];
};

#define KT_CONTAINER_IDS_MAX 16	/* IDs kept per container (restarts) */

struct kt_nat {
	uint8_t proto;
	uint8_t osrc[16], odst[16], rsrc[16], rdst[16];
	uint16_t osport, odport, rsport, rdport;
	uint64_t first, last;
	bool destroyed;
};

struct kt_dnsip {
	uint8_t ip[16];
	uint64_t first;		/* first answer naming it */
	char *names;		/* '\n'-separated, at most KT_DNS_NAMES_MAX */
	uint32_t nnames;
};

/* One socket of a connection. Its address and port are not here: the
 * client's are the connection's key, the server's in srv_ip/srv_port. */
struct kt_side {
	uint64_t cgroup, netns;
	uint64_t bytes_sent, bytes_recv;
	uint32_t pid;
	uint32_t retrans;
	char comm[16];
	bool seen, closed;
};

/* A connection in flight, keyed by its client's address and port: 256
 * bytes on a 64-byte boundary (conn.c allocates them so), four cache lines.
 * The first holds what finding it and its close event touch. */
struct kt_pconn {
	uint64_t hash;		/* of its key in pcmap */
	uint8_t cip[16];
	uint16_t cport;
	uint8_t proto;
	bool live, in_done, has_dst, established, wire, wire_backend;
	uint8_t fail;		/* enum kt_fail, KT_FAIL__MAX: none */
	uint16_t dport;
	uint32_t touch;		/* low bits of its last done_touch's number (conn.c) */
	uint32_t next;		/* free list */
	uint32_t folded;	/* UDP: sends the capture folded into this one */
	uint64_t start, end;

	uint8_t dst[16];	/* what the client asked for (the ClusterIP) */
	uint8_t srv_ip[16];	/* the server's own address (or the wire's backend) */
	uint16_t srv_port;
	uint32_t wire_retrans;
	uint64_t latency;
	uint64_t wire_sent, wire_recv;

	struct kt_side cli, srv;
};

struct kt_done {		/* an entry of the done queue (conn.c), 32 bytes */
	uint32_t idx;
	uint32_t touch;		/* the connection's touch it stands for (low bits) */
	uint64_t done_at;
	uint32_t pc_tag;	/* high bits of the connection's hash in pcmap */
	uint64_t nhash;		/* of its tuple in natmap, taken by the flush ahead; 0: not */
};

#define KT_DNS_NAME_MAX 253
#define KT_DNS_NXDOMAIN 3
#define KT_DNS_FAILS_MAX 4096	/* failed lookups kept apart (dns.c) */
#define KT_DNS_OKS_MAX 65536	/* names resolved, per client, kept (dns.c) */

/* A DNS lookup that failed, counted (dns.c): one per client address, name,
 * query type and answer. */
struct kt_dnsfail {
	uint8_t client[16];
	uint8_t server[16];	/* asked at first */
	uint16_t qtype;
	uint16_t rcode;		/* KT_DNS_RCODE_NONE: no answer */
	char *qname;		/* lower case, without the trailing dot */
	uint64_t count, first, last;
	uint32_t ent;		/* the client at first (kt_dnsfail_finish) */
	bool expansion;		/* an NXDOMAIN for a search domain's try */
};

/* An answer of the k8s index kept for an address: who owned it over
 * [from, until). One per address, never evicted (a direct-mapped cache
 * thrashed on colliding addresses and paid a whole attribution, strings and
 * all, each time). */
struct kt_answer {
	uint8_t ip[16];
	uint32_t ent;
	uint64_t from, until;
};

/* A destination as clients named it (address, port, protocol), and what
 * folding a connection to it asks: the service there, the address's owner
 * (each answer with the span it holds over; empty: not asked yet) and
 * whether conntrack translated anything to it. One lookup a connection
 * answers all three: the service and the owner used to be two answers, and
 * the NAT map was asked even for addresses nothing was translated to. One
 * cache line; one per destination, never evicted. */
struct kt_dest {
	uint8_t ip[16];
	uint16_t port;
	uint8_t proto;
	bool nat;		/* a NAT entry's original destination */
	uint32_t nat_n;		/* m->nnat when nat was last found false */
	uint32_t svc;		/* KT_ENT_NONE: no service there */
	uint32_t owner;
	uint64_t svc_from, svc_until;
	uint64_t owner_from, owner_until;
};

/* A TCP listener of a netns (listen.c). */
struct kt_listener {
	uint64_t netns, cgroup, from;
	uint32_t pid;
	uint16_t port;
	char comm[16];
};

struct kt_model {
	struct kt_model_opts o;
	struct kt_model_stats st;
	struct kt_k8s_index *k8s;
	bool k8s_done, k8s_has_pods, finished;
	bool k8s_has_netpol;	/* some NetworkPolicy, at any time */
	char *node_name;
	uint8_t node_ips[KT_NODE_IPS_MAX][16];
	uint32_t nnode_ips;
	uint64_t host_netns;
	uint32_t node_ent;

	struct kt_cg *cgs; uint32_t ncgs, capcgs; struct kt_map cgmap;
	struct kt_pidinfo *pids; uint32_t npids, cappids; struct kt_map pidmap;
	struct kt_nsinfo *nss; uint32_t nnss, capnss; struct kt_map nsmap;
	struct kt_nat *nat; uint32_t nnat, capnat; struct kt_map natmap;
	struct kt_map snatmap;	/* by reply tuple, entries whose source was rewritten */
	struct kt_map dnatmap;	/* by reply tuple, the other translated entries */
	struct kt_map natdstmap; /* by original destination, one entry each */
	uint64_t natdst_bits[1024];	/* kt_natdst_bit of each original destination */
	uint64_t *nattup_bits;	/* kt_nattup_bit of each original tuple */
	uint32_t nattup_log2;	/* nattup_bits holds 2^nattup_log2 bits; 0: none yet */
	struct kt_dnsip *dns; uint32_t ndns, capdns; struct kt_map dnsmap;
	struct kt_listener *listeners; uint32_t nlisteners, caplisteners;
	struct kt_map listenmap;

	struct kt_entity *ents; uint32_t nents, capents; struct kt_map entmap;
	struct kt_edge *edges; uint32_t nedges, capedges; struct kt_map edgemap;
	struct kt_edge_key *ekeys; uint32_t capekeys;	/* edges' keys, for lookups */

	struct kt_pconn *pc; uint32_t npc, cappc; struct kt_map pcmap;
	uint32_t pcfree;	/* free list through .next */
	struct kt_done *done;	/* the done queue (conn.c), done_cap a power of two */
	uint32_t done_cap, done_head, done_tail;	/* positions count up, wrap */
	uint64_t touches;	/* done_touch calls so far */
	uint64_t inflight;
	uint64_t now;
	struct kt_answer *answers; uint32_t nanswers, capanswers; struct kt_map answermap;
	struct kt_dest *dests; uint32_t ndests, capdests; struct kt_map destmap;
	struct kt_dnsfail *dnsfails; uint32_t ndnsfails, capdnsfails; struct kt_map dnsfailmap;
	uint64_t *dnsoks; uint32_t ndnsoks, capdnsoks; struct kt_map dnsokmap; /* hashes */
};

/* explain.c: sentences for why e's connections failed, from the objects
 * at the start of its first failed one, or, for an edge without failure,
 * a policy denying what was established; appended to out (a JSON array,
 * each sentence once). 0, or -ENOMEM. */
int kt_model_explain(const struct kt_model *m, const struct kt_edge *e, json_t *out);

/* dns.c: a DNS record's part in the failed lookups (a NOERROR one names
 * what its client resolved); 0 or -ENOMEM. finish attributes the clients
 * and marks search expansions, once the objects are in. */
int kt_dnsfail_add(struct kt_model *m, const struct kt_dns *d);
int kt_dnsfail_finish(struct kt_model *m);
void kt_dnsfail_free(struct kt_model *m);
/* "A", "AAAA", ... or "TYPE<n>"; "NXDOMAIN", ..., "no-answer" or
 * "RCODE<n>": static strings, or buf. */
const char *kt_dns_qtype_name(uint16_t t, char *buf, size_t len);
const char *kt_dns_rcode_name(uint16_t r, char *buf, size_t len);

/* listen.c: a listener of port in netns from t on (0 or -ENOMEM with
 * kt_err_set()); the one serving at t, or NULL. */
int kt_listen_add(struct kt_model *m, uint64_t netns, uint16_t port, uint32_t pid,
		  const char *comm, size_t comm_len, uint64_t cgroup, uint64_t t);
const struct kt_listener *kt_listen_find(const struct kt_model *m, uint64_t netns,
					 uint16_t port, uint64_t t);

/* array growth: 0 or -ENOMEM */
int kt_grow(void **arr, uint32_t *cap, uint32_t need, size_t elem);

/* lineage.c */
struct kt_cg *kt_lineage_cgroup(const struct kt_model *m, uint64_t id);
const struct kt_pidinfo *kt_lineage_pid(const struct kt_model *m, uint32_t pid);
const char *kt_lineage_netns_uid(const struct kt_model *m, uint64_t netns);
/* The NAT entry of a client's tuple nearest to t; h is kt_nat_hash() of the
 * tuple (taken ahead, when the destination became known). */
uint64_t kt_nat_hash(uint8_t proto, const uint8_t src[16], uint16_t sport,
		     const uint8_t dst[16], uint16_t dport);
/* A filter of NAT entries' original destinations (a bit of natdst_bits, set
 * for each): a clear bit says no entry has it, without hashing the tuple. */
static inline uint32_t kt_natdst_bit(const uint8_t ip[16], uint16_t port)
{
	uint64_t a, b;

	__builtin_memcpy(&a, ip, 8);
	__builtin_memcpy(&b, ip + 8, 8);
	return (uint32_t)((((a * 0x9e3779b97f4a7c15ull) ^ b ^ port) * 0xff51afd7ed558ccdull) >> 48);
}

static inline bool kt_natdst_maybe(const struct kt_model *m, const uint8_t ip[16],
				   uint16_t port)
{
	uint32_t b = kt_natdst_bit(ip, port);

	return m->natdst_bits[b >> 6] >> (b & 63) & 1;
}

/* A filter of NAT entries' original tuples (lineage.c keeps a bit of
 * nattup_bits set for each, about eight bits an entry): a clear bit says
 * conntrack has no entry for a client's tuple, without the keyed hash and
 * the map's miss. Through a ClusterIP most connections ask, and most are
 * not in conntrack's dumps (those are the ones it read). Not keyed: tuples
 * made to collide here only make the filter say "maybe", as it did not
 * exist. */
static inline uint32_t kt_nattup_bit(const struct kt_model *m, const uint8_t src[16],
				     uint16_t sport, const uint8_t dst[16], uint16_t dport)
{
	uint64_t a, b, c, d;

	__builtin_memcpy(&a, src, 8);
	__builtin_memcpy(&b, src + 8, 8);
	__builtin_memcpy(&c, dst, 8);
	__builtin_memcpy(&d, dst + 8, 8);
	a = (a * 0x9e3779b97f4a7c15ull ^ b) * 0xc2b2ae3d27d4eb4full;
	c = (c * 0x165667b19e3779f9ull ^ d) * 0xd6e8feb86659fd93ull;
	return (uint32_t)(((a ^ c ^ ((uint64_t)sport << 16 | dport)) * 0xff51afd7ed558ccdull) >>
			  (64 - m->nattup_log2));
}

static inline bool kt_nattup_maybe(const struct kt_model *m, const uint8_t src[16],
				   uint16_t sport, const uint8_t dst[16], uint16_t dport)
{
	uint32_t b;

	if (!m->nattup_log2)
		return false;
	b = kt_nattup_bit(m, src, sport, dst, dport);
	return m->nattup_bits[b >> 6] >> (b & 63) & 1;
}

/* Is dst:dport/proto the original destination of any NAT entry? */
bool kt_nat_to(const struct kt_model *m, uint8_t proto, const uint8_t dst[16], uint16_t dport);
const struct kt_nat *kt_nat_find(const struct kt_model *m, uint8_t proto,
				 const uint8_t src[16], uint16_t sport,
				 const uint8_t dst[16], uint16_t dport, uint64_t t, uint64_t h);
/* A server saw peer_ip:peer_port; when conntrack rewrote the client's source
 * (a port clash, masquerading), the client's own address and port. */
bool kt_nat_unsnat(const struct kt_model *m, uint8_t proto, const uint8_t srv[16],
		   uint16_t sport, const uint8_t peer[16], uint16_t pport, uint64_t t,
		   const uint8_t **cip, uint16_t *cport);
/* Is sender:sport -> peer:pport the reply direction of a translated flow
 * (the peer opened it, through a ClusterIP or with its source rewritten)? */
bool kt_nat_is_reply(const struct kt_model *m, uint8_t proto, const uint8_t sender[16],
		     uint16_t sport, const uint8_t peer[16], uint16_t pport);
const struct kt_dnsip *kt_dns_find(const struct kt_model *m, const uint8_t ip[16]);

/* entity.c */
int kt_entity_get(struct kt_model *m, enum kt_ent_kind kind, const char *id,
		  const char *name, const char *ns, uint32_t *out);
/* One connection's figures, added to an edge without touching every
 * counter (this is on the path of every connection). */
struct kt_one {
	uint32_t n;		/* flows it stands for: a folded UDP send, more than 1 */
	bool established;
	uint8_t fail;		/* KT_FAIL__MAX: none */
	uint8_t lat;		/* latency bucket, 0xff: none */
	uint64_t sent, recv, retrans, first, last;
};

/* An edge's key, apart from its counters: lookups walk 12 bytes an edge,
 * not a whole struct kt_edge. */
struct kt_edge_key {
	uint32_t src, dst;
	uint16_t port;
	uint8_t proto;
};

/* A connection attributed and ready to be added to its edge. */
struct kt_fold {
	uint32_t src, dst, backend;
	uint8_t proto;
	bool via;
	uint16_t port, bport;
	uint64_t t;
	struct kt_one one;
	uint64_t hash;		/* of the edge key (kt_edge_hash) */
	uint32_t edge;		/* found by kt_edge_find */
};

/* An edge's key, hashed. Entities below 2^20 (a million) fit one word with
 * the protocol and the port, without losing a bit: one round of the keyed
 * mixer, not two. */
static inline uint64_t kt_edge_hash(uint32_t src, uint32_t dst, uint8_t proto, uint16_t port)
{
	uint64_t pp = (uint64_t)proto << 16 | port;

	if ((src | dst) < 1u << 20)
		return kt_hash64((uint64_t)src << 44 | (uint64_t)dst << 24 | pp);
	return kt_hash64(((uint64_t)src << 32 | dst) ^ kt_hash64(pp));
}
/* The edge of f (f->hash set), made when new: f->edge. 0 or -ENOMEM.
 * Every connection asks, nearly always about an edge that exists: the
 * lookup is inline, kt_edge_add (entity.c) makes a new one. */
int kt_edge_add(struct kt_model *m, struct kt_fold *f);
static inline int kt_edge_find(struct kt_model *m, struct kt_fold *f)
{
	for (uint32_t i = kt_map_first(&m->edgemap, f->hash); i != KT_MAP_END;
	     i = kt_map_next(&m->edgemap, f->hash, i)) {
		const struct kt_edge_key *x = &m->ekeys[i];

		if (x->src == f->src && x->dst == f->dst && x->proto == f->proto &&
		    x->port == f->port) {
			f->edge = i;
			return 0;
		}
	}
	return kt_edge_add(m, f);
}
/* Add f to its edge f->edge. 0 or -ENOMEM. */
int kt_edge_apply(struct kt_model *m, const struct kt_fold *f);

void kt_edge_stats_add(struct kt_edge_stats *a, const struct kt_edge_stats *b);

/* attrib.c: the answer kept for ip, or NULL; a slot for it (0, or
 * -ENOMEM) */
struct kt_answer *kt_answer_find(const struct kt_model *m, const uint8_t ip[16]);
int kt_answer_put(struct kt_model *m, const uint8_t ip[16], uint32_t ent, uint64_t from,
		  uint64_t until);

/* attrib.c: the destination ip:port/proto, made when new: its index in
 * m->dests in *out (indices, not pointers: the array grows). 0, -ENOMEM.
 * Every folded connection asks: the lookup is inline, kt_dest_add (h:
 * the key's hash) makes a new one. */
int kt_dest_add(struct kt_model *m, const uint8_t ip[16], uint16_t port, uint8_t proto,
		uint64_t h, uint32_t *out);
static inline int kt_dest_get(struct kt_model *m, const uint8_t ip[16], uint16_t port,
			      uint8_t proto, uint32_t *out)
{
	uint64_t h = kt_hash_ipport(ip, proto, port);

	for (uint32_t i = kt_map_first(&m->destmap, h); i != KT_MAP_END;
	     i = kt_map_next(&m->destmap, h, i)) {
		const struct kt_dest *d = &m->dests[i];

		if (d->port == port && d->proto == proto && !memcmp(d->ip, ip, 16)) {
			*out = i;
			return 0;
		}
	}
	return kt_dest_add(m, ip, port, proto, h, out);
}

/* Every folded connection asks the next four about its ends and its
 * destination, and nearly always an answer kept from an earlier one holds:
 * that check is inline, and only a miss calls the _ask function in
 * attrib.c, which answers the question in full. */

/* Could conntrack have translated a connection to destination d? */
bool kt_dest_nat_ask(struct kt_model *m, uint32_t d);
static inline bool kt_dest_nat(struct kt_model *m, uint32_t i)
{
	const struct kt_dest *d = &m->dests[i];

	/* entries are only ever added: a yes stays, a no holds until more
	 * come */
	if (d->nat || d->nat_n == m->nnat)
		return d->nat;
	return kt_dest_nat_ask(m, i);
}

/* The owner of destination d's address at t (kt_attrib_remote's answer). */
int kt_attrib_owner_ask(struct kt_model *m, uint32_t d, uint64_t t, uint32_t *out);
static inline int kt_attrib_owner(struct kt_model *m, uint32_t i, uint64_t t, uint32_t *out)
{
	const struct kt_dest *d = &m->dests[i];

	if (t >= d->owner_from && t < d->owner_until) {
		*out = d->owner;
		return 0;
	}
	return kt_attrib_owner_ask(m, i, t, out);
}

/* attrib.c: entities for the two ends of a connection at t. The local end
 * by its cgroup c (kt_lineage_cgroup(s->cgroup), or NULL). */
int kt_attrib_local_ask(struct kt_model *m, const struct kt_side *s, const uint8_t ip[16],
			uint64_t t, struct kt_cg *c, uint32_t *out);
static inline int kt_attrib_local(struct kt_model *m, const struct kt_side *s,
				  const uint8_t ip[16], uint64_t t, uint32_t *out)
{
	struct kt_cg *c = s->cgroup ? kt_lineage_cgroup(m, s->cgroup) : NULL;

	if (c && c->ent != KT_ENT_NONE && t >= c->ent_from && t < c->ent_until) {
		*out = c->ent;
		return 0;
	}
	return kt_attrib_local_ask(m, s, ip, t, c, out);
}
int kt_attrib_remote(struct kt_model *m, const uint8_t ip[16], uint64_t t,
		     uint32_t *out);
/* An unattributed entity 'id', with the reason nothing better is known. */
int kt_attrib_unexplained(struct kt_model *m, const char *id, const char *name,
			  const char *reason, uint32_t *out);
/* The service of destination d at t (k8s), as an entity; *found false when
 * none. */
int kt_attrib_service_ask(struct kt_model *m, uint32_t d, uint64_t t, bool translated,
			  uint32_t *out, bool *found);
static inline int kt_attrib_service(struct kt_model *m, uint32_t i, uint64_t t,
				    bool translated, uint32_t *out, bool *found)
{
	const struct kt_dest *d = &m->dests[i];
	/* without objects no service is ever found; with them, the answer
	 * kept for d holds over its span */
	bool held = !m->k8s_has_pods || (t >= d->svc_from && t < d->svc_until);

	if (held && m->k8s_has_pods && d->svc != KT_ENT_NONE) {
		*out = d->svc;
		*found = true;
		return 0;
	}
	if (held && !translated) {
		*found = false;
		return 0;
	}
	return kt_attrib_service_ask(m, i, t, translated, out, found);
}

/* conn.c */
/* An event of a connection. ahead: kt_conn_ahead(m, f) taken before, or 0. */
int kt_conn_flow(struct kt_model *m, const struct kt_flow *f, uint64_t ahead);
/* A connection's key in pcmap: its client's address and port. */
static inline uint64_t kt_conn_key_hash(uint8_t proto, const uint8_t ip[16], uint16_t port)
{
	return kt_hash_ipport(ip, proto, port);
}

/* Fetch the slot of map where a lookup of h starts. */
static inline void kt_prefetch_slot(const struct kt_map *map, uint64_t h)
{
	if (map->cap)
		__builtin_prefetch(&map->slots[(h >> 32) & (map->cap - 1)]);
}

/* The hash of the key f's event looks its connection up under, with the
 * index slot fetched: taken a few records ahead, the miss overlaps with
 * the records before (0: none taken). */
static inline uint64_t kt_conn_ahead(const struct kt_model *m, const struct kt_flow *f)
{
	bool client = f->role != KT_ROLE_SERVER;
	uint64_t h;

	if (f->proto != IPPROTO_TCP)
		return 0;
	h = kt_conn_key_hash(f->proto, client ? f->saddr : f->daddr, client ? f->sport : f->dport);
	kt_prefetch_slot(&m->pcmap, h);
	return h;
}

int kt_conn_wire(struct kt_model *m, const struct kt_conn *c);
int kt_conn_flush(struct kt_model *m, bool all);
void kt_conn_free(struct kt_model *m);

#endif
