/* fuzz_k8s_load.c - any bytes as a Kubernetes dump: load, build the index,
 * ask it the questions attribution and the explanations of failures ask
 * (NetworkPolicy rules included). */
#include <stdint.h>
#include <stdlib.h>

#include "k8s.h"

struct walk {
	struct kt_k8s_index *idx;
	const struct kt_k8s_object *pod;	/* the last pod seen */
};

static int each_cb(void *arg, const struct kt_k8s_object *o)
{
	struct walk *w = arg;
	struct kt_k8s_index *idx = w->idx;
	struct kt_np_result r;

	kt_k8s_workload(idx, o, o->from_ns, NULL);
	if (o->kind == KT_K8S_POD) {
		/* the NetworkPolicy rules between pods, and from an address */
		kt_k8s_netpol_check(idx, true, w->pod, "198.18.9.1", o, "198.18.1.9", "TCP", 80,
				    o->from_ns, &r);
		kt_k8s_netpol_check(idx, false, o, "198.18.1.9", w->pod, NULL, "UDP", 53,
				    o->from_ns, &r);
		kt_k8s_netpol_check(idx, true, NULL, "198.18.9.1", o, NULL, NULL, 8080,
				    KT_K8S_LATEST, &r);
		w->pod = o;
	}
	if (o->kind == KT_K8S_SERVICE)
		kt_k8s_backends(idx, o, o->u.svc.nports ? &o->u.svc.ports[0] : NULL,
				o->from_ns, NULL, NULL);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kt_k8s_index *idx;
	uint8_t ip[16] = { [10] = 0xff, [11] = 0xff, [12] = 198, [13] = 18,
			   [14] = 1, [15] = 9 };

	if (kt_k8s_index_new(&idx) < 0)
		return 0;
	kt_k8s_index_load_buffer(idx, (const char *)data, size,
				 "k8s/snapshots/000001/pods/x.json", 1, NULL);
	if (kt_k8s_index_finish(idx) == 0) {
		kt_k8s_pod_by_ip(idx, ip, 5);
		kt_k8s_service_by_ip(idx, ip, 80, NULL, KT_K8S_LATEST, NULL);
		kt_k8s_pod_by_container(idx, "0123456789abcdef", KT_K8S_LATEST, NULL);
		struct walk w = { idx, NULL };

		kt_k8s_each(idx, KT_K8S_OTHER, NULL, KT_K8S_LATEST, each_cb, &w);
	}
	kt_k8s_index_free(idx);
	return 0;
}
