/* fuzz_pcap_pods.c - the pcap source's index of a pods snapshot (the k8s
 * source's kubectl output, read to name the pod behind a veth): any JSON at
 * all, every entry it makes must be a pod name, a UID and a container map. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "pcap_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *list = json_loadb((const char *)data, size, 0, NULL);
	json_t *map = json_object(), *v;
	const char *k;

	if (list && map) {
		kt_pcap_pods_add(map, list);
		json_object_foreach(map, k, v)
			if (!json_is_string(json_object_get(v, "pod")) ||
			    !json_is_string(json_object_get(v, "uid")) ||
			    !json_is_object(json_object_get(v, "containers")))
				abort();
	}
	json_decref(list);
	json_decref(map);
	return 0;
}
