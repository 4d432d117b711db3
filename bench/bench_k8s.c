/* bench_k8s.c - the k8s object index at cluster scale: PODS pods (with a
 * service per 10 pods and its endpoints) seen in SNAPS snapshots, a tenth of
 * the pods replaced between snapshots (new pod, same IP) through watch
 * events. Prints build time, memory held by the index, bytes per object
 * version, and pod-by-IP lookups per second.
 *   bench_k8s [PODS [SNAPS]]   (default 10000 pods, 60 snapshots) */
#include "k8s.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SEC 1000000000ull

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static json_t *pod(int i, int gen, int rv)
{
	char name[64], uid[64], ip[32], rvs[16], cid[80];

	snprintf(name, sizeof(name), "web-%d-g%d", i, gen);
	snprintf(uid, sizeof(uid), "uid-%d-%d", i, gen);
	snprintf(ip, sizeof(ip), "10.%d.%d.%d", 1 + i / 65536, (i / 256) % 256, i % 256);
	snprintf(rvs, sizeof(rvs), "%d", rv);
	snprintf(cid, sizeof(cid), "containerd://%064x", i * 7919 + gen);
	return json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s},s:[{s:s,s:s,s:s,s:b}]},"
			 "s:{s:s,s:[{s:s,s:s,s:[{s:i,s:s}]}]},"
			 "s:{s:s,s:s,s:s,s:[{s:s}],s:[{s:s,s:s,s:b,s:i}]}}",
			 "kind", "Pod", "apiVersion", "v1", "metadata", "name", name,
			 "namespace", i % 2 ? "shop" : "pay", "uid", uid, "resourceVersion", rvs,
			 "creationTimestamp", "2026-01-01T00:00:00Z", "labels", "app", "web",
			 "pod-template-hash", "abc", "ownerReferences", "kind", "ReplicaSet",
			 "name", "web-abc", "uid", "rs-uid", "controller", 1,
			 "spec", "nodeName", "node-1", "containers", "name", "web", "image",
			 "nginx:1.25", "ports", "containerPort", 8080, "protocol", "TCP",
			 "status", "phase", "Running", "hostIP", "172.16.0.1", "podIP", ip,
			 "podIPs", "ip", ip, "containerStatuses", "name", "web", "containerID",
			 cid, "ready", 1, "restartCount", 0);
}

int main(int argc, char **argv)
{
	int pods = argc > 1 ? atoi(argv[1]) : 10000;
	int snaps = argc > 2 ? atoi(argv[2]) : 60;
	int *gen = calloc((size_t)pods, sizeof(int));
	struct kt_k8s_index *idx;
	struct kt_k8s_stats st;
	uint64_t t0 = 1767225600ull * SEC, found = 0;
	double c0, c1, c2;
	int rv = 1;

	if (!gen || kt_k8s_index_new(&idx))
		return 1;
	c0 = cpu_s();
	for (int s = 0; s < snaps; s++) {
		uint64_t t = t0 + (uint64_t)s * 10 * SEC;
		int id = kt_k8s_index_snapshot(idx, t, KT_K8S_POD, NULL, NULL);

		for (int i = 0; i < pods; i++) {
			json_t *p = pod(i, gen[i], rv + gen[i]);

			kt_k8s_index_add(idx, p, NULL, t, KT_K8S_SEEN, id);
			json_decref(p);
		}
		/* Between snapshots a tenth of the pods is replaced. */
		for (int i = s % 10; i < pods; i += 10) {
			json_t *p = pod(i, gen[i], rv + gen[i]);

			kt_k8s_index_add(idx, p, NULL, t + 5 * SEC, KT_K8S_DELETED, 0);
			json_decref(p);
			gen[i]++;
			p = pod(i, gen[i], rv + gen[i]);
			kt_k8s_index_add(idx, p, NULL, t + 5 * SEC + 1, KT_K8S_ADDED, 0);
			json_decref(p);
		}
	}
	if (kt_k8s_index_finish(idx))
		return 1;
	c1 = cpu_s();
	for (int k = 0; k < 2000000; k++) {
		int i = k % pods;
		uint8_t ip[16] = { [10] = 0xff, [11] = 0xff, [12] = 10,
				   [13] = (uint8_t)(1 + i / 65536),
				   [14] = (uint8_t)((i / 256) % 256), [15] = (uint8_t)(i % 256) };

		found += kt_k8s_pod_by_ip(idx, ip, t0 + (uint64_t)(k % (snaps * 10)) * SEC) != NULL;
	}
	c2 = cpu_s();
	kt_k8s_index_stats(idx, &st);
	printf("pods %d, snapshots %d: %llu objects, %llu versions, %llu observations\n",
	       pods, snaps, (unsigned long long)st.objects, (unsigned long long)st.versions,
	       (unsigned long long)st.observations);
	printf("build %.2f s CPU (%.0f observations/s), index %.1f MiB, %.0f bytes/version\n",
	       c1 - c0, (double)st.observations / (c1 - c0), (double)st.bytes / 1048576.0,
	       (double)st.bytes / (double)st.versions);
	printf("pod_by_ip: %.0f lookups/s (%llu of 2000000 found)\n",
	       2000000.0 / (c2 - c1), (unsigned long long)found);
	kt_k8s_index_free(idx);
	free(gen);
	return 0;
}
