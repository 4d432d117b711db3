/* sources.h - the recording sources ktcap knows, in start order. Each is
 * defined in its own file (host/, bpf_source.c, pcap_source.c, k8s/). */
#ifndef KT_SOURCES_H
#define KT_SOURCES_H

#include "source.h"

/* NULL-terminated. */
extern const struct kt_source_ops *const kt_sources[];

const struct kt_source_ops *kt_source_find(const char *name);

#endif
