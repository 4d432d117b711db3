/* packet.h - decode one captured frame into its transport layers.
 *
 * kt_pkt_decode() walks a frame from its link layer down: Ethernet (with
 * 802.1Q / 802.1ad tags), Linux cooked v1 and v2, raw IPv4/IPv6, BSD
 * loopback/null, NFLOG; IPv4 (fragments) and IPv6 (extension headers, the
 * fragment header); IP-in-IP (4in4, 6in4, 4in6, 6in6); VXLAN (UDP 4789 and
 * flannel's 8472) and Geneve (UDP 6081); TCP and UDP; ICMP and ICMPv6. It
 * keeps every transport layer it meets: a VXLAN frame yields the outer UDP
 * layer and the inner TCP or UDP layer, as Wireshark's conversation table
 * counts both.
 *
 * An ICMP error (unreachable, time exceeded, parameter problem, packet too
 * big) quotes the start of the datagram that caused it: its IP header and
 * at least the first 8 bytes of its transport header, the ports. That quote
 * names the flow the error is about, so it is decoded, but into pkt.icmp,
 * never into l4[]: the quoted header is not a packet of that flow, and the
 * connection trackers (ktana import) count only l4[].
 *
 * The decoder never allocates and never reads past caplen: a frame cut by the
 * snap length yields the layers whose headers were captured in full, with
 * KT_PKT_TRUNCATED set. Payload pointers borrow the caller's frame buffer.
 */
#ifndef KT_PACKET_H
#define KT_PACKET_H

#include <stdbool.h>
#include <stdint.h>

#define KT_PKT_MAX_L4	4	/* transport layers kept per frame */
#define KT_PKT_MAX_FRAG	4	/* non-first IP fragments kept per frame */
#define KT_PKT_MAX_DEPTH 8	/* nested encapsulations followed */

/* struct kt_pkt_icmp.quote: how much of the quoted datagram was captured */
#define KT_ICMP_QUOTE_IP     0x1	/* its IP header: proto, src, dst */
#define KT_ICMP_QUOTE_PORTS  0x2	/* its TCP/UDP ports: sport, dport */
#define KT_ICMP_QUOTE_CUT    0x4	/* the snap length cut the quote short */
#define KT_ICMP_QUOTE_NESTED 0x8	/* it is an ICMP error itself: not followed */
#define KT_ICMP_QUOTE_FULL   0x10	/* its IP header and the 8 bytes after it: all
					 * RFC 792 promises was captured */

/* struct kt_pkt.flags */
#define KT_PKT_TRUNCATED   0x1	/* a header was cut by the snap length */
#define KT_PKT_MALFORMED   0x2	/* a header contradicts itself */
#define KT_PKT_UNSUPPORTED 0x4	/* a link type or protocol we do not decode */
#define KT_PKT_TOO_DEEP    0x8	/* more encapsulations than KT_PKT_MAX_DEPTH */

/* TCP flags as on the wire */
#define KT_TCP_FIN 0x01
#define KT_TCP_SYN 0x02
#define KT_TCP_RST 0x04
#define KT_TCP_PSH 0x08
#define KT_TCP_ACK 0x10

/* One TCP or UDP header found in the frame, with the IP header around it. */
struct kt_pkt_l4 {
	uint8_t proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t ipver;		/* 4 or 6 */
	uint8_t src[16];	/* IPv4 mapped as ::ffff:a.b.c.d */
	uint8_t dst[16];
	uint16_t sport, dport;
	uint16_t vlan;		/* outermost 802.1Q/ad id on the way here, 0 none */
	uint32_t vni;		/* VNI of the tunnel this layer was inside, 0 none */
	uint8_t tcp_flags;
	uint32_t seq, ack;
	uint32_t paylen;	/* payload length the IP header claims */
	const uint8_t *payload;	/* captured payload (borrowed), caplen bytes */
	uint32_t caplen;
	bool first_frag;	/* the IP datagram is a first fragment (MF set) */
	uint32_t frag_id;	/* its IPv4/IPv6 identification */
};

/* A non-first IP fragment: no transport header, only the key that ties it to
 * the first fragment of its datagram. */
struct kt_pkt_frag {
	uint8_t ipver;
	uint8_t proto;		/* upper protocol of the datagram */
	uint8_t src[16];
	uint8_t dst[16];
	uint32_t id;
};

/* The ICMP or ICMPv6 message of a frame (at most one: nothing follows it).
 * For an error, the flow it is about comes from the quoted datagram, as its
 * sender sent it: src -> dst is the direction of the packet that failed (a
 * client's SYN), whatever direction the error itself travels.
 *
 * The quote is the message's payload, not a header of this frame: when the
 * snap length cuts it, quote keeps what was whole and has KT_ICMP_QUOTE_CUT,
 * and the frame's KT_PKT_TRUNCATED is left alone (frames counted as cut are
 * the same with or without ICMP decoding). A quote that the message itself
 * ends before KT_ICMP_QUOTE_FULL has neither flag: its sender cut it. The
 * quoted datagram is never decoded past its transport ports: no tunnel in
 * it is followed, nor the quote of a quoted ICMP error (a crafted chain of
 * them would otherwise nest without end): that one has
 * KT_ICMP_QUOTE_NESTED and its IP header only. */
struct kt_pkt_icmp {
	uint8_t ipver;		/* 4: ICMP, 6: ICMPv6; 0: the frame has none */
	uint8_t type, code;	/* as on the wire (ICMPv4 3/1: host unreachable) */
	bool error;		/* an error message: a quote follows its header */
	uint8_t quote;		/* KT_ICMP_QUOTE_*; 0 when not an error */
	uint32_t mtu;		/* fragmentation needed, packet too big: the
				 * next hop's MTU; else 0 */
	uint8_t from[16];	/* who sent the message (a router, the node) */
	/* the quoted datagram: valid with KT_ICMP_QUOTE_IP */
	uint8_t proto;		/* its IP protocol (through IPv6 extensions) */
	uint8_t src[16];	/* IPv4 mapped as ::ffff:a.b.c.d */
	uint8_t dst[16];
	/* valid with KT_ICMP_QUOTE_PORTS (proto TCP or UDP, not a later
	 * fragment, and 4 bytes of its header captured) */
	uint16_t sport, dport;
};

struct kt_pkt {
	uint64_t ts;		/* UTC nanoseconds */
	uint32_t wirelen;	/* frame length on the wire */
	uint32_t caplen;	/* bytes captured */
	uint32_t flags;		/* KT_PKT_* */
	uint8_t nl4;
	uint8_t nfrag;
	struct kt_pkt_l4 l4[KT_PKT_MAX_L4];
	struct kt_pkt_frag frag[KT_PKT_MAX_FRAG];
	struct kt_pkt_icmp icmp;	/* icmp.ipver 0: no ICMP message */
};

/* Decode one frame of libpcap link type 'dlt' (a DLT_* value as pcap_datalink
 * returns it). Always fills *out (nl4 may be 0: ARP, ICMP, an unknown link
 * type...; an ICMP message is in out->icmp); returns 0, or -EPROTONOSUPPORT when the link type itself is one
 * we do not decode (out->flags has KT_PKT_UNSUPPORTED). */
int kt_pkt_decode(struct kt_pkt *out, int dlt, const uint8_t *frame,
		  uint32_t caplen, uint32_t wirelen, uint64_t ts);

/* Whether kt_pkt_decode() knows link type 'dlt'. */
bool kt_pkt_dlt_supported(int dlt);

#endif
