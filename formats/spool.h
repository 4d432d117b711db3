/* spool.h - the directory a recording writes into, crash-safe.
 *
 * A spool is the unpacked form of a bundle under construction:
 *
 *   SPOOL/manifest.json            draft manifest, replaced atomically
 *   SPOOL/streams/<name>/NNNNNN.ktr record segments (stream.h), append-only
 *   SPOOL/k8s/..., host/...         JSON documents, each written atomically
 *   SPOOL/k8s/watch/<kind>.jsonl   JSON lines, appended one whole line a write
 *   SPOOL/pcap/<name>.pcapng       packet captures written by libpcap
 *
 * Nothing is ever rewritten in place except through rename(2), so a recorder
 * killed at any moment leaves a spool that kt_pack() turns into a bundle with
 * every finished block, document and line in it.
 */
#ifndef KT_SPOOL_H
#define KT_SPOOL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "schema.h"
#include "stream.h"

struct kt_spool;

struct kt_spool_opts {
	struct kt_writer_opts writer;
	uint64_t segment_bytes;	/* start a new segment past this, default 64 MiB */
};

/* Create the spool directory 'dir' (it must not exist, or be empty). */
int kt_spool_create(struct kt_spool **out, const char *dir,
		    const struct kt_spool_opts *opts);

/* Replace the draft manifest with 'manifest' (borrowed; serialized now). */
int kt_spool_save_manifest(struct kt_spool *sp, const json_t *manifest);

/* The writer of stream schema->name, created on first use. Borrowed: owned
 * by the spool, closed by kt_spool_close(). Not thread-safe: one thread
 * writes each stream. */
int kt_spool_stream(struct kt_spool *sp, const struct kt_schema *schema,
		    struct kt_stream_writer **out);

/* Append one record to its stream (kt_spool_stream + append, with segment
 * rotation past segment_bytes). */
int kt_spool_append(struct kt_spool *sp, const struct kt_schema *schema,
		    const void *rec);

/* Write every stream's current block. Call it at least once a second while
 * recording: it bounds what a kill can lose. */
int kt_spool_flush(struct kt_spool *sp);

/* Write a whole document at relpath ("k8s/0001/pods.json") atomically.
 * relpath must be relative, without ".." or empty components. */
int kt_spool_write_file(struct kt_spool *sp, const char *relpath,
			const void *data, size_t len);

/* Append data (whole lines) to relpath, created on first use. */
int kt_spool_append_file(struct kt_spool *sp, const char *relpath,
			 const void *data, size_t len);

/* Absolute path of relpath inside the spool, parent directories created,
 * for files written by other libraries (pcapng by libpcap). */
int kt_spool_path(struct kt_spool *sp, const char *relpath, char *buf, size_t len);

/* Records appended through kt_spool_append() so far. */
uint64_t kt_spool_records(const struct kt_spool *sp);

/* Bytes on disk in the spool so far (for --max-size). */
uint64_t kt_spool_bytes(const struct kt_spool *sp);

const char *kt_spool_dir(const struct kt_spool *sp);

/* Flush and close every writer, free. Returns the first error seen. */
int kt_spool_close(struct kt_spool *sp);

/* Is relpath safe to create inside a spool or to accept from an archive?
 * Relative, no "..", no empty or "." components, no backslash, printable. */
int kt_path_check(const char *relpath);

#endif
