/* sources.c - the table of recording sources (sources.h). Host facts start
 * first so the processes alive at start are known before events arrive. */
#include "sources.h"
#include "bpf_source.h"
#include "conntrack_source.h"
#include "host.h"
#include "pcap_source.h"

#include <string.h>

#include "k8s_source.h"

const struct kt_source_ops *const kt_sources[] = {
	&kt_host_source,
	&kt_bpf_source,
	&kt_pcap_source,
	&kt_conntrack_source,
	&kt_source_k8s,
	NULL,
};

const struct kt_source_ops *kt_source_find(const char *name)
{
	for (int i = 0; kt_sources[i]; i++)
		if (!strcmp(kt_sources[i]->name, name))
			return kt_sources[i];
	return NULL;
}
