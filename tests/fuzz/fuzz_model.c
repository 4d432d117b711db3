/* fuzz_model.c - the model on any input: the first byte picks what the rest
 * is: host facts (netns.json, node.json), a DNS answer list (then the same
 * bytes as lookups that failed or not, a line each), or a sequence of
 * flow and conntrack events over a few addresses and ports (the stitching
 * state machine under any order of events). Then finish and every view. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

struct cur {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct cur *c)
{
	uint8_t v = 0;

	if (c->n) {
		v = *c->p++;
		c->n--;
	}
	return v;
}

static void pick_ip(uint8_t ip[16], uint8_t sel)
{
	static const char *const ips[] = { "198.18.0.1", "198.18.0.2", "198.19.0.9", "127.0.0.1" };

	kt_ip_parse(ip, ips[sel % 4]);
}

static void events(struct kt_model *m, struct cur *c)
{
	uint64_t ts = 1000000000ull;

	while (c->n >= 6) {
		uint8_t what = u8(c), a = u8(c), b = u8(c), d = u8(c), e = u8(c), g = u8(c);

		ts += (uint64_t)g * 10000000ull;
		if (what & 0x80) {
			struct kt_conntrack ct = { .ts = ts, .kind = a % KT_CT__KINDS,
						   .proto = b & 1 ? 6 : 17, .orig_sport = 1000 + d % 4,
						   .orig_dport = 80, .reply_sport = 80,
						   .reply_dport = 1000 + e % 4 };

			pick_ip(ct.orig_src, a >> 4);
			pick_ip(ct.orig_dst, b >> 4);
			pick_ip(ct.reply_src, d >> 4);
			pick_ip(ct.reply_dst, e >> 4);
			kt_model_add_conntrack(m, &ct);
		} else {
			struct kt_flow f = { .ts = ts, .kind = what % KT_FLOW__KINDS,
					     .proto = b & 1 ? 6 : 17, .role = a % 3,
					     .cause = (a >> 2) % KT_CAUSE__MAX,
					     .sport = 1000 + d % 4, .dport = 80 + (e % 2),
					     .cgroup_id = b >> 6, .netns = (b >> 4) & 3,
					     .bytes_sent = g, .bytes_recv = d,
					     .latency_ns = (uint64_t)e * 1000, .count = 1 };

			pick_ip(f.saddr, a >> 4);
			pick_ip(f.daddr, b >> 4);
			if (e & 0x80)
				pick_ip(f.orig_daddr, d >> 4);
			if (kt_model_add_flow(m, &f))
				return;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kt_model_opts mo = { .window_ns = (size & 1) ? 50000000ull : 0 };
	struct kt_model *m;
	struct cur c = { data, size };
	uint8_t mode = u8(&c);

	if (kt_model_new(&m, &mo))
		return 0;
	switch (mode % 4) {
	case 0:
		kt_model_add_host_entry(m, "host/start/netns.json", (const char *)c.p, c.n);
		break;
	case 1:
		kt_model_add_host_entry(m, "host/start/node.json", (const char *)c.p, c.n);
		break;
	case 2: {
		struct kt_dns d = { .ts = 1, .rcode = 0 };
		const uint8_t *p = c.p, *end = c.p + c.n;

		d.qname = (struct kt_str){ "x.example", 9 };
		d.answers = (struct kt_str){ (const char *)c.p, (uint32_t)c.n };
		kt_model_add_dns(m, &d);
		/* then each line a lookup: answer, client, type, name */
		while (end - p >= 3) {
			const uint8_t *nl = memchr(p + 3, '\n', (size_t)(end - p - 3));
			const uint8_t *e = nl ? nl : end;

			d.rcode = p[0] == 0xff ? KT_DNS_RCODE_NONE : p[0] % 8;
			pick_ip(d.client, p[1]);
			d.qtype = p[2];
			d.ts += p[1];
			d.qname = (struct kt_str){ (const char *)p + 3, (uint32_t)(e - p - 3) };
			d.answers = (struct kt_str){ NULL, 0 };
			kt_model_add_dns(m, &d);
			p = nl ? nl + 1 : end;
		}
		break;
	}
	default:
		events(m, &c);
		break;
	}
	if (kt_model_finish(m) == 0) {
		for (int l = KT_LEVEL_POD; l <= KT_LEVEL_NODE; l++) {
			struct kt_view_opts vo = { .level = (enum kt_level)l };
			json_t *out = NULL;

			if (kt_model_view(m, &vo, &out) == 0)
				json_decref(out);
		}
	}
	kt_model_free(m);
	return 0;
}
