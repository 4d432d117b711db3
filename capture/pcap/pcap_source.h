/* pcap_source.h - the "pcap" recording source (source.h): libpcap on the
 * node's interfaces, a ring of the last seconds per interface, pcapng
 * fragments of the packets around trouble (or everything, --pcap-all), DNS
 * records. See docs/pcap.md. */
#ifndef KT_PCAP_SOURCE_H
#define KT_PCAP_SOURCE_H

#include "source.h"

extern const struct kt_source_ops kt_pcap_source;

#endif
