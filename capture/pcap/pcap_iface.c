/* pcap_iface.c - the interfaces the pcap source captures on.
 *
 * Default: every interface of this network namespace that is up, except
 * loopback and bridges that have ports (their ports, the pods' veths, see the
 * same packets and say which pod they belong to). Each is opened with
 * libpcap: nanosecond timestamps, the snap length, a kernel buffer, block
 * timeout 100 ms (one wakeup per block, not per packet, under load), and
 * non-blocking so the recorder's loop never waits on it.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "error.h"
#include "host_int.h"
#include "packet.h"
#include "pcap_int.h"

#define DISPATCH_BUDGET	 4096	/* packets per interface per call */

/* A bridge with ports: its ports are captured instead. Asked of rtnetlink,
 * not /sys/class/net, which shows the netns that mounted /sys. */
static bool is_bridge_with_ports(json_t *links, const char *name)
{
	json_int_t idx = -1;
	json_t *l;
	size_t i;

	json_array_foreach(links, i, l) {
		const char *n = json_string_value(json_object_get(l, "name"));
		const char *kind = json_string_value(json_object_get(l, "kind"));

		if (n && !strcmp(n, name) && kind && !strcmp(kind, "bridge"))
			idx = json_integer_value(json_object_get(l, "index"));
	}
	if (idx < 0)
		return false;
	json_array_foreach(links, i, l)
		if (json_integer_value(json_object_get(l, "master")) == idx)
			return true;
	return false;
}

static int default_names(char names[][64], unsigned max, unsigned *n)
{
	struct ifaddrs *ifa, *i;
	json_t *links = json_array();

	*n = 0;
	if (!links || kt_host_links(links))	/* without it: bridges too */
		kt_err_clear();
	if (getifaddrs(&ifa) < 0) {
		json_decref(links);
		return kt_err_set(-errno, "cannot list interfaces: %s", strerror(errno));
	}
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_PACKET)
			continue;
		if (!(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		if (is_bridge_with_ports(links, i->ifa_name) || strlen(i->ifa_name) >= 64)
			continue;
		if (*n == max)
			break;
		snprintf(names[(*n)++], 64, "%s", i->ifa_name);
	}
	freeifaddrs(ifa);
	json_decref(links);
	return 0;
}

static int open_one(struct kt_pcap_src *s, struct kt_pcap_iface *i, const char *filter,
		    size_t ring_bytes, int bufsize)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct bpf_program prog;
	int r, err = 0;

	i->fd = -1;
	i->index = (int)if_nametoindex(i->name);
	if (!(i->p = pcap_create(i->name, errbuf)))
		return kt_err_set(-ENODEV, "cannot open interface '%s': %s", i->name, errbuf);
	pcap_set_snaplen(i->p, (int)s->snaplen);
	pcap_set_promisc(i->p, 0);
	pcap_set_timeout(i->p, KT_PCAP_BLOCK_TIMEOUT_MS);
	pcap_set_buffer_size(i->p, bufsize);
	pcap_set_tstamp_precision(i->p, PCAP_TSTAMP_PRECISION_NANO);
	r = pcap_activate(i->p);
	if (r < 0) {
		err = kt_err_set(r == PCAP_ERROR_PERM_DENIED ? -EPERM :
				 r == PCAP_ERROR_NO_SUCH_DEVICE ? -ENODEV : -EIO,
				 "cannot capture on '%s': %s%s", i->name, pcap_geterr(i->p),
				 r == PCAP_ERROR_PERM_DENIED ? " (needs CAP_NET_RAW)" : "");
		goto out;
	}
	i->dlt = pcap_datalink(i->p);
	i->snaplen = (uint32_t)pcap_snapshot(i->p);
	if (filter) {
		if (pcap_compile(i->p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
			err = kt_err_set(-EINVAL, "bad --pcap-filter '%s': %s", filter,
					 pcap_geterr(i->p));
			goto out;
		}
		r = pcap_setfilter(i->p, &prog);
		pcap_freecode(&prog);
		if (r < 0) {
			err = kt_err_set(-EINVAL, "cannot set the filter on '%s': %s", i->name,
					 pcap_geterr(i->p));
			goto out;
		}
	}
	if (pcap_setnonblock(i->p, 1, errbuf) < 0 || (i->fd = pcap_get_selectable_fd(i->p)) < 0) {
		err = kt_err_set(-EIO, "cannot poll '%s': %s", i->name, errbuf);
		goto out;
	}
	if ((err = kt_pkt_ring_new(&i->ring, ring_bytes, s->ring_ns)))
		goto out;
	err = kt_pcap_dns_open(s, i);
out:
	if (err) {
		pcap_close(i->p);
		i->p = NULL;
		kt_pkt_ring_free(i->ring);
		i->ring = NULL;
	}
	return err;
}

/* Stop capturing on i (gone); its ring and counters stay for the end. */
static void close_iface(struct kt_pcap_src *s, struct kt_pcap_iface *i)
{
	struct pcap_stat st;

	epoll_ctl(s->epfd, EPOLL_CTL_DEL, i->fd, NULL);
	if (pcap_stats(i->p, &st) == 0) {
		i->last = st;
		i->stats_ok = true;
	}
	pcap_close(i->p);
	i->p = NULL;
	i->fd = -1;
	i->closed = true;
}

/* Open interface 'name' into the next slot and poll it. */
static int add_iface(struct kt_pcap_src *s, const char *name)
{
	struct kt_pcap_iface *i = &s->ifs[s->nifs];
	struct epoll_event ev = { .events = EPOLLIN };
	int err;

	if (s->nifs == KT_PCAP_MAX_IFACES)
		return kt_err_set(-E2BIG, "more than %d interfaces", KT_PCAP_MAX_IFACES);
	memset(i, 0, sizeof(*i));
	snprintf(i->name, sizeof(i->name), "%.63s", name);
	i->id.netns = s->own_netns;
	if ((err = open_one(s, i, s->filter, s->ring_per_if, s->bufsize)))
		return err;
	ev.data.u32 = s->nifs;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, i->fd, &ev) < 0) {
		err = kt_err_set(-errno, "cannot poll '%s': %s", i->name, strerror(errno));
		pcap_close(i->p);
		kt_pkt_ring_free(i->ring);
		kt_tracker_free(i->dns);
		return err;
	}
	s->nifs++;
	return 0;
}

int kt_pcap_ifaces_open(struct kt_pcap_src *s, const char *const *names, const char *filter)
{
	char found[KT_PCAP_MAX_IFACES][64];
	char first_err[512] = "";
	unsigned n = 0, k;
	int err = 0;

	if (names) {
		for (; names[n]; n++) {
			if (n == KT_PCAP_MAX_IFACES)
				return kt_err_set(-E2BIG, "more than %d interfaces", KT_PCAP_MAX_IFACES);
			if (strlen(names[n]) >= 64)
				return kt_err_set(-EINVAL, "interface name '%s' too long", names[n]);
			snprintf(found[n], 64, "%s", names[n]);
		}
	} else if ((err = default_names(found, KT_PCAP_MAX_IFACES, &n))) {
		return err;
	}
	if (!n)
		return kt_err_set(-ENODEV, "no interface to capture on (none up besides "
				  "loopback): name one with --iface");
	s->filter = filter;
	s->rescan = !names;
	/* the memory budget is for the interfaces found at start together;
	 * pods that come later get as much each */
	s->ring_per_if = (size_t)(s->ring_bytes / n);
	if (s->ring_per_if < (size_t)(s->snaplen + 128) * 16)
		s->ring_per_if = (size_t)(s->snaplen + 128) * 16;
	if (s->ring_per_if < 65536)
		s->ring_per_if = 65536;
	/* kernel buffer per interface: room for a scheduling hiccup on a busy
	 * node with few interfaces, bounded with many */
	s->bufsize = n > 16 ? 1 << 20 : n > 4 ? 4 << 20 : 8 << 20;
	for (k = 0; k < n; k++) {
		kt_err_clear();
		if ((err = add_iface(s, found[k]))) {
			/* a bad filter is the user's mistake: say so at once */
			if (err == -EINVAL)
				return err;
			if (!*first_err)
				snprintf(first_err, sizeof(first_err), "%s", kt_err_msg(err));
		}
	}
	if (!s->nifs)
		return kt_err_set(-ENODEV, "%s", first_err);
	return 0;
}

int kt_pcap_ifaces_rescan(struct kt_pcap_src *s, unsigned *added)
{
	char found[KT_PCAP_MAX_IFACES][64];
	unsigned n = 0, k, j;
	int err;

	*added = 0;
	if (!s->rescan || (err = default_names(found, KT_PCAP_MAX_IFACES, &n))) {
		kt_err_clear();
		return 0;
	}
	/* A deleted interface does not always make libpcap fail: one whose
	 * index is gone, or now names another interface, is closed here. */
	for (j = 0; j < s->nifs; j++)
		if (s->ifs[j].p && (int)if_nametoindex(s->ifs[j].name) != s->ifs[j].index)
			close_iface(s, &s->ifs[j]);
	for (k = 0; k < n; k++) {
		for (j = 0; j < s->nifs; j++)
			if (s->ifs[j].p && !strcmp(s->ifs[j].name, found[k]))
				break;
		if (j < s->nifs || s->nifs == KT_PCAP_MAX_IFACES)
			continue;
		kt_err_clear();
		if (add_iface(s, found[k]) == 0)
			(*added)++;
		else
			s->open_failed++;	/* gone again, or not up yet */
	}
	return 0;
}

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
	struct kt_pcap_src *s = ((void **)user)[0];
	struct kt_pcap_iface *i = ((void **)user)[1];
	/* with PCAP_TSTAMP_PRECISION_NANO, tv_usec holds nanoseconds */
	uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
	struct kt_ring_pkt rp = { 0 };
	struct kt_pkt pkt;
	bool dns = false;

	i->packets++;
	i->bytes += h->len;
	s->live.events++;
	kt_pkt_decode(&pkt, i->dlt, data, h->caplen, h->len, ts);
	kt_pkt_ring_key(&rp, &pkt);
	if (!rp.proto)
		i->not_decoded++;	/* no flow to file it under */
	for (unsigned k = 0; k < pkt.nl4; k++)
		dns |= pkt.l4[k].sport == 53 || pkt.l4[k].dport == 53;
	rp.ts = ts;
	rp.caplen = h->caplen;
	rp.wirelen = h->len;
	rp.data = data;
	if (!s->all)	/* --pcap-all writes everything: no ring needed */
		kt_pkt_ring_push(i->ring, &rp);
	if (dns && i->dns) {
		s->dns_if = i;
		kt_tracker_packet(i->dns, &pkt);	/* records through pcap_dns.c */
	}
	if (s->all)
		kt_pcap_all_packet(s, i, h, data, ts);
}

int kt_pcap_iface_read(struct kt_pcap_src *s, struct kt_pcap_iface *i)
{
	void *user[2] = { s, i };
	int r;

	if (!i->p)
		return 0;
	r = pcap_dispatch(i->p, DISPATCH_BUDGET, on_packet, (u_char *)user);
	if (r == PCAP_ERROR) {
		/* an interface that went away (a pod deleted) stops alone */
		close_iface(s, i);
		return 0;
	}
	return r < 0 ? 0 : r;
}

void kt_pcap_ifaces_stats(struct kt_pcap_src *s)
{
	uint64_t lost = 0;

	for (unsigned k = 0; k < s->nifs; k++) {
		struct kt_pcap_iface *i = &s->ifs[k];
		struct pcap_stat st;

		if (i->p && pcap_stats(i->p, &st) == 0) {
			i->last = st;
			i->stats_ok = true;
		}
		lost += (uint64_t)i->last.ps_drop + i->last.ps_ifdrop;
	}
	s->live.lost = lost;
}

json_t *kt_pcap_ifaces_json(struct kt_pcap_src *s)
{
	json_t *arr = json_array();

	for (unsigned k = 0; k < s->nifs; k++) {
		struct kt_pcap_iface *i = &s->ifs[k];
		struct kt_pkt_ring_stats rs = { 0 };
		char desc[1024];
		json_t *o;

		if (i->ring)
			kt_pkt_ring_stats(i->ring, &rs);
		kt_pcap_ident_describe(s, i, desc, sizeof(desc));
		o = json_pack("{s:s, s:i, s:I, s:i, s:s?, s:i, s:s, s:I, s:I, s:I}",
			      "name", i->name, "index", i->index, "netns", (json_int_t)i->id.netns,
			      "linktype", i->dlt, "linktype_name", pcap_datalink_val_to_name(i->dlt),
			      "snaplen", (int)i->snaplen, "description", desc,
			      "packets", (json_int_t)i->packets, "bytes", (json_int_t)i->bytes,
			      "not_decoded", (json_int_t)i->not_decoded);
		if (!o)
			continue;
		if (i->id.peer_netns)
			json_object_set_new(o, "peer_netns", json_integer((json_int_t)i->id.peer_netns));
		if (i->closed)	/* went away while recording */
			json_object_set_new(o, "closed", json_true());
		if (*i->id.pod)
			json_object_set_new(o, "pod", json_string(i->id.pod));
		if (*i->id.pod_uid)
			json_object_set_new(o, "pod_uid", json_string(i->id.pod_uid));
		if (*i->id.container)
			json_object_set_new(o, "container", json_string(i->id.container));
		if (*i->id.container_id)
			json_object_set_new(o, "container_id", json_string(i->id.container_id));
		/* libpcap's counters: what the kernel saw, dropped for want of buffer
		 * (ps_drop), and what the interface dropped (ps_ifdrop) */
		if (i->stats_ok)
			json_object_set_new(o, "kernel", json_pack("{s:I, s:I, s:I}",
				"received", (json_int_t)i->last.ps_recv,
				"dropped", (json_int_t)i->last.ps_drop,
				"if_dropped", (json_int_t)i->last.ps_ifdrop));
		json_object_set_new(o, "ring", json_pack("{s:I, s:I, s:I, s:I}",
			"pushed", (json_int_t)rs.pushed, "evicted_size", (json_int_t)rs.evicted_size,
			"evicted_age", (json_int_t)rs.evicted_age, "too_big", (json_int_t)rs.too_big));
		json_array_append_new(arr, o);
	}
	return arr;
}

void kt_pcap_ifaces_close(struct kt_pcap_src *s)
{
	for (unsigned k = 0; k < s->nifs; k++) {
		struct kt_pcap_iface *i = &s->ifs[k];

		if (i->p)
			pcap_close(i->p);
		i->p = NULL;
		kt_pkt_ring_free(i->ring);
		i->ring = NULL;
		kt_tracker_free(i->dns);
		i->dns = NULL;
	}
	s->nifs = 0;
}
