/* kinds.c - the kinds the index understands, and the names people use. */
#include "k8s.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

struct kind_info {
	const char *name, *resource;
	bool cluster;
	const char *aliases;	/* space-separated: singular, short names, tool names */
};

static const struct kind_info kinds[KT_K8S__MAX] = {
	[KT_K8S_OTHER] = { NULL, NULL, false, "" },
	[KT_K8S_NAMESPACE] = { "Namespace", "namespaces", true, "namespace ns" },
	[KT_K8S_NODE] = { "Node", "nodes", true, "node no" },
	[KT_K8S_POD] = { "Pod", "pods", false, "pod po" },
	[KT_K8S_SERVICE] = { "Service", "services", false, "service svc" },
	[KT_K8S_ENDPOINTS] = { "Endpoints", "endpoints", false, "ep" },
	[KT_K8S_ENDPOINTSLICE] = { "EndpointSlice", "endpointslices", false,
				   "endpointslice eps" },
	[KT_K8S_DEPLOYMENT] = { "Deployment", "deployments", false, "deployment deploy" },
	[KT_K8S_REPLICASET] = { "ReplicaSet", "replicasets", false, "replicaset rs" },
	[KT_K8S_STATEFULSET] = { "StatefulSet", "statefulsets", false, "statefulset sts" },
	[KT_K8S_DAEMONSET] = { "DaemonSet", "daemonsets", false, "daemonset ds" },
	[KT_K8S_JOB] = { "Job", "jobs", false, "job" },
	[KT_K8S_CRONJOB] = { "CronJob", "cronjobs", false, "cronjob cj" },
	[KT_K8S_REPLICATIONCONTROLLER] = { "ReplicationController",
		"replicationcontrollers", false, "replicationcontroller rc" },
	[KT_K8S_HPA] = { "HorizontalPodAutoscaler", "horizontalpodautoscalers", false,
			 "horizontalpodautoscaler hpa" },
	[KT_K8S_NETWORKPOLICY] = { "NetworkPolicy", "networkpolicies", false,
		"networkpolicy netpol network-policy network-policies" },
	[KT_K8S_EVENT] = { "Event", "events", false, "event ev" },
	[KT_K8S_PVC] = { "PersistentVolumeClaim", "persistentvolumeclaims", false,
			 "persistentvolumeclaim pvc pvcs" },
	[KT_K8S_PV] = { "PersistentVolume", "persistentvolumes", true,
			"persistentvolume pv pvs" },
	[KT_K8S_STORAGECLASS] = { "StorageClass", "storageclasses", true,
				  "storageclass sc storage-classes" },
	[KT_K8S_INGRESS] = { "Ingress", "ingresses", false, "ingress ing" },
	[KT_K8S_CONFIGMAP] = { "ConfigMap", "configmaps", false, "configmap cm" },
	[KT_K8S_SECRET] = { "Secret", "secrets", false, "secret" },
};

const char *kt_k8s_kind_name(enum kt_k8s_kind k)
{
	return (unsigned)k < KT_K8S__MAX ? kinds[k].name : NULL;
}

const char *kt_k8s_kind_resource(enum kt_k8s_kind k)
{
	return (unsigned)k < KT_K8S__MAX ? kinds[k].resource : NULL;
}

bool kt_k8s_kind_cluster_scoped(enum kt_k8s_kind k)
{
	return (unsigned)k < KT_K8S__MAX && kinds[k].cluster;
}

static bool word_in(const char *list, const char *w, size_t wlen)
{
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, " ");

		if (n == wlen && strncasecmp(p, w, n) == 0)
			return true;
		p += n;
		while (*p == ' ')
			p++;
	}
	return false;
}

enum kt_k8s_kind kt_k8s_kind_parse(const char *s)
{
	size_t len;

	if (!s)
		return KT_K8S_OTHER;
	len = strlen(s);
	/* "PodList" names the kind of its items. */
	if (len > 4 && strcmp(s + len - 4, "List") == 0)
		len -= 4;
	for (int k = 1; k < KT_K8S__MAX; k++) {
		if ((strlen(kinds[k].name) == len &&
		     strncasecmp(kinds[k].name, s, len) == 0) ||
		    (strlen(kinds[k].resource) == len &&
		     strncasecmp(kinds[k].resource, s, len) == 0) ||
		    word_in(kinds[k].aliases, s, len))
			return (enum kt_k8s_kind)k;
	}
	return KT_K8S_OTHER;
}
