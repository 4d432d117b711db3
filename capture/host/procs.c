/* procs.c - the process walk: pid -> comm, cmdline, netns, cgroups, pod.
 *
 * eBPF events name a process by pid and a socket by its cgroup v2 id; this
 * walk is the map from both to containers and pods. The cgroup v2 id is the
 * inode number of the cgroup's directory in the v2 hierarchy (what
 * bpf_get_current_cgroup_id() returns), found at /sys/fs/cgroup on unified
 * hosts and /sys/fs/cgroup/unified on hybrid ones.
 */
#include "host_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

#define CMDLINE_MAX 4096
#define CGROUP_FILE_MAX (64u << 10)
#define FDS_PER_PROC_MAX 65536

/* Read at most cap-1 bytes of a small file, NUL-terminated. Returns the
 * length or a negative errno. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
	ssize_t n, got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((size_t)got < cap - 1) {
		n = read(fd, buf + got, cap - 1 - (size_t)got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			got = -errno;
			break;
		}
		if (n == 0)
			break;
		got += n;
	}
	close(fd);
	if (got >= 0)
		buf[got] = '\0';
	return got;
}

/* Where the cgroup v2 hierarchy is mounted, from mountinfo:
 * "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS... - FSTYPE SOURCE SUPEROPTS" */
static void find_cgroup2(const char *proc_root, char *out, size_t len)
{
	char path[PATH_MAX];
	FILE *f;
	char line[4096];

	out[0] = '\0';
	snprintf(path, sizeof(path), "%s/self/mountinfo", proc_root);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - "), *save = NULL, *tok, *mnt = NULL;
		int i = 0;

		if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
			continue;
		*sep = '\0';
		for (tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
			if (++i == 5)
				mnt = tok;
		if (mnt && strlen(mnt) < len) {
			snprintf(out, len, "%s", mnt);
			break;
		}
	}
	fclose(f);
}

/* A string from the kernel or a process: not necessarily UTF-8, which
 * jansson refuses; then the bytes outside ASCII become '?'. */
static json_t *lossy_string(char *buf, size_t n)
{
	json_t *s = json_stringn(buf, n);

	if (!s) {
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)buf[i] >= 0x80)
				buf[i] = '?';
		s = json_stringn(buf, n);
	}
	return s;
}

static void add_str(json_t *o, const char *key, const char *v)
{
	if (v && v[0])
		json_object_set_new(o, key, json_string(v));
}

/* Socket inodes held by pid, from its fd links "socket:[12345]". */
static void scan_fds(const char *proc_root, uint32_t pid, struct kt_sockmap *socks)
{
	char path[PATH_MAX], link[64];
	struct dirent *de;
	unsigned n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%u/fd", proc_root, pid);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d)) && n++ < FDS_PER_PROC_MAX) {
		char fdpath[PATH_MAX];
		ssize_t k;

		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(fdpath, sizeof(fdpath), "%s/%s", path, de->d_name) >= sizeof(fdpath))
			continue;
		k = readlink(fdpath, link, sizeof(link) - 1);
		if (k <= 8)
			continue;
		link[k] = '\0';
		if (!strncmp(link, "socket:[", 8))
			kt_sockmap_put(socks, strtoull(link + 8, NULL, 10), pid);
	}
	closedir(d);
}

/* The cgroups of one process, and what their paths say about its pod. */
static void proc_cgroups(json_t *p, const char *proc_root, const char *cg2, uint32_t pid)
{
	char path[PATH_MAX], *buf = malloc(CGROUP_FILE_MAX), *line, *save = NULL;
	struct kt_cgroup_info best = { 0 }, ci;
	bool have_best = false;
	json_t *arr;

	if (!buf)
		return;
	snprintf(path, sizeof(path), "%s/%u/cgroup", proc_root, pid);
	if (read_small(path, buf, CGROUP_FILE_MAX) < 0) {
		free(buf);
		return;
	}
	arr = json_array();
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *ctrl, *cpath;
		unsigned hier;

		if (kt_cgroup_line_split(line, &hier, &ctrl, &cpath) < 0)
			continue;
		json_array_append_new(arr, json_pack("{s:i, s:s, s:s}", "hierarchy", (int)hier,
						     "controllers", ctrl, "path", cpath));
		if (hier == 0 && !ctrl[0] && cg2[0]) {
			struct stat st;
			char dir[PATH_MAX];

			if ((size_t)snprintf(dir, sizeof(dir), "%s%s", cg2, cpath) < sizeof(dir) &&
			    stat(dir, &st) == 0)
				json_object_set_new(p, "cgroup_id", json_integer((json_int_t)st.st_ino));
		}
		if (kt_cgroup_parse(cpath, &ci) < 0)
			continue;
		/* The v2 path (hierarchy 0) wins; else the first v1 that says
		 * anything: on hybrid nodes they agree, and an empty one (a
		 * controller kubelet does not manage) must not hide the others. */
		if ((ci.pod_uid[0] || ci.container_id[0]) &&
		    (!have_best || (hier == 0 && !ctrl[0]))) {
			best = ci;
			have_best = true;
		}
	}
	json_object_set_new(p, "cgroups", arr);
	if (have_best) {
		add_str(p, "pod_uid", best.pod_uid);
		add_str(p, "container_id", best.container_id);
		add_str(p, "runtime", kt_cg_runtime_name(best.runtime));
		add_str(p, "qos", kt_cg_qos_name(best.qos));
		if (best.monitor)
			json_object_set_new(p, "monitor", json_true());
	}
	free(buf);
}

static json_t *one_proc(const char *proc_root, const char *cg2, uint32_t pid,
			struct kt_sockmap *socks, struct kt_netns_set *nss)
{
	char path[PATH_MAX], buf[CMDLINE_MAX + 1];
	struct stat st;
	ssize_t n;
	json_t *p;

	snprintf(path, sizeof(path), "%s/%u/stat", proc_root, pid);
	n = read_small(path, buf, sizeof(buf));
	if (n <= 0)
		return NULL;	/* gone since readdir */
	p = json_pack("{s:i}", "pid", (int)pid);
	{
		/* "pid (comm) S ppid ...": comm may hold spaces and parentheses */
		char *rp = strrchr(buf, ')'), state;
		unsigned ppid;

		if (rp && sscanf(rp + 1, " %c %u", &state, &ppid) == 2)
			json_object_set_new(p, "ppid", json_integer(ppid));
	}
	snprintf(path, sizeof(path), "%s/%u/comm", proc_root, pid);
	if (read_small(path, buf, 64) > 0) {
		buf[strcspn(buf, "\n")] = '\0';
		if (buf[0])
			json_object_set_new(p, "comm", lossy_string(buf, strlen(buf)));
	}
	snprintf(path, sizeof(path), "%s/%u/cmdline", proc_root, pid);
	n = read_small(path, buf, sizeof(buf));
	if (n > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		while (n > 0 && buf[n - 1] == ' ')
			buf[--n] = '\0';
		if (n > 0)
			json_object_set_new(p, "cmdline", lossy_string(buf, (size_t)n));
	}
	snprintf(path, sizeof(path), "%s/%u/ns/net", proc_root, pid);
	if (stat(path, &st) == 0) {
		struct kt_netns_ref *r;

		json_object_set_new(p, "netns", json_integer((json_int_t)st.st_ino));
		r = kt_netns_set_add(nss, st.st_ino);
		if (r) {
			if (!r->path[0]) {
				snprintf(r->path, sizeof(r->path), "%s", path);
				r->pid = pid;
			}
			r->nprocs++;
		}
	}
	proc_cgroups(p, proc_root, cg2, pid);
	scan_fds(proc_root, pid, socks);
	return p;
}

int kt_host_procs(json_t **out, const struct kt_host_opts *o, struct kt_sockmap *socks,
		  struct kt_netns_set *nss)
{
	char cg2[PATH_MAX];
	struct dirent *de;
	json_t *doc = NULL, *arr;
	uint32_t count = 0;
	DIR *d;
	int err = 0;

	d = opendir(o->proc_root);
	if (!d) {
		err = kt_err_set(-errno, "cannot open '%s': %s", o->proc_root, strerror(errno));
		goto out;
	}
	find_cgroup2(o->proc_root, cg2, sizeof(cg2));
	doc = json_pack("{s:s, s:[], s:[]}", "cgroup2_mount", cg2, "processes", "errors");
	arr = json_object_get(doc, "processes");
	if (!arr) {
		closedir(d);
		json_decref(doc);
		err = kt_err_set(-ENOMEM, "cannot build the processes document");
		goto out;
	}
	while ((de = readdir(d))) {
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);
		json_t *p;

		if (*end || !pid || pid > UINT32_MAX)
			continue;
		if (count >= o->max_procs) {
			json_object_set_new(doc, "truncated", json_true());
			break;
		}
		p = one_proc(o->proc_root, cg2, (uint32_t)pid, socks, nss);
		if (p) {
			json_array_append_new(arr, p);
			count++;
		}
	}
	closedir(d);
	*out = doc;
out:
	return err;
}
