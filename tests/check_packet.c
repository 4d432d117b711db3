/* check_packet.c - the packet library against tshark, and against facts.
 *
 * Differential: for every capture in corpus/pcap/ but malformed/, the TCP
 * and UDP conversations we rebuild must equal `tshark -q -z conv,tcp` and
 * `-z conv,udp`: same endpoint pairs, same frames and bytes each way.
 * tshark keys a conversation by its endpoints over the whole file (and
 * prints bytes >= 10000 rounded to kB: those are fetched exactly with
 * `-z io,stat`), while we split a reused port pair: ours are summed per
 * endpoint pair before comparing. The few deliberate differences are listed
 * in 'differences' below, each with its reason and a tshark filter that
 * selects exactly the frames we count instead.
 *
 * Facts: outcomes of the refused, reset and SYN-retransmitted connections,
 * DNS names and rcodes, HTTP request lines, port reuse and eviction on
 * frames built here, ICMP errors and the flow their quote names (frames
 * built here, read the same by tshark when written), never counted as a
 * layer or a connection, and what each malformed capture yields.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pcap/pcap.h>

#include "capture.h"
#include "dns.h"
#include "error.h"
#include "merge.h"
#include "packet.h"
#include "tracker.h"

#define CORPUS KT_CORPUS_DIR "/pcap"

/* ---- running the library over a file ------------------------------------ */

struct conn_rec {
	struct kt_conn c;
	char l7[KT_TRACK_L7_MAX + 1];
};

struct dns_rec {
	struct kt_dns d;
	char qname[KT_DNS_NAME_MAX];
	char answers[KT_DNS_ANSWERS_MAX];
};

struct result {
	struct conn_rec *conns;
	size_t nconns, capconns;
	struct dns_rec *dns;
	size_t ndns, capdns;
	struct kt_tracker_stats st;
	struct kt_read_result rd;
	int open_err;
	char open_msg[512];
};

static int on_conn(void *ctx, const struct kt_conn *c)
{
	struct result *r = ctx;
	struct conn_rec *e;

	if (r->nconns == r->capconns) {
		r->capconns = r->capconns ? r->capconns * 2 : 16;
		r->conns = realloc(r->conns, r->capconns * sizeof(*r->conns));
		ck_assert_ptr_nonnull(r->conns);
	}
	e = &r->conns[r->nconns++];
	e->c = *c;
	snprintf(e->l7, sizeof(e->l7), "%.*s", (int)c->l7.len,
		 c->l7.len ? c->l7.p : "");
	e->c.l7.p = NULL;
	return 0;
}

static int on_dns(void *ctx, const struct kt_dns *d)
{
	struct result *r = ctx;
	struct dns_rec *e;

	if (r->ndns == r->capdns) {
		r->capdns = r->capdns ? r->capdns * 2 : 16;
		r->dns = realloc(r->dns, r->capdns * sizeof(*r->dns));
		ck_assert_ptr_nonnull(r->dns);
	}
	e = &r->dns[r->ndns++];
	e->d = *d;
	snprintf(e->qname, sizeof(e->qname), "%.*s", (int)d->qname.len,
		 d->qname.len ? d->qname.p : "");
	snprintf(e->answers, sizeof(e->answers), "%.*s", (int)d->answers.len,
		 d->answers.len ? d->answers.p : "");
	e->d.qname.p = e->d.answers.p = NULL;
	return 0;
}

static void run_file(const char *path, struct result *r)
{
	struct kt_tracker_opts o = { .emit_conn = on_conn, .emit_dns = on_dns,
				     .ctx = r };
	struct kt_tracker *t;
	struct kt_capture *cap;

	memset(r, 0, sizeof(*r));
	ck_assert_int_eq(kt_tracker_new(&t, &o), 0);
	r->open_err = kt_capture_open(&cap, path);
	if (r->open_err) {
		snprintf(r->open_msg, sizeof(r->open_msg), "%s",
			 kt_err_msg(r->open_err));
	} else {
		ck_assert_int_eq(kt_capture_read_all(cap, t, &r->rd), 0);
		kt_capture_close(cap);
	}
	ck_assert_int_eq(kt_tracker_flush(t), 0);
	kt_tracker_get_stats(t, &r->st);
	kt_tracker_free(t);
}

static void result_free(struct result *r)
{
	free(r->conns);
	free(r->dns);
}

static const char *ipstr(const uint8_t ip[16], char *buf, size_t len)
{
	static const uint8_t v4[12] = { [10] = 0xff, [11] = 0xff };

	if (!memcmp(ip, v4, 12))
		return inet_ntop(AF_INET, ip + 12, buf, (socklen_t)len);
	return inet_ntop(AF_INET6, ip, buf, (socklen_t)len);
}

/* ---- conversations: ours and tshark's, in one shape --------------------- */

struct conv {
	char proto[4];		/* "tcp", "udp" */
	char lo[64], hi[64];	/* "addr:port", lo < hi by strcmp */
	uint64_t f_lohi, b_lohi, f_hilo, b_hilo;
	int inexact;		/* tshark rounded the bytes (kB...) */
	char a[64], b[64];	/* tshark's A and B, for io,stat filters */
};

struct convs {
	struct conv *v;
	size_t n, cap;
};

static struct conv *conv_get(struct convs *cs, const char *proto,
			     const char *x, const char *y, int *swapped)
{
	const char *lo = strcmp(x, y) <= 0 ? x : y;
	const char *hi = lo == x ? y : x;
	size_t i;

	*swapped = lo != x;
	for (i = 0; i < cs->n; i++)
		if (!strcmp(cs->v[i].proto, proto) && !strcmp(cs->v[i].lo, lo) &&
		    !strcmp(cs->v[i].hi, hi))
			return &cs->v[i];
	if (cs->n == cs->cap) {
		cs->cap = cs->cap ? cs->cap * 2 : 16;
		cs->v = realloc(cs->v, cs->cap * sizeof(*cs->v));
		ck_assert_ptr_nonnull(cs->v);
	}
	memset(&cs->v[cs->n], 0, sizeof(cs->v[0]));
	snprintf(cs->v[cs->n].proto, sizeof(cs->v[0].proto), "%s", proto);
	snprintf(cs->v[cs->n].lo, sizeof(cs->v[0].lo), "%s", lo);
	snprintf(cs->v[cs->n].hi, sizeof(cs->v[0].hi), "%s", hi);
	return &cs->v[cs->n++];
}

/* Add frames/bytes sent from x to y. */
static struct conv *conv_add(struct convs *cs, const char *proto, const char *x,
			     const char *y, uint64_t f_xy, uint64_t b_xy,
			     uint64_t f_yx, uint64_t b_yx)
{
	int sw;
	struct conv *c = conv_get(cs, proto, x, y, &sw);

	if (!sw) {
		c->f_lohi += f_xy; c->b_lohi += b_xy;
		c->f_hilo += f_yx; c->b_hilo += b_yx;
	} else {
		c->f_lohi += f_yx; c->b_lohi += b_yx;
		c->f_hilo += f_xy; c->b_hilo += b_xy;
	}
	return c;
}

static void ours_to_convs(const struct result *r, struct convs *cs)
{
	size_t i;

	for (i = 0; i < r->nconns; i++) {
		const struct kt_conn *c = &r->conns[i].c;
		char s[64], d[64], ip[48];

		snprintf(s, sizeof(s), "%s:%u", ipstr(c->src, ip, sizeof(ip)), c->sport);
		snprintf(d, sizeof(d), "%s:%u", ipstr(c->dst, ip, sizeof(ip)), c->dport);
		conv_add(cs, c->proto == IPPROTO_TCP ? "tcp" : "udp", s, d,
			 c->packets_fwd, c->bytes_fwd, c->packets_rev, c->bytes_rev);
	}
}

/* Run a shell command, return its output (malloc'd) and exit status. */
static char *run_cmd(const char *cmd, int *status)
{
	FILE *p = popen(cmd, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	ck_assert_msg(p != NULL, "cannot run '%s': %s", cmd, strerror(errno));
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
			ck_assert_ptr_nonnull(buf);
		}
		n = fread(buf + len, 1, cap - len - 1, p);
		if (!n)
			break;
		len += n;
	}
	buf[len] = '\0';
	*status = pclose(p);
	return buf;
}

static void require_tshark(void)
{
	int st;
	char *out = run_cmd("tshark -v 2>&1", &st);

	ck_assert_msg(st == 0 && strstr(out, "TShark"),
		      "tshark is missing: the differential test needs it "
		      "(apt-get install tshark; the CI installs it)");
	free(out);
}

static uint64_t bytes_value(uint64_t n, const char *unit, int *inexact)
{
	if (!strcmp(unit, "bytes"))
		return n;
	*inexact = 1;	/* "491 kB": refined with io,stat */
	return n;
}

static void parse_conv_table(const char *text, struct convs *cs)
{
	const char *proto = NULL, *line = text;

	while (line && *line) {
		const char *nl = strchr(line, '\n');
		char l[512], a[64], b[64], u1[16], u2[16];
		unsigned long long f1, b1, f2, b2;
		size_t n = nl ? (size_t)(nl - line) : strlen(line);

		snprintf(l, sizeof(l), "%.*s", (int)(n < sizeof(l) ? n : sizeof(l) - 1), line);
		line = nl ? nl + 1 : NULL;
		if (strstr(l, "TCP Conversations"))
			proto = "tcp";
		else if (strstr(l, "UDP Conversations"))
			proto = "udp";
		if (!proto || !strstr(l, "<->"))
			continue;
		/* A <-> B | frames bytes unit (B to A) | frames bytes unit (A to B) */
		if (sscanf(l, "%63s <-> %63s %llu %llu %15s %llu %llu %15s",
			   a, b, &f1, &b1, u1, &f2, &b2, u2) == 8) {
			int inexact = 0;
			uint64_t ba = bytes_value(b1, u1, &inexact);
			uint64_t ab = bytes_value(b2, u2, &inexact);
			struct conv *c = conv_add(cs, proto, a, b, f2, ab, f1, ba);

			c->inexact |= inexact;
			snprintf(c->a, sizeof(c->a), "%s", a);
			snprintf(c->b, sizeof(c->b), "%s", b);
		} else {
			ck_abort_msg("cannot parse tshark line '%s'", l);
		}
	}
}

/* "addr:port" -> tshark filter terms for a source (dir 's') or dest ('d') */
static void ep_filter(const char *ep, const char *proto, char which,
		      char *out, size_t len)
{
	const char *colon = strrchr(ep, ':');
	int v6 = strchr(ep, ':') != colon;

	snprintf(out, len, "%s.%s==%.*s && %s.%sport==%s", v6 ? "ipv6" : "ip",
		 which == 's' ? "src" : "dst", (int)(colon - ep), ep, proto,
		 which == 's' ? "src" : "dst", colon + 1);
}

/* Frames and bytes tshark counts for a display filter, exactly. */
static void tshark_count(const char *file, const char *filter,
			 uint64_t *frames, uint64_t *bytes)
{
	char cmd[2048];
	char *out, *row;
	unsigned long long f, b;
	int st;

	snprintf(cmd, sizeof(cmd),
		 "tshark -n -q -r '%s' -z 'io,stat,0,COUNT(frame)frame && %s,"
		 "SUM(frame.len)frame.len && %s' 2>/dev/null", file, filter, filter);
	out = run_cmd(cmd, &st);
	ck_assert_msg(st == 0, "'%s' failed", cmd);
	row = strstr(out, "<>");
	ck_assert_msg(row != NULL, "no io,stat row from '%s'", cmd);
	row = strchr(row, '|');
	ck_assert_msg(row && sscanf(row, "| %llu | %llu |", &f, &b) == 2,
		      "cannot parse io,stat of '%s'", cmd);
	*frames = f;
	*bytes = b;
	free(out);
}

static void dir_count(const char *file, const char *proto, const char *from,
		      const char *to, uint64_t *frames, uint64_t *bytes)
{
	char fs[160], fd[160], filter[400];

	ep_filter(from, proto, 's', fs, sizeof(fs));
	ep_filter(to, proto, 'd', fd, sizeof(fd));
	snprintf(filter, sizeof(filter), "%s && %s", fs, fd);
	tshark_count(file, filter, frames, bytes);
}

/* Deliberate differences from tshark: minimal, each with its reason. For
 * the conversation named, the expected counts each way are what tshark
 * counts with the given filters instead of its conversation table. */
struct difference {
	const char *file;
	const char *proto;
	const char *x, *y;
	const char *filter_xy, *filter_yx;	/* NULL: nothing that way */
	const char *why;
};

static const struct difference differences[] = {
	{ "tcp/deepflow__ip-fragment.pcap", "udp", "10.1.6.92:1000", "10.1.4.2:2000",
	  "ip.src==10.1.6.92 && ip.dst==10.1.4.2", NULL,
	  "tshark reassembles IPv4 fragments and counts each datagram once, "
	  "in the frame that completes it, with that frame's length; we count "
	  "every fragment's frame in the flow, as on the wire (bytes_fwd is "
	  "\"frame lengths on the wire\")" },
};

static void apply_differences(const char *rel, const char *file, struct convs *ts)
{
	size_t i;

	for (i = 0; i < sizeof(differences) / sizeof(differences[0]); i++) {
		const struct difference *d = &differences[i];
		uint64_t fxy = 0, bxy = 0, fyx = 0, byx = 0;
		struct conv *c;
		int sw;

		if (strcmp(d->file, rel))
			continue;
		if (d->filter_xy)
			tshark_count(file, d->filter_xy, &fxy, &bxy);
		if (d->filter_yx)
			tshark_count(file, d->filter_yx, &fyx, &byx);
		c = conv_get(ts, d->proto, d->x, d->y, &sw);
		c->inexact = 0;
		c->f_lohi = sw ? fyx : fxy;
		c->b_lohi = sw ? byx : bxy;
		c->f_hilo = sw ? fxy : fyx;
		c->b_hilo = sw ? bxy : byx;
	}
}

static int cmp_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int not_dot(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

/* Every capture under corpus/pcap/ but malformed/, as "dir/name", sorted. */
static size_t list_corpus(char ***out)
{
	struct dirent **dirs;
	char **v = NULL;
	size_t n = 0;
	int nd = scandir(CORPUS, &dirs, not_dot, cmp_name);

	ck_assert_msg(nd > 0, "cannot list '%s'", CORPUS);
	for (int i = 0; i < nd; i++) {
		struct dirent **files;
		char path[512];
		int nf;

		if (strcmp(dirs[i]->d_name, "malformed")) {
			snprintf(path, sizeof(path), "%s/%s", CORPUS, dirs[i]->d_name);
			nf = scandir(path, &files, not_dot, cmp_name);
			ck_assert_msg(nf >= 0, "cannot list '%s'", path);
			for (int j = 0; j < nf; j++) {
				v = realloc(v, (n + 1) * sizeof(*v));
				ck_assert_ptr_nonnull(v);
				size_t len = strlen(dirs[i]->d_name) + strlen(files[j]->d_name) + 2;

				v[n] = malloc(len);
				ck_assert_ptr_nonnull(v[n]);
				snprintf(v[n], len, "%s/%s", dirs[i]->d_name, files[j]->d_name);
				n++;
				free(files[j]);
			}
			free(files);
		}
		free(dirs[i]);
	}
	free(dirs);
	*out = v;
	return n;
}

START_TEST(test_tshark_differential)
{
	char **files;
	size_t nfiles = list_corpus(&files), i, j, compared = 0;

	require_tshark();
	ck_assert_uint_ge(nfiles, 40);
	for (i = 0; i < nfiles; i++) {
		char path[600], cmd[1024];
		struct convs ours = { 0 }, theirs = { 0 };
		struct result r;
		char *out;
		int st;

		snprintf(path, sizeof(path), "%s/%s", CORPUS, files[i]);
		run_file(path, &r);
		ck_assert_msg(r.open_err == 0, "%s: %s", files[i], r.open_msg);
		ck_assert_msg(!r.rd.truncated, "%s: %s", files[i], r.rd.warning);
		ours_to_convs(&r, &ours);

		snprintf(cmd, sizeof(cmd),
			 "tshark -n -q -r '%s' -z conv,tcp -z conv,udp 2>/dev/null", path);
		out = run_cmd(cmd, &st);
		ck_assert_msg(st == 0, "%s: tshark failed", files[i]);
		parse_conv_table(out, &theirs);
		free(out);
		for (j = 0; j < theirs.n; j++) {
			struct conv *c = &theirs.v[j];

			if (!c->inexact)
				continue;
			/* exact bytes for a row tshark printed in kB */
			dir_count(path, c->proto, c->lo, c->hi, &c->f_lohi, &c->b_lohi);
			dir_count(path, c->proto, c->hi, c->lo, &c->f_hilo, &c->b_hilo);
			c->inexact = 0;
		}
		apply_differences(files[i], path, &theirs);

		for (j = 0; j < theirs.n; j++) {
			const struct conv *t = &theirs.v[j];
			struct conv *o;
			int sw;
			size_t before = ours.n;

			o = conv_get(&ours, t->proto, t->lo, t->hi, &sw);
			ck_assert_msg(ours.n == before,
				      "%s: tshark has %s %s <-> %s, we do not",
				      files[i], t->proto, t->lo, t->hi);
			ck_assert_msg(o->f_lohi == t->f_lohi && o->b_lohi == t->b_lohi &&
				      o->f_hilo == t->f_hilo && o->b_hilo == t->b_hilo,
				      "%s: %s %s <-> %s: ours %llu/%llu and %llu/%llu, "
				      "tshark %llu/%llu and %llu/%llu (frames/bytes each way)",
				      files[i], t->proto, t->lo, t->hi,
				      (unsigned long long)o->f_lohi, (unsigned long long)o->b_lohi,
				      (unsigned long long)o->f_hilo, (unsigned long long)o->b_hilo,
				      (unsigned long long)t->f_lohi, (unsigned long long)t->b_lohi,
				      (unsigned long long)t->f_hilo, (unsigned long long)t->b_hilo);
			compared++;
		}
		ck_assert_msg(ours.n == theirs.n, "%s: we have %zu conversations, tshark %zu",
			      files[i], ours.n, theirs.n);
		free(ours.v);
		free(theirs.v);
		result_free(&r);
		free(files[i]);
	}
	free(files);
	/* the corpus has 87 TCP/UDP conversations: a parser that saw none
	 * would pass every comparison above */
	ck_assert_uint_ge(compared, 87);
}
END_TEST

/* DNS answers, both ways: tshark's and ours as "id qname rcode answers\taddrs"
 * lines, sorted. tshark's dns.a/dns.aaaa list every section (glue records
 * too), ours the answer section: ours must be among tshark's. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct lines {
	char **v;
	size_t n;
};

static void lines_add(struct lines *l, const char *s)
{
	l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
	ck_assert_ptr_nonnull(l->v);
	l->v[l->n] = strdup(s);
	ck_assert_ptr_nonnull(l->v[l->n]);
	l->n++;
}

static void lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

/* Sort a comma-separated list in place of 'out'. */
static void sort_list(const char *in, char *out, size_t len)
{
	char tmp[2048], *save = NULL, *tok;
	struct lines l = { 0 };

	snprintf(tmp, sizeof(tmp), "%s", in);
	for (tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		lines_add(&l, tok);
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), cmp_str);
	out[0] = '\0';
	for (size_t i = 0; i < l.n; i++)
		snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? "," : "", l.v[i]);
	lines_free(&l);
}

static void tshark_dns(const char *file, struct lines *out)
{
	char cmd[1024], *text, *line, *save = NULL;
	int st;

	snprintf(cmd, sizeof(cmd),
		 "tshark -n -r '%s' -Y 'dns.flags.response==1' -T fields -e dns.id "
		 "-e dns.qry.name -e dns.flags.rcode -e dns.count.answers "
		 "-e dns.a -e dns.aaaa 2>/dev/null", file);
	text = run_cmd(cmd, &st);
	ck_assert_msg(st == 0, "'%s' failed", cmd);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char f[6][1024] = { { 0 } }, addrs[2048], sorted[2048], row[8192];
		char *p = line;
		unsigned long id;

		for (int i = 0; i < 6 && p; i++) {
			char *tab = strchr(p, '\t');

			snprintf(f[i], sizeof(f[i]), "%.*s", (int)(tab ? (size_t)(tab - p) : strlen(p)), p);
			p = tab ? tab + 1 : NULL;
		}
		id = strtoul(f[0], NULL, 16);
		snprintf(addrs, sizeof(addrs), "%s%s%s", f[4], *f[4] && *f[5] ? "," : "", f[5]);
		sort_list(addrs, sorted, sizeof(sorted));
		snprintf(row, sizeof(row), "%lu %s %s %s\t%s", id, f[1], f[2], f[3], sorted);
		lines_add(out, row);
	}
	free(text);
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), cmp_str);
}

static void our_dns(const struct result *r, struct lines *out)
{
	for (size_t i = 0; i < r->ndns; i++) {
		const struct dns_rec *d = &r->dns[i];
		char addrs[2048] = "", sorted[2048], row[4096], ans[KT_DNS_ANSWERS_MAX];
		char *save = NULL, *ln;
		unsigned n = 0;

		if (d->d.rcode == KT_DNS_RCODE_NONE)
			continue;	/* a query alone: tshark lists responses */
		snprintf(ans, sizeof(ans), "%s", d->answers);
		for (ln = strtok_r(ans, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
			char type[16], data[256];

			n++;
			if (sscanf(ln, "%15s %255s", type, data) == 2 &&
			    (!strcmp(type, "A") || !strcmp(type, "AAAA")))
				snprintf(addrs + strlen(addrs), sizeof(addrs) - strlen(addrs),
					 "%s%s", *addrs ? "," : "", data);
		}
		sort_list(addrs, sorted, sizeof(sorted));
		snprintf(row, sizeof(row), "%u %s %u %u\t%s", d->d.id, d->qname, d->d.rcode,
			 n, sorted);
		lines_add(out, row);
	}
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), cmp_str);
}

START_TEST(test_tshark_dns)
{
	char **files;
	size_t nfiles = list_corpus(&files), total = 0, total_addrs = 0;

	require_tshark();
	for (size_t i = 0; i < nfiles; i++) {
		char path[600];
		struct lines theirs = { 0 }, ours = { 0 };
		struct result r;

		snprintf(path, sizeof(path), "%s/%s", CORPUS, files[i]);
		run_file(path, &r);
		tshark_dns(path, &theirs);
		our_dns(&r, &ours);
		for (size_t j = 0; j < theirs.n || j < ours.n; j++) {
			const char *t = j < theirs.n ? theirs.v[j] : "(none)";
			const char *o = j < ours.n ? ours.v[j] : "(none)";
			size_t klen = strcspn(o, "\t");
			char addrs[2048], *save = NULL, *a;

			ck_assert_msg(klen == strcspn(t, "\t") && !strncmp(t, o, klen),
				      "%s: DNS answer %zu: tshark '%s', ours '%s'", files[i], j, t, o);
			snprintf(addrs, sizeof(addrs), "%s", o + klen + (o[klen] != 0));
			for (a = strtok_r(addrs, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
				char want[300];

				snprintf(want, sizeof(want), "%s", a);
				ck_assert_msg(strstr(t + klen, want) != NULL,
					      "%s: our answer %s is not in tshark's '%s'",
					      files[i], want, t);
				total_addrs++;
			}
		}
		total += ours.n;
		lines_free(&theirs);
		lines_free(&ours);
		result_free(&r);
		free(files[i]);
	}
	free(files);
	ck_assert_uint_ge(total, 10);	/* the corpus has 10 DNS answers */
	ck_assert_uint_ge(total_addrs, 11);	/* with 11 addresses */
}
END_TEST

/* ---- facts about particular captures ------------------------------------ */

static const struct conn_rec *only_conn(const struct result *r, uint8_t proto)
{
	const struct conn_rec *found = NULL;
	size_t i;

	for (i = 0; i < r->nconns; i++) {
		if (r->conns[i].c.proto != proto)
			continue;
		ck_assert_msg(found == NULL, "more than one connection");
		found = &r->conns[i];
	}
	ck_assert_msg(found != NULL, "no connection");
	return found;
}

static void assert_ep(const uint8_t ip[16], uint16_t port, const char *want_ip,
		      uint16_t want_port)
{
	char buf[64];

	ck_assert_str_eq(ipstr(ip, buf, sizeof(buf)), want_ip);
	ck_assert_uint_eq(port, want_port);
}

START_TEST(test_tcp_refused)
{
	struct result r;
	const struct conn_rec *c;

	run_file(CORPUS "/tcp/deepflow__server-reset.pcap", &r);
	c = only_conn(&r, IPPROTO_TCP);
	ck_assert_uint_eq(c->c.outcome, KT_CONN_REFUSED);
	assert_ep(c->c.src, c->c.sport, "192.168.0.2", 1395);
	assert_ep(c->c.dst, c->c.dport, "192.168.0.3", 1379);
	ck_assert_uint_eq(c->c.rtt_us, 0);
	result_free(&r);
}
END_TEST

START_TEST(test_tcp_syn_retrans)
{
	struct result r;
	const struct conn_rec *c;

	run_file(CORPUS "/tcp/deepflow__syn-retrans.pcap", &r);
	c = only_conn(&r, IPPROTO_TCP);
	ck_assert_uint_eq(c->c.outcome, KT_CONN_ESTABLISHED);
	assert_ep(c->c.src, c->c.sport, "10.30.0.223", 80);
	ck_assert_uint_eq(c->c.retrans, 1);
	/* ACK 11:07:27.620400 - second SYN 11:07:27.395000 */
	ck_assert_uint_eq(c->c.rtt_us, 225400);
	ck_assert_uint_eq(c->c.packets_fwd, 6);
	ck_assert_uint_eq(c->c.packets_rev, 2);
	result_free(&r);
}
END_TEST

START_TEST(test_tcp_syn_then_own_rst)
{
	struct result r;
	const struct conn_rec *c;

	/* the opener gives up with its own RST: nobody ever answered */
	run_file(CORPUS "/tcp/zeek__syn-then-rst.pcap", &r);
	c = only_conn(&r, IPPROTO_TCP);
	ck_assert_uint_eq(c->c.outcome, KT_CONN_UNANSWERED);
	assert_ep(c->c.src, c->c.sport, "1.1.1.1", 13131);
	result_free(&r);
}
END_TEST

START_TEST(test_tcp_reordered_handshake)
{
	struct result r;
	const struct conn_rec *c;

	/* the SYN-ACK was captured before its SYN: still one connection,
	 * opened by the SYN's sender */
	run_file(CORPUS "/tcp/deepflow__out-of-order.pcap", &r);
	c = only_conn(&r, IPPROTO_TCP);
	ck_assert_uint_eq(c->c.outcome, KT_CONN_ESTABLISHED);
	assert_ep(c->c.src, c->c.sport, "10.30.0.223", 80);
	ck_assert_uint_eq(c->c.retrans, 0);
	result_free(&r);
}
END_TEST

static const struct dns_rec *find_dns(const struct result *r, const char *qname)
{
	size_t i;

	for (i = 0; i < r->ndns; i++)
		if (!strcmp(r->dns[i].qname, qname))
			return &r->dns[i];
	ck_abort_msg("no DNS record for '%s'", qname);
	return NULL;
}

START_TEST(test_dns_tcp_nxdomain)
{
	struct result r;
	const struct dns_rec *d;
	char buf[64];

	run_file(CORPUS "/dns/deepflow__dns-tcp-nxdomain.pcap", &r);
	ck_assert_uint_eq(r.ndns, 3);
	d = find_dns(&r, "prod-fcdt-e02.int.frontnode.net");
	ck_assert_uint_eq(d->d.rcode, 3);
	ck_assert_uint_eq(d->d.qtype, 28);
	ck_assert_uint_eq(d->d.proto, IPPROTO_TCP);
	ck_assert_str_eq(ipstr(d->d.client, buf, sizeof(buf)), "172.18.34.76");
	ck_assert_uint_eq(d->d.client_port, 17934);
	ck_assert_uint_eq(d->d.server_port, 53);
	ck_assert_uint_gt(d->d.latency_ns, 0);
	ck_assert_str_eq(d->answers, "");
	d = find_dns(&r, "registry.yingmi-inc.com.monitor.svc.cluster.local");
	ck_assert_uint_eq(d->d.rcode, 3);
	d = find_dns(&r, "dockerauth-ee-vpc.cn-shenzhen.aliyuncs.com");
	ck_assert_uint_eq(d->d.rcode, 0);
	ck_assert_str_eq(d->answers, "A 100.103.26.52 5");
	result_free(&r);
}
END_TEST

START_TEST(test_dns_udp_and_tcp)
{
	const char *files[] = { CORPUS "/dns/tcpdump__dns_udp.pcap",
				CORPUS "/dns/tcpdump__dns_tcp.pcap" };
	const uint8_t protos[] = { IPPROTO_UDP, IPPROTO_TCP };
	unsigned i;

	for (i = 0; i < 2; i++) {
		struct result r;

		run_file(files[i], &r);
		ck_assert_uint_eq(r.ndns, 1);
		ck_assert_str_eq(r.dns[0].qname, "www.tcpdump.org");
		ck_assert_uint_eq(r.dns[0].d.qtype, 1);
		ck_assert_uint_eq(r.dns[0].d.rcode, 0);
		ck_assert_uint_eq(r.dns[0].d.proto, protos[i]);
		ck_assert_str_eq(r.dns[0].answers,
				 "A 192.139.46.66 60\nA 198.199.88.104 60");
		result_free(&r);
	}
}
END_TEST

START_TEST(test_dns_srv_and_unanswered)
{
	struct result r;

	run_file(CORPUS "/k8s/deepflow__dns-tcp-srv-k8s.pcap", &r);
	ck_assert_uint_eq(r.ndns, 1);
	ck_assert_uint_eq(r.dns[0].d.qtype, 33);
	ck_assert_str_eq(r.dns[0].answers, "SRV 0 100 9000 "
			 "deepflow-byconity-server.deepflow.svc.cluster.local 5");
	result_free(&r);

	/* a query alone: emitted at flush with no rcode */
	run_file(CORPUS "/linktype/tcpdump__LINKTYPE_RAW_ipv6.pcap", &r);
	ck_assert_uint_eq(r.ndns, 1);
	ck_assert_str_eq(r.dns[0].qname, "example.com");
	ck_assert_uint_eq(r.dns[0].d.rcode, KT_DNS_RCODE_NONE);
	ck_assert_uint_eq(r.dns[0].d.latency_ns, 0);
	result_free(&r);

	/* answers alone (NFLOG of the replies): the client is their receiver,
	 * the time is the answer's */
	run_file(CORPUS "/linktype/tcpdump__nflog.pcap", &r);
	ck_assert_uint_eq(r.ndns, 4);
	assert_ep(r.dns[0].d.client, r.dns[0].d.client_port, "10.0.0.20", 42585);
	assert_ep(r.dns[0].d.server, r.dns[0].d.server_port, "74.82.42.42", 53);
	ck_assert_str_eq(r.dns[0].qname, "example.com");
	ck_assert_str_eq(r.dns[0].answers, "A 93.184.216.119 12182");
	ck_assert_uint_eq(r.dns[0].d.latency_ns, 0);
	ck_assert_uint_eq(r.dns[1].d.qtype, 28);
	ck_assert_str_eq(r.dns[1].answers,
			 "AAAA 2606:2800:220:6d:26bf:1447:1097:aa7 74527");
	result_free(&r);
}
END_TEST

START_TEST(test_http_line_in_vxlan)
{
	struct result r;
	const struct conn_rec *c;

	run_file(CORPUS "/overlay/zeek__vxlan-encapsulated-http.pcap", &r);
	c = only_conn(&r, IPPROTO_TCP);
	ck_assert_str_eq(c->l7, "GET /image/svg HTTP/1.1");
	ck_assert_uint_eq(c->c.tunnel_vni, 1);
	assert_ep(c->c.src, c->c.sport, "172.16.11.201", 40354);
	result_free(&r);
}
END_TEST

/* ---- captures from several nodes ---------------------------------------- */

/* Copy a capture with every timestamp moved by 'shift_us' (libpcap writes). */
static void write_shifted(const char *in, const char *out, int64_t shift_us)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(in, errbuf);
	pcap_dumper_t *d;
	struct pcap_pkthdr *h;
	const u_char *data;

	ck_assert_msg(p != NULL, "%s", errbuf);
	d = pcap_dump_open(p, out);
	ck_assert_ptr_nonnull(d);
	while (pcap_next_ex(p, &h, &data) == 1) {
		struct pcap_pkthdr nh = *h;
		int64_t us = (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec + shift_us;

		nh.ts.tv_sec = (time_t)(us / 1000000);
		nh.ts.tv_usec = (suseconds_t)(us % 1000000);
		pcap_dump((u_char *)d, &nh, data);
	}
	pcap_dump_close(d);
	pcap_close(p);
}

static int merge_add_cb(void *ctx, const struct kt_conn *c)
{
	ck_assert_int_eq(kt_merge_add(ctx, c), 0);
	return 0;
}

static uint16_t merge_capture;

static int merge_add_dns_cb(void *ctx, const struct kt_dns *d)
{
	ck_assert_int_eq(kt_merge_add_dns(ctx, merge_capture, d), 0);
	return 0;
}

START_TEST(test_merge_captures)
{
	const char *files[3] = { CORPUS "/dns/tcpdump__dns_tcp.pcap", NULL,
				 CORPUS "/dns/tcpdump__dns_udp.pcap" };
	char shifted[] = "/tmp/kt-shift-XXXXXX";
	struct kt_merge *m;
	struct kt_merge_clock clk[3];
	struct kt_merge_result mr;
	struct result r = { 0 };
	uint64_t ts0 = 0, dts0 = 0;
	int fd = mkstemp(shifted);

	ck_assert_int_ge(fd, 0);
	close(fd);
	/* the same traffic as seen by a node whose clock is 3.5 s ahead */
	write_shifted(files[0], shifted, 3500000);
	files[1] = shifted;
	ck_assert_int_eq(kt_merge_new(&m, 3, 0), 0);
	for (uint16_t i = 0; i < 3; i++) {
		struct kt_tracker_opts o = { .emit_conn = merge_add_cb,
					     .emit_dns = merge_add_dns_cb, .ctx = m,
					     .capture = i };
		struct kt_tracker *t;
		struct kt_capture *cap;
		struct kt_read_result rd;

		merge_capture = i;
		ck_assert_int_eq(kt_tracker_new(&t, &o), 0);
		ck_assert_int_eq(kt_capture_open(&cap, files[i]), 0);
		ck_assert_int_eq(kt_capture_read_all(cap, t, &rd), 0);
		kt_capture_close(cap);
		ck_assert_int_eq(kt_tracker_flush(t), 0);
		kt_tracker_free(t);
	}
	unlink(shifted);
	ck_assert_int_eq(kt_merge_finish(m, clk, on_conn, on_dns, &r, &mr), 0);
	kt_merge_free(m);

	ck_assert(clk[0].known);
	ck_assert(clk[1].known);
	ck_assert_int_eq(clk[1].offset_ns, 3500000000ll);
	ck_assert_uint_eq(clk[1].matched, 1);
	ck_assert(!clk[2].known);	/* shares no connection with capture 0 */
	ck_assert_uint_eq(mr.conn_duplicates, 1);
	ck_assert_uint_eq(mr.dns_duplicates, 1);
	ck_assert_uint_eq(r.nconns, 2);
	ts0 = only_conn(&r, IPPROTO_TCP)->c.ts;
	ck_assert_uint_eq(only_conn(&r, IPPROTO_TCP)->c.packets_fwd, 6);
	/* one DNS record per transaction: the TCP one (twice), the UDP one */
	ck_assert_uint_eq(r.ndns, 2);
	for (size_t i = 0; i < r.ndns; i++)
		if (r.dns[i].d.proto == IPPROTO_TCP)
			dts0 = r.dns[i].d.ts;
	result_free(&r);
	/* on capture 0's clock: as the original file has it, not 3.5 s on */
	run_file(files[0], &r);
	ck_assert_uint_eq(ts0, only_conn(&r, IPPROTO_TCP)->c.ts);
	ck_assert_uint_eq(dts0, r.dns[0].d.ts);
	result_free(&r);
}
END_TEST

/* ---- frames built here: port reuse, table limits, hostile DNS ----------- */

/* A raw IPv4 TCP frame (DLT_RAW) from 10.0.0.1:port to 10.0.0.2:80, with
 * 'len' bytes of payload. */
static size_t tcp_frame(uint8_t *b, uint16_t sport, bool to_server,
			uint8_t flags, uint32_t seq, uint32_t ack, uint8_t len)
{
	static const uint8_t cl[4] = { 10, 0, 0, 1 }, sv[4] = { 10, 0, 0, 2 };

	memset(b, 0, 40u + len);
	b[0] = 0x45;
	b[3] = (uint8_t)(40 + len);
	b[8] = 64;
	b[9] = IPPROTO_TCP;
	memcpy(b + 12, to_server ? cl : sv, 4);
	memcpy(b + 16, to_server ? sv : cl, 4);
	b[20] = (uint8_t)((to_server ? sport : 80) >> 8);
	b[21] = (uint8_t)(to_server ? sport : 80);
	b[22] = (uint8_t)((to_server ? 80 : sport) >> 8);
	b[23] = (uint8_t)(to_server ? 80 : sport);
	b[24] = (uint8_t)(seq >> 24); b[25] = (uint8_t)(seq >> 16);
	b[26] = (uint8_t)(seq >> 8);  b[27] = (uint8_t)seq;
	b[28] = (uint8_t)(ack >> 24); b[29] = (uint8_t)(ack >> 16);
	b[30] = (uint8_t)(ack >> 8);  b[31] = (uint8_t)ack;
	b[32] = 5 << 4;
	b[33] = flags;
	return 40u + len;
}

static void feed_data(struct kt_tracker *t, uint64_t ts, uint16_t sport,
		      bool to_server, uint8_t flags, uint32_t seq, uint32_t ack,
		      uint8_t len)
{
	uint8_t b[320];
	struct kt_pkt p;
	size_t n = tcp_frame(b, sport, to_server, flags, seq, ack, len);

	ck_assert_int_eq(kt_pkt_decode(&p, DLT_RAW, b, (uint32_t)n, (uint32_t)n, ts), 0);
	ck_assert_uint_eq(p.nl4, 1);
	ck_assert_int_eq(kt_tracker_packet(t, &p), 0);
}

static void feed(struct kt_tracker *t, uint64_t ts, uint16_t sport,
		 bool to_server, uint8_t flags, uint32_t seq, uint32_t ack)
{
	feed_data(t, ts, sport, to_server, flags, seq, ack, 0);
}

START_TEST(test_retransmissions)
{
	struct result r = { 0 };
	struct kt_tracker_opts o = { .emit_conn = on_conn, .ctx = &r };
	struct kt_tracker *t;
	const uint8_t A = KT_TCP_ACK, PA = KT_TCP_PSH | KT_TCP_ACK;

	ck_assert_int_eq(kt_tracker_new(&t, &o), 0);
	feed(t, 1, 5000, true, KT_TCP_SYN, 100, 0);
	feed(t, 2, 5000, false, KT_TCP_SYN | A, 900, 101);
	feed(t, 3, 5000, true, A, 101, 901);
	feed_data(t, 4, 5000, true, PA, 101, 901, 200);		/* 101..301 */
	feed_data(t, 5, 5000, true, PA, 301, 901, 100);		/* 301..401 */
	feed_data(t, 6, 5000, true, PA, 101, 901, 200);		/* again: 1 */
	feed_data(t, 7, 5000, true, PA, 501, 901, 50);		/* a hole at 401 */
	feed_data(t, 8, 5000, false, PA, 901, 401, 10);
	feed_data(t, 9, 5000, true, A, 550, 911, 1);		/* keep-alive */
	feed(t, 10, 5000, true, A, 551, 911);			/* pure ACK */
	feed_data(t, 11, 5000, false, PA, 901, 401, 10);	/* again: 2 */
	ck_assert_int_eq(kt_tracker_flush(t), 0);
	kt_tracker_free(t);
	ck_assert_uint_eq(r.nconns, 1);
	ck_assert_uint_eq(r.conns[0].c.retrans, 2);
	ck_assert_uint_eq(r.conns[0].c.outcome, KT_CONN_ESTABLISHED);
	ck_assert_uint_eq(r.conns[0].c.packets_fwd, 8);
	ck_assert_uint_eq(r.conns[0].c.bytes_fwd, 8 * 40 + 200 + 100 + 200 + 50 + 1);
	ck_assert_uint_eq(r.conns[0].c.packets_rev, 3);
	result_free(&r);
}
END_TEST

START_TEST(test_port_reuse_splits)
{
	struct result r = { 0 };
	struct kt_tracker_opts o = { .emit_conn = on_conn, .ctx = &r };
	struct kt_tracker *t;
	uint64_t ms = 1000000;

	ck_assert_int_eq(kt_tracker_new(&t, &o), 0);
	/* first connection: handshake, then reset by the server */
	feed(t, 1 * ms, 40000, true, KT_TCP_SYN, 1000, 0);
	feed(t, 2 * ms, 40000, false, KT_TCP_SYN | KT_TCP_ACK, 5000, 1001);
	feed(t, 3 * ms, 40000, true, KT_TCP_ACK, 1001, 5001);
	feed(t, 4 * ms, 40000, false, KT_TCP_RST, 5001, 0);
	/* same port pair, new ISN: a second connection, refused */
	feed(t, 10 * ms, 40000, true, KT_TCP_SYN, 90000, 0);
	feed(t, 11 * ms, 40000, false, KT_TCP_RST | KT_TCP_ACK, 0, 90001);
	/* and a third that nobody answers, its SYN sent twice */
	feed(t, 20 * ms, 40000, true, KT_TCP_SYN, 7, 0);
	feed(t, 1020 * ms, 40000, true, KT_TCP_SYN, 7, 0);
	ck_assert_int_eq(kt_tracker_flush(t), 0);
	kt_tracker_free(t);

	ck_assert_uint_eq(r.nconns, 3);
	ck_assert_uint_eq(r.conns[0].c.outcome, KT_CONN_RESET);
	ck_assert_uint_eq(r.conns[0].c.rtt_us, 2000);
	ck_assert_uint_eq(r.conns[0].c.packets_fwd, 2);
	ck_assert_uint_eq(r.conns[0].c.packets_rev, 2);
	ck_assert_uint_eq(r.conns[1].c.outcome, KT_CONN_REFUSED);
	ck_assert_uint_eq(r.conns[1].c.ts, 10 * ms);
	ck_assert_uint_eq(r.conns[2].c.outcome, KT_CONN_UNANSWERED);
	ck_assert_uint_eq(r.conns[2].c.retrans, 1);
	ck_assert_uint_eq(r.conns[2].c.duration_ns, 1000 * ms);
	result_free(&r);
}
END_TEST

START_TEST(test_table_bounded)
{
	struct result r = { 0 };
	struct kt_tracker_opts o = { .emit_conn = on_conn, .ctx = &r,
				     .max_flows = 4 };
	struct kt_tracker *t;
	struct kt_tracker_stats st;
	uint16_t port;

	ck_assert_int_eq(kt_tracker_new(&t, &o), 0);
	for (port = 1000; port < 1010; port++)
		feed(t, port, port, true, KT_TCP_SYN, port, 0);
	kt_tracker_get_stats(t, &st);
	/* the six oldest were pushed out, in order, as they were */
	ck_assert_uint_eq(st.evicted_full, 6);
	ck_assert_uint_eq(r.nconns, 6);
	ck_assert_uint_eq(r.conns[0].c.sport, 1000);
	ck_assert_uint_eq(r.conns[5].c.sport, 1005);
	ck_assert_int_eq(kt_tracker_flush(t), 0);
	ck_assert_uint_eq(r.nconns, 10);
	kt_tracker_free(t);
	result_free(&r);
}
END_TEST

START_TEST(test_dns_hostile)
{
	/* header, then a name whose pointer points at itself */
	static const uint8_t loop[] = { 0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0,
					0xc0, 12, 0, 1, 0, 1 };
	/* a question, then an answer whose name points at the answer */
	static const uint8_t loop2[] = { 0, 2, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
					 1, 'a', 0, 0, 1, 0, 1,
					 0xc0, 19, 0, 1, 0, 1, 0, 0, 0, 9, 0, 4, 1, 2, 3, 4 };
	/* an answer claiming more rdata than there is */
	static const uint8_t longrd[] = { 0, 3, 0x81, 0x83, 0, 1, 0, 1, 0, 0, 0, 0,
					  1, 'b', 0, 0, 1, 0, 1,
					  0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 9, 0xff, 0xff, 1 };
	static const uint8_t escaped[] = { 0, 4, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
					   3, 'a', '.', 0x07, 0, 0, 1, 0, 1 };
	struct kt_dns_msg *m = malloc(sizeof(*m));

	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(kt_dns_parse(m, loop, sizeof(loop)), -EPROTO);
	ck_assert_int_eq(kt_dns_parse(m, loop, 5), -EPROTO);
	ck_assert_int_eq(kt_dns_parse(m, loop2, sizeof(loop2)), 0);
	ck_assert_str_eq(m->qname, "a");
	ck_assert_uint_eq(m->nanswers, 0);
	ck_assert(m->answers_cut);
	ck_assert_int_eq(kt_dns_parse(m, longrd, sizeof(longrd)), 0);
	ck_assert_uint_eq(m->rcode, 3);
	ck_assert_uint_eq(m->nanswers, 0);
	ck_assert(m->answers_cut);
	ck_assert_int_eq(kt_dns_parse(m, escaped, sizeof(escaped)), 0);
	ck_assert_str_eq(m->qname, "a\\046\\007");
	ck_assert(!m->response);
	free(m);
}
END_TEST

/* ---- every link type and tunnel, on frames built here ------------------- */

struct buf {
	uint8_t b[512];
	size_t n;
};

static void put(struct buf *f, const void *p, size_t n)
{
	ck_assert_uint_le(f->n + n, sizeof(f->b));
	memcpy(f->b + f->n, p, n);
	f->n += n;
}

static void put16(struct buf *f, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	put(f, b, 2);
}

/* UDP 10.9.0.1:1111 -> 10.9.0.2:2222 with 4 bytes of payload, in IPv4 */
static void ipv4_udp(struct buf *f)
{
	static const uint8_t ip[] = { 0x45, 0, 0, 32, 0, 1, 0, 0, 64, 17, 0, 0,
				      10, 9, 0, 1, 10, 9, 0, 2 };
	static const uint8_t udp[] = { 0x04, 0x57, 0x08, 0xae, 0, 12, 0, 0,
				       'a', 'b', 'c', 'd' };

	put(f, ip, sizeof(ip));
	put(f, udp, sizeof(udp));
}

/* the same datagram over IPv6 2001:db8::1 -> 2001:db8::2, behind a
 * hop-by-hop header, a destination options header and an atomic fragment
 * header (offset 0, M clear) */
static void ipv6_ext_udp(struct buf *f)
{
	static const uint8_t ip6[] = { 0x60, 0, 0, 0, 0, 12 + 8 + 16 + 8, 0, 64,
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 };
	static const uint8_t hbh[] = { 60, 0, 1, 4, 0, 0, 0, 0 };
	static const uint8_t dst[] = { 44, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t frag[] = { 17, 0, 0, 0, 0, 0, 0, 42 };
	static const uint8_t udp[] = { 0x04, 0x57, 0x08, 0xae, 0, 12, 0, 0,
				       'a', 'b', 'c', 'd' };

	put(f, ip6, sizeof(ip6));
	put(f, hbh, sizeof(hbh));
	put(f, dst, sizeof(dst));
	put(f, frag, sizeof(frag));
	put(f, udp, sizeof(udp));
}

static void eth(struct buf *f, uint16_t type)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };

	put(f, macs, sizeof(macs));
	put16(f, type);
}

/* an outer IPv4 header 192.0.2.1 -> 192.0.2.2 for 'len' bytes of 'proto' */
static void outer_ipv4(struct buf *f, uint8_t proto, uint16_t len)
{
	uint8_t ip[20] = { 0x45, 0, 0, 0, 0, 2, 0, 0, 64, 0, 0, 0,
			   192, 0, 2, 1, 192, 0, 2, 2 };

	ip[2] = (uint8_t)((20 + len) >> 8);
	ip[3] = (uint8_t)(20 + len);
	ip[9] = proto;
	put(f, ip, sizeof(ip));
}

static void outer_udp(struct buf *f, uint16_t dport, uint16_t len)
{
	put16(f, 50000);
	put16(f, dport);
	put16(f, (uint16_t)(8 + len));
	put16(f, 0);
}

enum shape { S_ETH, S_QINQ, S_SLL, S_SLL2, S_NULL_LE, S_NULL_BE, S_LOOP,
	     S_NFLOG, S_RAW6, S_SNAP, S_VXLAN, S_FLANNEL, S_GENEVE_IP,
	     S_GRE_TEB, S_6IN4, S_4IN6, S__N };

static const struct shape_case {
	const char *name;
	int dlt;
	unsigned nl4;		/* layers expected */
	uint16_t vlan;
	uint32_t vni;		/* of the last layer */
	bool v6;		/* the last layer is IPv6 */
} shapes[S__N] = {
	[S_ETH] = { "ethernet", DLT_EN10MB, 1, 0, 0, false },
	[S_QINQ] = { "802.1ad + 802.1Q", DLT_EN10MB, 1, 100, 0, false },
	[S_SLL] = { "linux cooked v1", DLT_LINUX_SLL, 1, 0, 0, false },
	[S_SLL2] = { "linux cooked v2", DLT_LINUX_SLL2, 1, 0, 0, true },
	[S_NULL_LE] = { "null, little endian", DLT_NULL, 1, 0, 0, false },
	[S_NULL_BE] = { "null, big endian, IPv6 (macOS)", DLT_NULL, 1, 0, 0, true },
	[S_LOOP] = { "openbsd loop", DLT_LOOP, 1, 0, 0, false },
	[S_NFLOG] = { "nflog", DLT_NFLOG, 1, 0, 0, false },
	[S_RAW6] = { "raw IPv6 with extension headers", DLT_RAW, 1, 0, 0, true },
	[S_SNAP] = { "802.3 LLC/SNAP", DLT_EN10MB, 1, 0, 0, false },
	[S_VXLAN] = { "vxlan 4789", DLT_EN10MB, 2, 0, 7001, false },
	[S_FLANNEL] = { "vxlan 8472 (flannel)", DLT_EN10MB, 2, 0, 1, false },
	[S_GENEVE_IP] = { "geneve carrying IPv4", DLT_EN10MB, 2, 0, 0x123456, false },
	[S_GRE_TEB] = { "gre with key, carrying Ethernet", DLT_EN10MB, 1, 0, 0, false },
	[S_6IN4] = { "6in4", DLT_EN10MB, 1, 0, 0, true },
	[S_4IN6] = { "4in6", DLT_RAW, 1, 0, 0, false },
};

static void build_shape(enum shape s, struct buf *f)
{
	struct buf in = { .n = 0 };
	uint8_t z[8] = { 0 };

	f->n = 0;
	switch (s) {
	case S_ETH:
		eth(f, 0x0800);
		ipv4_udp(f);
		break;
	case S_QINQ:
		eth(f, 0x88a8);
		put16(f, 100);
		put16(f, 0x8100);
		put16(f, 200);
		put16(f, 0x0800);
		ipv4_udp(f);
		break;
	case S_SLL:
		put16(f, 0);		/* to us */
		put16(f, 1);		/* ARPHRD_ETHER */
		put16(f, 6);
		put(f, z, 8);
		put16(f, 0x0800);
		ipv4_udp(f);
		break;
	case S_SLL2:
		put16(f, 0x86dd);
		put16(f, 0);
		put(f, "\0\0\0\3", 4);	/* ifindex */
		put16(f, 1);
		put(f, "\0\6", 2);
		put(f, z, 8);
		ipv6_ext_udp(f);
		break;
	case S_NULL_LE:
		put(f, "\2\0\0\0", 4);
		ipv4_udp(f);
		break;
	case S_NULL_BE:
		put(f, "\0\0\0\36", 4);	/* 30: AF_INET6 on macOS */
		ipv6_ext_udp(f);
		break;
	case S_LOOP:
		put(f, "\0\0\0\2", 4);
		ipv4_udp(f);
		break;
	case S_NFLOG: {
		uint16_t tlen = 4 + 32;

		put(f, "\2\0\0\1", 4);	/* AF_INET, version 0, resource 1 */
		put(f, "\x08\0\x01\0", 4);	/* a prefix TLV, host order */
		put(f, "ab\0\0", 4);
		put(f, &tlen, 2);	/* NFULA_PAYLOAD, host order */
		put(f, "\x09\0", 2);
		ipv4_udp(f);
		break;
	}
	case S_RAW6:
		ipv6_ext_udp(f);
		break;
	case S_SNAP:
		put(f, "\2\0\0\0\0\1\2\0\0\0\0\2", 12);
		put16(f, 3 + 5 + 32);	/* 802.3 length */
		put(f, "\xaa\xaa\x03\0\0\0", 6);
		put16(f, 0x0800);
		ipv4_udp(f);
		break;
	case S_VXLAN:
	case S_FLANNEL: {
		uint32_t vni = s == S_VXLAN ? 7001 : 1;
		uint8_t vx[8] = { 0x08, 0, 0, 0, (uint8_t)(vni >> 16), (uint8_t)(vni >> 8),
				  (uint8_t)vni, 0 };

		eth(&in, 0x0800);
		ipv4_udp(&in);
		eth(f, 0x0800);
		outer_ipv4(f, 17, (uint16_t)(8 + 8 + in.n));
		outer_udp(f, s == S_VXLAN ? 4789 : 8472, (uint16_t)(8 + in.n));
		put(f, vx, 8);
		put(f, in.b, in.n);
		break;
	}
	case S_GENEVE_IP: {
		/* one 8-byte option, protocol IPv4 */
		static const uint8_t gn[8] = { 0x02, 0, 0x08, 0x00, 0x12, 0x34, 0x56, 0 };

		ipv4_udp(&in);
		eth(f, 0x0800);
		outer_ipv4(f, 17, (uint16_t)(8 + 8 + 8 + in.n));
		outer_udp(f, 6081, (uint16_t)(8 + 8 + in.n));
		put(f, gn, 8);
		put(f, z, 8);
		put(f, in.b, in.n);
		break;
	}
	case S_GRE_TEB:
		eth(&in, 0x0800);
		ipv4_udp(&in);
		eth(f, 0x0800);
		outer_ipv4(f, 47, (uint16_t)(8 + in.n));
		put16(f, 0x2000);	/* K */
		put16(f, 0x6558);
		put(f, "\0\0\0\5", 4);
		put(f, in.b, in.n);
		break;
	case S_6IN4:
		ipv6_ext_udp(&in);
		eth(f, 0x0800);
		outer_ipv4(f, 41, (uint16_t)in.n);
		put(f, in.b, in.n);
		break;
	case S_4IN6: {
		uint8_t ip6[40] = { 0x60, 0, 0, 0, 0, 32, 4, 64 };

		ip6[8] = 0xfe;
		ip6[9] = 0x80;
		ip6[24] = 0xfe;
		ip6[25] = 0x80;
		ip6[39] = 1;
		put(f, ip6, 40);
		ipv4_udp(f);
		break;
	}
	case S__N:
		break;
	}
}

START_TEST(test_decode_shapes)
{
	const struct shape_case *sc = &shapes[_i];
	const struct kt_pkt_l4 *l;
	struct buf f;
	struct kt_pkt p;
	char ip[64];
	uint32_t cut;

	build_shape((enum shape)_i, &f);
	ck_assert_int_eq(kt_pkt_decode(&p, sc->dlt, f.b, (uint32_t)f.n, (uint32_t)f.n, 1), 0);
	ck_assert_msg(p.nl4 == sc->nl4, "%s: %u layers", sc->name, p.nl4);
	ck_assert_msg(p.flags == 0, "%s: flags %#x", sc->name, p.flags);
	l = &p.l4[p.nl4 - 1];
	ck_assert_uint_eq(l->proto, IPPROTO_UDP);
	ck_assert_uint_eq(l->sport, 1111);
	ck_assert_uint_eq(l->dport, 2222);
	ck_assert_uint_eq(l->paylen, 4);
	ck_assert_uint_eq(l->caplen, 4);
	ck_assert(!memcmp(l->payload, "abcd", 4));
	ck_assert_msg(l->vlan == sc->vlan, "%s: vlan %u", sc->name, l->vlan);
	ck_assert_msg(l->vni == sc->vni, "%s: vni %u", sc->name, l->vni);
	ck_assert_str_eq(ipstr(l->src, ip, sizeof(ip)), sc->v6 ? "2001:db8::1" : "10.9.0.1");

	/* every shorter snap length: never a read past the end (ASan), and
	 * never a layer whose header was not all there */
	for (cut = 0; cut < f.n; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);

		ck_assert_ptr_nonnull(copy);
		memcpy(copy, f.b, cut);
		kt_pkt_decode(&p, sc->dlt, copy, cut, (uint32_t)f.n, 1);
		if (p.nl4 == sc->nl4)
			ck_assert_uint_le(p.l4[p.nl4 - 1].caplen, 4);
		else
			ck_assert_msg(p.flags & KT_PKT_TRUNCATED, "%s cut at %u: %u layers, no flag",
				      sc->name, cut, p.nl4);
		free(copy);
	}
}
END_TEST

START_TEST(test_decode_tunnel_port_is_the_lower)
{
	/* a DNS query that happens to leave from port 4789: the service is
	 * the lower port, 53, so the payload is not taken for VXLAN */
	struct buf f = { .n = 0 }, in = { .n = 0 };
	struct kt_pkt p;
	uint8_t vx[8] = { 0x08, 0, 0, 0, 0, 0, 9, 0 };

	eth(&in, 0x0800);
	ipv4_udp(&in);
	outer_ipv4(&f, 17, (uint16_t)(8 + 8 + in.n));
	put16(&f, 4789);
	put16(&f, 53);
	put16(&f, (uint16_t)(8 + 8 + in.n));
	put16(&f, 0);
	put(&f, vx, 8);
	put(&f, in.b, in.n);
	ck_assert_int_eq(kt_pkt_decode(&p, DLT_RAW, f.b, (uint32_t)f.n, (uint32_t)f.n, 0), 0);
	ck_assert_uint_eq(p.nl4, 1);
	/* the same bytes to port 4789 from a high port are VXLAN */
	f.b[20] = 0xc3;
	f.b[21] = 0x50;
	f.b[22] = 4789 >> 8;
	f.b[23] = 4789 & 0xff;
	ck_assert_int_eq(kt_pkt_decode(&p, DLT_RAW, f.b, (uint32_t)f.n, (uint32_t)f.n, 0), 0);
	ck_assert_uint_eq(p.nl4, 2);
	ck_assert_uint_eq(p.l4[1].vni, 9);
}
END_TEST

START_TEST(test_decode_refuses_unknown_link)
{
	struct kt_pkt p;
	uint8_t b[4] = { 0 };

	ck_assert_int_eq(kt_pkt_decode(&p, 147 /* DLT_USER0 */, b, 4, 4, 0), -EPROTONOSUPPORT);
	ck_assert(p.flags & KT_PKT_UNSUPPORTED);
	ck_assert(!kt_pkt_dlt_supported(147));
}
END_TEST

START_TEST(test_decode_depth_bounded)
{
	/* IPv4 in IPv4 in IPv4 ... more times than any network nests */
	struct buf f = { .n = 0 };
	struct kt_pkt p;
	int i;

	for (i = 0; i < 20; i++)
		outer_ipv4(&f, 4, (uint16_t)(20 * (19 - i) + 32));
	ipv4_udp(&f);
	ck_assert_int_eq(kt_pkt_decode(&p, DLT_RAW, f.b, (uint32_t)f.n, (uint32_t)f.n, 0), 0);
	ck_assert_uint_eq(p.nl4, 0);
	ck_assert(p.flags & KT_PKT_TOO_DEEP);
}
END_TEST

/* ---- ICMP errors: the flow they quote, outside l4[] ------------------------ */

/* The start of a TCP SYN 10.9.0.1:40000 -> 10.9.0.2:80 as an error quotes
 * it at the least (RFC 792): the IPv4 header and 8 bytes of TCP. */
static void quote_syn(struct buf *f)
{
	static const uint8_t ip[] = { 0x45, 0, 0, 60, 0, 7, 0x40, 0, 64, 6, 0, 0,
				      10, 9, 0, 1, 10, 9, 0, 2 };

	put(f, ip, sizeof(ip));
	put16(f, 40000);
	put16(f, 80);
	put(f, "\x11\x22\x33\x44", 4);	/* seq */
}

/* An ICMPv4 message from 192.0.2.1 (a router) to 192.0.2.2: 'rest' is the
 * second word of its header, 'q' what follows it. */
static void icmp4(struct buf *f, uint8_t type, uint8_t code, uint32_t rest,
		  const struct buf *q)
{
	uint8_t h[4] = { type, code, 0, 0 };

	outer_ipv4(f, IPPROTO_ICMP, (uint16_t)(8 + q->n));
	put(f, h, 4);
	put16(f, (uint16_t)(rest >> 16));
	put16(f, (uint16_t)rest);
	put(f, q->b, q->n);
}

/* An IPv6 header 2001:db8::S -> 2001:db8::D for 'len' bytes of 'nh'. */
static void ipv6_hdr(struct buf *f, uint8_t nh, uint16_t len, uint8_t s, uint8_t d)
{
	uint8_t ip6[40] = { 0x60, 0, 0, 0, (uint8_t)(len >> 8), (uint8_t)len, nh, 64,
			    0x20, 0x01, 0x0d, 0xb8 };

	ip6[23] = s;
	memcpy(ip6 + 24, ip6 + 8, 4);
	ip6[39] = d;
	put(f, ip6, 40);
}

/* A TCP SYN 2001:db8::1:40000 -> 2001:db8::2:443 behind a destination
 * options header, whole (ICMPv6 quotes as much as fits in 1280 bytes). */
static void quote6_syn(struct buf *f)
{
	static const uint8_t dst[] = { IPPROTO_TCP, 0, 1, 4, 0, 0, 0, 0 };
	uint8_t tcp[20] = { 0x9c, 0x40, 0x01, 0xbb, 0, 0, 0, 1 };

	tcp[12] = 5 << 4;
	tcp[13] = KT_TCP_SYN;
	ipv6_hdr(f, IPPROTO_DSTOPTS, 8 + 20, 1, 2);
	put(f, dst, sizeof(dst));
	put(f, tcp, sizeof(tcp));
}

static void icmp6(struct buf *f, uint8_t type, uint8_t code, uint32_t rest,
		  const struct buf *q)
{
	uint8_t h[4] = { type, code, 0, 0 };

	ipv6_hdr(f, IPPROTO_ICMPV6, (uint16_t)(8 + q->n), 0xff, 1);
	put(f, h, 4);
	put16(f, (uint16_t)(rest >> 16));
	put16(f, (uint16_t)rest);
	put(f, q->b, q->n);
}

enum icmp_shape { I_PORT_UDP, I_HOST_SYN, I_FRAG_NEEDED, I_ADMIN, I_TTL, I_V6_UNREACH,
		  I_V6_TOO_BIG, I_ECHO, I_ECHO6, I_NESTED, I_ABOUT_ECHO, I_IN_VXLAN,
		  I__N };

#define Q_ALL (KT_ICMP_QUOTE_IP | KT_ICMP_QUOTE_PORTS | KT_ICMP_QUOTE_FULL)

static const struct icmp_case {
	const char *name;
	int dlt;
	unsigned nl4;		/* the frame's own layers: the tunnel's UDP */
	uint8_t ipver, type, code;
	bool error;
	uint8_t quote;		/* KT_ICMP_QUOTE_* */
	uint8_t proto;
	const char *src, *dst, *from;
	uint16_t sport, dport;
	uint32_t mtu;
} icmp_cases[I__N] = {
	[I_PORT_UDP] = { "port unreachable, quoting UDP", DLT_EN10MB, 0, 4, 3, 3, true, Q_ALL,
			 IPPROTO_UDP, "10.9.0.1", "10.9.0.2", "192.0.2.1", 1111, 2222, 0 },
	[I_HOST_SYN] = { "host unreachable, quoting a SYN", DLT_RAW, 0, 4, 3, 1, true, Q_ALL,
			 IPPROTO_TCP, "10.9.0.1", "10.9.0.2", "192.0.2.1", 40000, 80, 0 },
	[I_FRAG_NEEDED] = { "fragmentation needed", DLT_RAW, 0, 4, 3, 4, true, Q_ALL,
			    IPPROTO_TCP, "10.9.0.1", "10.9.0.2", "192.0.2.1", 40000, 80, 1400 },
	[I_ADMIN] = { "administratively prohibited", DLT_EN10MB, 0, 4, 3, 13, true, Q_ALL,
		      IPPROTO_TCP, "10.9.0.1", "10.9.0.2", "192.0.2.1", 40000, 80, 0 },
	[I_TTL] = { "time exceeded", DLT_RAW, 0, 4, 11, 0, true, Q_ALL,
		    IPPROTO_UDP, "10.9.0.1", "10.9.0.2", "192.0.2.1", 1111, 2222, 0 },
	[I_V6_UNREACH] = { "ICMPv6 unreachable, quoting TCP behind an option header", DLT_RAW,
			   0, 6, 1, 4, true, Q_ALL, IPPROTO_TCP, "2001:db8::1", "2001:db8::2",
			   "2001:db8::ff", 40000, 443, 0 },
	[I_V6_TOO_BIG] = { "ICMPv6 packet too big", DLT_EN10MB, 0, 6, 2, 0, true, Q_ALL,
			   IPPROTO_TCP, "2001:db8::1", "2001:db8::2", "2001:db8::ff", 40000, 443,
			   1280 },
	[I_ECHO] = { "echo request", DLT_EN10MB, 0, 4, 8, 0, false, 0, 0, NULL, NULL,
		     "192.0.2.1", 0, 0, 0 },
	[I_ECHO6] = { "ICMPv6 echo request", DLT_RAW, 0, 6, 128, 0, false, 0, 0, NULL, NULL,
		      "2001:db8::ff", 0, 0, 0 },
	/* its quote's own quote (a UDP flow) is not followed */
	[I_NESTED] = { "host unreachable, quoting a port unreachable", DLT_RAW, 0, 4, 3, 1, true,
		       KT_ICMP_QUOTE_IP | KT_ICMP_QUOTE_FULL | KT_ICMP_QUOTE_NESTED,
		       IPPROTO_ICMP, "192.0.2.2", "192.0.2.1", "192.0.2.1", 0, 0, 0 },
	[I_ABOUT_ECHO] = { "host unreachable, quoting an echo", DLT_RAW, 0, 4, 3, 1, true,
			   KT_ICMP_QUOTE_IP | KT_ICMP_QUOTE_FULL, IPPROTO_ICMP, "192.0.2.2",
			   "192.0.2.1", "192.0.2.1", 0, 0, 0 },
	[I_IN_VXLAN] = { "port unreachable inside VXLAN", DLT_EN10MB, 1, 4, 3, 3, true, Q_ALL,
			 IPPROTO_UDP, "10.9.0.1", "10.9.0.2", "192.0.2.1", 1111, 2222, 0 },
};

static void build_icmp(enum icmp_shape s, struct buf *f)
{
	struct buf q = { .n = 0 }, in = { .n = 0 };

	f->n = 0;
	switch (s) {
	case I_PORT_UDP:
		ipv4_udp(&q);
		eth(f, 0x0800);
		icmp4(f, 3, 3, 0, &q);
		break;
	case I_HOST_SYN:
	case I_FRAG_NEEDED:
	case I_TTL:
		if (s == I_TTL)
			ipv4_udp(&q);
		else
			quote_syn(&q);
		icmp4(f, s == I_TTL ? 11 : 3, s == I_HOST_SYN ? 1 : s == I_TTL ? 0 : 4,
		      s == I_FRAG_NEEDED ? 1400 : 0, &q);
		break;
	case I_ADMIN:
		quote_syn(&q);
		eth(f, 0x0800);
		icmp4(f, 3, 13, 0, &q);
		break;
	case I_V6_UNREACH:
		quote6_syn(&q);
		icmp6(f, 1, 4, 0, &q);
		break;
	case I_V6_TOO_BIG:
		quote6_syn(&q);
		eth(f, 0x86dd);
		icmp6(f, 2, 0, 1280, &q);
		break;
	case I_ECHO:
		put(&q, "ping-payload", 12);
		eth(f, 0x0800);
		icmp4(f, 8, 0, 0x00010001, &q);
		break;
	case I_ECHO6:
		put(&q, "ping-payload", 12);
		icmp6(f, 128, 0, 0x00010001, &q);
		break;
	case I_NESTED:
	case I_ABOUT_ECHO:
		/* 192.0.2.2 sent an ICMP message to 192.0.2.1, which did
		 * not get through: the error about it quotes it */
		if (s == I_NESTED) {
			ipv4_udp(&in);
			icmp4(&q, 3, 3, 0, &in);
		} else {
			put(&in, "ping", 4);
			icmp4(&q, 8, 0, 0x00010001, &in);
		}
		q.b[12] = 192, q.b[13] = 0, q.b[14] = 2, q.b[15] = 2;	/* swap the ends */
		q.b[16] = 192, q.b[17] = 0, q.b[18] = 2, q.b[19] = 1;
		icmp4(f, 3, 1, 0, &q);
		break;
	case I_IN_VXLAN: {
		uint8_t vx[8] = { 0x08, 0, 0, 0, 0, 0, 9, 0 };

		ipv4_udp(&q);
		eth(&in, 0x0800);
		icmp4(&in, 3, 3, 0, &q);
		eth(f, 0x0800);
		outer_ipv4(f, 17, (uint16_t)(8 + 8 + in.n));
		outer_udp(f, 4789, (uint16_t)(8 + in.n));
		put(f, vx, 8);
		put(f, in.b, in.n);
		break;
	}
	case I__N:
		break;
	}
}

/* Occurrence k (from 0; -1 the last) of tab-separated field 'field' in a
 * line of `tshark -T fields -E occurrence=a`, into out ("" when absent). */
static void ts_field(const char *line, int field, int k, char *out, size_t len)
{
	const char *p = line, *e;
	int n = 0;

	for (int i = 0; i < field && p; i++)
		p = (p = strchr(p, '\t')) ? p + 1 : NULL;
	*out = 0;
	if (!p)
		return;
	e = p + strcspn(p, "\t\n");
	for (const char *q = p; q < e; q++)
		n += *q == ',';
	if (k < 0)
		k = n;
	for (int i = 0; i < k && p < e; i++)
		p = (p = memchr(p, ',', (size_t)(e - p))) ? p + 1 : e;
	if (p >= e && k > 0)
		return;
	snprintf(out, len, "%.*s", (int)strcspn(p, ",\t\n"), p);
}

/* The frame as tshark reads it agrees with what we decode. */
static void tshark_icmp(const struct icmp_case *ic, const struct buf *f)
{
	char path[] = "/tmp/kt-icmp-XXXXXX", cmd[1024], v[64], want[64];
	struct pcap_pkthdr h = { .caplen = (uint32_t)f->n, .len = (uint32_t)f->n };
	pcap_t *pd = pcap_open_dead(ic->dlt, 65535);
	pcap_dumper_t *dd;
	int fd = mkstemp(path), st;
	char *out;
	bool v6 = ic->ipver == 6;
	int quote = ic->nl4 ? 2 : 1;	/* which IP header is the quote's */

	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_ptr_nonnull(pd);
	dd = pcap_dump_open(pd, path);
	ck_assert_ptr_nonnull(dd);
	pcap_dump((u_char *)dd, &h, f->b);
	pcap_dump_close(dd);
	pcap_close(pd);
	snprintf(cmd, sizeof(cmd), "tshark -r %s -T fields -E occurrence=a "
		 "-e %s.type -e %s.code -e %s.src -e %s.dst -e tcp.srcport -e tcp.dstport "
		 "-e udp.srcport -e udp.dstport -e %s.mtu 2>/dev/null", path,
		 v6 ? "icmpv6" : "icmp", v6 ? "icmpv6" : "icmp", v6 ? "ipv6" : "ip",
		 v6 ? "ipv6" : "ip", v6 ? "icmpv6" : "icmp");
	out = run_cmd(cmd, &st);
	unlink(path);
	ck_assert_msg(st == 0, "%s: tshark failed", ic->name);
	ts_field(out, 0, 0, v, sizeof(v));
	snprintf(want, sizeof(want), "%u", ic->type);
	ck_assert_msg(!strcmp(v, want), "%s: tshark's type '%s'", ic->name, v);
	ts_field(out, 1, 0, v, sizeof(v));
	snprintf(want, sizeof(want), "%u", ic->code);
	ck_assert_msg(!strcmp(v, want), "%s: tshark's code '%s'", ic->name, v);
	ts_field(out, 2, quote - 1, v, sizeof(v));
	ck_assert_msg(!strcmp(v, ic->from), "%s: tshark's sender '%s'", ic->name, v);
	if (ic->src) {
		ts_field(out, 2, quote, v, sizeof(v));
		ck_assert_msg(!strcmp(v, ic->src), "%s: tshark's quoted src '%s'", ic->name, v);
		ts_field(out, 3, quote, v, sizeof(v));
		ck_assert_msg(!strcmp(v, ic->dst), "%s: tshark's quoted dst '%s'", ic->name, v);
	}
	if (ic->sport) {
		int base = ic->proto == IPPROTO_TCP ? 4 : 6;

		ts_field(out, base, -1, v, sizeof(v));
		snprintf(want, sizeof(want), "%u", ic->sport);
		ck_assert_msg(!strcmp(v, want), "%s: tshark's quoted sport '%s'", ic->name, v);
		ts_field(out, base + 1, -1, v, sizeof(v));
		snprintf(want, sizeof(want), "%u", ic->dport);
		ck_assert_msg(!strcmp(v, want), "%s: tshark's quoted dport '%s'", ic->name, v);
	}
	if (ic->mtu) {
		ts_field(out, 8, 0, v, sizeof(v));
		snprintf(want, sizeof(want), "%u", ic->mtu);
		ck_assert_msg(!strcmp(v, want), "%s: tshark's MTU '%s'", ic->name, v);
	}
	free(out);
}

START_TEST(test_icmp_shapes)
{
	const struct icmp_case *ic = &icmp_cases[_i];
	const struct kt_pkt_icmp *m;
	struct buf f;
	struct kt_pkt p;
	char ip[64];

	build_icmp((enum icmp_shape)_i, &f);
	ck_assert_int_eq(kt_pkt_decode(&p, ic->dlt, f.b, (uint32_t)f.n, (uint32_t)f.n, 1), 0);
	m = &p.icmp;
	/* the quote is not a layer of the frame: l4[] as before ICMP */
	ck_assert_msg(p.nl4 == ic->nl4, "%s: %u layers", ic->name, p.nl4);
	ck_assert_uint_eq(p.nfrag, 0);
	ck_assert_msg(p.flags == 0, "%s: flags %#x", ic->name, p.flags);
	ck_assert_msg(m->ipver == ic->ipver && m->type == ic->type && m->code == ic->code,
		      "%s: ICMPv%u %u/%u", ic->name, m->ipver, m->type, m->code);
	ck_assert_msg(m->error == ic->error, "%s: error %d", ic->name, m->error);
	ck_assert_msg(m->quote == ic->quote, "%s: quote %#x, want %#x", ic->name, m->quote,
		      ic->quote);
	ck_assert_str_eq(ipstr(m->from, ip, sizeof(ip)), ic->from);
	ck_assert_uint_eq(m->mtu, ic->mtu);
	ck_assert_uint_eq(m->sport, ic->sport);
	ck_assert_uint_eq(m->dport, ic->dport);
	if (ic->src) {
		ck_assert_uint_eq(m->proto, ic->proto);
		ck_assert_str_eq(ipstr(m->src, ip, sizeof(ip)), ic->src);
		ck_assert_str_eq(ipstr(m->dst, ip, sizeof(ip)), ic->dst);
	}
	/* the frames built here are what they claim to be */
	require_tshark();
	tshark_icmp(ic, &f);
}
END_TEST

START_TEST(test_icmp_cut)
{
	/* host unreachable quoting a SYN, raw IPv4: the ICMP header at 20,
	 * the quoted IP header at 28, its TCP ports at 48, the end at 56 */
	struct buf f;
	struct kt_pkt p;
	uint32_t cut;

	build_icmp(I_HOST_SYN, &f);
	ck_assert_uint_eq(f.n, 56);
	for (cut = 0; cut <= f.n; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);	/* exact size, for ASan */
		uint8_t want;

		ck_assert_ptr_nonnull(copy);
		memcpy(copy, f.b, cut);
		kt_pkt_decode(&p, DLT_RAW, copy, cut, (uint32_t)f.n, 1);
		free(copy);
		want = cut < 28 ? KT_ICMP_QUOTE_CUT :
		       cut < 48 ? KT_ICMP_QUOTE_CUT :
		       cut < 52 ? KT_ICMP_QUOTE_IP | KT_ICMP_QUOTE_CUT :
		       cut < 56 ? KT_ICMP_QUOTE_IP | KT_ICMP_QUOTE_PORTS | KT_ICMP_QUOTE_CUT :
				  Q_ALL;
		ck_assert_uint_eq(p.nl4, 0);
		if (cut < 20) {
			ck_assert(p.flags & KT_PKT_TRUNCATED);	/* the frame's own IP header */
			ck_assert_uint_eq(p.icmp.ipver, 0);
			continue;
		}
		/* the quote is payload: the frame's flags do not change */
		ck_assert_msg(p.flags == 0, "cut at %u: flags %#x", cut, p.flags);
		if (cut < 22) {
			ck_assert_uint_eq(p.icmp.ipver, 0);
			continue;
		}
		ck_assert(p.icmp.error);
		ck_assert_msg(p.icmp.quote == want, "cut at %u: quote %#x, want %#x", cut,
			      p.icmp.quote, want);
		ck_assert_uint_eq(p.icmp.sport, (want & KT_ICMP_QUOTE_PORTS) ? 40000 : 0);
		ck_assert_uint_eq(p.icmp.proto, (want & KT_ICMP_QUOTE_IP) ? IPPROTO_TCP : 0);
	}
	/* the sender's own short quote (its IP length ends the message after
	 * the ports): what is there, and no CUT, the snap length took nothing */
	f.b[3] = 52;
	ck_assert_int_eq(kt_pkt_decode(&p, DLT_RAW, f.b, 52, 52, 1), 0);
	ck_assert_uint_eq(p.icmp.quote, KT_ICMP_QUOTE_IP | KT_ICMP_QUOTE_PORTS);
	ck_assert_uint_eq(p.icmp.dport, 80);
	/* a quote that is not IPv4 is left alone */
	f.b[3] = 56;
	f.b[28] = 0x65;
	ck_assert_int_eq(kt_pkt_decode(&p, DLT_RAW, f.b, 56, 56, 1), 0);
	ck_assert(p.icmp.error);
	ck_assert_uint_eq(p.icmp.quote, 0);
	ck_assert_uint_eq(p.icmp.proto, 0);
}
END_TEST

START_TEST(test_icmp_not_counted)
{
	/* every ICMP frame above through the tracker that ktana import uses:
	 * no connection, no layer; the tunnel's outer UDP only */
	struct result r;
	struct kt_tracker_opts o = { .emit_conn = on_conn, .emit_dns = on_dns, .ctx = &r };
	struct kt_tracker *t;
	struct kt_pkt p;
	struct buf f;

	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(kt_tracker_new(&t, &o), 0);
	for (int s = 0; s < I__N; s++) {
		build_icmp((enum icmp_shape)s, &f);
		ck_assert_int_eq(kt_pkt_decode(&p, icmp_cases[s].dlt, f.b, (uint32_t)f.n,
					       (uint32_t)f.n, 1000 + (uint64_t)s), 0);
		ck_assert_int_eq(kt_tracker_packet(t, &p), 0);
	}
	ck_assert_int_eq(kt_tracker_flush(t), 0);
	kt_tracker_get_stats(t, &r.st);
	kt_tracker_free(t);
	ck_assert_uint_eq(r.st.packets, I__N);
	ck_assert_uint_eq(r.st.layers, 1);
	ck_assert_uint_eq(r.st.frames_no_l4, I__N - 1);
	ck_assert_uint_eq(r.st.truncated + r.st.malformed, 0);
	ck_assert_uint_eq(r.nconns, 1);
	ck_assert_uint_eq(r.conns[0].c.dport, 4789);
	result_free(&r);
}
END_TEST

/* ---- malformed captures -------------------------------------------------- */

enum expect { OPEN_ERROR, STOPS_EARLY, HDR_CUT, PAYLOAD_CUT, BAD_TS, EMPTY, CLEAN };

static const struct malformed {
	const char *file;
	enum expect expect;
	const char *msg;	/* part of the message, for errors */
} malformed[] = {
	{ "libpcap__linktype-reserved-field-not-zero.pcap", OPEN_ERROR, "link type 3145728" },
	{ "libpcap__pcap-invalid-version-1.pcap", OPEN_ERROR, "archaic pcap savefile format" },
	{ "libpcap__pcapng-invalid-vers-1.pcapng", OPEN_ERROR, "unsupported pcapng savefile version" },
	{ "libpcap__shb-option-too-long.pcapng", OPEN_ERROR, "don't match" },
	{ "tcpdump__empty.pcap", EMPTY, NULL },
	{ "tcpdump__empty.pcapng", EMPTY, NULL },
	/* a frame 262144 bytes long on the wire, a few dozen on file */
	{ "tcpdump__hncp_dhcpv6data-oobr-truncfile.pcap", PAYLOAD_CUT, NULL },
	{ "tcpdump__ipv6hdr-heapoverflow.pcap", HDR_CUT, NULL },
	/* hostile RESP payload: nothing at the transport layer is wrong */
	{ "tcpdump__redis-resp_3_malicious.pcap", CLEAN, NULL },
	{ "tcpdump__time_2106_overflow.pcapng", CLEAN, NULL },
	{ "tcpdump__timestamp_invalid_micro.pcap", BAD_TS, NULL },
	{ "zeek__geneve-vxlan-dns-truncated.pcap", PAYLOAD_CUT, NULL },
	{ "zeek__trunc-hdr.pcap", HDR_CUT, NULL },
};

START_TEST(test_malformed)
{
	const struct malformed *m = &malformed[_i];
	char path[512];
	struct result r;

	snprintf(path, sizeof(path), "%s/malformed/%s", CORPUS, m->file);
	run_file(path, &r);
	switch (m->expect) {
	case OPEN_ERROR:
		ck_assert_msg(r.open_err < 0, "%s: opened", m->file);
		ck_assert_msg(strstr(r.open_msg, m->msg) && strstr(r.open_msg, m->file),
			      "%s: message '%s'", m->file, r.open_msg);
		break;
	case EMPTY:
		ck_assert_int_eq(r.open_err, 0);
		ck_assert_uint_eq(r.rd.frames, 0);
		ck_assert_uint_eq(r.nconns, 0);
		break;
	case HDR_CUT:
		ck_assert_int_eq(r.open_err, 0);
		ck_assert_uint_gt(r.st.truncated, 0);
		ck_assert_uint_eq(r.nconns, 0);
		break;
	case PAYLOAD_CUT:
		ck_assert_int_eq(r.open_err, 0);
		ck_assert_uint_gt(r.rd.cut_frames + r.st.dns_cut, 0);
		ck_assert_uint_gt(r.nconns, 0);
		break;
	case BAD_TS:
		ck_assert_int_eq(r.open_err, 0);
		ck_assert_uint_gt(r.rd.bad_timestamps, 0);
		break;
	case STOPS_EARLY:
		ck_assert(r.rd.truncated);
		break;
	case CLEAN:
		ck_assert_int_eq(r.open_err, 0);
		ck_assert(!r.rd.truncated);
		ck_assert_uint_eq(r.st.truncated + r.st.malformed, 0);
		ck_assert_uint_gt(r.nconns, 0);
		break;
	}
	if (!strcmp(m->file, "tcpdump__time_2106_overflow.pcapng"))
		/* past 2106: more seconds than 32 bits hold, kept exactly */
		ck_assert_uint_gt(r.conns[0].c.ts / 1000000000ull, UINT32_MAX);
	if (!strcmp(m->file, "zeek__geneve-vxlan-dns-truncated.pcap"))
		ck_assert_uint_eq(r.conns[r.nconns - 1].c.tunnel_vni, 4242);
	result_free(&r);
}
END_TEST

START_TEST(test_cut_file)
{
	/* a good capture cut in the middle of a record: what came before
	 * counts, and the reader says where it stopped */
	char path[512], tmp[] = "/tmp/kt-cut-XXXXXX";
	FILE *in, *out;
	uint8_t buf[4096];
	size_t n;
	int fd;
	struct result r;

	snprintf(path, sizeof(path), "%s/http/zeek__http-get.pcap", CORPUS);
	in = fopen(path, "rb");
	ck_assert_ptr_nonnull(in);
	n = fread(buf, 1, sizeof(buf), in);
	fclose(in);
	ck_assert_uint_gt(n, 1500);
	fd = mkstemp(tmp);
	ck_assert_int_ge(fd, 0);
	out = fdopen(fd, "wb");
	ck_assert_ptr_nonnull(out);
	ck_assert_uint_eq(fwrite(buf, 1, 1500, out), 1500);
	fclose(out);
	run_file(tmp, &r);
	unlink(tmp);
	ck_assert_int_eq(r.open_err, 0);
	ck_assert(r.rd.truncated);
	ck_assert_ptr_nonnull(strstr(r.rd.warning, "stops after"));
	ck_assert_uint_gt(r.rd.frames, 0);
	ck_assert_uint_eq(r.nconns, 1);
	result_free(&r);
}
END_TEST

Suite *kt_packet_suite(void)
{
	Suite *s = suite_create("packet");
	TCase *tc = tcase_create("tshark");
	TCase *facts = tcase_create("facts");
	TCase *bad = tcase_create("malformed");

	tcase_set_timeout(tc, 900);
	tcase_add_test(tc, test_tshark_differential);
	tcase_add_test(tc, test_tshark_dns);
	suite_add_tcase(s, tc);

	tcase_add_test(facts, test_tcp_refused);
	tcase_add_test(facts, test_tcp_syn_retrans);
	tcase_add_test(facts, test_tcp_syn_then_own_rst);
	tcase_add_test(facts, test_tcp_reordered_handshake);
	tcase_add_test(facts, test_dns_tcp_nxdomain);
	tcase_add_test(facts, test_dns_udp_and_tcp);
	tcase_add_test(facts, test_dns_srv_and_unanswered);
	tcase_add_test(facts, test_http_line_in_vxlan);
	tcase_add_test(facts, test_merge_captures);
	tcase_add_test(facts, test_port_reuse_splits);
	tcase_add_test(facts, test_retransmissions);
	tcase_add_test(facts, test_table_bounded);
	tcase_add_test(facts, test_dns_hostile);
	suite_add_tcase(s, facts);

	tcase_add_loop_test(facts, test_decode_shapes, 0, S__N);
	tcase_add_test(facts, test_decode_tunnel_port_is_the_lower);
	tcase_add_test(facts, test_decode_refuses_unknown_link);
	tcase_add_test(facts, test_decode_depth_bounded);
	tcase_add_loop_test(facts, test_icmp_shapes, 0, I__N);
	tcase_add_test(facts, test_icmp_cut);
	tcase_add_test(facts, test_icmp_not_counted);

	tcase_add_loop_test(bad, test_malformed, 0,
			    (int)(sizeof(malformed) / sizeof(malformed[0])));
	tcase_add_test(bad, test_cut_file);
	suite_add_tcase(s, bad);
	return s;
}
