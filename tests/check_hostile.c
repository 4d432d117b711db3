/* check_hostile.c - bundles built to hurt the reader (issue 2, "Hostile
 * input"). Each test crafts one archive in its own temp dir - with
 * libarchive's write API, patching raw tar headers where libarchive will not
 * write the lie - and expects kt_bundle_open() + kt_verify() to refuse it with
 * a negative errno and a message that says what is wrong, without crashing
 * and without writing anything anywhere. Good bundles made the same way
 * verify, so each failure is the lie's doing and not the crafting's.
 */
#include "bundle.h"
#include "error.h"
#include "manifest.h"
#include "pack.h"
#include "records.h"
#include "spool.h"
#include "stream.h"
#include "verify.h"

#include <archive.h>
#include <archive_entry.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

/* ---- scratch directory, one per test -------------------------------------- */

static char tmp[256];

static void setup(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmp, sizeof(tmp), "%s/kt-hostile-XXXXXX", base && *base ? base : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st; (void)flag; (void)f;
	return remove(p);
}

static void teardown(void)
{
	if (getenv("KT_HOSTILE_KEEP"))	/* to look at the bundles by hand */
		fprintf(stderr, "kept '%s'\n", tmp);
	else
		nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *at(const char *name)
{
	static char buf[4][512];
	static int i;
	char *p = buf[i++ & 3];

	snprintf(p, sizeof(buf[0]), "%s/%s", tmp, name);
	return p;
}

/* ---- files in memory ---------------------------------------------------- */

struct blob {
	uint8_t *p;
	size_t len;
};

static struct blob slurp(const char *path)
{
	struct blob b = { 0 };
	struct stat st;
	FILE *f = fopen(path, "rb");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fstat(fileno(f), &st), 0);
	b.len = (size_t)st.st_size;
	b.p = malloc(b.len + 1);
	ck_assert_ptr_nonnull(b.p);
	ck_assert_uint_eq(fread(b.p, 1, b.len, f), b.len);
	fclose(f);
	return b;
}

static void spit(const char *path, const void *p, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(p, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static void sha256_hex(const void *p, size_t len, char hex[65])
{
	struct sha256_ctx c;
	uint8_t d[SHA256_DIGEST_SIZE];

	sha256_init(&c);
	sha256_update(&c, len, p);
	sha256_digest(&c, sizeof(d), d);
	for (size_t i = 0; i < sizeof(d); i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

/* ---- record segments ---------------------------------------------------- */

#define SEG_BLOCK 10	/* records per block: a 35-record segment has 4 blocks */

static void fill_flow(struct kt_flow *f, unsigned i)
{
	memset(f, 0, sizeof(*f));
	f->ts = 1764057600000000000ull + i * 1000003ull;
	f->kind = (uint8_t)(i % 3);
	f->proto = 6;
	f->role = KT_ROLE_CLIENT;
	kt_ip_from_v4(f->saddr, htonl(0xc6120102u));
	kt_ip_from_v4(f->daddr, htonl(0xc6120200u + i % 7));
	f->sport = (uint16_t)(40000 + i);
	f->dport = 8080;
	f->sock_id = 0xffff888000000000ull + i;
	f->pid = 1000 + i % 3;
	f->comm = (struct kt_str){ "curl", 4 };
	f->bytes_sent = 100ull * i;
}

/* A flow segment of n records, SEG_BLOCK per block, as bytes; blocks
 * compressed at zstd 'level', or stored as they are (0). */
static struct blob make_segment_level(unsigned n, int level)
{
	struct kt_writer_opts o = { .block_records = SEG_BLOCK, .zstd_level = level };
	struct kt_stream_writer *w = NULL;
	const char *path = at("seg.ktr");
	struct kt_flow f;
	struct blob b;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(kt_stream_writer_open(&w, fd, &kt_flow_schema, &o), 0);
	for (unsigned i = 0; i < n; i++) {
		fill_flow(&f, i);
		ck_assert_int_eq(kt_stream_writer_append(w, &f), 0);
	}
	ck_assert_int_eq(kt_stream_writer_close(w), 0);
	b = slurp(path);
	unlink(path);
	return b;
}

static struct blob make_segment(unsigned n)
{
	return make_segment_level(n, 3);
}

/* A kt_read_fn over a struct { p, len, off } in memory. */
static ssize_t seg_read(void *ctx, void *buf, size_t len)
{
	struct { const uint8_t *p; size_t len, off; } *m = ctx;
	size_t n = m->len - m->off < len ? m->len - m->off : len;

	memcpy(buf, m->p + m->off, n);
	m->off += n;
	return (ssize_t)n;
}

/* Offset of block k in a segment, walking the declared lengths. */
static size_t block_at(const struct blob *seg, unsigned k)
{
	size_t off = 12 + (size_t)(seg->p[8] | seg->p[9] << 8 | seg->p[10] << 16 |
				   (uint32_t)seg->p[11] << 24) + 4;

	for (unsigned i = 0; i < k; i++) {
		const uint8_t *h = seg->p + off;

		ck_assert_uint_le(off + KT_BLOCK_HDR_LEN, seg->len);
		ck_assert(!memcmp(h, "KTBK", 4));
		off += KT_BLOCK_HDR_LEN + (h[12] | h[13] << 8 | h[14] << 16 | (uint32_t)h[15] << 24);
	}
	ck_assert_uint_le(off + KT_BLOCK_HDR_LEN, seg->len);
	ck_assert(!memcmp(seg->p + off, "KTBK", 4));
	return off;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Make block k's checksum agree with its header and payload again, so the
 * lie planted in it is what the reader has to catch. */
static void reseal_block(struct blob *seg, size_t off)
{
	uint8_t *h = seg->p + off;
	uint32_t plen = h[12] | h[13] << 8 | h[14] << 16 | (uint32_t)h[15] << 24;
	size_t have = seg->len - off - KT_BLOCK_HDR_LEN;

	put_le32(h + 40, (uint32_t)crc32(crc32(0, h, 40), h + KT_BLOCK_HDR_LEN,
					 (uInt)(plen < have ? plen : have)));
}

/* ---- crafting archives -------------------------------------------------- */

enum { NONE, ZSTD, GZIP };

struct tent {
	const char *name;
	const void *data;
	size_t len;
	unsigned type;		/* AE_IF*; 0 = regular */
	const char *link;	/* symlink target or hard link source */
	bool unlisted;		/* leave out of the manifest */
	int64_t records;	/* > 0: "records" in the manifest */
};

/* A manifest listing the regular entries with their true size and sha256. */
static json_t *manifest_for(const struct tent *e, size_t n)
{
	json_t *m = kt_manifest_new("check_hostile"), *files = json_array();

	ck_assert_ptr_nonnull(m);
	json_object_set_new(m, "complete", json_true());
	for (size_t i = 0; i < n; i++) {
		char hex[65];
		json_t *f;

		if (e[i].unlisted || (e[i].type && e[i].type != AE_IFREG) || e[i].link)
			continue;
		sha256_hex(e[i].data, e[i].len, hex);
		f = json_pack("{s:s, s:I, s:s}", "path", e[i].name, "size",
			      (json_int_t)e[i].len, "sha256", hex);
		if (e[i].records > 0)
			json_object_set_new(f, "records", json_integer(e[i].records));
		json_array_append_new(files, f);
	}
	json_object_set_new(m, "files", files);
	return m;
}

static void add(struct archive *a, const char *name, unsigned type, const char *link,
		int64_t size, const void *data, size_t len)
{
	struct archive_entry *ae = archive_entry_new();

	archive_entry_set_pathname(ae, name);
	archive_entry_set_filetype(ae, type ? type : AE_IFREG);
	archive_entry_set_perm(ae, 0644);
	archive_entry_set_mtime(ae, 1764057600, 0);
	if (type == AE_IFLNK)
		archive_entry_set_symlink(ae, link);
	else if (link)
		archive_entry_set_hardlink(ae, link);
	if (type == AE_IFCHR)
		archive_entry_set_rdev(ae, makedev(1, 3));
	if (!type || type == AE_IFREG)
		archive_entry_set_size(ae, size);
	ck_assert_msg(archive_write_header(a, ae) == ARCHIVE_OK, "%s: %s", name,
		      archive_error_string(a));
	if (len)
		ck_assert_int_eq(archive_write_data(a, data, len), (la_ssize_t)len);
	archive_entry_free(ae);
}

/* Write a ustar archive: 'manifest' (text; NULL: none) first, then e[]. */
static void write_tar(const char *path, int filter, const char *manifest,
		      const struct tent *e, size_t n)
{
	struct archive *a = archive_write_new();

	archive_write_set_format_ustar(a);
	if (filter == ZSTD)
		archive_write_add_filter_zstd(a);
	else if (filter == GZIP)
		archive_write_add_filter_gzip(a);
	ck_assert_int_eq(archive_write_open_filename(a, path), ARCHIVE_OK);
	if (manifest)
		add(a, "manifest.json", 0, NULL, (int64_t)strlen(manifest), manifest,
		    strlen(manifest));
	for (size_t i = 0; i < n; i++)
		add(a, e[i].name, e[i].type, e[i].link, (int64_t)e[i].len, e[i].data, e[i].len);
	ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

/* The usual case: a manifest made from the entries, then the entries. */
static void write_bundle(const char *path, int filter, const struct tent *e, size_t n)
{
	json_t *m = manifest_for(e, n);
	char *txt = json_dumps(m, JSON_INDENT(2));

	write_tar(path, filter, txt, e, n);
	free(txt);
	json_decref(m);
}

/* Find the ustar header of entry 'name' in a plain tar. */
static size_t tar_header(const struct blob *t, const char *name)
{
	for (size_t off = 0; off + 512 <= t->len; off += 512)
		if (!strncmp((const char *)t->p + off, name, 100) && !memcmp(t->p + off + 257, "ustar", 5))
			return off;
	ck_abort_msg("no tar header for '%s'", name);
	return 0;
}

/* Store v in the size field as GNU base-256 (what tar uses past 8 GiB) and
 * fix the header checksum, so only the size lies. */
static void tar_patch_size(struct blob *t, size_t hdr, uint64_t v)
{
	uint8_t *h = t->p + hdr;
	unsigned sum = 0;

	memset(h + 124, 0, 12);
	h[124] = 0x80;
	for (int i = 11; i >= 4 && v; i--, v >>= 8)
		h[124 + i] = (uint8_t)v;
	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
}

/* ---- expectations ------------------------------------------------------- */

/* Open and verify; returns the error (0 when the bundle is valid) and leaves
 * the message in kt_err_msg(). */
static int open_verify(const char *path, struct kt_verify_stats *st)
{
	struct kt_verify_stats dummy;
	struct kt_bundle *b = NULL;
	int err;

	kt_err_clear();
	err = kt_bundle_open(&b, path);
	if (!err) {
		ck_assert_ptr_nonnull(b);
		err = kt_verify(b, st ? st : &dummy, NULL, NULL);
	} else {
		ck_assert_ptr_null(b);
	}
	kt_bundle_close(b);
	return err;
}

/* ---- the command line on the same files ----------------------------------- */

/* build/ktana: from ctest's KT_BUILD_DIR, else beside build/tests/. */
static const char *ktana(void)
{
	static char path[4096];
	const char *dir = getenv("KT_BUILD_DIR");
	char self[4000];
	ssize_t n;

	if (dir && *dir) {
		snprintf(path, sizeof(path), "%s/ktana", dir);
		return path;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	ck_assert_int_gt(n, 0);
	self[n] = '\0';
	*strrchr(self, '/') = '\0';	/* build/tests */
	*strrchr(self, '/') = '\0';	/* build */
	snprintf(path, sizeof(path), "%s/ktana", self);
	return path;
}

/* Run ktana with args; returns its wait status, stdout (up to 64 KiB, the
 * rest discarded) in out. stderr goes nowhere. */
static int run_ktana(const char *const *args, char *out, size_t outlen)
{
	char *argv[8] = { (char *)"ktana" };
	int fd[2], status;
	size_t got = 0;
	pid_t pid;

	for (int i = 0; args[i]; i++)
		argv[i + 1] = (char *)args[i];
	ck_assert_int_eq(pipe(fd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		int null = open("/dev/null", O_WRONLY);

		dup2(fd[1], 1);
		dup2(null, 2);
		close(fd[0]);
		execv(ktana(), argv);
		_exit(127);
	}
	close(fd[1]);
	for (;;) {
		char sink[4096];
		ssize_t n = got + 1 < outlen ? read(fd[0], out + got, outlen - 1 - got)
					     : read(fd[0], sink, sizeof(sink));

		if (n <= 0)
			break;
		if (got + 1 < outlen)
			got += (size_t)n;
	}
	out[got] = '\0';
	close(fd[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

/* `ktana verify --json` exits 1 with the same message; `ktana dump` exits
 * with a documented status (it reads the record streams only, so a lie
 * elsewhere can leave it at 0); neither dies of a signal. */
static void expect_cli_refused(const char *path, const char **subs)
{
	static char out[1 << 16];
	json_error_t jerr;
	json_t *j;
	const char *msg;
	int st;

	st = run_ktana((const char *[]){ "verify", "--json", path, NULL }, out, sizeof(out));
	ck_assert_msg(WIFEXITED(st), "ktana verify '%s' died of signal %d", path, WTERMSIG(st));
	ck_assert_msg(WEXITSTATUS(st) == 1, "ktana verify '%s' exited %d", path, WEXITSTATUS(st));
	j = json_loads(out, 0, &jerr);
	ck_assert_msg(j, "ktana verify --json '%s' printed no JSON: %s", path, out);
	ck_assert(json_is_false(json_object_get(j, "valid")));
	msg = json_string_value(json_object_get(j, "error"));
	ck_assert_ptr_nonnull(msg);
	for (; *subs; subs++)
		ck_assert_msg(strstr(msg, *subs), "ktana: \"%s\" lacks \"%s\"", msg, *subs);
	json_decref(j);

	st = run_ktana((const char *[]){ "dump", path, NULL }, out, sizeof(out));
	ck_assert_msg(WIFEXITED(st), "ktana dump '%s' died of signal %d", path, WTERMSIG(st));
	ck_assert_msg(WEXITSTATUS(st) <= 2, "ktana dump '%s' exited %d", path, WEXITSTATUS(st));
}

/* Expect 'path' to be refused with a message holding every given substring,
 * by the library and by the command line. */
#define expect_refused(path, ...) expect_refused_(path, true, (const char *[]){ __VA_ARGS__, NULL })
#define expect_refused_lib(path, ...) expect_refused_(path, false, (const char *[]){ __VA_ARGS__, NULL })
static int expect_refused_(const char *path, bool cli, const char **subs)
{
	int err = open_verify(path, NULL);
	const char *msg = kt_err_msg(err);

	if (getenv("KT_HOSTILE_SHOW"))	/* to read the messages by hand */
		fprintf(stderr, "%d: %s\n", err, msg);
	ck_assert_msg(err < 0, "'%s' was accepted", path);
	ck_assert_msg(err > -4096, "'%s': %d is not a negative errno", path, err);
	for (const char **sub = subs; *sub; sub++)
		ck_assert_msg(strstr(msg, *sub), "'%s': message \"%s\" lacks \"%s\"", path, msg, *sub);
	if (cli)
		expect_cli_refused(path, subs);
	return err;
}

static void expect_valid(const char *path, struct kt_verify_stats *st)
{
	static char out[1 << 16];
	int err = open_verify(path, st), status;
	json_t *j;

	ck_assert_msg(!err, "'%s' refused: %s", path, kt_err_msg(err));
	status = run_ktana((const char *[]){ "verify", "--json", path, NULL }, out, sizeof(out));
	ck_assert_msg(WIFEXITED(status) && !WEXITSTATUS(status), "ktana verify '%s': %s", path, out);
	ck_assert_ptr_nonnull(j = json_loads(out, 0, NULL));
	ck_assert(json_is_true(json_object_get(j, "valid")));
	json_decref(j);
}

/* ---- a real spool and bundles packed from it ------------------------------ */

static void make_spool(const char *dir, unsigned nflows)
{
	struct kt_spool_opts o = { .writer = { .block_records = SEG_BLOCK, .zstd_level = 3 } };
	struct kt_spool *sp = NULL;
	json_t *m = kt_manifest_new("check_hostile");
	struct kt_flow f;

	ck_assert_int_eq(kt_spool_create(&sp, dir, &o), 0);
	ck_assert_int_eq(kt_spool_save_manifest(sp, m), 0);
	for (unsigned i = 0; i < nflows; i++) {
		fill_flow(&f, i);
		ck_assert_int_eq(kt_spool_append(sp, &kt_flow_schema, &f), 0);
	}
	ck_assert_int_eq(kt_spool_write_file(sp, "host/facts.json", "{\"a\": 1}\n", 9), 0);
	ck_assert_int_eq(kt_spool_close(sp), 0);
	json_decref(m);
}

static void make_packed(const char *spool, const char *out)
{
	struct kt_pack_opts o = { .finished = true };

	if (access(spool, F_OK))
		make_spool(spool, 35);
	ck_assert_msg(!kt_pack(spool, out, &o, NULL), "pack: %s", kt_err_msg(-1));
}

/* A bundle with one flow segment and one JSON document, to lie inside. */
static struct tent good[2];
static struct blob good_seg;

static void good_entries(void)
{
	good_seg = make_segment(35);
	good[0] = (struct tent){ "host/facts.json", "{\"a\": 1}\n", 9 };
	good[1] = (struct tent){ "streams/flow/000001.ktr", good_seg.p, good_seg.len,
				 .records = 35 };
}

/* ---- the controls ------------------------------------------------------- */

START_TEST(test_good_bundles_verify)
{
	struct kt_verify_stats st;
	static const char *const names[] = { "b.tar.zst", "b.tar", "b.tar.gz" };

	for (size_t i = 0; i < 3; i++) {
		make_packed(at("spool"), at(names[i]));
		expect_valid(at(names[i]), &st);
		ck_assert_uint_eq(st.records, 35);
		ck_assert_uint_eq(st.blocks, 4);
		ck_assert_uint_eq(st.entries, 2);
	}
	good_entries();
	for (int filter = NONE; filter <= GZIP; filter++) {
		write_bundle(at("c.tar"), filter, good, 2);
		expect_valid(at("c.tar"), &st);
		ck_assert_uint_eq(st.records, 35);
		ck_assert_uint_eq(st.json_docs, 1);
	}
	free(good_seg.p);
}
END_TEST

/* ---- not an archive, truncated archives ------------------------------------ */

START_TEST(test_not_an_archive)
{
	uint8_t junk[4096];
	uint64_t x = 0x9e3779b97f4a7c15ull;

	for (size_t i = 0; i < sizeof(junk); i++) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		junk[i] = (uint8_t)x;
	}
	spit(at("junk.tar.zst"), junk, sizeof(junk));
	expect_refused(at("junk.tar.zst"), "not a readable bundle archive");
	spit(at("empty.tar"), "", 0);
	expect_refused(at("empty.tar"), "empty.tar");
	spit(at("text.tar"), "{\"format\": \"ktbundle\"}\n", 23);
	expect_refused(at("text.tar"), "not a readable bundle archive");
	expect_refused(at("nonexistent.tar"), "cannot open bundle", "No such file");
}
END_TEST

START_TEST(test_truncated_zstd)
{
	struct blob z;
	size_t cuts[6];

	make_packed(at("spool"), at("b.tar.zst"));
	z = slurp(at("b.tar.zst"));
	cuts[0] = 4;
	cuts[1] = 40;
	cuts[2] = z.len / 4;
	cuts[3] = z.len / 2;
	cuts[4] = z.len * 3 / 4;
	cuts[5] = z.len - 24;
	for (size_t i = 0; i < 6; i++) {
		spit(at("cut.tar.zst"), z.p, cuts[i]);
		/* libarchive words it "truncated" or "premature end": both say cut */
		int err = open_verify(at("cut.tar.zst"), NULL);
		const char *msg = kt_err_msg(err);

		if (getenv("KT_HOSTILE_SHOW"))
			fprintf(stderr, "%d: %s\n", err, msg);
		ck_assert_msg(err < 0, "cut at %zu of %zu accepted", cuts[i], z.len);
		ck_assert_msg(!strstr(msg, "byte -"), "cut at %zu: \"%s\"", cuts[i], msg);
		ck_assert_msg(strcasestr(msg, "truncated") || strcasestr(msg, "premature") ||
			      strstr(msg, "not a readable bundle archive"),
			      "cut at %zu: \"%s\"", cuts[i], msg);
	}
	free(z.p);
}
END_TEST

START_TEST(test_truncated_tar_mid_entry)
{
	struct blob t;
	size_t seg;

	make_packed(at("spool"), at("b.tar"));
	t = slurp(at("b.tar"));
	seg = tar_header(&t, "streams/flow/000001.ktr");
	/* inside the segment's data, past its header block */
	spit(at("cut.tar"), t.p, seg + 512 + 700);
	expect_refused(at("cut.tar"), "streams/flow/000001.ktr", "runcated");
	/* inside the manifest */
	spit(at("cut.tar"), t.p, 512 + 100);
	expect_refused(at("cut.tar"), "manifest.json", "runcated");
	/* inside a header */
	spit(at("cut.tar"), t.p, seg + 200);
	expect_refused(at("cut.tar"), "runcated");
	free(t.p);
}
END_TEST

/* ---- names and entry types ---------------------------------------------- */

/* Nothing may appear outside the bundle, whatever its names say: the reader
 * runs from an empty directory the names point around. */
static void expect_refused_nothing_written(const struct tent *e, const char *sub)
{
	char cwd[512];
	DIR *d;
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(mkdir(at("w"), 0700), 0);
	ck_assert_int_eq(mkdir(at("w/c"), 0700), 0);
	ck_assert_int_eq(chdir(at("w/c")), 0);
	write_bundle(at("t.tar"), NONE, e, 1);
	expect_refused(at("t.tar"), sub);
	ck_assert_int_eq(chdir(cwd), 0);
	ck_assert_int_ne(access(at("w/x"), F_OK), 0);
	ck_assert_int_ne(access(at("x"), F_OK), 0);
	ck_assert_int_ne(access(at("abs"), F_OK), 0);
	ck_assert_ptr_nonnull(d = opendir(at("w/c")));
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(rmdir(at("w/c")), 0);
	ck_assert_int_eq(rmdir(at("w")), 0);
	unlink(at("t.tar"));
}

START_TEST(test_path_traversal)
{
	char abs[512];

	expect_refused_nothing_written(&(struct tent){ "../x", "hi\n", 3, .unlisted = true },
				       "'..' component");
	expect_refused_nothing_written(&(struct tent){ "a/../../x", "hi\n", 3, .unlisted = true },
				       "'..' component");
	expect_refused_nothing_written(&(struct tent){ "./../x", "hi\n", 3, .unlisted = true },
				       "'..' component");
	snprintf(abs, sizeof(abs), "%s", at("abs"));
	expect_refused_nothing_written(&(struct tent){ abs, "hi\n", 3, .unlisted = true },
				       "absolute path");
	expect_refused_nothing_written(&(struct tent){ "host//x", "hi\n", 3, .unlisted = true },
				       "empty component");
}
END_TEST

START_TEST(test_links_and_devices)
{
	struct tent sym = { "host/passwd", .type = AE_IFLNK, .link = "/etc/passwd" };
	struct tent hard[2] = {
		{ "host/a.json", "{}", 2 },
		{ "host/b.json", .type = AE_IFREG, .link = "host/a.json" },
	};
	struct tent chr = { "host/null", .type = AE_IFCHR };
	struct tent fifo = { "host/fifo", .type = AE_IFIFO };

	write_bundle(at("t.tar"), NONE, &sym, 1);
	expect_refused(at("t.tar"), "'host/passwd' is a symbolic link");
	write_bundle(at("t.tar"), ZSTD, hard, 2);
	expect_refused(at("t.tar"), "'host/b.json' is a hard link");
	write_bundle(at("t.tar"), NONE, &chr, 1);
	expect_refused(at("t.tar"), "'host/null' is a device, fifo or socket");
	write_bundle(at("t.tar"), GZIP, &fifo, 1);
	expect_refused(at("t.tar"), "'host/fifo' is a device, fifo or socket");
}
END_TEST

START_TEST(test_duplicates)
{
	struct tent twice[2] = { { "host/a.json", "{}", 2 }, { "host/a.json", "{}", 2, .unlisted = true } };
	struct tent man = { "manifest.json", "{}", 2, .unlisted = true };

	write_bundle(at("t.tar"), NONE, twice, 2);
	expect_refused(at("t.tar"), "'host/a.json' appears twice");
	write_bundle(at("t.tar"), ZSTD, &man, 1);
	expect_refused(at("t.tar"), "'manifest.json' appears twice");
}
END_TEST

/* ---- sizes -------------------------------------------------------------- */

#define ABSURD 1000000000000000ull	/* 10^15 bytes */

START_TEST(test_absurd_size)
{
	struct tent e = { "host/a.json", "{}", 2 };
	json_t *m;
	char *txt;
	struct blob t;

	/* the manifest says 2, the header 10^15 */
	write_bundle(at("t.tar"), NONE, &e, 1);
	t = slurp(at("t.tar"));
	tar_patch_size(&t, tar_header(&t, "host/a.json"), ABSURD);
	spit(at("t.tar"), t.p, t.len);
	expect_refused(at("t.tar"), "'host/a.json' is 1000000000000000 bytes in the archive");
	free(t.p);

	/* both say 10^15: a document that size is not even allocated, and
	 * streamed data ends where the archive does */
	for (int i = 0; i < 2; i++) {
		e.name = i ? "host/a.bin" : "host/a.json";
		m = manifest_for(&e, 1);
		json_object_set_new(json_array_get(json_object_get(m, "files"), 0), "size",
				    json_integer((json_int_t)ABSURD));
		txt = json_dumps(m, 0);
		write_tar(at("t.tar"), NONE, txt, &e, 1);
		free(txt);
		json_decref(m);
		t = slurp(at("t.tar"));
		tar_patch_size(&t, tar_header(&t, e.name), ABSURD);
		spit(at("t.tar"), t.p, t.len);
		if (i)
			expect_refused(at("t.tar"), "'host/a.bin'", "runcated");
		else
			expect_refused(at("t.tar"), "'host/a.json' is 1000000000000000 bytes, over the");
		free(t.p);
	}
	e.name = "host/a.json";

	/* a manifest of 10^15 bytes is not even allocated */
	write_bundle(at("t.tar"), NONE, &e, 1);
	t = slurp(at("t.tar"));
	tar_patch_size(&t, tar_header(&t, "manifest.json"), ABSURD);
	spit(at("t.tar"), t.p, t.len);
	expect_refused(at("t.tar"), "manifest.json is 1000000000000000 bytes, over the");
	free(t.p);
}
END_TEST

/* 1 GiB of zeros in a few tens of KiB of zstd: libarchive writes the zeros
 * itself when an entry ends short of its declared size. */
START_TEST(test_decompression_bomb)
{
	const uint64_t size = 1ull << 30;
	struct archive *a = archive_write_new();
	json_t *m = kt_manifest_new("check_hostile");
	char *txt;
	struct stat st;

	json_object_set_new(m, "files", json_pack("[{s:s, s:I, s:s}]", "path", "host/zeros.bin",
		"size", (json_int_t)size, "sha256",
		"0000000000000000000000000000000000000000000000000000000000000000"));
	txt = json_dumps(m, 0);
	archive_write_set_format_ustar(a);
	archive_write_add_filter_zstd(a);
	archive_write_set_filter_option(a, "zstd", "compression-level", "1");
	ck_assert_int_eq(archive_write_open_filename(a, at("bomb.tar.zst")), ARCHIVE_OK);
	add(a, "manifest.json", 0, NULL, (int64_t)strlen(txt), txt, strlen(txt));
	add(a, "host/zeros.bin", 0, NULL, (int64_t)size, NULL, 0);
	ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	free(txt);
	json_decref(m);
	ck_assert_int_eq(stat(at("bomb.tar.zst"), &st), 0);
	ck_assert_int_lt(st.st_size, 1 << 20);

	ck_assert_int_eq(expect_refused(at("bomb.tar.zst"), "host/zeros.bin",
					"decompression bomb"), -E2BIG);
}
END_TEST

/* A sparse entry: 1 TiB of holes that libarchive makes up from a few hundred
 * bytes of pax headers, compressed or not. */
START_TEST(test_sparse_bomb)
{
	const int64_t size = 1ll << 40;

	for (int filter = NONE; filter <= ZSTD; filter++) {
		struct archive *a = archive_write_new();
		struct archive_entry *ae = archive_entry_new();
		json_t *m = kt_manifest_new("check_hostile");
		char *txt;

		json_object_set_new(m, "files", json_pack("[{s:s, s:I, s:s}]", "path", "host/holes.bin",
			"size", (json_int_t)size, "sha256",
			"0000000000000000000000000000000000000000000000000000000000000000"));
		txt = json_dumps(m, 0);
		archive_write_set_format_pax(a);
		if (filter == ZSTD)
			archive_write_add_filter_zstd(a);
		ck_assert_int_eq(archive_write_open_filename(a, at("sparse.tar")), ARCHIVE_OK);
		add(a, "manifest.json", 0, NULL, (int64_t)strlen(txt), txt, strlen(txt));
		archive_entry_set_pathname(ae, "host/holes.bin");
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_perm(ae, 0644);
		archive_entry_set_size(ae, size);
		archive_entry_sparse_add_entry(ae, size - 1, 1);
		ck_assert_int_eq(archive_write_header(a, ae), ARCHIVE_OK);
		ck_assert_int_eq(archive_write_data(a, "x", 1), 1);
		ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
		archive_write_free(a);
		archive_entry_free(ae);
		free(txt);
		json_decref(m);

		ck_assert_int_eq(expect_refused(at("sparse.tar"), "host/holes.bin",
						"decompression bomb"), -E2BIG);
	}
}
END_TEST

/* 300 MiB of directory headers, which carry nothing and are skipped, in a
 * few KiB of zstd: headers are counted against the bomb limit too. */
static void zstd_feed(ZSTD_CCtx *c, FILE *f, const void *p, size_t len, ZSTD_EndDirective end)
{
	static uint8_t out[1 << 16];
	ZSTD_inBuffer in = { p, len, 0 };
	size_t left;

	do {
		ZSTD_outBuffer o = { out, sizeof(out), 0 };

		left = ZSTD_compressStream2(c, &o, &in, end);
		ck_assert(!ZSTD_isError(left));
		ck_assert_uint_eq(fwrite(out, 1, o.pos, f), o.pos);
	} while (in.pos < in.size || (end == ZSTD_e_end && left));
}

START_TEST(test_header_bomb)
{
	static uint8_t tar[1 << 14], chunk[1 << 20];
	struct tent e = { "host/a.json", "{}", 2 };
	struct archive *a = archive_write_new();
	json_t *m = manifest_for(&e, 1);
	char *txt = json_dumps(m, 0);
	size_t used = 0, dir;
	ZSTD_CCtx *c = ZSTD_createCCtx();
	FILE *f;

	archive_write_set_format_ustar(a);
	ck_assert_int_eq(archive_write_open_memory(a, tar, sizeof(tar), &used), ARCHIVE_OK);
	add(a, "manifest.json", 0, NULL, (int64_t)strlen(txt), txt, strlen(txt));
	add(a, "host/d/", AE_IFDIR, NULL, 0, NULL, 0);
	ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	free(txt);
	json_decref(m);
	dir = tar_header(&(struct blob){ tar, used }, "host/d/");
	for (size_t i = 0; i < sizeof(chunk); i += 512)
		memcpy(chunk + i, tar + dir, 512);

	ck_assert_ptr_nonnull(f = fopen(at("hdr.tar.zst"), "wb"));
	ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 1);
	zstd_feed(c, f, tar, dir, ZSTD_e_continue);
	for (int i = 0; i < 300; i++)
		zstd_feed(c, f, chunk, sizeof(chunk), ZSTD_e_continue);
	zstd_feed(c, f, tar + dir + 512, used - dir - 512, ZSTD_e_end);
	ck_assert_int_eq(fclose(f), 0);
	ZSTD_freeCCtx(c);

	/* the library alone: 600k headers take the programs seconds under ASan */
	ck_assert_int_eq(expect_refused_lib(at("hdr.tar.zst"), "decompression bomb"), -E2BIG);
}
END_TEST

/* ---- the manifest ------------------------------------------------------- */

static void expect_manifest_refused(const char *key, json_t *val, const char *sub, const char *sub2)
{
	struct tent e = { "host/a.json", "{}", 2 };
	json_t *m = manifest_for(&e, 1);
	char *txt;

	json_object_set_new(m, key, val);
	txt = json_dumps(m, 0);
	write_tar(at("t.tar.zst"), ZSTD, txt, &e, 1);
	free(txt);
	json_decref(m);
	expect_refused(at("t.tar.zst"), sub, sub2);
}

START_TEST(test_manifest_format_and_version)
{
	expect_manifest_refused("format", json_string("zipbundle"), "manifest.json",
				"'format' is not \"ktbundle\"");
	expect_manifest_refused("format_version", json_string("one"), "manifest.json",
				"'format_version'");
	expect_manifest_refused("format_version", json_integer(1), "manifest.json",
				"'format_version'");
	expect_manifest_refused("format_version", json_string("0.9"), "manifest.json",
				"not valid");
	expect_manifest_refused("format_version", json_string("2.0"), "newer", "upgrade");
	ck_assert_int_eq(open_verify(at("t.tar.zst"), NULL), -EPROTONOSUPPORT);
	/* a newer minor version is read: unknown fields are ignored */
	{
		struct tent e = { "host/a.json", "{}", 2 };
		json_t *m = manifest_for(&e, 1);
		char *txt;

		json_object_set_new(m, "format_version", json_string("1.7"));
		json_object_set_new(m, "from_the_future", json_pack("{s:i}", "x", 1));
		txt = json_dumps(m, 0);
		write_tar(at("t.tar"), NONE, txt, &e, 1);
		free(txt);
		json_decref(m);
		expect_valid(at("t.tar"), NULL);
	}
}
END_TEST

START_TEST(test_manifest_not_first)
{
	struct tent e[2] = { { "host/a.json", "{}", 2 } };
	json_t *m = manifest_for(e, 1);
	char *txt = json_dumps(m, 0);

	e[1] = (struct tent){ "manifest.json", txt, strlen(txt), .unlisted = true };
	write_tar(at("t.tar"), NONE, NULL, e, 2);
	expect_refused(at("t.tar"), "first entry is 'host/a.json', not manifest.json");
	free(txt);
	json_decref(m);
	/* only directories before it are fine: they carry nothing */
	write_tar(at("t.tar"), NONE, NULL,
		  (struct tent[]){ { "host/", .type = AE_IFDIR } }, 1);
	expect_refused(at("t.tar"), "empty bundle: no manifest.json");
}
END_TEST

START_TEST(test_manifest_not_json)
{
	struct tent e = { "host/a.json", "{}", 2 };

	write_tar(at("t.tar"), NONE, "{\"format\": \"ktbundle\", ", &e, 1);
	expect_refused(at("t.tar"), "manifest.json", "line 1");
	write_tar(at("t.tar"), NONE, "[1, 2]", &e, 1);
	expect_refused(at("t.tar"), "manifest.json", "not a JSON object");
	write_tar(at("t.tar"), NONE, "{\"format\": \"ktbundle\", \"format\": \"ktbundle\"}", &e, 1);
	expect_refused(at("t.tar"), "manifest.json", "duplicate");
}
END_TEST

START_TEST(test_manifest_files_lie)
{
	struct tent e[2] = { { "host/a.json", "{}", 2 }, { "host/b.json", "[]", 2 } };
	json_t *m, *files;
	char *txt;

	/* listed, not there */
	m = manifest_for(e, 2);
	txt = json_dumps(m, 0);
	write_tar(at("t.tar"), NONE, txt, e, 1);
	expect_refused(at("t.tar"), "'host/b.json' is listed in the manifest but missing");
	free(txt);
	json_decref(m);

	/* there, not listed */
	e[1].unlisted = true;
	write_bundle(at("t.tar"), ZSTD, e, 2);
	expect_refused(at("t.tar"), "'host/b.json' is not listed in the manifest");
	e[1].unlisted = false;

	/* same size, other content */
	m = manifest_for(e, 2);
	txt = json_dumps(m, 0);
	e[1].data = "{}";
	write_tar(at("t.tar"), GZIP, txt, e, 2);
	expect_refused(at("t.tar"), "'host/b.json': sha256 mismatch");
	free(txt);

	/* a listed path that is itself unsafe */
	files = json_object_get(m, "files");
	json_object_set_new(json_array_get(files, 1), "path", json_string("../b.json"));
	txt = json_dumps(m, 0);
	write_tar(at("t.tar"), NONE, txt, e, 1);
	expect_refused(at("t.tar"), "manifest.json", "files[1] has a bad path");
	free(txt);
	json_decref(m);
}
END_TEST

/* ---- record blocks ------------------------------------------------------ */

/* Bundle 'seg' as streams/flow/000001.ktr with an honest manifest (sha256 of
 * the damaged bytes), so only the block can give the lie away. */
static void write_seg_bundle(const struct blob *seg, int64_t records)
{
	struct tent e = { "streams/flow/000001.ktr", seg->p, seg->len, .records = records };

	write_bundle(at("t.tar.zst"), ZSTD, &e, 1);
}

START_TEST(test_block_flipped_bytes)
{
	struct blob seg = make_segment(35);
	size_t b2 = block_at(&seg, 2);

	seg.p[b2 + KT_BLOCK_HDR_LEN + 5] ^= 0x40;
	write_seg_bundle(&seg, 35);
	expect_refused(at("t.tar.zst"), "'streams/flow/000001.ktr'", "block 2",
		       "checksum mismatch");
	/* in the block header itself */
	seg.p[b2 + KT_BLOCK_HDR_LEN + 5] ^= 0x40;
	seg.p[block_at(&seg, 1) + 24] ^= 0x01;	/* first_ts */
	write_seg_bundle(&seg, 35);
	expect_refused(at("t.tar.zst"), "'streams/flow/000001.ktr'", "block 1",
		       "checksum mismatch");
	/* in the segment header */
	seg.p[block_at(&seg, 1) + 24] ^= 0x01;
	seg.p[20] ^= 0x20;
	write_seg_bundle(&seg, 35);
	expect_refused(at("t.tar.zst"), "'streams/flow/000001.ktr'",
		       "segment header checksum mismatch");
	free(seg.p);
}
END_TEST

/* The analysis paths read record segments through kt_bundle_open_stream(),
 * whose block CRCs stand in for the manifest's sha256. A segment changed
 * and resealed (CRCs right, hash wrong) reads there - the hash, unsigned,
 * only ever caught damage - and is refused by kt_verify() and by a read of
 * the raw entry; damage the CRCs see is refused on every path. */
static size_t find_bytes(const struct blob *b, size_t from, const char *s)
{
	for (size_t i = from; i + strlen(s) <= b->len; i++)
		if (!memcmp(b->p + i, s, strlen(s)))
			return i;
	ck_abort_msg("'%s' not found", s);
	return 0;
}

/* Read every record of the bundle's flow segment through
 * kt_bundle_open_stream(); the error, *comm_upper counts records whose
 * comm is "Curl". */
static int read_by_blocks(const char *path, unsigned *nrec, unsigned *comm_upper)
{
	const struct kt_entry *e;
	struct kt_bundle *b = NULL;
	struct kt_stream_reader *r = NULL;
	const void *recs;
	size_t n;
	int err;

	*nrec = *comm_upper = 0;
	ck_assert_int_eq(kt_bundle_open(&b, path), 0);
	while ((err = kt_bundle_next(b, &e)) == 1) {
		if (e->kind != KT_ENTRY_RECORDS) {
			/* not a segment: refused, and the entry still reads */
			ck_assert_int_eq(kt_bundle_open_stream(b, NULL, &r), -EINVAL);
			ck_assert_ptr_null(r);
			continue;
		}
		if ((err = kt_bundle_open_stream(b, &kt_flow_schema, &r)))
			break;
		while (!(err = kt_stream_reader_next(r, &recs, &n)) && n)
			for (size_t i = 0; i < n; i++, (*nrec)++) {
				const struct kt_flow *f = (const struct kt_flow *)recs + i;

				*comm_upper += f->comm.len == 4 && !memcmp(f->comm.p, "Curl", 4);
			}
		kt_stream_reader_free(r);
		r = NULL;
		if (err)
			break;
	}
	kt_bundle_close(b);
	return err;
}

START_TEST(test_segment_read_by_blocks)
{
	struct blob seg = make_segment_level(35, 0);
	struct tent e[2] = {
		{ "host/facts.json", "{\"a\": 1}\n", 9 },
		{ "streams/flow/000001.ktr", seg.p, seg.len, .records = 35 },
	};
	json_t *m = manifest_for(e, 2);	/* the hashes of the segment as written */
	char *txt = json_dumps(m, JSON_INDENT(2));
	size_t b1 = block_at(&seg, 1), lit = find_bytes(&seg, b1 + KT_BLOCK_HDR_LEN, "curl");
	const struct kt_entry *ent;
	struct kt_bundle *b = NULL;
	unsigned nrec, upper;
	char buf[4096];
	ssize_t got;

	/* unchanged: every path reads it */
	write_tar(at("t.tar.zst"), ZSTD, txt, e, 2);
	ck_assert_int_eq(open_verify(at("t.tar.zst"), NULL), 0);
	ck_assert_int_eq(read_by_blocks(at("t.tar.zst"), &nrec, &upper), 0);
	ck_assert_uint_eq(nrec, 35);
	ck_assert_uint_eq(upper, 0);

	/* block 1's comm literal changed, the block resealed */
	seg.p[lit] = 'C';
	reseal_block(&seg, b1);
	write_tar(at("t.tar.zst"), ZSTD, txt, e, 2);
	ck_assert_int_eq(read_by_blocks(at("t.tar.zst"), &nrec, &upper), 0);
	ck_assert_uint_eq(nrec, 35);
	ck_assert_uint_eq(upper, SEG_BLOCK);	/* block 1's records, from its dictionary */
	expect_refused_lib(at("t.tar.zst"), "'streams/flow/000001.ktr': sha256 mismatch");
	ck_assert_int_eq(kt_bundle_open(&b, at("t.tar.zst")), 0);
	while (kt_bundle_next(b, &ent) == 1 && ent->kind != KT_ENTRY_RECORDS)
		;
	ck_assert_int_eq(ent->kind, KT_ENTRY_RECORDS);
	while ((got = kt_bundle_read(b, buf, sizeof(buf))) > 0)
		;
	ck_assert_int_lt(got, 0);
	ck_assert_ptr_nonnull(strstr(kt_err_msg((int)got), "sha256 mismatch"));
	/* once the raw reading began, the entry is no segment to open */
	kt_bundle_close(b);

	/* damaged, not resealed: refused on every path, naming the block */
	seg.p[lit] = 'X';
	write_tar(at("t.tar.zst"), ZSTD, txt, e, 2);
	ck_assert_int_lt(read_by_blocks(at("t.tar.zst"), &nrec, &upper), 0);
	ck_assert_ptr_nonnull(strstr(kt_err_msg(-1), "block 1"));
	ck_assert_ptr_nonnull(strstr(kt_err_msg(-1), "checksum mismatch"));
	expect_refused(at("t.tar.zst"), "'streams/flow/000001.ktr'", "block 1",
		       "checksum mismatch");
	free(txt);
	json_decref(m);
	free(seg.p);
}
END_TEST

START_TEST(test_block_lies_about_length)
{
	struct blob seg = make_segment(35);
	size_t b3 = block_at(&seg, 3), b1 = block_at(&seg, 1);
	uint32_t plen = seg.p[b3 + 12] | seg.p[b3 + 13] << 8 | seg.p[b3 + 14] << 16 |
			(uint32_t)seg.p[b3 + 15] << 24;

	/* the last block claims more than follows */
	put_le32(seg.p + b3 + 12, plen + 100);
	reseal_block(&seg, b3);
	write_seg_bundle(&seg, 35);
	expect_refused(at("t.tar.zst"), "'streams/flow/000001.ktr'", "block 3", "torn");
	put_le32(seg.p + b3 + 12, plen);
	reseal_block(&seg, b3);

	/* a block claims more than the limit, checksum and all */
	put_le32(seg.p + b1 + 12, 0x7fffffffu);
	reseal_block(&seg, b1);
	write_seg_bundle(&seg, 35);
	expect_refused(at("t.tar.zst"), "'streams/flow/000001.ktr'", "block 1",
		       "beyond the limits");
	/* ... or more raw bytes than the limit */
	put_le32(seg.p + b1 + 12, plen);
	put_le32(seg.p + b1 + 16, KT_BLOCK_MAX_RAW + 1);
	reseal_block(&seg, b1);
	write_seg_bundle(&seg, 35);
	expect_refused(at("t.tar.zst"), "block 1", "beyond the limits");
	free(seg.p);
}
END_TEST

START_TEST(test_lying_record_count)
{
	struct blob seg = make_segment(35);
	size_t b0 = block_at(&seg, 0);

	/* the manifest's count */
	write_seg_bundle(&seg, 36);
	expect_refused(at("t.tar.zst"), "'streams/flow/000001.ktr' holds 35 records, "
		       "the manifest says 36");
	/* a block header's count, resealed: more than its columns hold */
	put_le32(seg.p + b0 + 8, SEG_BLOCK + 1);
	reseal_block(&seg, b0);
	write_seg_bundle(&seg, 36);
	expect_refused(at("t.tar.zst"), "'streams/flow/000001.ktr'", "block 0");
	/* fewer: the columns have bytes left over */
	put_le32(seg.p + b0 + 8, SEG_BLOCK - 1);
	reseal_block(&seg, b0);
	write_seg_bundle(&seg, 34);
	expect_refused(at("t.tar.zst"), "'streams/flow/000001.ktr'", "block 0", "stray bytes");
	/* absurdly many */
	put_le32(seg.p + b0 + 8, 0xffffffffu);
	reseal_block(&seg, b0);
	write_seg_bundle(&seg, 35);
	expect_refused(at("t.tar.zst"), "block 0", "beyond the limits");
	free(seg.p);
}
END_TEST

/* A stored block with nothing in it: 1 record, 0 payload and 0 raw bytes.
 * Found by fuzz_stream: the reader passed its never allocated payload
 * buffer (NULL) to memcpy and to crc32. */
START_TEST(test_block_empty_payload)
{
	struct blob seg = make_segment(SEG_BLOCK);
	size_t b0 = block_at(&seg, 0);
	uint8_t *h = seg.p + b0;

	h[5] = 0;			/* codec: stored */
	put_le32(h + 8, 1);		/* count */
	put_le32(h + 12, 0);		/* payload_len */
	put_le32(h + 16, 0);		/* raw_len */
	seg.len = b0 + KT_BLOCK_HDR_LEN;
	reseal_block(&seg, b0);
	write_seg_bundle(&seg, 1);
	expect_refused(at("t.tar.zst"), "'streams/flow/000001.ktr'", "block 0", "overruns");
	/* the fuzzer's version: a zero checksum, which used to pass for any
	 * header since crc32() of a NULL buffer is 0 */
	put_le32(h + 40, 0);
	write_seg_bundle(&seg, 1);
	expect_refused(at("t.tar.zst"), "block 0", "checksum mismatch");
	free(seg.p);
}
END_TEST

/* ---- directory bundles and spools ---------------------------------------- */

START_TEST(test_directory_links_and_fifos)
{
	char sp[512];

	snprintf(sp, sizeof(sp), "%s", at("spool"));
	make_spool(sp, 35);
	expect_valid(sp, NULL);
	ck_assert_int_eq(symlink("/etc/passwd", at("spool/host/passwd.json")), 0);
	expect_refused(sp, "'host/passwd.json' is not a regular file");
	ck_assert_int_eq(unlink(at("spool/host/passwd.json")), 0);
	ck_assert_int_eq(symlink("/etc", at("spool/k8s")), 0);
	expect_refused(sp, "'k8s' is not a regular file");
	ck_assert_int_eq(unlink(at("spool/k8s")), 0);
	ck_assert_int_eq(mkfifo(at("spool/host/fifo.json"), 0600), 0);
	expect_refused(sp, "'host/fifo.json' is not a regular file");
	ck_assert_int_eq(unlink(at("spool/host/fifo.json")), 0);
	expect_valid(sp, NULL);
}
END_TEST

/* The widest schema a reader takes (256 fields) reads back; one more is
 * refused, by the writer already. */
static void wide_roundtrip(unsigned nfields, int want_err)
{
	static char names[257][8];
	static struct kt_field fields[257];
	struct kt_schema s = { "wide", 1, 264, fields, (uint16_t)nfields };
	struct kt_writer_opts o = { .block_records = 4, .zstd_level = 1 };
	struct kt_stream_writer *w = NULL;
	struct kt_stream_reader *r = NULL;
	uint8_t rec[264];
	const uint8_t *recs;
	struct blob seg;
	size_t n;
	int fd, err;
	struct { const uint8_t *p; size_t len, off; } *src;

	for (unsigned i = 0; i < nfields; i++) {
		snprintf(names[i], sizeof(names[i]), "f%u", i);
		fields[i] = (struct kt_field){ names[i], KT_F_U8, (uint16_t)i, NULL, 0 };
	}
	ck_assert_int_ge(fd = open(at("wide.ktr"), O_WRONLY | O_CREAT | O_TRUNC, 0600), 0);
	if (nfields > KT_SCHEMA_MAX_FIELDS) {
		/* the writer refuses what no reader would take */
		ck_assert_int_eq(kt_stream_writer_open(&w, fd, &s, &o), -EINVAL);
		ck_assert_ptr_nonnull(strstr(kt_err_msg(-EINVAL), "readers take 1 to 256"));
		return;
	}
	ck_assert_int_eq(kt_stream_writer_open(&w, fd, &s, &o), 0);
	for (unsigned k = 0; k < 3; k++) {
		for (unsigned i = 0; i < sizeof(rec); i++)
			rec[i] = (uint8_t)(i * 7 + k);
		ck_assert_int_eq(kt_stream_writer_append(w, rec), 0);
	}
	ck_assert_int_eq(kt_stream_writer_close(w), 0);
	seg = slurp(at("wide.ktr"));
	src = calloc(1, sizeof(*src));
	src->p = seg.p;
	src->len = seg.len;
	err = kt_stream_reader_open(&r, seg_read, src, &s, "wide.ktr");
	if (want_err) {
		ck_assert_int_eq(err, want_err);
		ck_assert_ptr_nonnull(strstr(kt_err_msg(err), "fields, at most 256"));
	} else {
		ck_assert_msg(!err, "%s", kt_err_msg(err));
		err = kt_stream_reader_next(r, (const void **)&recs, &n);
		ck_assert_msg(!err, "%s", kt_err_msg(err));
		ck_assert_uint_eq(n, 3);
		for (unsigned k = 0; k < 3; k++)
			for (unsigned i = 0; i < nfields; i++)
				ck_assert_uint_eq(recs[k * s.size + i], (uint8_t)(i * 7 + k));
	}
	kt_stream_reader_free(r);
	free(src);
	free(seg.p);
}

START_TEST(test_widest_schema)
{
	wide_roundtrip(255, 0);
	wide_roundtrip(256, 0);
	wide_roundtrip(257, -EPROTO);
}
END_TEST

/* ---- a torn spool: tolerated, packed without the torn block -------------- */

START_TEST(test_torn_spool)
{
	struct kt_pack_opts o = { .finished = false };
	struct kt_pack_result res;
	struct kt_verify_stats st;
	struct kt_bundle *b = NULL;
	const json_t *w, *files;
	char seg[512];
	struct stat sb;
	bool found = false;
	size_t i;

	snprintf(seg, sizeof(seg), "%s", at("spool/streams/flow/000001.ktr"));
	make_spool(at("spool"), 35);
	ck_assert_int_eq(stat(seg, &sb), 0);
	ck_assert_int_eq(truncate(seg, sb.st_size - 7), 0);

	/* the spool verifies, with a warning for the torn tail */
	expect_valid(at("spool"), &st);
	ck_assert_uint_eq(st.warnings, 1);
	ck_assert_uint_eq(st.records, 30);
	ck_assert_uint_eq(st.blocks, 3);

	/* pack drops the torn block and says so */
	ck_assert_msg(!kt_pack(at("spool"), at("p.tar.zst"), &o, &res), "%s", kt_err_msg(-1));
	ck_assert_uint_eq(res.torn_blocks, 1);
	ck_assert_uint_eq(res.records, 30);
	ck_assert_int_eq(kt_bundle_open(&b, at("p.tar.zst")), 0);
	w = json_object_get(kt_bundle_manifest(b), "warnings");
	json_array_foreach(w, i, w)
		if (strstr(json_string_value(w), "cut 'streams/flow/000001.ktr' after 3 blocks"))
			found = true;
	ck_assert_msg(found, "no warning for the torn block in the manifest");
	files = json_object_get(kt_bundle_manifest(b), "files");
	json_array_foreach(files, i, w)
		if (!strcmp(json_string_value(json_object_get(w, "path")), "streams/flow/000001.ktr"))
			ck_assert_int_eq(json_integer_value(json_object_get(w, "records")), 30);
	ck_assert_int_eq(kt_verify(b, &st, NULL, NULL), 0);
	ck_assert_uint_eq(st.records, 30);
	ck_assert_uint_eq(st.warnings, 0);
	kt_bundle_close(b);

	/* the same torn segment inside a packed bundle is an error, not a warning */
	{
		struct blob s = slurp(seg);

		write_seg_bundle(&s, 30);
		expect_refused(at("t.tar.zst"), "block 3", "torn");
		free(s.p);
	}
}
END_TEST

/* ---- the fuzz seeds still read ------------------------------------------- */

/* Seeds the reader refuses at their first block teach a fuzzer little: when
 * the format changes, this fails until tests/fuzz/make_seeds.sh is run. */
START_TEST(test_fuzz_seeds)
{
	static const char *const dirs[] = { "bundle", "stream" };
	unsigned nseeds = 0;

	for (int k = 0; k < 2; k++) {
		char dir[512], path[1024];
		struct dirent *de;
		DIR *d;

		snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", KT_SOURCE_DIR, dirs[k]);
		ck_assert_ptr_nonnull(d = opendir(dir));
		while ((de = readdir(d))) {
			int err;

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			nseeds++;
			if (k == 0) {
				err = open_verify(path, NULL);
				if (!strncmp(de->d_name, "hostile-", 8))
					ck_assert_msg(err < 0, "seed '%s' is accepted", path);
				else
					ck_assert_msg(!err, "seed '%s' no longer reads (%s): run "
						      "tests/fuzz/make_seeds.sh BUILD", path, kt_err_msg(err));
			} else {
				struct blob seg = slurp(path);
				struct { const uint8_t *p; size_t len, off; } src = { seg.p, seg.len, 0 };
				struct kt_stream_reader *r = NULL;
				const void *recs;
				size_t n;

				err = kt_stream_reader_open(&r, seg_read, &src, NULL, de->d_name);
				while (!err && !(err = kt_stream_reader_next(r, &recs, &n)) && n)
					;
				ck_assert_msg(!err, "seed '%s' no longer reads (%s): run "
					      "tests/fuzz/make_seeds.sh BUILD", path, kt_err_msg(err));
				ck_assert_uint_eq(src.off, seg.len);
				kt_stream_reader_free(r);
				free(seg.p);
			}
		}
		closedir(d);
	}
	ck_assert_uint_ge(nseeds, 10);
}
END_TEST

Suite *kt_hostile_suite(void)
{
	Suite *s = suite_create("hostile");
	TCase *tc = tcase_create("hostile");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_good_bundles_verify);
	tcase_add_test(tc, test_not_an_archive);
	tcase_add_test(tc, test_truncated_zstd);
	tcase_add_test(tc, test_truncated_tar_mid_entry);
	tcase_add_test(tc, test_path_traversal);
	tcase_add_test(tc, test_links_and_devices);
	tcase_add_test(tc, test_duplicates);
	tcase_add_test(tc, test_absurd_size);
	tcase_add_test(tc, test_decompression_bomb);
	tcase_add_test(tc, test_sparse_bomb);
	tcase_add_test(tc, test_header_bomb);
	tcase_add_test(tc, test_manifest_format_and_version);
	tcase_add_test(tc, test_manifest_not_first);
	tcase_add_test(tc, test_manifest_not_json);
	tcase_add_test(tc, test_manifest_files_lie);
	tcase_add_test(tc, test_block_flipped_bytes);
	tcase_add_test(tc, test_segment_read_by_blocks);
	tcase_add_test(tc, test_block_lies_about_length);
	tcase_add_test(tc, test_lying_record_count);
	tcase_add_test(tc, test_block_empty_payload);
	tcase_add_test(tc, test_widest_schema);
	tcase_add_test(tc, test_directory_links_and_fifos);
	tcase_add_test(tc, test_torn_spool);
	tcase_add_test(tc, test_fuzz_seeds);
	suite_add_tcase(s, tc);
	return s;
}
