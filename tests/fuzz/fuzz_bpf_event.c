/* fuzz_bpf_event.c - ring buffer events as arbitrary bytes.
 *
 * The events come from our own kernel program, but a stale object or a
 * kernel bug must give an error, never a bad read: kt_bpf_event_type()
 * gates every conversion. Cgroup events carry paths anyone can create,
 * parsed by kt_cgroup_parse (fuzzed on its own by fuzz_cgroup_path). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bpf_events.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kt_ev_flow ev;
	struct kt_bpf_proc_hold hold;
	struct kt_flow f;
	struct kt_proc p;
	int t = kt_bpf_event_type(data, size);

	if (t == KT_EV_FLOW && kt_bpf_flow_convert(&f, &ev, data, size, 0) == 0)
		(void)memchr(f.comm.p, 0, f.comm.len);
	if (t == KT_EV_PROC && kt_bpf_proc_convert(&p, &hold, data, size, 0) == 0) {
		/* touch every byte the strings claim (unset ones are empty) */
		(void)memchr(p.path.p, 0, p.path.len);
		if (p.pod_uid.len)
			(void)memchr(p.pod_uid.p, 0, p.pod_uid.len);
		if (p.container_id.len)
			(void)memchr(p.container_id.p, 0, p.container_id.len);
	}
	return 0;
}
