/* dns_parse.c - DNS message decoder (RFC 1035 4.1, RFC 3596, RFC 2782).
 *
 *  header 12: | id 2 | QR opcode AA TC RD RA Z rcode 2 | qd 2 | an 2 | ns 2 | ar 2 |
 *  question:  | name | type 2 | class 2 |
 *  answer:    | name | type 2 | class 2 | ttl 4 | rdlength 2 | rdata |
 *  name: labels (len 1..63, then bytes), ended by 0, or a pointer
 *        (two bytes 11xxxxxx xxxxxxxx: offset from the message start)
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include "cursor.h"
#include "dns.h"

#define NAME_WIRE_MAX 255
#define MAX_JUMPS     128	/* more than any real name needs: a loop */

struct txt {
	char *p;
	size_t len, cap;
	bool cut;
};

static void put(struct txt *t, const char *s, size_t n)
{
	if (t->cut || n > t->cap - 1 - t->len) {
		t->cut = true;
		return;
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

static void putf(struct txt *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void putf(struct txt *t, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		t->cut = true;
		return;
	}
	put(t, tmp, (size_t)n);
}

static void put_escaped(struct txt *t, const uint8_t *s, size_t n, bool in_label)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint8_t ch = s[i];

		if (ch < 0x21 || ch > 0x7e || ch == '\\' || ch == '"' ||
		    (in_label && ch == '.'))
			putf(t, "\\%03u", ch);
		else
			put(t, (const char *)&ch, 1);
	}
}

/* Read the name at *pos into t; *pos moves past it (past the first pointer
 * when compressed). */
static int read_name(const uint8_t *msg, size_t len, size_t *pos, struct txt *t)
{
	size_t p = *pos, wire = 1;
	unsigned jumps = 0;
	bool jumped = false, first = true;

	for (;;) {
		uint8_t b;

		if (p >= len)
			return -EPROTO;
		b = msg[p];
		if (b == 0) {
			if (!jumped)
				*pos = p + 1;
			break;
		}
		if ((b & 0xc0) == 0xc0) {
			size_t ptr;

			if (p + 1 >= len || ++jumps > MAX_JUMPS)
				return -EPROTO;
			ptr = (size_t)(b & 0x3f) << 8 | msg[p + 1];
			if (!jumped)
				*pos = p + 2;
			jumped = true;
			p = ptr;
			continue;
		}
		if (b & 0xc0)
			return -EPROTO;	/* extended label types (RFC 6891) */
		wire += 1u + b;
		if (wire > NAME_WIRE_MAX || p + 1 + b > len)
			return -EPROTO;
		if (!first)
			put(t, ".", 1);
		put_escaped(t, msg + p + 1, b, true);
		first = false;
		p += 1u + b;
	}
	if (first)
		put(t, ".", 1);
	return 0;
}

static const char *const type_names[] = {
	[1] = "A", [2] = "NS", [5] = "CNAME", [6] = "SOA", [12] = "PTR",
	[15] = "MX", [16] = "TXT", [28] = "AAAA", [33] = "SRV", [35] = "NAPTR",
	[39] = "DNAME", [41] = "OPT", [43] = "DS", [46] = "RRSIG",
	[47] = "NSEC", [48] = "DNSKEY", [64] = "SVCB", [65] = "HTTPS",
};

const char *kt_dns_type_name(uint16_t type)
{
	if (type < sizeof(type_names) / sizeof(type_names[0]))
		return type_names[type];
	if (type == 255)
		return "ANY";
	return NULL;
}

static void put_type(struct txt *t, uint16_t type)
{
	const char *n = kt_dns_type_name(type);

	if (n)
		putf(t, "%s", n);
	else
		putf(t, "TYPE%u", type);
}

static void put_unknown(struct txt *t, const uint8_t *rd, uint16_t rdlen)
{
	unsigned i, show = rdlen < 64 ? rdlen : 64;

	putf(t, "\\# %u ", rdlen);
	for (i = 0; i < show; i++)
		putf(t, "%02x", rd[i]);
	if (show < rdlen)
		put(t, "...", 3);
}

/* Format the data of one record; the rdata is [rd, rd + rdlen) inside msg.
 * Names inside rdata may point anywhere in the message (compression). */
static int put_rdata(struct txt *t, const uint8_t *msg, size_t rd, uint16_t type, uint16_t rdlen)
{
	struct kt_cur c;
	char ip[INET6_ADDRSTRLEN];
	size_t pos = rd, end = rd + rdlen;
	uint16_t a, b, port;
	uint32_t serial;
	uint8_t sl;

	kt_cur_init(&c, msg + rd, rdlen);
	switch (type) {
	case 1:
		if (rdlen != 4)
			return -EPROTO;
		inet_ntop(AF_INET, msg + rd, ip, sizeof(ip));
		put(t, ip, strlen(ip));
		return 0;
	case 28:
		if (rdlen != 16)
			return -EPROTO;
		inet_ntop(AF_INET6, msg + rd, ip, sizeof(ip));
		put(t, ip, strlen(ip));
		return 0;
	case 2: case 5: case 12: case 39:
		return read_name(msg, end, &pos, t);
	case 15:
		if (!kt_cur_be16(&c, &a))
			return -EPROTO;
		putf(t, "%u ", a);
		pos = rd + 2;
		return read_name(msg, end, &pos, t);
	case 33:
		if (!kt_cur_be16(&c, &a) || !kt_cur_be16(&c, &b) ||
		    !kt_cur_be16(&c, &port))
			return -EPROTO;
		putf(t, "%u %u %u ", a, b, port);
		pos = rd + 6;
		return read_name(msg, end, &pos, t);
	case 6:
		if (read_name(msg, end, &pos, t))
			return -EPROTO;
		put(t, " ", 1);
		if (read_name(msg, end, &pos, t))
			return -EPROTO;
		kt_cur_init(&c, msg + pos, end - pos);
		if (!kt_cur_be32(&c, &serial))
			return -EPROTO;
		putf(t, " %u", serial);
		return 0;
	case 16:
		while (kt_cur_left(&c) > 0) {
			if (!kt_cur_u8(&c, &sl) || !kt_cur_has(&c, sl))
				return -EPROTO;
			if (c.off > 1)
				put(t, " ", 1);
			put(t, "\"", 1);
			put_escaped(t, kt_cur_ptr(&c), sl, false);
			put(t, "\"", 1);
			c.off += sl;
		}
		return 0;
	default:
		put_unknown(t, msg + rd, rdlen);
		return 0;
	}
}

int kt_dns_parse(struct kt_dns_msg *out, const uint8_t *msg, size_t len)
{
	struct kt_cur c;
	struct txt qn = { out->qname, 0, sizeof(out->qname), false };
	struct txt an = { out->answers, 0, sizeof(out->answers), false };
	uint16_t flags, nscount, arcount, qclass;
	size_t pos;
	unsigned i;
	int err = -EPROTO;

	memset(out, 0, offsetof(struct kt_dns_msg, qname));
	out->qname[0] = '\0';
	out->answers[0] = '\0';
	out->qname_len = out->answers_len = 0;
	out->nanswers = 0;
	out->answers_cut = false;

	kt_cur_init(&c, msg, len);
	if (!kt_cur_be16(&c, &out->id) || !kt_cur_be16(&c, &flags) ||
	    !kt_cur_be16(&c, &out->qdcount) || !kt_cur_be16(&c, &out->ancount) ||
	    !kt_cur_be16(&c, &nscount) || !kt_cur_be16(&c, &arcount))
		goto out;
	out->response = flags >> 15;
	out->opcode = (flags >> 11) & 0xf;
	out->rcode = flags & 0xf;
	pos = c.off;
	if (out->qdcount > 0) {
		if (read_name(msg, len, &pos, &qn) || qn.cut)
			goto out;
		kt_cur_init(&c, msg, len);
		c.off = pos;
		if (!kt_cur_be16(&c, &out->qtype) || !kt_cur_be16(&c, &qclass))
			goto out;
		pos = c.off;
		out->has_question = true;
		out->qname_len = (uint32_t)qn.len;
		/* further questions are all but unheard of; skip them */
		for (i = 1; i < out->qdcount; i++) {
			struct txt skip = { NULL, 0, 0, true };

			if (read_name(msg, len, &pos, &skip) || pos + 4 > len) {
				out->answers_cut = true;
				err = 0;
				goto out;
			}
			pos += 4;
		}
	}
	err = 0;
	for (i = 0; i < out->ancount && i < KT_DNS_MAX_RR; i++) {
		struct txt name = { NULL, 0, 0, true };
		size_t save_len = an.len;
		uint16_t type, klass, rdlen;
		uint32_t ttl;

		if (read_name(msg, len, &pos, &name))
			break;
		kt_cur_init(&c, msg, len);
		c.off = pos;
		if (!kt_cur_be16(&c, &type) || !kt_cur_be16(&c, &klass) ||
		    !kt_cur_be32(&c, &ttl) || !kt_cur_be16(&c, &rdlen) ||
		    !kt_cur_has(&c, rdlen))
			break;
		pos = c.off + rdlen;
		if (an.len)
			put(&an, "\n", 1);
		put_type(&an, type);
		put(&an, " ", 1);
		if (put_rdata(&an, msg, c.off, type, rdlen)) {
			an.len = save_len;
			an.p[an.len] = '\0';
			break;
		}
		putf(&an, " %u", ttl);
		if (an.cut) {
			/* keep whole answers only */
			an.len = save_len;
			an.p[an.len] = '\0';
			break;
		}
		out->nanswers++;
	}
	if (out->nanswers < out->ancount)
		out->answers_cut = true;
	out->answers_len = (uint32_t)an.len;
out:
	return err;
}
