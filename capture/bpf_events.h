/* bpf_events.h - ktflow ring buffer events -> bundle records.
 *
 * The event bytes come from our own kernel program, but are still read as
 * bytes: copied out after checking length, type and the size the kernel
 * side wrote, so a layout mismatch between a stale object and this binary is
 * an error rather than garbage.
 */
#ifndef KT_BPF_EVENTS_H
#define KT_BPF_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "host.h"
#include "ktflow.h"
#include "records.h"

/* The type of an event (KT_EV_FLOW, KT_EV_PROC), or -EPROTO when it is too
 * short or its size field disagrees with this build. */
int kt_bpf_event_type(const void *data, size_t len);

/* Copy a flow event into *ev and fill *out from it. out->comm points into
 * ev->comm: ev must outlive out. boot_to_utc_ns: utc = boot time + this. */
int kt_bpf_flow_convert(struct kt_flow *out, struct kt_ev_flow *ev,
			const void *data, size_t len, int64_t boot_to_utc_ns);

/* What the strings of a converted proc record point into. */
struct kt_bpf_proc_hold {
	struct kt_ev_proc ev;
	struct kt_cgroup_info cg;
};

/* Same for a proc event. The strings of out point into hold, which must
 * outlive out; cgroup events also get the pod UID and container ID parsed
 * from their path (kt_cgroup_parse, host facts). */
int kt_bpf_proc_convert(struct kt_proc *out, struct kt_bpf_proc_hold *hold,
			const void *data, size_t len, int64_t boot_to_utc_ns);

#endif
