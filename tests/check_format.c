/* check_format.c - the bundle format end to end: every record type through
 * spool, pack and reader; schema evolution; a writer killed mid-stream;
 * flipped bytes found and named. */
#include "bundle.h"
#include "column.h"
#include "error.h"
#include "manifest.h"
#include "pack.h"
#include "record_json.h"
#include "records.h"
#include "spool.h"
#include "stream.h"
#include "verify.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[256];

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/kt-check-format-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

struct fdctx {
	int fd;
};

static ssize_t read_fd_fn(void *c, void *buf, size_t len)
{
	return read(((struct fdctx *)c)->fd, buf, len);
}

static void path_in(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

/* ---- record makers: values that exercise every column encoding ---------- */

static void make_flow(struct kt_flow *f, unsigned i)
{
	static const char *const comms[] = { "curl", "nginx", "", ("r\xc3\xa9" "dis"), "x" };
	uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

	memset(f, 0, sizeof(*f));
	f->ts = 1764057600000000000ull + i * 1000003ull;
	f->kind = (uint8_t)(i % KT_FLOW__KINDS);
	f->proto = i % 5 ? IPPROTO_TCP : IPPROTO_UDP;
	f->role = (uint8_t)(i % 3);
	f->cause = (uint8_t)(i % KT_CAUSE__MAX);
	f->closer = (uint8_t)(i % 3);
	if (i % 4 == 0) {
		v6[15] = (uint8_t)i;
		memcpy(f->saddr, v6, 16);
	} else {
		kt_ip_from_v4(f->saddr, htonl(0xc6120100u + i % 7));
	}
	if (i % 6)	/* leave some unset */
		kt_ip_from_v4(f->daddr, htonl(0xc6120200u + i % 3));
	f->sport = (uint16_t)(32768 + i);
	f->dport = i % 2 ? 80 : 65535;
	kt_ip_from_v4(f->orig_daddr, htonl(0xc6120064u));
	f->orig_dport = 80;
	f->sock_id = 0xffff888000000000ull ^ ((uint64_t)i << 7);
	f->netns = 4026531840ull + i % 2;
	f->cgroup_id = i % 9 ? 1000 + i : UINT64_MAX;
	f->pid = 4000000000u - i;
	f->tid = i;
	f->comm = (struct kt_str){ comms[i % 5], (uint32_t)strlen(comms[i % 5]) };
	f->duration_ns = (uint64_t)i * i * 1000;
	f->latency_ns = i % 2 ? 0 : 123456;
	f->bytes_sent = UINT64_MAX - i;
	f->bytes_recv = i;
	f->segs_out = i * 3;
	f->segs_in = UINT32_MAX;
	f->retrans = i % 11;
	f->srtt_us = 250;
	f->err = i % 2 ? -111 : 111;
	f->reason = i;
	f->count = 1;
}

static void check_flow(const struct kt_flow *got, unsigned i)
{
	struct kt_flow want;

	make_flow(&want, i);
	ck_assert_uint_eq(got->comm.len, want.comm.len);
	ck_assert(!want.comm.len || !memcmp(got->comm.p, want.comm.p, want.comm.len));
	/* every other member compares bytewise */
	want.comm = got->comm;
	ck_assert_msg(!memcmp(got, &want, sizeof(want)), "flow record %u differs", i);
}

static void make_dns(struct kt_dns *d, unsigned i)
{
	static const char *const ans[] = { "", "A 198.18.0.5 30", "AAAA 2001:db8::1 5\nCNAME x.test 60" };

	memset(d, 0, sizeof(*d));
	d->ts = 1764057600000000000ull + i;
	d->latency_ns = i * 10;
	d->proto = i % 2 ? IPPROTO_UDP : IPPROTO_TCP;
	kt_ip_from_v4(d->client, htonl(0xc6120101u));
	d->client_port = (uint16_t)(40000 + i);
	kt_ip_from_v4(d->server, htonl(0xc612000au));
	d->server_port = 53;
	d->id = (uint16_t)i;
	d->qtype = i % 2 ? 1 : 28;
	d->rcode = i % 3 == 2 ? KT_DNS_RCODE_NONE : (uint16_t)(i % 3 ? 3 : 0);
	d->qname = (struct kt_str){ "svc.ns.svc.cluster.local", 24 };
	d->answers = (struct kt_str){ ans[i % 3], (uint32_t)strlen(ans[i % 3]) };
	d->netns = 7;
	d->iface = (struct kt_str){ "eth0", 4 };
}

static int write_spool_all_types(const char *spool, unsigned n, unsigned block)
{
	struct kt_spool_opts so = { .writer = { .block_records = block, .zstd_level = 3 } };
	struct kt_spool *sp;
	json_t *m = kt_manifest_new("check");
	int err;

	ck_assert_int_eq(kt_spool_create(&sp, spool, &so), 0);
	kt_manifest_set_window(m, 1, 2);
	ck_assert_int_eq(kt_spool_save_manifest(sp, m), 0);
	json_decref(m);
	for (unsigned i = 0; i < n; i++) {
		struct kt_flow f;
		struct kt_dns d;
		struct kt_proc p = { .ts = i, .kind = KT_PROC_EXEC, .pid = i, .exit_code = -1,
				     .comm = { "sh", 2 }, .path = { "/bin/sh", 7 },
				     .pod_uid = { "0a1b", 4 } };
		struct kt_conntrack c = { .ts = i, .kind = KT_CT_DESTROY, .proto = 6,
					  .orig_dport = 80, .reply_sport = 8080,
					  .bytes_reply = (uint64_t)i << 40 };
		struct kt_conn cn = { .ts = i, .duration_ns = 5, .proto = 6,
				      .outcome = KT_CONN_REFUSED, .sport = 1, .dport = 2,
				      .packets_fwd = i, .l7 = { "GET / HTTP/1.1", 14 } };

		make_flow(&f, i);
		make_dns(&d, i);
		kt_ip_from_v4(c.orig_dst, htonl(0xc6120064u));
		if ((err = kt_spool_append(sp, &kt_flow_schema, &f)) ||
		    (err = kt_spool_append(sp, &kt_dns_schema, &d)) ||
		    (err = kt_spool_append(sp, &kt_proc_schema, &p)) ||
		    (err = kt_spool_append(sp, &kt_conntrack_schema, &c)) ||
		    (err = kt_spool_append(sp, &kt_conn_schema, &cn)))
			break;
	}
	ck_assert_int_eq(kt_spool_write_file(sp, "k8s/snap-0001/pods.json", "{\"items\":[]}", 12), 0);
	ck_assert_int_eq(kt_spool_append_file(sp, "k8s/watch/pods.jsonl", "{\"a\":1}\n", 8), 0);
	ck_assert_int_eq(kt_spool_close(sp), 0);
	return err;
}

/* Read every stream back with its typed schema and count per type. */
static void read_back(const char *path, unsigned n)
{
	unsigned counts[8] = { 0 };
	const struct kt_entry *e;
	struct kt_bundle *b;
	int r;

	ck_assert_msg(kt_bundle_open(&b, path) == 0, "%s", kt_err_msg(-1));
	while ((r = kt_bundle_next(b, &e)) == 1) {
		const struct kt_schema *s;
		struct kt_stream_reader *rd;
		const void *recs;
		size_t got;

		if (e->kind != KT_ENTRY_RECORDS)
			continue;
		s = kt_schema_find(e->stream);
		ck_assert_ptr_nonnull(s);
		ck_assert_int_eq(kt_stream_reader_open(&rd, kt_bundle_read, b, s, e->path), 0);
		while (kt_stream_reader_next(rd, &recs, &got) == 0 && got) {
			for (size_t i = 0; i < got; i++) {
				const uint8_t *rec = (const uint8_t *)recs + i * s->size;

				if (s == &kt_flow_schema) {
					check_flow((const struct kt_flow *)rec, counts[0]);
					counts[0]++;
				} else if (s == &kt_dns_schema) {
					const struct kt_dns *d = (const void *)rec;
					struct kt_dns w;

					make_dns(&w, counts[1]);
					ck_assert_uint_eq(d->rcode, w.rcode);
					ck_assert_uint_eq(d->answers.len, w.answers.len);
					ck_assert(!memcmp(d->answers.p, w.answers.p, w.answers.len));
					ck_assert_uint_eq(d->client_port, w.client_port);
					ck_assert(!memcmp(d->server, w.server, 16));
					counts[1]++;
				} else if (s == &kt_proc_schema) {
					const struct kt_proc *p = (const void *)rec;

					ck_assert_uint_eq(p->pid, counts[2]);
					ck_assert_int_eq(p->exit_code, -1);
					ck_assert_uint_eq(p->path.len, 7);
					ck_assert(!memcmp(p->path.p, "/bin/sh", 7));
					counts[2]++;
				} else if (s == &kt_conntrack_schema) {
					const struct kt_conntrack *c = (const void *)rec;

					ck_assert_uint_eq(c->bytes_reply, (uint64_t)counts[3] << 40);
					ck_assert_uint_eq(c->reply_sport, 8080);
					counts[3]++;
				} else {
					const struct kt_conn *c = (const void *)rec;

					ck_assert_uint_eq(c->packets_fwd, counts[4]);
					ck_assert_uint_eq(c->outcome, KT_CONN_REFUSED);
					ck_assert_uint_eq(c->l7.len, 14);
					counts[4]++;
				}
			}
		}
		kt_stream_reader_free(rd);
	}
	ck_assert_int_eq(r, 0);
	kt_bundle_close(b);
	for (int i = 0; i < 5; i++)
		ck_assert_uint_eq(counts[i], n);
}

START_TEST(roundtrip_every_type_and_container)
{
	static const char *const names[] = { "b.tar.zst", "b.tar.gz", "b.tar" };
	char spool[512], out[512];
	struct kt_pack_opts po = { .finished = true };
	struct kt_pack_result res;

	path_in(spool, sizeof(spool), "spool");
	ck_assert_int_eq(write_spool_all_types(spool, 5000, 1000), 0);
	/* the spool itself reads as a bundle */
	read_back(spool, 5000);
	for (int i = 0; i < 3; i++) {
		struct kt_verify_stats st;
		struct kt_bundle *b;

		path_in(out, sizeof(out), names[i]);
		ck_assert_msg(kt_pack(spool, out, &po, &res) == 0, "%s", kt_err_msg(-1));
		ck_assert_uint_eq(res.records, 5 * 5000);
		ck_assert_uint_eq(res.torn_blocks, 0);
		read_back(out, 5000);
		ck_assert_int_eq(kt_bundle_open(&b, out), 0);
		ck_assert_msg(kt_verify(b, &st, NULL, NULL) == 0, "%s", kt_err_msg(-1));
		ck_assert_uint_eq(st.records, 25000);
		ck_assert_uint_eq(st.json_docs, 2);
		ck_assert(json_is_true(json_object_get(kt_bundle_manifest(b), "complete")));
		kt_bundle_close(b);
	}
}
END_TEST

/* A newer writer adds a column and drops one; an older reader still reads. */
struct v2flow {
	uint64_t ts;
	uint16_t dport;
	uint64_t future;
	struct kt_str l7;
};

START_TEST(schema_evolution_binds_by_name)
{
	static const struct kt_field f2[] = {
		KT_FIELD(struct v2flow, ts, KT_F_TS),
		KT_FIELD(struct v2flow, dport, KT_F_U16),
		KT_FIELD(struct v2flow, future, KT_F_U64),
		KT_FIELD(struct v2flow, l7, KT_F_STR),
	};
	static const struct kt_schema s2 = { "flow", 2, sizeof(struct v2flow), f2, 4 };
	struct kt_stream_writer *w;
	struct kt_stream_reader *r;
	char path[512];
	const void *recs;
	size_t n;
	int fd;
	struct fdctx ctx;

	path_in(path, sizeof(path), "v2.ktr");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_eq(kt_stream_writer_open(&w, fd, &s2, NULL), 0);
	for (unsigned i = 0; i < 10; i++) {
		struct v2flow v = { 1000 + i, (uint16_t)(8000 + i), 77, { "GET", 3 } };

		ck_assert_int_eq(kt_stream_writer_append(w, &v), 0);
	}
	ck_assert_int_eq(kt_stream_writer_close(w), 0);

	ctx.fd = open(path, O_RDONLY);
	ck_assert_int_eq(kt_stream_reader_open(&r, read_fd_fn, &ctx,
					       &kt_flow_schema, path), 0);
	ck_assert_int_eq(kt_stream_reader_next(r, &recs, &n), 0);
	ck_assert_uint_eq(n, 10);
	for (unsigned i = 0; i < n; i++) {
		const struct kt_flow *f = (const struct kt_flow *)recs + i;

		ck_assert_uint_eq(f->ts, 1000 + i);
		ck_assert_uint_eq(f->dport, 8000 + i);
		ck_assert_uint_eq(f->sport, 0);		/* absent: zero */
		ck_assert_uint_eq(f->comm.len, 0);
	}
	kt_stream_reader_free(r);
	close(ctx.fd);

	/* the generic reader sees the new columns by their own names */
	ctx.fd = open(path, O_RDONLY);
	ck_assert_int_eq(kt_stream_reader_open(&r, read_fd_fn, &ctx, NULL, path), 0);
	ck_assert_int_eq(kt_stream_reader_next(r, &recs, &n), 0);
	ck_assert_uint_eq(kt_stream_reader_schema(r)->nfields, 4);
	ck_assert_str_eq(kt_stream_reader_schema(r)->fields[2].name, "future");
	{
		uint64_t fut;

		memcpy(&fut, (const uint8_t *)recs + kt_stream_reader_schema(r)->fields[2].offset, 8);
		ck_assert_uint_eq(fut, 77);
	}
	kt_stream_reader_free(r);
	close(ctx.fd);
}
END_TEST

/* A record as read, its string by value: two readers' strings point into
 * their own buffers. */
static void flat_flow(struct kt_flow *o, const struct kt_flow *f, char comm[32])
{
	*o = *f;
	memset(comm, 0, 32);
	memcpy(comm, f->comm.p, f->comm.len < 32 ? f->comm.len : 32);
	o->comm = (struct kt_str){ NULL, f->comm.len };
}

/* Records read a few at a time (references reaching back across the
 * pieces) are the records read a block at a time; a projection decodes
 * the fields it names and leaves the others zero. */
START_TEST(read_in_pieces_and_projection)
{
	static const char *const some[] = { "ts", "dport", "comm", "saddr", NULL };
	struct kt_writer_opts wo = { .block_records = 1000, .zstd_level = 1 };
	static const size_t pieces[] = { 1, 7, 100, 1000, 5000 };
	struct kt_flow *all = calloc(2500, sizeof(*all));
	char (*comms)[32] = calloc(2500, 32);
	json_t **js = calloc(2500, sizeof(*js));	/* field by field, no padding */
	struct kt_stream_writer *w;
	struct kt_stream_reader *r;
	struct fdctx ctx;
	char path[512];
	const void *recs;
	size_t n, got = 0;
	int fd;

	path_in(path, sizeof(path), "pieces.ktr");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_eq(kt_stream_writer_open(&w, fd, &kt_flow_schema, &wo), 0);
	for (unsigned i = 0; i < 2500; i++) {
		struct kt_flow f;

		make_flow(&f, i);
		f.pid = 100 + (i * 37) % 70;	/* values repeating up to 70 back */
		ck_assert_int_eq(kt_stream_writer_append(w, &f), 0);
	}
	ck_assert_int_eq(kt_stream_writer_close(w), 0);

	ctx.fd = open(path, O_RDONLY);
	ck_assert_int_eq(kt_stream_reader_open(&r, read_fd_fn, &ctx, &kt_flow_schema, path), 0);
	while (!kt_stream_reader_next(r, &recs, &n) && n)
		for (size_t i = 0; i < n; i++, got++) {
			flat_flow(&all[got], (const struct kt_flow *)recs + i, comms[got]);
			js[got] = kt_record_to_json(&kt_flow_schema, (const struct kt_flow *)recs + i);
		}
	ck_assert_uint_eq(got, 2500);
	kt_stream_reader_free(r);
	close(ctx.fd);

	for (size_t k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
		ctx.fd = open(path, O_RDONLY);
		ck_assert_int_eq(kt_stream_reader_open(&r, read_fd_fn, &ctx, &kt_flow_schema,
						       path), 0);
		got = 0;
		while (!kt_stream_reader_read(r, pieces[k], &recs, &n) && n) {
			ck_assert_uint_le(n, pieces[k]);
			for (size_t i = 0; i < n; i++, got++) {
				json_t *x = kt_record_to_json(&kt_flow_schema,
							      (const struct kt_flow *)recs + i);

				ck_assert_msg(x && json_equal(x, js[got]),
					      "record %zu differs read %zu at a time", got, pieces[k]);
				json_decref(x);
			}
		}
		ck_assert_uint_eq(got, 2500);
		ck_assert_uint_eq(kt_stream_reader_records(r), 2500);
		ck_assert_uint_eq(kt_stream_reader_blocks(r), 3);
		kt_stream_reader_free(r);
		close(ctx.fd);
	}

	/* whole blocks after pieces: the rest of the block begun, then blocks */
	ctx.fd = open(path, O_RDONLY);
	ck_assert_int_eq(kt_stream_reader_open(&r, read_fd_fn, &ctx, &kt_flow_schema, path), 0);
	ck_assert_int_eq(kt_stream_reader_read(r, 100, &recs, &n), 0);
	ck_assert_uint_eq(n, 100);
	ck_assert_int_eq(kt_stream_reader_next(r, &recs, &n), 0);
	ck_assert_uint_eq(n, 900);
	ck_assert_uint_eq(((const struct kt_flow *)recs)[0].ts, all[100].ts);
	ck_assert_uint_eq(((const struct kt_flow *)recs)[899].pid, all[999].pid);
	ck_assert_int_eq(kt_stream_reader_next(r, &recs, &n), 0);
	ck_assert_uint_eq(n, 1000);
	ck_assert_uint_eq(((const struct kt_flow *)recs)[0].sock_id, all[1000].sock_id);
	ck_assert_int_eq(kt_stream_reader_read(r, 0, &recs, &n), -EINVAL);
	kt_stream_reader_free(r);
	close(ctx.fd);

	ctx.fd = open(path, O_RDONLY);
	ck_assert_int_eq(kt_stream_reader_open(&r, read_fd_fn, &ctx, &kt_flow_schema, path), 0);
	ck_assert_int_eq(kt_stream_reader_project(r, some), 0);
	got = 0;
	while (!kt_stream_reader_read(r, 300, &recs, &n) && n) {
		for (size_t i = 0; i < n; i++, got++) {
			const struct kt_flow *f = (const struct kt_flow *)recs + i;

			ck_assert_uint_eq(f->ts, all[got].ts);
			ck_assert_uint_eq(f->dport, all[got].dport);
			ck_assert(!memcmp(f->saddr, all[got].saddr, 16));
			ck_assert_uint_eq(f->comm.len, all[got].comm.len);
			ck_assert(!f->comm.len || !memcmp(f->comm.p, comms[got], f->comm.len));
			ck_assert_uint_eq(f->sport, 0);
			ck_assert_uint_eq(f->pid, 0);
			ck_assert_uint_eq(f->bytes_sent, 0);
			ck_assert(kt_ip_is_unset(f->orig_daddr));
		}
	}
	ck_assert_uint_eq(got, 2500);
	/* too late once records were read */
	ck_assert_int_eq(kt_stream_reader_project(r, some), -EINVAL);
	kt_stream_reader_free(r);
	close(ctx.fd);
	for (size_t i = 0; i < 2500; i++)
		json_decref(js[i]);
	free(js);
	free(all);
	free(comms);
}
END_TEST

/* SIGKILL a writer mid-stream: every block it finished is in the bundle. */
START_TEST(killed_writer_keeps_every_finished_block)
{
	char spool[512], out[512], seg[600];
	struct kt_pack_result res;
	struct kt_verify_stats st;
	struct kt_bundle *b;
	unsigned long done = 0, v;
	int pfd[2], status;
	pid_t pid;
	FILE *f;

	path_in(spool, sizeof(spool), "killed");
	ck_assert_int_eq(pipe(pfd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct kt_spool_opts so = { .writer = { .block_records = 100, .zstd_level = 1 } };
		struct kt_spool *sp;
		json_t *m = kt_manifest_new("check");

		close(pfd[0]);
		if (kt_spool_create(&sp, spool, &so) || kt_spool_save_manifest(sp, m))
			_exit(3);
		for (unsigned i = 0; i < 2000000; i++) {
			struct kt_flow fl;

			make_flow(&fl, i);
			if (kt_spool_append(sp, &kt_flow_schema, &fl))
				_exit(4);
			if ((i + 1) % 100 == 0) {
				/* the block is written: tell the parent */
				unsigned long c = i + 1;

				if (write(pfd[1], &c, sizeof(c)) != sizeof(c))
					_exit(5);
			}
		}
		_exit(6);	/* the parent should have killed us long before */
	}
	close(pfd[1]);
	while (done < 3000 && read(pfd[0], &v, sizeof(v)) == sizeof(v))
		done = v;
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status));
	close(pfd[0]);
	ck_assert_uint_ge(done, 3000);

	/* tear a block by hand as a kill mid-write(2) would */
	snprintf(seg, sizeof(seg), "%s/streams/flow/000001.ktr", spool);
	f = fopen(seg, "ab");
	ck_assert_ptr_nonnull(f);
	fwrite("KTBK\x01\x01\0\0\x64\0\0\0\xff\x0f\0\0", 1, 16, f);
	fclose(f);

	path_in(out, sizeof(out), "killed.tar.zst");
	ck_assert_msg(kt_pack(spool, out, NULL, &res) == 0, "%s", kt_err_msg(-1));
	ck_assert_uint_eq(res.torn_blocks, 1);
	ck_assert_uint_ge(res.records, done);
	ck_assert_uint_eq(res.records % 100, 0);	/* whole blocks only */
	ck_assert_int_eq(kt_bundle_open(&b, out), 0);
	ck_assert_msg(kt_verify(b, &st, NULL, NULL) == 0, "%s", kt_err_msg(-1));
	ck_assert_uint_eq(st.records, res.records);
	ck_assert(json_is_false(json_object_get(kt_bundle_manifest(b), "complete")));
	ck_assert_uint_ge(json_array_size(json_object_get(kt_bundle_manifest(b), "warnings")), 1);
	kt_bundle_close(b);
	/* and every record read back is the one written at that position */
	{
		const struct kt_entry *e;
		const void *recs;
		size_t n;
		unsigned idx = 0;
		struct kt_stream_reader *rd;

		ck_assert_int_eq(kt_bundle_open(&b, out), 0);
		while (kt_bundle_next(b, &e) == 1) {
			if (e->kind != KT_ENTRY_RECORDS)
				continue;
			ck_assert_int_eq(kt_stream_reader_open(&rd, kt_bundle_read, b,
							       &kt_flow_schema, e->path), 0);
			while (kt_stream_reader_next(rd, &recs, &n) == 0 && n)
				for (size_t i = 0; i < n; i++)
					check_flow((const struct kt_flow *)recs + i, idx++);
			kt_stream_reader_free(rd);
		}
		ck_assert_uint_eq(idx, res.records);
		kt_bundle_close(b);
	}
}
END_TEST

static long find_nth(const uint8_t *buf, long len, const char *pat, int nth)
{
	size_t pl = strlen(pat);

	for (long i = 0; i + (long)pl <= len; i++)
		if (!memcmp(buf + i, pat, pl) && nth-- == 0)
			return i;
	return -1;
}

static int verify_file(const char *path)
{
	struct kt_verify_stats st;
	struct kt_bundle *b;
	int err = kt_bundle_open(&b, path);

	if (!err)
		err = kt_verify(b, &st, NULL, NULL);
	kt_bundle_close(b);
	return err;
}

/* Flip bytes inside record blocks of an uncompressed bundle: verify fails and
 * names the file and the block. */
START_TEST(flipped_bytes_are_found_and_named)
{
	char spool[512], out[512], bad[600];
	struct kt_pack_opts po = { .finished = true };
	uint8_t *buf;
	long len, at;
	FILE *f;
	int err;

	path_in(spool, sizeof(spool), "flip");
	ck_assert_int_eq(write_spool_all_types(spool, 3000, 1000), 0);
	path_in(out, sizeof(out), "flip.tar");
	ck_assert_int_eq(kt_pack(spool, out, &po, NULL), 0);
	ck_assert_int_eq(verify_file(out), 0);
	f = fopen(out, "rb");
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = malloc((size_t)len);
	ck_assert_int_eq(fread(buf, 1, (size_t)len, f), len);
	fclose(f);

	for (int blk = 0; blk < 3; blk++) {
		static const int offsets[] = { 44 + 7, 22, 44 + 100 };	/* payload, first_ts, payload */
		/* the flow stream is the last stream in bundle order: its blocks
		 * are the last three KTBK in the file */
		long first_flow = find_nth(buf, len, "\"record\":\"flow\"", 0);

		ck_assert_int_gt(first_flow, 0);
		at = first_flow;
		for (int k = 0; k <= blk; k++) {
			long next = find_nth(buf + at + 1, len - at - 1, "KTBK", 0);

			ck_assert_int_ge(next, 0);
			at = at + 1 + next;
		}
		buf[at + offsets[blk]] ^= 0x5a;
		snprintf(bad, sizeof(bad), "%s/flip-%d.tar", tmpdir, blk);
		f = fopen(bad, "wb");
		fwrite(buf, 1, (size_t)len, f);
		fclose(f);
		buf[at + offsets[blk]] ^= 0x5a;

		err = verify_file(bad);
		ck_assert_int_lt(err, 0);
		{
			char want[64];

			snprintf(want, sizeof(want), "block %d at offset", blk);
			ck_assert_msg(strstr(kt_err_msg(err), "streams/flow/000001.ktr") &&
				      strstr(kt_err_msg(err), want) &&
				      strstr(kt_err_msg(err), "checksum mismatch"),
				      "message does not name the block: %s", kt_err_msg(err));
		}
	}
	/* a flipped byte in a JSON document: the sha256 catches it */
	at = find_nth(buf, len, "{\"items\":[]}", 0);
	ck_assert_int_gt(at, 0);
	buf[at + 3] = 'X';
	snprintf(bad, sizeof(bad), "%s/flip-json.tar", tmpdir);
	f = fopen(bad, "wb");
	fwrite(buf, 1, (size_t)len, f);
	fclose(f);
	err = verify_file(bad);
	ck_assert_int_lt(err, 0);
	ck_assert_msg(strstr(kt_err_msg(err), "k8s/snap-0001/pods.json"), "%s", kt_err_msg(err));
	free(buf);
}
END_TEST

START_TEST(paths_and_names)
{
	enum kt_compress c;
	uint64_t ns;
	char buf[64];

	ck_assert_int_eq(kt_path_check("k8s/snap-0001/pods.json"), 0);
	ck_assert_int_lt(kt_path_check("../etc/passwd"), 0);
	ck_assert_int_lt(kt_path_check("a/../../b"), 0);
	ck_assert_int_lt(kt_path_check("/abs"), 0);
	ck_assert_int_lt(kt_path_check("a//b"), 0);
	ck_assert_int_lt(kt_path_check("a/./b"), 0);
	ck_assert_int_lt(kt_path_check("a/"), 0);
	ck_assert_int_lt(kt_path_check("a\\b"), 0);
	ck_assert_int_eq(kt_path_check("a/..b/.c"), 0);
	ck_assert_int_eq(kt_path_check("k8s/caf\xc3\xa9.json"), 0);	/* UTF-8 */
	ck_assert_int_lt(kt_path_check("k8s/caf\xe9.json"), 0);	/* Latin-1 */
	ck_assert_int_lt(kt_path_check("k8s/\xc0\xaf.json"), 0);	/* overlong '/' */
	ck_assert_int_eq(kt_compress_from_name("x.tar.zst", &c), 0);
	ck_assert_int_eq(c, KT_COMPRESS_ZSTD);
	ck_assert_int_eq(kt_compress_from_name("x.tgz", &c), 0);
	ck_assert_int_eq(c, KT_COMPRESS_GZIP);
	ck_assert_int_lt(kt_compress_from_name("x.zip", &c), 0);
	ck_assert_int_eq(kt_time_parse("2026-11-25T08:18:54.123456789Z", &ns), 0);
	ck_assert_str_eq(kt_time_str(ns, buf, sizeof(buf)), "2026-11-25T08:18:54.123456789Z");
	ck_assert_int_eq(kt_time_parse("2026-11-25T09:18:54.5+01:00", &ns), 0);
	ck_assert_str_eq(kt_time_str(ns, buf, sizeof(buf)), "2026-11-25T08:18:54.500000000Z");
	ck_assert_int_lt(kt_time_parse("2026-11-25 08:18", &ns), 0);
}
END_TEST

/* Decode a hand-made integer column of n records into u64 and u32 fields:
 * 0 and the values in out64/out32, or the decoder's error. */
static int col_decode(const uint8_t *col, size_t len, size_t n, uint64_t *out64,
		      uint32_t *out32)
{
	struct kt_cursor cur;
	int err;

	kt_cursor_init(&cur, col, len);
	if ((err = kt_col_decode(&cur, KT_F_U64, n, (uint8_t *)out64, sizeof(*out64), 0,
				 KT_F_U64)))
		return err;
	kt_cursor_init(&cur, col, len);
	return kt_col_decode(&cur, KT_F_U64, n, (uint8_t *)out32, sizeof(*out32), 0, KT_F_U32);
}

/* The decoder reads a varint without a bound check per byte while 10 bytes
 * of the column remain, and through kt_get_varint() in the last 10: every
 * length of varint, with its edge values, goes through both (as the last
 * value of a column, then followed by 1..10 more), in plain and in
 * reference columns; truncated and overlong ones fail on both. */
START_TEST(column_varints_of_every_length)
{
	uint64_t vals[64], got64[32];
	uint32_t got32[32];
	uint8_t col[128];
	size_t nv = 0;

	/* zigzag numbers whose varints take 1..10 bytes: the smallest and the
	 * largest of each length, and one between */
	for (unsigned len = 1; len <= 10; len++) {
		uint64_t lo = len == 1 ? 0 : 1ull << (7 * (len - 1));
		uint64_t hi = len == 10 ? UINT64_MAX : (1ull << (7 * len)) - 1;

		vals[nv++] = lo;
		vals[nv++] = hi;
		vals[nv++] = lo + (hi - lo) / 3;
	}
	vals[nv++] = kt_zigzag(INT64_MAX);
	vals[nv++] = kt_zigzag(INT64_MIN);
	for (size_t k = 0; k < nv; k++) {
		uint64_t v = (uint64_t)kt_unzigzag(vals[k]);
		size_t vlen = kt_put_varint(col, vals[k]);

		ck_assert_uint_eq(vlen, vals[k] < 0x80 ? 1 : vals[k] >> 63 ? 10 :
				  (size_t)((64 - __builtin_clzll(vals[k]) + 6) / 7));
		for (size_t after = 0; after <= 10; after++) {
			/* plain: 3 zeros, the value, then 'after' zeros */
			size_t len = 0, n = 3 + 1 + after;

			col[len++] = 1;
			for (int i = 0; i < 3; i++)
				col[len++] = 0;
			len += kt_put_varint(col + len, vals[k]);
			memset(col + len, 0, after);
			len += after;
			ck_assert_int_eq(col_decode(col, len, n, got64, got32), 0);
			for (size_t i = 0; i < n; i++) {
				ck_assert_uint_eq(got64[i], i == 3 ? v : 0);
				ck_assert_uint_eq(got32[i], i == 3 ? (uint32_t)v : 0);
			}
			/* reference: the value as a literal, then a reference to it
			 * (code 1, the record before), then 'after' more */
			len = 0;
			n = 2 + after;
			col[len++] = 2;
			col[len++] = 0;
			len += kt_put_varint(col + len, vals[k]);
			for (size_t i = 0; i < 1 + after; i++)
				col[len++] = 1;
			ck_assert_int_eq(col_decode(col, len, n, got64, got32), 0);
			for (size_t i = 0; i < n; i++) {
				ck_assert_uint_eq(got64[i], v);
				ck_assert_uint_eq(got32[i], (uint32_t)v);
			}
			/* the value cut short by a byte: no longer a column of n */
			if (after == 0 && vlen > 1) {
				len = 0;
				col[len++] = 1;
				for (int i = 0; i < 12; i++)
					col[len++] = 0;
				len += kt_put_varint(col + len, vals[k]) - 1;
				ck_assert_int_eq(col_decode(col, len, 13, got64, got32), -EPROTO);
			}
		}
	}
	/* overlong: a tenth byte above 1 (more than 64 bits), and 11 bytes,
	 * each as the last value and with 10 more after it */
	for (int bad = 0; bad < 2; bad++) {
		for (size_t after = 0; after <= 10; after += 10) {
			size_t len = 0;

			col[len++] = 1;
			for (int i = 0; i < 9; i++)
				col[len++] = 0xff;
			if (bad == 0) {
				col[len++] = 0x02;
			} else {
				col[len++] = 0x80;
				col[len++] = 0x00;
			}
			memset(col + len, 0, after);
			len += after;
			ck_assert_int_eq(col_decode(col, len, 1 + after, got64, got32), -EPROTO);
		}
	}
	/* two columns side by side (kt_col_dec_run2): every value in a and
	 * the values in reverse order in b, each at every distance from the
	 * end of its column, a chunk of 7 records at a time */
	for (size_t after = 0; after <= 10; after++) {
		uint8_t ca[512], cb[512];
		uint64_t ga[64], gb[64];
		size_t la = 0, lb = 0, n = nv + after;
		struct kt_col_dec da, db;
		struct kt_cursor xa, xb;
		unsigned failed = 9;

		ca[la++] = cb[lb++] = 1;
		for (size_t k = 0; k < nv; k++) {
			la += kt_put_varint(ca + la, vals[k]);
			lb += kt_put_varint(cb + lb, vals[nv - 1 - k]);
		}
		memset(ca + la, 0, after);
		memset(cb + lb, 0, after);
		la += after;
		lb += after;
		kt_cursor_init(&xa, ca, la);
		kt_cursor_init(&xb, cb, lb);
		ck_assert_int_eq(kt_col_dec_init(&da, &xa, KT_F_U64, n, KT_F_U64), 0);
		ck_assert_int_eq(kt_col_dec_init(&db, &xb, KT_F_U64, n, KT_F_U64), 0);
		ck_assert(da.pairable && db.pairable);
		da.stride = db.stride = sizeof(uint64_t);
		for (size_t i = 0; i < n; i += 7)
			ck_assert_int_eq(kt_col_dec_run2(&da, &db, i, i + 7 < n ? i + 7 : n,
							 (uint8_t *)(ga + i), (uint8_t *)(gb + i),
							 &failed), 0);
		ck_assert_int_eq(kt_col_dec_finish(&da), 0);
		ck_assert_int_eq(kt_col_dec_finish(&db), 0);
		for (size_t i = 0; i < n; i++) {
			ck_assert_uint_eq(ga[i], i < nv ? (uint64_t)kt_unzigzag(vals[i]) : 0);
			ck_assert_uint_eq(gb[i], i < nv ? (uint64_t)kt_unzigzag(vals[nv - 1 - i]) : 0);
		}
		/* the last value of b cut short, then of a: found, in the
		 * right column */
		for (unsigned bad = 0; bad < 2; bad++) {
			uint8_t ka[512], kb[512];
			size_t lx = bad ? la : lb;
			uint8_t *cx = bad ? ka : kb;

			memcpy(ka, ca, la);
			memcpy(kb, cb, lb);
			if (after) {
				cx[lx - 1] = 0x80;	/* a varint running off the end */
			} else {
				cx[lx - 2] |= 0x80;	/* the last value one byte longer */
				cx[lx - 1] |= 0x80;
			}
			kt_cursor_init(&xa, ka, la);
			kt_cursor_init(&xb, kb, lb);
			ck_assert_int_eq(kt_col_dec_init(&da, &xa, KT_F_U64, n, KT_F_U64), 0);
			ck_assert_int_eq(kt_col_dec_init(&db, &xb, KT_F_U64, n, KT_F_U64), 0);
			da.stride = db.stride = sizeof(uint64_t);
			ck_assert_int_eq(kt_col_dec_run2(&da, &db, 0, n, (uint8_t *)ga, (uint8_t *)gb,
							 &failed), -EPROTO);
			ck_assert_uint_eq(failed, bad ? 0 : 1);
			kt_col_dec_release(&da);
			kt_col_dec_release(&db);
		}
	}
	/* the encoder's own columns of these values decode to them */
	{
		uint64_t in[64];
		struct kt_buf out = KT_BUF_INIT(1 << 20);
		struct kt_cursor cur;

		for (size_t k = 0; k < nv; k++)
			in[k] = (uint64_t)kt_unzigzag(vals[k]);
		ck_assert_int_eq(kt_col_encode(&out, KT_F_U64, (const uint8_t *)in, nv,
					       sizeof(in[0]), 0), 0);
		memset(vals, 0xa5, sizeof(vals));
		kt_cursor_init(&cur, out.p, out.len);
		ck_assert_int_eq(kt_col_decode(&cur, KT_F_U64, nv, (uint8_t *)vals, sizeof(vals[0]),
					       0, KT_F_U64), 0);
		for (size_t k = 0; k < nv; k++)
			ck_assert_uint_eq(vals[k], in[k]);
		kt_buf_release(&out);
	}
}
END_TEST

Suite *kt_format_suite(void)
{
	Suite *s = suite_create("format");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, roundtrip_every_type_and_container);
	tcase_add_test(tc, schema_evolution_binds_by_name);
	tcase_add_test(tc, read_in_pieces_and_projection);
	tcase_add_test(tc, killed_writer_keeps_every_finished_block);
	tcase_add_test(tc, flipped_bytes_are_found_and_named);
	tcase_add_test(tc, paths_and_names);
	tcase_add_test(tc, column_varints_of_every_length);
	suite_add_tcase(s, tc);
	return s;
}
