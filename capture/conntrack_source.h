/* conntrack_source.h - the "conntrack" recording source: NAT over netlink.
 *
 * A connection to a ClusterIP shows the ClusterIP on the client's socket;
 * conntrack holds both tuples (client -> ClusterIP, backend -> client), so
 * it ties the Service to the backend that answered. The source dumps the
 * table at start and end (KT_CT_DUMP records) and records NEW and DESTROY
 * events in between, from the netns ktcap runs in. It changes no sysctl:
 * without nf_conntrack_timestamp events carry the time they were read, and
 * without nf_conntrack_acct their counters are zero. Netlink overruns
 * (ENOBUFS) are counted as lost.
 */
#ifndef KT_CONNTRACK_SOURCE_H
#define KT_CONNTRACK_SOURCE_H

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "records.h"
#include "source.h"

extern const struct kt_source_ops kt_conntrack_source;

/* Fill rec from a conntrack entry; -EAFNOSUPPORT for what is not IPv4/IPv6. */
int kt_conntrack_convert(struct kt_conntrack *rec, const struct nf_conntrack *ct,
			 enum kt_ct_kind kind, uint64_t ts);

#endif
