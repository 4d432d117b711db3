/* trouble.h - which flow events are trouble worth keeping packets of.
 *
 * The eBPF source reports each such event with kt_record_trouble()
 * (source.h); the pcap source then writes the packets of that flow from a
 * little before to a little after (capture/pcap/).
 */
#ifndef KT_TROUBLE_H
#define KT_TROUBLE_H

#include <stdbool.h>

#include "records.h"
#include "source.h"

/* Fill *out from a flow event and return true when the event is trouble: a
 * failed connect (refused, timed out, unreachable, other error), a reset
 * (sent, received, or a close caused by one), retransmits. */
bool kt_trouble_from_flow(const struct kt_flow *f, struct kt_trouble *out);

#endif
