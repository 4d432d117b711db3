/* ktnsfilter.c - keeps, of one record segment, what happened in the given
 * network namespaces (and the lineage of the given cgroups).
 *
 * eBPF sees every namespace of the kernel. A node runs only its own pods,
 * but the machine that records the lab's sample bundle may run other labs
 * and benchmarks at the same time; samples/record-boutique.sh drops their
 * records with this before packing, so the sample holds the lab alone.
 *
 *   ktnsfilter IN.ktr OUT.ktr [--netns INODE[:FROM[:UNTIL]]]... [--path-has S]...
 *
 * FROM and UNTIL (UTC ns) bound the life of a namespace: inode numbers are
 * reused, so a pod recreated while recording may get the inode another
 * lab's namespace had a moment before.
 * flow, dns, conntrack: kept when their netns is listed, or unknown (0: the
 * recorder's own netns for conntrack; flows with an unknown netns are kept
 * only when an address is the lab's, 198.18.0.0/15). proc: kept when its
 * netns is listed, or unknown and its cgroup path holds one of the --path-has
 * strings (a pod UID, the lab's name). conn (packet import): all kept.
 * Prints "kept/read" on stdout.
 */
#include "error.h"
#include "records.h"
#include "stream.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_KEYS 256

struct ns_life {
	uint64_t inode, from, until;
};

static struct ns_life netns[MAX_KEYS];
static const char *paths[MAX_KEYS];
static size_t nnetns, npaths;

static ssize_t fd_read(void *ctx, void *buf, size_t len)
{
	ssize_t n = read(*(int *)ctx, buf, len);

	if (n < 0)
		return kt_err_set(-errno, "read: %s", strerror(errno));
	return n;
}

static bool listed(uint64_t ns, uint64_t ts)
{
	for (size_t i = 0; i < nnetns; i++)
		if (netns[i].inode == ns && ts >= netns[i].from && ts <= netns[i].until)
			return true;
	return false;
}

static int parse_ns(const char *s, struct ns_life *n)
{
	char *end;

	n->from = 0;
	n->until = UINT64_MAX;
	n->inode = strtoull(s, &end, 10);
	if (*end == ':')
		n->from = strtoull(end + 1, &end, 10);
	if (*end == ':')
		n->until = strtoull(end + 1, &end, 10);
	return *end || !n->inode ? -EINVAL : 0;
}

static bool lab_addr(const uint8_t a[16])
{
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };

	/* 198.18.0.0/15, IPv4-mapped */
	return !memcmp(a, v4mapped, 12) && a[12] == 198 && (a[13] & 0xfe) == 18;
}

static bool path_has(const struct kt_str *s)
{
	for (size_t i = 0; i < npaths; i++) {
		size_t l = strlen(paths[i]);

		for (size_t k = 0; s->p && l && k + l <= s->len; k++)
			if (!memcmp(s->p + k, paths[i], l))
				return true;
	}
	return false;
}

static bool keep(const struct kt_schema *s, const void *rec)
{
	if (s == &kt_flow_schema) {
		const struct kt_flow *f = rec;

		return listed(f->netns, f->ts) ||
		       (!f->netns && (lab_addr(f->saddr) || lab_addr(f->daddr)));
	}
	if (s == &kt_proc_schema) {
		const struct kt_proc *p = rec;

		return listed(p->netns, p->ts) || (!p->netns && path_has(&p->path));
	}
	if (s == &kt_dns_schema) {
		const struct kt_dns *d = rec;

		return !d->netns || listed(d->netns, d->ts);
	}
	if (s == &kt_conntrack_schema) {
		const struct kt_conntrack *c = rec;

		return !c->netns || listed(c->netns, c->ts);
	}
	return true;
}

int main(int argc, char **argv)
{
	static const struct kt_schema *const schemas[] = {
		&kt_flow_schema, &kt_proc_schema, &kt_dns_schema, &kt_conntrack_schema, &kt_conn_schema,
	};
	struct kt_stream_reader *r = NULL;
	struct kt_stream_writer *w = NULL;
	const struct kt_schema *schema = NULL;
	uint64_t nread = 0, nkept = 0;
	int in = -1, out, err = 0, rc = 1;
	const void *recs;
	size_t n;

	if (argc < 3) {
		fprintf(stderr, "usage: ktnsfilter IN.ktr OUT.ktr [--netns INODE[:FROM[:UNTIL]]]... "
			"[--path-has S]...\n");
		return 2;
	}
	for (int i = 3; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--netns") && nnetns < MAX_KEYS &&
		    parse_ns(argv[i + 1], &netns[nnetns]) == 0)
			nnetns++;
		else if (!strcmp(argv[i], "--path-has") && npaths < MAX_KEYS)
			paths[npaths++] = argv[i + 1];
		else {
			fprintf(stderr, "ktnsfilter: bad argument '%s'\n", argv[i]);
			return 2;
		}
	}
	if ((in = open(argv[1], O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "ktnsfilter: cannot open '%s': %s\n", argv[1], strerror(errno));
		return 1;
	}
	/* the header names the record type: read it generically first */
	if ((err = kt_stream_reader_open(&r, fd_read, &in, NULL, argv[1])))
		goto out;
	for (size_t i = 0; i < sizeof(schemas) / sizeof(schemas[0]); i++)
		if (!strcmp(kt_stream_reader_name(r), schemas[i]->name))
			schema = schemas[i];
	kt_stream_reader_free(r);
	r = NULL;
	if (!schema) {
		err = kt_err_set(-EPROTO, "'%s': unknown record type", argv[1]);
		goto out;
	}
	if (lseek(in, 0, SEEK_SET) < 0 ||
	    (err = kt_stream_reader_open(&r, fd_read, &in, schema, argv[1])))
		goto out;
	if ((out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		err = kt_err_set(-errno, "cannot create '%s': %s", argv[2], strerror(errno));
		goto out;
	}
	if ((err = kt_stream_writer_open(&w, out, schema,
					 &(struct kt_writer_opts){ .block_records = 16384,
								   .zstd_level = 3 })))
		goto out;
	while (!(err = kt_stream_reader_next(r, &recs, &n)) && n) {
		for (size_t i = 0; i < n; i++) {
			const void *rec = (const char *)recs + i * schema->size;

			nread++;
			if (!keep(schema, rec))
				continue;
			if ((err = kt_stream_writer_append(w, rec)))
				goto out;
			nkept++;
		}
	}
	if (err)
		goto out;
	err = kt_stream_writer_close(w);
	w = NULL;
	if (err)
		goto out;
	printf("%" PRIu64 "/%" PRIu64 "\n", nkept, nread);
	rc = 0;
out:
	if (err)
		fprintf(stderr, "ktnsfilter: %s\n", kt_err_msg(err));
	if (w)
		kt_stream_writer_close(w);
	kt_stream_reader_free(r);
	if (in >= 0)
		close(in);
	return rc;
}
