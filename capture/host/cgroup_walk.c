/* cgroup_walk.c - every pod and container cgroup on the node, processes or
 * not.
 *
 * Flow events carry the socket's cgroup v2 id, which is the inode number of
 * the cgroup's directory. A pod whose process lived for a second has no
 * process left to find at the end; its cgroup may well exist at the start.
 * So the host facts also walk the v2 tree and record, for each directory
 * kubelet made (a pod, or a container in it), one KT_PROC_CGROUP record:
 * cgroup_id, path, pod_uid, container_id.
 */
#include "host.h"
#include "host_int.h"

#include <errno.h>
#include <fts.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "records.h"

#define WALK_MAX_DEPTH 12
#define WALK_MAX_DIRS 200000

int kt_host_cgroup_walk(struct kt_spool *sp, const char *cg2, uint64_t ts, uint64_t *count)
{
	char *roots[] = { (char *)cg2, NULL };
	size_t rootlen;
	uint64_t dirs = 0;
	FTSENT *e;
	FTS *f;
	int err = 0;

	*count = 0;
	if (!cg2 || !*cg2)
		return 0;
	rootlen = strlen(cg2);
	f = fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR | FTS_XDEV, NULL);
	if (!f)
		return kt_err_set(-errno, "cannot walk '%s': %s", cg2, strerror(errno));
	while (!err && (e = fts_read(f))) {
		struct kt_cgroup_info ci;
		struct kt_proc rec;
		const char *rel;

		if (e->fts_info != FTS_D)
			continue;
		if (e->fts_level > WALK_MAX_DEPTH || ++dirs > WALK_MAX_DIRS) {
			fts_set(f, e, FTS_SKIP);
			continue;
		}
		rel = e->fts_path + rootlen;
		if (!*rel || kt_cgroup_parse(rel, &ci) || !ci.kubepods || !ci.pod_uid[0])
			continue;
		memset(&rec, 0, sizeof(rec));
		rec.ts = ts;
		rec.kind = KT_PROC_CGROUP;
		rec.cgroup_id = (uint64_t)e->fts_statp->st_ino;
		rec.path = (struct kt_str){ rel, (uint32_t)strlen(rel) };
		rec.pod_uid = (struct kt_str){ ci.pod_uid, (uint32_t)strlen(ci.pod_uid) };
		rec.container_id = (struct kt_str){ ci.container_id, (uint32_t)strlen(ci.container_id) };
		if (!(err = kt_spool_append(sp, &kt_proc_schema, &rec)))
			(*count)++;
	}
	fts_close(f);
	return err;
}
