/* bpf_source.h - the "bpf" recording source: ktflow events -> spool.
 *
 * Streams: "flow" (struct kt_flow) and "proc" (struct kt_proc). Its manifest
 * report: the programs attached, missing or refused (and why), events
 * delivered, events lost in the kernel (ring buffer full), records written.
 */
#ifndef KT_BPF_SOURCE_H
#define KT_BPF_SOURCE_H

#include "source.h"

extern const struct kt_source_ops kt_bpf_source;

#endif
