/* tracker.h - rebuild connections and DNS transactions from decoded frames.
 *
 * The tracker keeps one entry per TCP connection or UDP flow, keyed by the
 * two endpoints (address, port) in either order, and emits a struct kt_conn
 * (formats/records.h) when the entry ends: evicted as idle, evicted because
 * the table is full (the least recently seen goes first), split because a new
 * SYN reused its port pair, or flushed at the end. Memory is bounded by
 * max_flows, max_dns_pending and a fixed budget for DNS-over-TCP reassembly:
 * at most about 300 bytes + KT_TRACK_L7_MAX per flow, 1.1 KiB per pending
 * query, KT_TRACK_DNS_TCP_BUDGET, and 400 KiB of fixed tables (defaults:
 * under 160 MiB in the worst case, a few MiB for ordinary captures).
 *
 * TCP: the opener (the SYN's sender; the SYN-ACK's receiver; otherwise the
 * side sent first) is kt_conn.src. Outcome: refused (SYN answered by RST),
 * unanswered (SYNs, nothing back), reset (RST after establishment),
 * established, partial (no handshake in the capture). Retransmissions are
 * segments whose whole sequence range was already seen (keep-alives not
 * counted); rtt_us is the handshake round trip, SYN to the ACK of the SYN-ACK
 * (Wireshark's "iRTT"), from the last SYN before the SYN-ACK. Packets and
 * bytes count frames and their length on the wire; a frame holding two
 * layers (VXLAN: outer UDP, inner TCP) counts in both flows. Non-first IP
 * fragments count in their datagram's flow.
 *
 * DNS (UDP or TCP, port 53): each query is matched with its answer by
 * (client, server, ports, id); an answer emits a struct kt_dns with rcode,
 * answers and latency, a query never answered emits rcode
 * KT_DNS_RCODE_NONE after dns_timeout_ns or at flush, an answer whose query
 * was not captured emits with latency 0.
 *
 * HTTP/1.x: the request line of a connection's first data ("GET /x HTTP/1.1"),
 * as far as the snap length captured it, goes into kt_conn.l7.
 *
 * Records handed to the callbacks borrow the tracker's memory: strings are
 * valid only during the call. A callback returning non-zero stops the
 * tracker; that value comes back from kt_tracker_packet() / _flush().
 *
 * Example: how `ktana import` drives it (error handling shortened):
 *
 *	static int on_conn(void *ctx, const struct kt_conn *c)
 *	{ return kt_spool_append(ctx, &kt_conn_schema, c); }	// copies
 *	static int on_dns(void *ctx, const struct kt_dns *d)
 *	{ return kt_spool_append(ctx, &kt_dns_schema, d); }
 *
 *	struct kt_tracker_opts o = { .emit_conn = on_conn, .emit_dns = on_dns,
 *				     .ctx = spool, .capture = file_index };
 *	struct kt_tracker *t;
 *	struct kt_capture *cap;
 *	struct kt_read_result res;
 *	kt_tracker_new(&t, &o);
 *	kt_capture_open(&cap, "node1.pcap");		// capture.h
 *	err = kt_capture_read_all(cap, t, &res);	// decode + track
 *	if (!err && res.truncated) warn("%s", res.warning);
 *	kt_capture_close(cap);
 *	err = kt_tracker_flush(t);			// emits what is open
 *	kt_tracker_free(t);
 *
 * or packet by packet: kt_capture_next() -> kt_pkt_decode() ->
 * kt_tracker_packet().
 */
#ifndef KT_TRACKER_H
#define KT_TRACKER_H

#include <stdint.h>

#include "packet.h"
#include "records.h"

#define KT_TRACK_DEFAULT_FLOWS	   (1u << 18)
#define KT_TRACK_DEFAULT_DNS	   8192u
#define KT_TRACK_DNS_TCP_BUDGET	   (16u << 20)	/* bytes over all streams */
#define KT_TRACK_L7_MAX		   256u		/* bytes of request line */

struct kt_tracker;

struct kt_tracker_opts {
	uint32_t max_flows;		/* 0: KT_TRACK_DEFAULT_FLOWS */
	uint32_t max_dns_pending;	/* 0: KT_TRACK_DEFAULT_DNS */
	uint64_t tcp_idle_ns;		/* 0: 300 s */
	uint64_t tcp_closed_ns;		/* after FIN both ways or RST; 0: 30 s */
	uint64_t udp_idle_ns;		/* 0: 120 s */
	uint64_t dns_timeout_ns;	/* 0: 10 s */
	uint16_t capture;		/* copied into kt_conn.capture */
	int (*emit_conn)(void *ctx, const struct kt_conn *c);	/* may be NULL */
	int (*emit_dns)(void *ctx, const struct kt_dns *d);	/* may be NULL */
	void *ctx;
};

struct kt_tracker_stats {
	uint64_t packets;		/* frames given to kt_tracker_packet */
	uint64_t layers;		/* TCP/UDP layers among them */
	uint64_t frames_no_l4;		/* frames with no TCP/UDP layer */
	uint64_t truncated;		/* frames with KT_PKT_TRUNCATED */
	uint64_t malformed;		/* frames with KT_PKT_MALFORMED */
	uint64_t conns;			/* kt_conn records emitted */
	uint64_t evicted_full;		/* entries pushed out by max_flows */
	uint64_t frag_orphans;		/* fragments whose first never came */
	uint64_t dns_msgs;		/* DNS messages decoded */
	uint64_t dns_bad;		/* DNS messages that did not decode */
	uint64_t dns_cut;		/* DNS over UDP cut by the snap length */
	uint64_t dns_records;		/* kt_dns records emitted */
};

/* Create a tracker; *out is freed with kt_tracker_free(). opts is copied. */
int kt_tracker_new(struct kt_tracker **out, const struct kt_tracker_opts *opts);

/* Account one decoded frame. Frames should come in capture order; a
 * timestamp going back is tolerated (idle time uses the latest seen). */
int kt_tracker_packet(struct kt_tracker *t, const struct kt_pkt *p);

/* Emit every open connection and pending DNS query, and forget them. */
int kt_tracker_flush(struct kt_tracker *t);

/* Change kt_conn.capture for what comes next (several input files). */
void kt_tracker_set_capture(struct kt_tracker *t, uint16_t capture);

void kt_tracker_get_stats(const struct kt_tracker *t, struct kt_tracker_stats *out);

/* Free without emitting; NULL is fine. */
void kt_tracker_free(struct kt_tracker *t);

#endif
