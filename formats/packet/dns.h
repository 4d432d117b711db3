/* dns.h - decode one DNS message (RFC 1035), from any bytes at all.
 *
 * kt_dns_parse() reads the header, the first question and the answer
 * section into a caller-owned struct; nothing is allocated. Names are
 * followed through compression pointers with a bound on jumps (a pointer
 * loop is an error, not a hang) and on length (255 bytes on the wire).
 * Name text escapes bytes outside printable ASCII, '.' and '\' inside a
 * label as \DDD (RFC 4343). Answers are "TYPE DATA TTL" lines joined by '\n'
 * (the STRLIST form of kt_dns.answers): "A 192.0.2.1 300",
 * "CNAME www.example.org 60", "SRV 0 100 53 ns.example 30"; a type we do not
 * format is written as RFC 3597's "TYPE65 \# 3 0a0b0c 60".
 */
#ifndef KT_DNS_H
#define KT_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KT_DNS_NAME_MAX	   1024	/* text of a 255-byte name, escaped */
#define KT_DNS_ANSWERS_MAX 4096	/* answers text; more answers are dropped */
#define KT_DNS_MAX_RR	   64	/* answers read per message */

struct kt_dns_msg {
	uint16_t id;
	bool response;		/* QR bit */
	uint8_t opcode;
	uint16_t rcode;		/* 4 bits of the header */
	uint16_t qdcount, ancount;
	bool has_question;
	uint16_t qtype;
	char qname[KT_DNS_NAME_MAX];	/* NUL-terminated */
	uint32_t qname_len;
	char answers[KT_DNS_ANSWERS_MAX]; /* NUL-terminated, '\n' between */
	uint32_t answers_len;
	uint16_t nanswers;
	bool answers_cut;	/* an answer was malformed or did not fit */
};

/* Decode 'len' bytes at 'msg'. Returns 0, or -EPROTO when not even the
 * header and the question decode (the message is then of no use). */
int kt_dns_parse(struct kt_dns_msg *out, const uint8_t *msg, size_t len);

/* Name of a record type ("A", "AAAA", "SRV"...), or NULL when unknown. */
const char *kt_dns_type_name(uint16_t type);

#endif
