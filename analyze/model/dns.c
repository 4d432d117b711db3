/* dns.c - DNS lookups that failed: an answer other than NOERROR, or none.
 *
 * One entry per client address, name, query type and answer, counted, with
 * the first and last time; the client is attributed at the first, when the
 * model finishes. A pod's resolver tries each search domain before the name
 * itself (ndots), and each try that does not exist is an NXDOMAIN that means
 * nothing: an NXDOMAIN for a name that extends one the same client resolved
 * is marked a search expansion. For that the names each client resolved are
 * kept too, as hashes.
 *
 * Bounded: at most KT_DNS_FAILS_MAX entries and KT_DNS_OKS_MAX resolved
 * names; lookups beyond are counted (stats dns_failures_dropped), not kept.
 */
#include "model_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

#define SEED_FAIL 0x646e736661696cull	/* "dnsfail" */
#define SEED_OK 0x646e736f6bull		/* "dnsok" */

/* The name as compared: lower case, no trailing dot, anything but
 * printable ASCII as '?' (names come from packets). Returns its length. */
static size_t norm_name(const char *s, size_t len, char out[KT_DNS_NAME_MAX + 1])
{
	size_t n = 0;

	while (len && s[len - 1] == '.')
		len--;
	if (len > KT_DNS_NAME_MAX)
		len = KT_DNS_NAME_MAX;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		out[n++] = c > 0x20 && c < 0x7f ? (char)tolower(c) : '?';
	}
	out[n] = '\0';
	return n;
}

static uint64_t ok_hash(const uint8_t client[16], const char *name, size_t len)
{
	return kt_hash_bytes(name, len, kt_hash_ip(client, SEED_OK));
}

static bool ok_has(const struct kt_model *m, uint64_t h)
{
	for (uint32_t i = kt_map_first(&m->dnsokmap, h); i != KT_MAP_END;
	     i = kt_map_next(&m->dnsokmap, h, i))
		if (m->dnsoks[i] == h)
			return true;
	return false;
}

static int ok_add(struct kt_model *m, const uint8_t client[16], const char *name, size_t len)
{
	uint64_t h = ok_hash(client, name, len);
	int err;

	if (ok_has(m, h))
		return 0;
	if (m->ndnsoks >= KT_DNS_OKS_MAX) {
		m->st.dns_oks_dropped++;
		return 0;
	}
	if ((err = kt_grow((void **)&m->dnsoks, &m->capdnsoks, m->ndnsoks + 1, sizeof(*m->dnsoks))) ||
	    (err = kt_map_put(&m->dnsokmap, h, m->ndnsoks)))
		return err;
	m->dnsoks[m->ndnsoks++] = h;
	return 0;
}

int kt_dnsfail_add(struct kt_model *m, const struct kt_dns *d)
{
	char name[KT_DNS_NAME_MAX + 1];
	size_t len = d->qname.p ? norm_name(d->qname.p, d->qname.len, name) : norm_name("", 0, name);
	struct kt_dnsfail *x;
	uint64_t h;
	int err;

	if ((m->o.since && d->ts < m->o.since) || (m->o.until && d->ts >= m->o.until))
		return 0;
	if (d->rcode == 0)
		return len ? ok_add(m, d->client, name, len) : 0;
	m->st.dns_failures++;
	h = kt_hash_bytes(name, len, kt_hash_ip(d->client, SEED_FAIL ^
						 ((uint64_t)d->qtype << 16 | d->rcode)));
	for (uint32_t i = kt_map_first(&m->dnsfailmap, h); i != KT_MAP_END;
	     i = kt_map_next(&m->dnsfailmap, h, i)) {
		x = &m->dnsfails[i];
		if (x->qtype == d->qtype && x->rcode == d->rcode && !memcmp(x->client, d->client, 16) &&
		    !strcmp(x->qname, name)) {
			x->count++;
			if (d->ts < x->first) {
				x->first = d->ts;
				memcpy(x->server, d->server, 16);
			}
			if (d->ts > x->last)
				x->last = d->ts;
			return 0;
		}
	}
	if (m->ndnsfails >= KT_DNS_FAILS_MAX) {
		m->st.dns_failures_dropped++;
		return 0;
	}
	if ((err = kt_grow((void **)&m->dnsfails, &m->capdnsfails, m->ndnsfails + 1,
			   sizeof(*m->dnsfails))))
		return err;
	x = &m->dnsfails[m->ndnsfails];
	memset(x, 0, sizeof(*x));
	if (!(x->qname = strdup(name)))
		return kt_err_set(-ENOMEM, "out of memory");
	if ((err = kt_map_put(&m->dnsfailmap, h, m->ndnsfails))) {
		free(x->qname);
		return err;
	}
	memcpy(x->client, d->client, 16);
	memcpy(x->server, d->server, 16);
	x->qtype = d->qtype;
	x->rcode = d->rcode;
	x->count = 1;
	x->first = x->last = d->ts;
	x->ent = KT_ENT_NONE;
	m->ndnsfails++;
	return 0;
}

/* Did the client of x resolve a name that x's name extends ("web" for
 * "web.shop.svc.cluster.local")? */
static bool expansion(const struct kt_model *m, const struct kt_dnsfail *x)
{
	const char *dot;

	if (x->rcode != KT_DNS_NXDOMAIN)
		return false;
	for (dot = strchr(x->qname, '.'); dot; dot = strchr(dot + 1, '.'))
		if (ok_has(m, ok_hash(x->client, x->qname, (size_t)(dot - x->qname))))
			return true;
	return false;
}

int kt_dnsfail_finish(struct kt_model *m)
{
	int err;

	for (uint32_t i = 0; i < m->ndnsfails; i++) {
		struct kt_dnsfail *x = &m->dnsfails[i];

		if ((err = kt_attrib_remote(m, x->client, x->first, &x->ent)))
			return err;
		x->expansion = expansion(m, x);
	}
	return 0;
}

void kt_dnsfail_free(struct kt_model *m)
{
	for (uint32_t i = 0; i < m->ndnsfails; i++)
		free(m->dnsfails[i].qname);
	free(m->dnsfails);
	kt_map_free(&m->dnsfailmap);
	free(m->dnsoks);
	kt_map_free(&m->dnsokmap);
}

const char *kt_dns_qtype_name(uint16_t t, char *buf, size_t len)
{
	switch (t) {
	case 1: return "A";
	case 2: return "NS";
	case 5: return "CNAME";
	case 6: return "SOA";
	case 12: return "PTR";
	case 15: return "MX";
	case 16: return "TXT";
	case 28: return "AAAA";
	case 33: return "SRV";
	case 64: return "SVCB";
	case 65: return "HTTPS";
	default:
		snprintf(buf, len, "TYPE%u", t);	/* RFC 3597 */
		return buf;
	}
}

const char *kt_dns_rcode_name(uint16_t r, char *buf, size_t len)
{
	switch (r) {
	case 0: return "NOERROR";
	case 1: return "FORMERR";
	case 2: return "SERVFAIL";
	case 3: return "NXDOMAIN";
	case 4: return "NOTIMP";
	case 5: return "REFUSED";
	case KT_DNS_RCODE_NONE: return "no-answer";
	default:
		snprintf(buf, len, "RCODE%u", r);
		return buf;
	}
}
