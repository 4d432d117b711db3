/* pack.c - spool to bundle archive (pack.h).
 *
 * Two passes over the spool: the first validates each file and finds the
 * length worth keeping (whole blocks, whole lines, whole packets) and its
 * sha256, so the manifest - the archive's first entry - can list every file;
 * the second copies those lengths into the archive.
 */
#include "pack.h"
#include "bundle.h"
#include "error.h"
#include "layout.h"
#include "manifest.h"
#include "stream.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <nettle/sha2.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_BUF (1u << 16)

struct pack_file {
	const char *path;
	uint64_t keep;		/* bytes to pack */
	bool skip;
};

struct fd_src {
	int fd;
	uint64_t left;		/* bytes still allowed */
};

static ssize_t fd_read(void *ctx, void *buf, size_t len)
{
	struct fd_src *s = ctx;
	ssize_t n;

	if (len > s->left)
		len = (size_t)s->left;
	if (!len)
		return 0;
	do
		n = read(s->fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return kt_err_set(-errno, "read failed: %s", strerror(errno));
	s->left -= (uint64_t)n;
	return n;
}

static void warn(json_t *warnings, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void warn(json_t *warnings, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_append_new(warnings, json_string(buf));
}

/* Records: keep every block that decodes; count them per stream. */
static int scan_records(const char *full, const char *rel, const char *stream,
			struct pack_file *pf, json_t *info, json_t *streams,
			json_t *warnings, struct kt_pack_result *res)
{
	struct fd_src src = { -1, UINT64_MAX };
	struct kt_stream_reader *r = NULL;
	const void *recs;
	size_t n;
	int err;
	json_t *st;

	if ((src.fd = open(full, O_RDONLY | O_CLOEXEC)) < 0)
		return kt_err_set(-errno, "cannot open '%s': %s", full, strerror(errno));
	err = kt_stream_reader_open(&r, fd_read, &src, NULL, rel);
	if (err) {
		/* killed before the header was written: nothing to keep */
		warn(warnings, "dropped '%s': %s", rel, kt_err_msg(err));
		pf->skip = true;
		close(src.fd);
		return 0;
	}
	while (!(err = kt_stream_reader_next(r, &recs, &n)) && n)
		;
	if (err) {
		warn(warnings, "cut '%s' after %" PRIu64 " blocks: %s", rel,
		     kt_stream_reader_blocks(r), kt_err_msg(err));
		res->torn_blocks++;
	}
	pf->keep = kt_stream_reader_good_offset(r);
	json_object_set_new(info, "stream", json_string(stream));
	json_object_set_new(info, "records", json_integer((json_int_t)kt_stream_reader_records(r)));
	json_object_set_new(info, "blocks", json_integer((json_int_t)kt_stream_reader_blocks(r)));
	res->records += kt_stream_reader_records(r);
	st = json_object_get(streams, stream);
	if (!st) {
		st = json_pack("{s:s, s:I, s:I, s:I}", "record", kt_stream_reader_name(r),
			       "records", (json_int_t)0, "segments", (json_int_t)0,
			       "bytes", (json_int_t)0);
		json_object_set_new(streams, stream, st);
	}
	json_object_set_new(st, "records", json_integer(json_integer_value(json_object_get(st, "records")) +
		(json_int_t)kt_stream_reader_records(r)));
	json_object_set_new(st, "segments", json_integer(json_integer_value(json_object_get(st, "segments")) + 1));
	json_object_set_new(st, "bytes", json_integer(json_integer_value(json_object_get(st, "bytes")) +
		(json_int_t)pf->keep));
	kt_stream_reader_free(r);
	close(src.fd);
	return 0;
}

/* JSON lines: keep whole lines. JSON documents: keep them if they parse. */
static int scan_json(const char *full, const char *rel, bool lines, uint64_t size,
		     struct pack_file *pf, json_t *warnings)
{
	json_error_t jerr;
	json_t *doc;

	if (lines) {
		FILE *f = fopen(full, "re");
		uint64_t last_nl = 0, at = 0;
		int c;

		if (!f)
			return kt_err_set(-errno, "cannot open '%s': %s", full, strerror(errno));
		while ((c = getc(f)) != EOF) {
			at++;
			if (c == '\n')
				last_nl = at;
		}
		fclose(f);
		pf->keep = last_nl;
		if (last_nl < size)
			warn(warnings, "cut '%s' after its last whole line (%" PRIu64
			     " of %" PRIu64 " bytes)", rel, last_nl, size);
		return 0;
	}
	if (size > KT_JSON_ENTRY_MAX) {
		warn(warnings, "dropped '%s': %" PRIu64 " bytes, over the %u limit",
		     rel, size, KT_JSON_ENTRY_MAX);
		pf->skip = true;
		return 0;
	}
	doc = json_load_file(full, 0, &jerr);
	if (!doc) {
		warn(warnings, "dropped '%s': not valid JSON: %s", rel, jerr.text);
		pf->skip = true;
		return 0;
	}
	json_decref(doc);
	pf->keep = size;
	return 0;
}

/* Packet captures: keep every packet libpcap can read. */
static int scan_pcap(const char *full, const char *rel, uint64_t size,
		     struct pack_file *pf, json_t *info, json_t *warnings)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	uint64_t packets = 0;
	long good;
	pcap_t *p;
	int r;

	p = pcap_open_offline(full, errbuf);
	if (!p) {
		warn(warnings, "dropped '%s': %s", rel, errbuf);
		pf->skip = true;
		return 0;
	}
	good = ftell(pcap_file(p));
	while ((r = pcap_next_ex(p, &h, &d)) == 1) {
		packets++;
		good = ftell(pcap_file(p));
	}
	if (r == PCAP_ERROR)
		warn(warnings, "cut '%s' after %" PRIu64 " packets: %s", rel, packets,
		     pcap_geterr(p));
	pcap_close(p);
	pf->keep = good < 0 ? size : (uint64_t)good;
	json_object_set_new(info, "packets", json_integer((json_int_t)packets));
	return 0;
}

static int hash_file(const char *full, uint64_t len, char hex[65])
{
	struct sha256_ctx sha;
	uint8_t buf[1 << 16], digest[SHA256_DIGEST_SIZE];
	struct fd_src src = { -1, len };
	ssize_t n;

	if ((src.fd = open(full, O_RDONLY | O_CLOEXEC)) < 0)
		return kt_err_set(-errno, "cannot open '%s': %s", full, strerror(errno));
	sha256_init(&sha);
	while ((n = fd_read(&src, buf, sizeof(buf))) > 0)
		sha256_update(&sha, (size_t)n, buf);
	close(src.fd);
	if (n < 0)
		return (int)n;
	if (src.left)
		return kt_err_set(-EIO, "'%s' shrank while being packed", full);
	sha256_digest(&sha, sizeof(digest), digest);
	for (size_t i = 0; i < sizeof(digest); i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	return 0;
}

int kt_compress_from_name(const char *path, enum kt_compress *out)
{
	static const struct { const char *suf; enum kt_compress c; } m[] = {
		{ ".tar.zst", KT_COMPRESS_ZSTD }, { ".tzst", KT_COMPRESS_ZSTD },
		{ ".tar.gz", KT_COMPRESS_GZIP }, { ".tgz", KT_COMPRESS_GZIP },
		{ ".tar", KT_COMPRESS_NONE },
	};
	size_t n = strlen(path);

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		size_t k = strlen(m[i].suf);

		if (n > k && !strcmp(path + n - k, m[i].suf)) {
			*out = m[i].c;
			return 0;
		}
	}
	return kt_err_set(-EINVAL, "cannot tell the archive type of '%s': name it "
			  ".tar.zst (default), .tar.gz or .tar", path);
}

static int add_entry(struct archive *a, const char *name, uint64_t size, time_t mtime)
{
	struct archive_entry *e = archive_entry_new();
	int r;

	if (!e)
		return kt_err_set(-ENOMEM, "out of memory");
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)size);
	archive_entry_set_mtime(e, mtime, 0);
	archive_entry_set_uname(e, "root");
	archive_entry_set_gname(e, "root");
	r = archive_write_header(a, e);
	archive_entry_free(e);
	if (r != ARCHIVE_OK)
		return kt_err_set(-EIO, "cannot write entry '%s': %s", name, archive_error_string(a));
	return 0;
}

static int write_data(struct archive *a, const char *name, const void *p, size_t len)
{
	if (archive_write_data(a, p, len) != (la_ssize_t)len)
		return kt_err_set(-EIO, "cannot write entry '%s': %s", name, archive_error_string(a));
	return 0;
}

static int copy_file(struct archive *a, const char *full, const char *rel, uint64_t len,
		     uint8_t *buf, size_t bufsize)
{
	struct fd_src src = { -1, len };
	struct stat st;
	ssize_t n;
	int err;

	if ((src.fd = open(full, O_RDONLY | O_CLOEXEC)) < 0)
		return kt_err_set(-errno, "cannot open '%s': %s", full, strerror(errno));
	fstat(src.fd, &st);
	err = add_entry(a, rel, len, st.st_mtime);
	while (!err && (n = fd_read(&src, buf, bufsize)) > 0)
		err = write_data(a, rel, buf, (size_t)n);
	close(src.fd);
	if (!err && src.left)
		err = kt_err_set(-EIO, "'%s' shrank while being packed", full);
	return err;
}

static json_t *load_draft(const char *spool, json_t *warnings)
{
	char path[4096];
	json_error_t jerr;
	json_t *m;

	snprintf(path, sizeof(path), "%s/manifest.json", spool);
	m = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (m && json_is_object(m))
		return m;
	json_decref(m);
	warn(warnings, "the spool had no readable manifest (%s): a new one was made", jerr.text);
	return kt_manifest_new("ktcap");
}

int kt_pack(const char *spool, const char *out, const struct kt_pack_opts *opts,
	    struct kt_pack_result *res)
{
	struct kt_pack_opts o = opts ? *opts : (struct kt_pack_opts){ 0 };
	struct kt_pack_result dummy;
	struct pack_file *pf = NULL;
	struct archive *a = NULL;
	json_t *m = NULL, *warnings = json_array(), *files = json_array(), *streams = json_object();
	char **list = NULL, tmp[4096], *mtxt = NULL, full[8192];
	uint8_t *copybuf = NULL;
	size_t n = 0, skipped = 0;
	struct stat st;
	int err, r;

	if (!res)
		res = &dummy;
	memset(res, 0, sizeof(*res));
	if (o.compress == KT_COMPRESS_AUTO && (err = kt_compress_from_name(out, &o.compress)))
		goto out;
	if (stat(spool, &st) || !S_ISDIR(st.st_mode)) {
		err = kt_err_set(-ENOTDIR, "spool '%s' is not a directory", spool);
		goto out;
	}
	if ((err = kt_layout_list(spool, &list, &n, &skipped)))
		goto out;
	if (skipped)
		warn(warnings, "skipped %zu unfinished temporary file(s)", skipped);
	m = load_draft(spool, warnings);
	if (!m || (err = kt_manifest_check(m))) {
		err = m ? kt_err_wrap(err, "spool '%s'", spool) : kt_err_set(-ENOMEM, "out of memory");
		goto out;
	}
	if (!(pf = calloc(n + 1, sizeof(*pf))) || !(copybuf = malloc(COPY_BUF))) {
		err = kt_err_set(-ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char *stream;
		size_t slen;
		enum kt_entry_kind kind = kt_layout_kind(list[i], &stream, &slen);
		json_t *info = json_object();
		char name[128], hex[65];

		pf[i].path = list[i];
		snprintf(full, sizeof(full), "%s/%s", spool, list[i]);
		if (kind == KT_ENTRY_MANIFEST || stat(full, &st)) {
			pf[i].skip = true;
			json_decref(info);
			continue;
		}
		pf[i].keep = (uint64_t)st.st_size;
		snprintf(name, sizeof(name), "%.*s", (int)slen, stream ? stream : "");
		switch (kind) {
		case KT_ENTRY_RECORDS:
			err = scan_records(full, list[i], name, &pf[i], info, streams, warnings, res);
			break;
		case KT_ENTRY_JSON:
		case KT_ENTRY_JSONL:
			err = scan_json(full, list[i], kind == KT_ENTRY_JSONL, pf[i].keep, &pf[i], warnings);
			break;
		case KT_ENTRY_PCAPNG:
			err = scan_pcap(full, list[i], pf[i].keep, &pf[i], info, warnings);
			break;
		default:
			break;
		}
		if (!err && !pf[i].skip)
			err = hash_file(full, pf[i].keep, hex);
		if (err) {
			json_decref(info);
			goto out;
		}
		if (pf[i].skip) {
			json_decref(info);
			continue;
		}
		json_object_set_new(info, "path", json_string(list[i]));
		json_object_set_new(info, "size", json_integer((json_int_t)pf[i].keep));
		json_object_set_new(info, "sha256", json_string(hex));
		json_array_append_new(files, info);
		res->files++;
		res->bytes_in += pf[i].keep;
	}

	json_object_set(m, "files", files);
	json_object_set(m, "streams", streams);
	if (!json_is_true(json_object_get(m, "complete")))
		json_object_set_new(m, "complete", json_boolean(o.finished));
	if (!o.finished)
		warn(warnings, "the recording did not finish: packed from its spool as it was");
	if (json_array_size(warnings)) {
		json_t *old = json_object_get(m, "warnings");

		if (json_is_array(old))
			json_array_extend(old, warnings);
		else
			json_object_set(m, "warnings", warnings);
	}
	{
		char ts[40];

		json_object_set_new(m, "packed", json_pack("{s:s, s:s}", "at",
			kt_time_str(kt_now_ns(), ts, sizeof(ts)), "by", "ktcap " KT_VERSION));
	}
	if (!(mtxt = json_dumps(m, JSON_INDENT(2) | JSON_SORT_KEYS))) {
		err = kt_err_set(-ENOMEM, "cannot serialize the manifest");
		goto out;
	}

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.partial", out) >= sizeof(tmp)) {
		err = kt_err_set(-ENAMETOOLONG, "output name too long");
		goto out;
	}
	a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	switch (o.compress) {
	case KT_COMPRESS_ZSTD:
		r = archive_write_add_filter_zstd(a);
		if (r == ARCHIVE_OK && o.level) {
			char lv[32];

			snprintf(lv, sizeof(lv), "%d", o.level);
			r = archive_write_set_filter_option(a, "zstd", "compression-level", lv);
		}
		break;
	case KT_COMPRESS_GZIP:
		r = archive_write_add_filter_gzip(a);
		break;
	default:
		r = archive_write_add_filter_none(a);
	}
	if (r != ARCHIVE_OK || archive_write_open_filename(a, tmp) != ARCHIVE_OK) {
		err = kt_err_set(-EIO, "cannot create '%s': %s", tmp, archive_error_string(a));
		goto out;
	}
	if ((err = add_entry(a, "manifest.json", strlen(mtxt), time(NULL))) ||
	    (err = write_data(a, "manifest.json", mtxt, strlen(mtxt))))
		goto out_unlink;
	for (size_t i = 0; i < n; i++) {
		if (pf[i].skip)
			continue;
		snprintf(full, sizeof(full), "%s/%s", spool, list[i]);
		if ((err = copy_file(a, full, list[i], pf[i].keep, copybuf, COPY_BUF)))
			goto out_unlink;
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		err = kt_err_set(-EIO, "cannot finish '%s': %s", tmp, archive_error_string(a));
		goto out_unlink;
	}
	{
		int fd = open(tmp, O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			fsync(fd);
			close(fd);
		}
	}
	if (rename(tmp, out)) {
		err = kt_err_set(-errno, "cannot rename '%s' to '%s': %s", tmp, out, strerror(errno));
		goto out_unlink;
	}
	if (!stat(out, &st))
		res->bytes_out = (uint64_t)st.st_size;
	goto out;
out_unlink:
	unlink(tmp);
out:
	if (a)
		archive_write_free(a);
	free(mtxt);
	free(copybuf);
	free(pf);
	kt_layout_free(list);
	json_decref(m);
	json_decref(warnings);
	json_decref(files);
	json_decref(streams);
	return err;
}
