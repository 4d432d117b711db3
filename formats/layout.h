/* layout.h - where things live in a bundle, and in what order (SPEC.md,
 * "Layout"). Internal to formats/: the only place that knows the tree.
 *
 *   manifest.json                  always first
 *   host/...                       host facts (JSON)
 *   k8s/...                        Kubernetes objects (JSON, JSON lines)
 *   streams/<name>/NNNNNN.ktr      record segments, lineage streams first
 *   pcap/...                       packet captures (pcapng)
 *   anything else                  kept, listed, ignored by readers
 *
 * Context comes before events so one pass can attribute as it reads.
 */
#ifndef KT_LAYOUT_H
#define KT_LAYOUT_H

#include <stddef.h>

#include "bundle.h"

/* Kind of an entry by its path; *stream gets the stream name of a record
 * segment (a pointer into path, length in *stream_len), else NULL. */
enum kt_entry_kind kt_layout_kind(const char *path, const char **stream, size_t *stream_len);

/* Sort key: lower comes first in a bundle. */
int kt_layout_rank(const char *path);

/* qsort comparator over char * paths: by rank, then by name. */
int kt_layout_cmp(const void *a, const void *b);

/* List the regular files under dir as relative paths in bundle order.
 * *out is a NULL-terminated array the caller frees with kt_layout_free().
 * Symlinks and special files are refused; "*.tmp" files (unfinished atomic
 * writes) are skipped and counted in *skipped when not NULL. */
int kt_layout_list(const char *dir, char ***out, size_t *n, size_t *skipped);
void kt_layout_free(char **list);

#endif
