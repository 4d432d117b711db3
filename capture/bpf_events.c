/* bpf_events.c - ktflow events -> struct kt_flow / struct kt_proc (see
 * bpf_events.h). */
#include "bpf_events.h"

#include <errno.h>
#include <string.h>

#include "error.h"

/* The kernel side repeats the record enums (it cannot include records.h);
 * the conversion copies values, so they must agree. */
#define KT_SAME(a, b) _Static_assert((int)(a) == (int)(b), #a " != " #b)
KT_SAME(KT_EVK_OPEN, KT_FLOW_OPEN);
KT_SAME(KT_EVK_CLOSE, KT_FLOW_CLOSE);
KT_SAME(KT_EVK_FAIL, KT_FLOW_FAIL);
KT_SAME(KT_EVK_STATS, KT_FLOW_STATS);
KT_SAME(KT_EVK_RETRANS, KT_FLOW_RETRANS);
KT_SAME(KT_EVK_RST_SENT, KT_FLOW_RST_SENT);
KT_SAME(KT_EVK_RST_RECV, KT_FLOW_RST_RECV);
KT_SAME(KT_EVK_DROP, KT_FLOW_DROP);
KT_SAME(KT_EVK_CONNECT, KT_FLOW_CONNECT);
KT_SAME(KT_EVK_ACCEPT, KT_FLOW_ACCEPT);
KT_SAME(KT_EVK_UDP_SEND, KT_FLOW_UDP_SEND);
KT_SAME(KT_EVK_LISTEN, KT_FLOW_LISTEN);
KT_SAME(KT_EVC_REFUSED, KT_CAUSE_REFUSED);
KT_SAME(KT_EVC_TIMEOUT, KT_CAUSE_TIMEOUT);
KT_SAME(KT_EVC_UNREACHABLE, KT_CAUSE_UNREACHABLE);
KT_SAME(KT_EVC_RESET, KT_CAUSE_RESET);
KT_SAME(KT_EVC_ERROR, KT_CAUSE_ERROR);
KT_SAME(KT_EVC_ABORTED, KT_CAUSE_ABORTED);
KT_SAME(KT_EVR_CLIENT, KT_ROLE_CLIENT);
KT_SAME(KT_EVR_SERVER, KT_ROLE_SERVER);
KT_SAME(KT_EVL_LOCAL, KT_CLOSER_LOCAL);
KT_SAME(KT_EVL_REMOTE, KT_CLOSER_REMOTE);
KT_SAME(KT_EVP_EXEC, KT_PROC_EXEC);
KT_SAME(KT_EVP_FORK, KT_PROC_FORK);
KT_SAME(KT_EVP_EXIT, KT_PROC_EXIT);
KT_SAME(KT_EVP_CGROUP_MKDIR, KT_PROC_CGROUP_MKDIR);
KT_SAME(KT_EVP_CGROUP_RMDIR, KT_PROC_CGROUP_RMDIR);

int kt_bpf_event_type(const void *data, size_t len)
{
	uint32_t type, size;

	if (len < 8)
		return kt_err_set(-EPROTO, "eBPF event of %zu bytes", len);
	memcpy(&type, data, 4);
	memcpy(&size, (const char *)data + 4, 4);
	if (size > len)
		return kt_err_set(-EPROTO, "eBPF event of type %u: %u bytes claimed, %zu read",
				  type, size, len);
	if ((type == KT_EV_FLOW && size != sizeof(struct kt_ev_flow)) ||
	    (type == KT_EV_PROC && size != sizeof(struct kt_ev_proc)))
		return kt_err_set(-EPROTO, "eBPF event of type %u has %u bytes: the "
				  "object and ktcap were built from different ktflow.h",
				  type, size);
	if (type != KT_EV_FLOW && type != KT_EV_PROC)
		return kt_err_set(-EPROTO, "unknown eBPF event type %u", type);
	return (int)type;
}

/* Copy the event in data into ev when it is of type want (its size was
 * checked against this build by kt_bpf_event_type). */
static int copy_event(void *ev, size_t size, int want, const void *data, size_t len)
{
	int t = kt_bpf_event_type(data, len);

	if (t < 0)
		return t;
	if (t != want)
		return kt_err_set(-EINVAL, "not a %s event", want == KT_EV_FLOW ? "flow" : "proc");
	memcpy(ev, data, size);
	return 0;
}

static uint64_t to_utc(uint64_t boot_ns, int64_t off)
{
	return boot_ns ? (uint64_t)((int64_t)boot_ns + off) : 0;
}

static struct kt_str str_of(const char *s, size_t max)
{
	struct kt_str r = { s, (uint32_t)strnlen(s, max) };

	return r;
}

int kt_bpf_flow_convert(struct kt_flow *out, struct kt_ev_flow *ev,
			const void *data, size_t len, int64_t boot_to_utc_ns)
{
	int err = copy_event(ev, sizeof(*ev), KT_EV_FLOW, data, len);

	if (err)
		return err;
	memset(out, 0, sizeof(*out));
	out->ts = to_utc(ev->ts, boot_to_utc_ns);
	out->kind = ev->kind;
	out->proto = ev->proto;
	out->role = ev->role;
	out->cause = ev->cause;
	out->closer = ev->closer;
	memcpy(out->saddr, ev->saddr, 16);
	memcpy(out->daddr, ev->daddr, 16);
	out->sport = ev->sport;
	out->dport = ev->dport;
	memcpy(out->orig_daddr, ev->orig_daddr, 16);
	out->orig_dport = ev->orig_dport;
	out->sock_id = ev->sock_id;
	out->netns = ev->netns;
	out->cgroup_id = ev->cgroup_id;
	out->pid = ev->pid;
	out->tid = ev->tid;
	out->comm = str_of(ev->comm, sizeof(ev->comm));
	out->duration_ns = ev->duration_ns;
	out->latency_ns = ev->latency_ns;
	out->bytes_sent = ev->bytes_sent;
	out->bytes_recv = ev->bytes_recv;
	out->segs_out = ev->segs_out;
	out->segs_in = ev->segs_in;
	out->retrans = ev->retrans;
	out->srtt_us = ev->srtt_us;
	out->err = ev->err;
	out->reason = ev->reason;
	out->count = ev->count;
	return 0;
}

int kt_bpf_proc_convert(struct kt_proc *out, struct kt_bpf_proc_hold *hold,
			const void *data, size_t len, int64_t boot_to_utc_ns)
{
	struct kt_ev_proc *ev = &hold->ev;
	int err = copy_event(ev, sizeof(*ev), KT_EV_PROC, data, len);

	if (err)
		return err;
	ev->path[sizeof(ev->path) - 1] = '\0';
	memset(out, 0, sizeof(*out));
	out->ts = to_utc(ev->ts, boot_to_utc_ns);
	out->kind = ev->kind;
	out->pid = ev->pid;
	out->ppid = ev->ppid;
	out->cgroup_id = ev->cgroup_id;
	out->netns = ev->netns;
	out->exit_code = ev->exit_code;
	out->comm = str_of(ev->comm, sizeof(ev->comm));
	out->path = str_of(ev->path, sizeof(ev->path));
	out->hierarchy = ev->hierarchy > 0 ? (uint32_t)ev->hierarchy : 0;
	if ((ev->kind == KT_EVP_CGROUP_MKDIR || ev->kind == KT_EVP_CGROUP_RMDIR) &&
	    kt_cgroup_parse(ev->path, &hold->cg) == 0) {
		out->pod_uid = str_of(hold->cg.pod_uid, sizeof(hold->cg.pod_uid));
		out->container_id = str_of(hold->cg.container_id,
					   sizeof(hold->cg.container_id));
	}
	return 0;
}
