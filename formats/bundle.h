/* bundle.h - reading a bundle: an archive, an unpacked directory or a spool.
 *
 * A bundle is a tar archive (plain, gzip or zstd, told apart by content, not
 * by name), or the same tree as a directory. Its first entry is
 * manifest.json (manifest.h); the other entries are the files it lists. The
 * reader streams: entries come in archive order, their data is read through
 * kt_entry_read() in bounded chunks, nothing is extracted to disk.
 *
 * Every entry is checked before it is returned: a safe relative name
 * (kt_path_check), a regular file, not seen before, listed in the manifest,
 * not larger than the manifest says or than the limits below. Data read in
 * full is checked against the manifest's sha256 and size, except a record
 * segment opened with kt_bundle_open_stream(), whose blocks' CRC-32s stand
 * in for its hash (see there). A spool (a
 * directory whose manifest says "complete": false) has no hashes yet and
 * may end in a torn block: those are warnings, not errors.
 */
#ifndef KT_BUNDLE_H
#define KT_BUNDLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define KT_FORMAT_MAJOR 1
#define KT_FORMAT_MINOR 1
#define KT_MANIFEST_MAX (16u << 20)	/* bytes of manifest.json */
#define KT_JSON_ENTRY_MAX (256u << 20)	/* bytes of one JSON document */
#define KT_ENTRIES_MAX 1000000u

enum kt_entry_kind {
	KT_ENTRY_OTHER = 0,	/* listed, not understood by this version */
	KT_ENTRY_MANIFEST,
	KT_ENTRY_RECORDS,	/* streams/<name>/NNNNNN.ktr */
	KT_ENTRY_JSON,		/* *.json */
	KT_ENTRY_JSONL,		/* *.jsonl */
	KT_ENTRY_PCAPNG,	/* *.pcapng, *.pcap */
};

struct kt_entry {
	const char *path;	/* relative name in the bundle */
	enum kt_entry_kind kind;
	const char *stream;	/* RECORDS: stream name; else NULL */
	uint64_t size;		/* from the archive header */
	const json_t *info;	/* this file's object in manifest "files", or NULL */
};

struct kt_bundle;

/* Open path: a file (tar, tar.gz, tar.zst) or a directory (bundle or spool).
 * Reads and validates the manifest; refuses a newer major format with a
 * message saying which version is needed. */
int kt_bundle_open(struct kt_bundle **out, const char *path);

/* Same, from memory (tests, fuzzing). buf is borrowed until close. */
int kt_bundle_open_memory(struct kt_bundle **out, const void *buf, size_t len);

/* The manifest, borrowed for the bundle's lifetime. */
const json_t *kt_bundle_manifest(const struct kt_bundle *b);

/* True for a spool or a bundle packed from an interrupted recording. */
bool kt_bundle_is_spool(const struct kt_bundle *b);

/* Advance to the next entry after the manifest. Returns 1 and fills *out
 * (borrowed until the next call), 0 at the end, or a negative errno. An entry
 * not read in full is skipped. */
int kt_bundle_next(struct kt_bundle *b, const struct kt_entry **out);

/* Read up to len bytes of the current entry; 0 at its end. When the last
 * byte is read, size and sha256 are checked against the manifest. Matches
 * kt_read_fn with ctx = the bundle. */
ssize_t kt_bundle_read(void *bundle, void *buf, size_t len);

struct kt_schema;
struct kt_stream_reader;

/* A stream reader (stream.h) over the current entry, a record segment, for
 * records of type 'want' (NULL: the segment's own schema); label, errors
 * and the reader's lifetime as kt_stream_reader_open(). Its size is still
 * checked, its sha256 is not computed: the reader checks the CRC-32 of the
 * header and of every block, their sequence and lengths, which catch the
 * damage the hash would, naming the block. The manifest's hashes are not
 * signed, so damage is all they ever caught; hashing cost ~6% of
 * `ktana topo` on a large bundle. kt_verify() reads segments through
 * kt_stream_reader_open() and checks both. -EINVAL when the entry is not a
 * record segment or its reading began. */
int kt_bundle_open_stream(struct kt_bundle *b, const struct kt_schema *want,
			  struct kt_stream_reader **out);

/* Read the whole current entry into a new buffer (NUL-terminated, caller
 * frees), refused past max bytes. */
int kt_bundle_read_all(struct kt_bundle *b, size_t max, char **out, size_t *len);

/* Start again from the first entry (reopens the archive). */
int kt_bundle_rewind(struct kt_bundle *b);

/* Entries listed in the manifest but not met so far (call at the end):
 * returns the first missing path or NULL. Borrowed. */
const char *kt_bundle_missing(const struct kt_bundle *b);

/* Warnings gathered so far (torn tail blocks of a spool, ...), borrowed. */
const json_t *kt_bundle_warnings(const struct kt_bundle *b);

void kt_bundle_close(struct kt_bundle *b);

#endif
