/* bundle_read.c - streaming, validating bundle reader (bundle.h).
 *
 * Archives go through libarchive (tar; gzip, zstd or no compression, told
 * apart by content); directories through kt_layout_list(). Either way the
 * caller sees the same entries in the same order, each checked before its
 * data is handed out and hashed as it is read (record segments opened
 * with kt_bundle_open_stream() excepted: their block CRCs stand in).
 */
#include "bundle.h"
#include "error.h"
#include "layout.h"
#include "manifest.h"
#include "spool.h"
#include "stream.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* An archive that yields more than this many times its size, past
 * BOMB_FLOOR bytes, is refused as a decompression bomb: real bundles hold
 * compressed record blocks and do not come near. What it yields counts the
 * holes of sparse entries too, which libarchive makes up without reading
 * anything, so a plain tar can be a bomb as well. */
#define BOMB_RATIO 200
#define BOMB_FLOOR (256ull << 20)

struct kt_bundle {
	char *path;			/* file or directory; NULL for memory */
	const void *mem;
	size_t memlen;
	bool is_dir;
	struct archive *a;
	char **list;			/* directory mode */
	size_t nlist, idx;
	int fd;
	json_t *manifest;
	json_t *files;			/* path -> manifest file object */
	json_t *seen;			/* path -> true */
	json_t *warnings;
	bool spool;
	uint64_t nentries;
	uint64_t data_out;		/* entry bytes handed out, for bomb_check */
	/* the current entry */
	struct kt_entry cur;
	char *cur_path;
	char *cur_stream;
	uint64_t cur_read;
	bool cur_open, cur_done;
	bool cur_crcs;			/* block CRCs stand in for the hash */
	struct sha256_ctx sha;
};

static int archive_fail(struct kt_bundle *b, int r, const char *what)
{
	const char *msg = b->a ? archive_error_string(b->a) : NULL;
	int64_t at = b->a ? archive_filter_bytes(b->a, -1) : 0;

	(void)r;
	if (at < 0)	/* libarchive knows no position after a failed open */
		return kt_err_set(-EPROTO, "%s: %s", what, msg ? msg : "unreadable archive");
	return kt_err_set(-EPROTO, "%s: %s (at byte %" PRId64 " of the archive)", what,
			  msg ? msg : "unreadable archive", at);
}

static int bomb_check(struct kt_bundle *b)
{
	uint64_t in = (uint64_t)archive_filter_bytes(b->a, -1);
	uint64_t out = (uint64_t)archive_filter_bytes(b->a, 0);

	if (b->data_out > out)
		out = b->data_out;
	if (out > BOMB_FLOOR && out / BOMB_RATIO > in)
		return kt_err_set(-E2BIG, "archive expands %" PRIu64 " bytes into more than %"
				  PRIu64 ": refused as a decompression bomb", in, out);
	return 0;
}

static int open_archive(struct kt_bundle *b)
{
	int r;

	b->a = archive_read_new();
	if (!b->a)
		return kt_err_set(-ENOMEM, "out of memory");
	archive_read_support_filter_gzip(b->a);
	archive_read_support_filter_zstd(b->a);
	archive_read_support_filter_xz(b->a);
	archive_read_support_format_tar(b->a);
	if (b->mem)
		r = archive_read_open_memory(b->a, b->mem, b->memlen);
	else
		r = archive_read_open_filename(b->a, b->path, 1 << 16);
	if (r != ARCHIVE_OK)
		return archive_fail(b, r, "not a readable bundle archive");
	return 0;
}

/* Strip one leading "./": re-tarring a bundle with `tar -C dir .` adds it. */
static const char *entry_name(const char *name)
{
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	return name;
}

static void close_source(struct kt_bundle *b)
{
	if (b->a) {
		archive_read_free(b->a);
		b->a = NULL;
	}
	if (b->fd >= 0) {
		close(b->fd);
		b->fd = -1;
	}
}

/* Raw next entry: name and size, no checks beyond the entry type. Returns
 * 1, 0 at the end, or < 0. Directory entries are skipped. */
static int raw_next(struct kt_bundle *b, const char **name, uint64_t *size)
{
	if (b->is_dir) {
		char full[8192];
		struct stat st;

		if (b->fd >= 0) {
			close(b->fd);
			b->fd = -1;
		}
		if (b->idx >= b->nlist)
			return 0;
		*name = b->list[b->idx++];
		snprintf(full, sizeof(full), "%s/%s", b->path, *name);
		b->fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (b->fd < 0)
			return kt_err_set(-errno, "cannot open '%s': %s", full, strerror(errno));
		if (fstat(b->fd, &st) || !S_ISREG(st.st_mode))
			return kt_err_set(-EPERM, "'%s' is not a regular file", *name);
		*size = (uint64_t)st.st_size;
		return 1;
	}
	for (;;) {
		struct archive_entry *e;
		int r = archive_read_next_header(b->a, &e);
		const char *n;

		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_WARN)
			return archive_fail(b, r, "cannot read the next archive entry");
		if ((r = bomb_check(b)))	/* headers alone can be the bomb */
			return r;
		n = archive_entry_pathname(e);
		if (!n)
			return kt_err_set(-EPROTO, "archive entry without a name");
		if (archive_entry_hardlink(e))
			return kt_err_set(-EPERM, "entry '%s' is a hard link: bundles hold "
					  "regular files only", n);
		switch (archive_entry_filetype(e)) {
		case AE_IFREG:
			break;
		case AE_IFDIR:
			continue;	/* nothing is extracted: directories carry nothing */
		case AE_IFLNK:
			return kt_err_set(-EPERM, "entry '%s' is a symbolic link: bundles "
					  "hold regular files only", n);
		default:
			return kt_err_set(-EPERM, "entry '%s' is a device, fifo or socket: "
					  "bundles hold regular files only", n);
		}
		if (!archive_entry_size_is_set(e) || archive_entry_size(e) < 0)
			return kt_err_set(-EPROTO, "entry '%s' has no size", n);
		*name = entry_name(n);
		*size = (uint64_t)archive_entry_size(e);
		return 1;
	}
}

static ssize_t raw_read(struct kt_bundle *b, void *buf, size_t len)
{
	ssize_t n;

	if (b->is_dir) {
		do
			n = read(b->fd, buf, len);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return kt_err_set(-errno, "cannot read '%s': %s", b->cur_path, strerror(errno));
		return n;
	}
	n = archive_read_data(b->a, buf, len);
	if (n < 0)
		return archive_fail(b, (int)n, "cannot read entry data");
	b->data_out += (uint64_t)n;
	return bomb_check(b) ? -E2BIG : n;
}

static int load_manifest(struct kt_bundle *b)
{
	const char *name;
	uint64_t size;
	char *buf = NULL;
	size_t len = 0;
	json_error_t jerr;
	json_t *files;
	int r;

	r = raw_next(b, &name, &size);
	if (r < 0)
		return r;
	if (r == 0)
		return kt_err_set(-EPROTO, "empty bundle: no manifest.json");
	if (strcmp(name, "manifest.json"))
		return kt_err_set(-EPROTO, "first entry is '%s', not manifest.json: "
				  "not a ktcap bundle", name);
	if (size > KT_MANIFEST_MAX)
		return kt_err_set(-E2BIG, "manifest.json is %" PRIu64 " bytes, over the %u limit",
				  size, KT_MANIFEST_MAX);
	if (!(buf = malloc(size + 1)))
		return kt_err_set(-ENOMEM, "out of memory");
	while (len < size) {
		ssize_t n = raw_read(b, buf + len, size - len);

		if (n < 0) {
			free(buf);
			return kt_err_wrap((int)n, "manifest.json");
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len != size) {
		free(buf);
		return kt_err_set(-EPROTO, "manifest.json truncated at byte %zu of %" PRIu64, len, size);
	}
	b->manifest = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	free(buf);
	if (!b->manifest)
		return kt_err_set(-EPROTO, "manifest.json: %s at line %d", jerr.text, jerr.line);
	if ((r = kt_manifest_check(b->manifest)))
		return kt_err_wrap(r, "manifest.json");
	files = json_object_get(b->manifest, "files");
	b->spool = b->is_dir && !files;
	if (!b->spool && !json_is_array(files))
		return kt_err_set(-EPROTO, "manifest.json: 'files' is missing or not a list");
	if (json_array_size(files) > KT_ENTRIES_MAX)
		return kt_err_set(-E2BIG, "manifest.json lists more than %u files", KT_ENTRIES_MAX);
	for (size_t i = 0; i < json_array_size(files); i++) {
		json_t *f = json_array_get(files, i);
		const char *p = json_string_value(json_object_get(f, "path"));
		const char *h = json_string_value(json_object_get(f, "sha256"));

		if (!p || (r = kt_path_check(p)))
			return kt_err_set(-EPROTO, "manifest.json: files[%zu] has a bad path", i);
		if (!json_is_integer(json_object_get(f, "size")) ||
		    json_integer_value(json_object_get(f, "size")) < 0 ||
		    !h || strlen(h) != 64)
			return kt_err_set(-EPROTO, "manifest.json: '%s' lacks a size or sha256", p);
		if (json_object_get(b->files, p))
			return kt_err_set(-EPROTO, "manifest.json lists '%s' twice", p);
		json_object_set(b->files, p, f);
	}
	return 0;
}

static int bundle_start(struct kt_bundle *b)
{
	int err;

	b->nentries = 0;
	b->data_out = 0;
	json_object_clear(b->seen);
	if (b->is_dir) {
		kt_layout_free(b->list);
		b->list = NULL;
		if ((err = kt_layout_list(b->path, &b->list, &b->nlist, NULL)))
			return err;
		b->idx = 0;
	} else if ((err = open_archive(b))) {
		return err;
	}
	if (!b->manifest)
		return load_manifest(b);
	/* a rewind: skip the manifest, already loaded */
	{
		const char *name;
		uint64_t size;
		int r = raw_next(b, &name, &size);

		if (r <= 0)
			return r ? r : kt_err_set(-EPROTO, "bundle changed while being read");
	}
	return 0;
}

static int bundle_new(struct kt_bundle **out, const char *path, const void *mem, size_t len)
{
	struct kt_bundle *b = calloc(1, sizeof(*b));
	struct stat st;
	int err;

	*out = NULL;
	if (!b)
		return kt_err_set(-ENOMEM, "out of memory");
	b->fd = -1;
	b->mem = mem;
	b->memlen = len;
	b->files = json_object();
	b->seen = json_object();
	b->warnings = json_array();
	if (path) {
		if (stat(path, &st)) {
			err = kt_err_set(-errno, "cannot open bundle '%s': %s", path, strerror(errno));
			goto fail;
		}
		b->is_dir = S_ISDIR(st.st_mode);
		if (!(b->path = strdup(path))) {
			err = kt_err_set(-ENOMEM, "out of memory");
			goto fail;
		}
	}
	if ((err = bundle_start(b))) {
		if (path)
			kt_err_wrap(err, "cannot open bundle '%s'", path);
		goto fail;
	}
	*out = b;
	return 0;
fail:
	kt_bundle_close(b);
	return err;
}

int kt_bundle_open(struct kt_bundle **out, const char *path)
{
	return bundle_new(out, path, NULL, 0);
}

int kt_bundle_open_memory(struct kt_bundle **out, const void *buf, size_t len)
{
	return bundle_new(out, NULL, buf, len);
}

const json_t *kt_bundle_manifest(const struct kt_bundle *b) { return b->manifest; }
bool kt_bundle_is_spool(const struct kt_bundle *b) { return b->spool; }
const json_t *kt_bundle_warnings(const struct kt_bundle *b) { return b->warnings; }

static int finish_entry(struct kt_bundle *b)
{
	uint8_t digest[SHA256_DIGEST_SIZE];
	char hex[2 * SHA256_DIGEST_SIZE + 1];
	const char *want;

	b->cur_done = true;
	if (!b->cur.info)
		return 0;
	if (b->cur_read != (uint64_t)json_integer_value(json_object_get(b->cur.info, "size")))
		return kt_err_set(-EPROTO, "entry '%s' holds %" PRIu64 " bytes, the manifest says %"
				  JSON_INTEGER_FORMAT, b->cur_path, b->cur_read,
				  json_integer_value(json_object_get(b->cur.info, "size")));
	if (b->cur_crcs)
		return 0;
	sha256_digest(&b->sha, sizeof(digest), digest);
	for (size_t i = 0; i < sizeof(digest); i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	want = json_string_value(json_object_get(b->cur.info, "sha256"));
	if (!want || strcasecmp(want, hex))
		return kt_err_set(-EPROTO, "entry '%s': sha256 mismatch (content changed "
				  "since it was packed)", b->cur_path);
	return 0;
}

int kt_bundle_next(struct kt_bundle *b, const struct kt_entry **out)
{
	const char *name, *stream;
	size_t slen;
	uint64_t size;
	int r;

	*out = NULL;
	r = raw_next(b, &name, &size);
	if (r <= 0)
		return r;
	if (++b->nentries > KT_ENTRIES_MAX)
		return kt_err_set(-E2BIG, "more than %u entries", KT_ENTRIES_MAX);
	if ((r = kt_path_check(name)))
		return kt_err_wrap(r, "unsafe entry name");
	if (json_object_get(b->seen, name))
		return kt_err_set(-EPROTO, "entry '%s' appears twice", name);
	json_object_set_new(b->seen, name, json_true());
	free(b->cur_path);
	free(b->cur_stream);
	b->cur_stream = NULL;
	if (!(b->cur_path = strdup(name)))
		return kt_err_set(-ENOMEM, "out of memory");
	memset(&b->cur, 0, sizeof(b->cur));
	b->cur.path = b->cur_path;
	b->cur.size = size;
	b->cur.kind = kt_layout_kind(b->cur_path, &stream, &slen);
	if (b->cur.kind == KT_ENTRY_MANIFEST)
		return kt_err_set(-EPROTO, "entry 'manifest.json' appears twice");
	if (stream) {
		if (!(b->cur_stream = strndup(stream, slen)))
			return kt_err_set(-ENOMEM, "out of memory");
		b->cur.stream = b->cur_stream;
	}
	b->cur.info = json_object_get(b->files, name);
	if (!b->spool) {
		json_int_t want;

		if (!b->cur.info)
			return kt_err_set(-EPROTO, "entry '%s' is not listed in the manifest", name);
		want = json_integer_value(json_object_get(b->cur.info, "size"));
		if ((uint64_t)want != size)
			return kt_err_set(-EPROTO, "entry '%s' is %" PRIu64 " bytes in the archive, "
					  "the manifest says %" JSON_INTEGER_FORMAT, name, size, want);
	}
	b->cur_read = 0;
	b->cur_open = true;
	b->cur_done = false;
	b->cur_crcs = false;
	sha256_init(&b->sha);
	*out = &b->cur;
	return 1;
}

ssize_t kt_bundle_read(void *bundle, void *buf, size_t len)
{
	struct kt_bundle *b = bundle;
	ssize_t n;
	int err;

	if (!b->cur_open || b->cur_done)
		return 0;
	if (len > b->cur.size - b->cur_read + 1)
		len = (size_t)(b->cur.size - b->cur_read + 1);
	n = raw_read(b, buf, len);
	if (n < 0)
		return kt_err_wrap((int)n, "entry '%s' at byte %" PRIu64, b->cur_path, b->cur_read);
	if (b->cur_read + (uint64_t)n > b->cur.size)
		return kt_err_set(-EPROTO, "entry '%s' holds more than its declared %" PRIu64
				  " bytes", b->cur_path, b->cur.size);
	if (!b->cur_crcs)
		sha256_update(&b->sha, (size_t)n, buf);
	b->cur_read += (uint64_t)n;
	if (n == 0) {
		if (b->cur_read < b->cur.size)
			return kt_err_set(-EPROTO, "entry '%s' truncated at byte %" PRIu64 " of %"
					  PRIu64, b->cur_path, b->cur_read, b->cur.size);
		if ((err = finish_entry(b)))
			return err;
	}
	return n;
}

int kt_bundle_open_stream(struct kt_bundle *b, const struct kt_schema *want,
			  struct kt_stream_reader **out)
{
	*out = NULL;
	if (!b->cur_open || b->cur_done || b->cur_read || b->cur.kind != KT_ENTRY_RECORDS)
		return kt_err_set(-EINVAL, "'%s' is not an unread record segment",
				  b->cur_path ? b->cur_path : "(no entry)");
	b->cur_crcs = true;
	return kt_stream_reader_open(out, kt_bundle_read, b, want, b->cur_path);
}

int kt_bundle_read_all(struct kt_bundle *b, size_t max, char **out, size_t *len)
{
	char *buf;
	size_t got = 0;

	*out = NULL;
	*len = 0;
	if (b->cur.size > max)
		return kt_err_set(-E2BIG, "entry '%s' is %" PRIu64 " bytes, over the %zu limit",
				  b->cur_path, b->cur.size, max);
	if (!(buf = malloc((size_t)b->cur.size + 1)))
		return kt_err_set(-ENOMEM, "out of memory");
	for (;;) {
		ssize_t n = kt_bundle_read(b, buf + got, (size_t)b->cur.size - got);

		if (n < 0) {
			free(buf);
			return (int)n;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

int kt_bundle_rewind(struct kt_bundle *b)
{
	close_source(b);
	b->cur_open = false;
	return bundle_start(b);
}

const char *kt_bundle_missing(const struct kt_bundle *b)
{
	const char *key;
	json_t *v;

	json_object_foreach(b->files, key, v)
		if (!json_object_get(b->seen, key))
			return key;
	return NULL;
}

void kt_bundle_close(struct kt_bundle *b)
{
	if (!b)
		return;
	close_source(b);
	kt_layout_free(b->list);
	json_decref(b->manifest);
	json_decref(b->files);
	json_decref(b->seen);
	json_decref(b->warnings);
	free(b->cur_path);
	free(b->cur_stream);
	free(b->path);
	free(b);
}
