/* bench_import.c - how fast captures turn into connections.
 *
 *   bench_import gen OUT.pcap MIB   write a synthetic capture of about MIB MiB:
 *                                   many concurrent TCP connections (handshake,
 *                                   data both ways, FIN), some DNS over UDP,
 *                                   through libpcap's dump writer
 *   bench_import read FILE          time a bare libpcap read loop
 *   bench_import track FILE         time read + decode + track (no output)
 *
 * Run by hand (bench/import.sh compares with `ktana import` and tshark);
 * never part of the tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pcap/pcap.h>

#include "capture.h"
#include "tracker.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- generator ------------------------------------------------------------ */

struct gen {
	pcap_dumper_t *d;
	uint64_t ts_us;
	uint64_t bytes;
	uint8_t frame[1600];
};

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* Ethernet + IPv4 + TCP or UDP from (s, sp) to (d, dp) with 'len' bytes. */
static void emit(struct gen *g, uint8_t proto, uint32_t s, uint16_t sp, uint32_t d,
		 uint16_t dp, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t len)
{
	uint8_t *f = g->frame;
	unsigned l4 = proto == 6 ? 20 : 8, n = 14 + 20 + l4 + len;
	struct pcap_pkthdr h;

	memset(f, 0, 14 + 20 + l4);
	f[0] = 2; f[5] = 1; f[6] = 2; f[11] = 2;
	put16(f + 12, 0x0800);
	f[14] = 0x45;
	put16(f + 16, (uint16_t)(20 + l4 + len));
	f[22] = 64;
	f[23] = proto;
	put32(f + 26, s);
	put32(f + 30, d);
	put16(f + 34, sp);
	put16(f + 36, dp);
	if (proto == 6) {
		put32(f + 38, seq);
		put32(f + 42, ack);
		f[46] = 5 << 4;
		f[47] = flags;
		put16(f + 48, 65535);
	} else {
		put16(f + 38, (uint16_t)(8 + len));
	}
	memset(f + 14 + 20 + l4, 'x', len);
	g->ts_us += 7;
	h.ts.tv_sec = (time_t)(1700000000 + g->ts_us / 1000000);
	h.ts.tv_usec = (suseconds_t)(g->ts_us % 1000000);
	h.caplen = h.len = n;
	pcap_dump((u_char *)g->d, &h, f);
	g->bytes += 16 + n;
}

static int gen(const char *out, unsigned mib)
{
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	struct gen g = { 0 };
	uint64_t want = (uint64_t)mib << 20;
	uint32_t conn = 0;
	uint32_t client = 0x0a000000, server = 0x0a800000;	/* 10.0/9, 10.128/9 */

	if (!dead)
		return 1;
	g.d = pcap_dump_open(dead, out);
	if (!g.d) {
		fprintf(stderr, "bench_import: cannot write '%s': %s\n", out, pcap_geterr(dead));
		pcap_close(dead);
		return 1;
	}
	/* interleave 64 connections at a time, as a busy node does */
	while (g.bytes < want) {
		uint32_t c[64], sv[64], isn[64], isn2[64];
		uint16_t cp[64], segs = (uint16_t)(4 + conn % 13);
		unsigned i, k;

		for (i = 0; i < 64; i++, conn++) {
			c[i] = client + (conn % 5000);
			sv[i] = server + (conn % 97);
			cp[i] = (uint16_t)(10000 + (conn / 5000) % 50000);
			isn[i] = conn * 2654435761u;
			isn2[i] = ~isn[i];
			emit(&g, 6, c[i], cp[i], sv[i], 80, 0x02, isn[i], 0, 0);
		}
		for (i = 0; i < 64; i++)
			emit(&g, 6, sv[i], 80, c[i], cp[i], 0x12, isn2[i], isn[i] + 1, 0);
		for (i = 0; i < 64; i++)
			emit(&g, 6, c[i], cp[i], sv[i], 80, 0x10, isn[i] + 1, isn2[i] + 1, 0);
		for (k = 0; k < segs; k++) {
			for (i = 0; i < 64; i++) {
				emit(&g, 6, c[i], cp[i], sv[i], 80, 0x18, isn[i] + 1 + k * 200,
				     isn2[i] + 1 + k * 1400, 200);
				emit(&g, 6, sv[i], 80, c[i], cp[i], 0x18, isn2[i] + 1 + k * 1400,
				     isn[i] + 1 + (k + 1) * 200, 1400);
			}
		}
		for (i = 0; i < 64; i++) {
			emit(&g, 6, c[i], cp[i], sv[i], 80, 0x11, isn[i] + 1 + segs * 200,
			     isn2[i] + 1 + segs * 1400, 0);
			emit(&g, 6, sv[i], 80, c[i], cp[i], 0x11, isn2[i] + 1 + segs * 1400,
			     isn[i] + 2 + segs * 200, 0);
			emit(&g, 6, c[i], cp[i], sv[i], 80, 0x10, isn[i] + 2 + segs * 200,
			     isn2[i] + 2 + segs * 1400, 0);
		}
		/* a DNS-sized UDP exchange per batch (not a valid message: bytes) */
		emit(&g, 17, c[0], 33000, server, 53, 0, 0, 0, 40);
		emit(&g, 17, server, 53, c[0], 33000, 0, 0, 0, 120);
	}
	pcap_dump_close(g.d);
	pcap_close(dead);
	fprintf(stderr, "bench_import: wrote %s, %.1f MiB, %u connections\n", out,
		(double)g.bytes / (1 << 20), conn);
	return 0;
}

/* ---- timing --------------------------------------------------------------- */

static int bare_read(const char *path)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(path, errbuf);
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t n = 0, bytes = 0;
	double t0 = now_s(), dt;

	if (!p) {
		fprintf(stderr, "bench_import: %s\n", errbuf);
		return 1;
	}
	while (pcap_next_ex(p, &h, &data) == 1) {
		n++;
		bytes += h->len + data[0];	/* touch the frame */
	}
	dt = now_s() - t0;
	pcap_close(p);
	printf("read:  %llu frames in %.3f s (%.0f frames/s, %.0f MiB/s)\n",
	       (unsigned long long)n, dt, n / dt, bytes / dt / (1 << 20));
	return 0;
}

static int count_conn(void *ctx, const struct kt_conn *c)
{
	(void)c;
	(*(uint64_t *)ctx)++;
	return 0;
}

static int track(const char *path)
{
	uint64_t conns = 0;
	struct kt_tracker_opts o = { .emit_conn = count_conn, .ctx = &conns };
	struct kt_tracker *t;
	struct kt_capture *cap;
	struct kt_read_result res;
	double t0 = now_s(), dt;

	if (kt_tracker_new(&t, &o) || kt_capture_open(&cap, path))
		return 1;
	kt_capture_read_all(cap, t, &res);
	kt_tracker_flush(t);
	dt = now_s() - t0;
	kt_capture_close(cap);
	kt_tracker_free(t);
	printf("track: %llu frames, %llu connections in %.3f s (%.0f frames/s)\n",
	       (unsigned long long)res.frames, (unsigned long long)conns, dt,
	       res.frames / dt);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "gen"))
		return gen(argv[2], (unsigned)strtoul(argv[3], NULL, 10));
	if (argc == 3 && !strcmp(argv[1], "read"))
		return bare_read(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "track"))
		return track(argv[2]);
	fprintf(stderr, "usage: bench_import gen OUT.pcap MIB | read FILE | track FILE\n");
	return 2;
}
