/* trouble.c - flow events that are trouble (trouble.h). */
#include "trouble.h"

#include <string.h>

bool kt_trouble_from_flow(const struct kt_flow *f, struct kt_trouble *out)
{
	uint8_t kind = 0;

	switch (f->kind) {
	case KT_FLOW_FAIL:
		kind = f->cause == KT_CAUSE_REFUSED ? KT_TROUBLE_REFUSED :
		       f->cause == KT_CAUSE_TIMEOUT ? KT_TROUBLE_TIMEOUT :
		       f->cause == KT_CAUSE_UNREACHABLE ? KT_TROUBLE_UNREACHABLE :
		       f->cause == KT_CAUSE_RESET ? KT_TROUBLE_RESET : KT_TROUBLE_CONNECT;
		break;
	case KT_FLOW_CLOSE:
		if (f->cause == KT_CAUSE_RESET)
			kind = KT_TROUBLE_RESET;
		break;
	case KT_FLOW_RST_SENT:
	case KT_FLOW_RST_RECV:
		kind = KT_TROUBLE_RESET;
		break;
	case KT_FLOW_RETRANS:
		kind = KT_TROUBLE_RETRANS;
		break;
	default:
		break;
	}
	if (!kind)
		return false;
	memset(out, 0, sizeof(*out));
	out->ts = f->ts;
	/* a failed connect began at its SYN; a reset connection at its open */
	out->since_ns = f->kind == KT_FLOW_FAIL ? f->latency_ns : f->duration_ns;
	out->kind = kind;
	out->proto = f->proto;
	memcpy(out->saddr, f->saddr, 16);
	memcpy(out->daddr, f->daddr, 16);
	memcpy(out->orig_daddr, f->orig_daddr, 16);
	out->sport = f->sport;
	out->dport = f->dport;
	out->orig_dport = f->orig_dport;
	out->netns = f->netns;
	out->count = f->count ? f->count : 1;
	out->err = f->err;
	out->source = "bpf";
	return true;
}
