/* check_host.c - host facts: cgroup path parsing over real-world shapes,
 * /proc/PID/cgroup lines, the socket map, writing into a spool, and a walk
 * of this very process. The lab test (tests/lab/host_lab.sh) covers pods. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "host.h"
#include "host_int.h"
#include "records.h"
#include "source.h"
#include "spool.h"
#include "stream.h"

#define UID_D "2d3c9a6e-6f1b-4c1e-9d5a-0b7e8f9a1c2d"
#define UID_U "2d3c9a6e_6f1b_4c1e_9d5a_0b7e8f9a1c2d"
#define CID "4f7e5b1c0d9a8e3f2b6c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a"
#define CID2 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define STATIC_UID "7b3c1f2e9d8a4b5c6d7e8f9a0b1c2d3e"

struct cg_case {
	const char *path;
	const char *uid, *cid;
	enum kt_cg_runtime rt;
	enum kt_cg_qos qos;
	bool kubepods, monitor;
};

static const struct cg_case cases[] = {
	/* systemd driver, containerd (cgroup v2 and v1 name=systemd) */
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_U ".slice/cri-containerd-" CID ".scope",
	  UID_D, CID, KT_CG_RT_CONTAINERD, KT_CG_QOS_BURSTABLE, true, false },
	{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_U ".slice/cri-containerd-" CID ".scope",
	  UID_D, CID, KT_CG_RT_CONTAINERD, KT_CG_QOS_BESTEFFORT, true, false },
	{ "/kubepods.slice/kubepods-pod" UID_U ".slice/cri-containerd-" CID ".scope",
	  UID_D, CID, KT_CG_RT_CONTAINERD, KT_CG_QOS_GUARANTEED, true, false },
	/* pod level only (the pause sandbox's parent) */
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_U ".slice",
	  UID_D, "", KT_CG_RT_NONE, KT_CG_QOS_BURSTABLE, true, false },
	/* QoS level only */
	{ "/kubepods.slice/kubepods-burstable.slice", "", "", KT_CG_RT_NONE, KT_CG_QOS_NONE, true, false },
	/* CRI-O, systemd */
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_U ".slice/crio-" CID ".scope",
	  UID_D, CID, KT_CG_RT_CRIO, KT_CG_QOS_BURSTABLE, true, false },
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_U ".slice/crio-conmon-" CID ".scope",
	  UID_D, CID, KT_CG_RT_CRIO, KT_CG_QOS_BURSTABLE, true, true },
	/* CRI-O with cgroupfs */
	{ "/kubepods/pod" UID_D "/crio-" CID, UID_D, CID, KT_CG_RT_CRIO, KT_CG_QOS_GUARANTEED, true, false },
	/* cri-dockerd / dockershim with systemd */
	{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_U ".slice/docker-" CID ".scope",
	  UID_D, CID, KT_CG_RT_DOCKER, KT_CG_QOS_BESTEFFORT, true, false },
	/* cgroupfs driver: bare ids (containerd or dockershim) */
	{ "/kubepods/burstable/pod" UID_D "/" CID, UID_D, CID, KT_CG_RT_UNKNOWN, KT_CG_QOS_BURSTABLE, true, false },
	{ "/kubepods/besteffort/pod" UID_D "/" CID, UID_D, CID, KT_CG_RT_UNKNOWN, KT_CG_QOS_BESTEFFORT, true, false },
	{ "/kubepods/pod" UID_D "/" CID, UID_D, CID, KT_CG_RT_UNKNOWN, KT_CG_QOS_GUARANTEED, true, false },
	{ "/kubepods/burstable/pod" UID_D, UID_D, "", KT_CG_RT_NONE, KT_CG_QOS_BURSTABLE, true, false },
	/* static pod: the UID is a 32-hex config hash */
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" STATIC_UID ".slice/cri-containerd-" CID ".scope",
	  STATIC_UID, CID, KT_CG_RT_CONTAINERD, KT_CG_QOS_BURSTABLE, true, false },
	{ "/kubepods/burstable/pod" STATIC_UID "/" CID, STATIC_UID, CID, KT_CG_RT_UNKNOWN, KT_CG_QOS_BURSTABLE, true, false },
	/* kubelet with a cgroup root (kind, rootless) */
	{ "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/kubelet-kubepods-burstable-pod" UID_U ".slice/cri-containerd-" CID ".scope",
	  UID_D, CID, KT_CG_RT_CONTAINERD, KT_CG_QOS_BURSTABLE, true, false },
	{ "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-pod" UID_U ".slice/cri-containerd-" CID ".scope",
	  UID_D, CID, KT_CG_RT_CONTAINERD, KT_CG_QOS_GUARANTEED, true, false },
	/* containerd's own systemd form */
	{ "/system.slice/containerd.service/kubepods-burstable-pod" UID_U ".slice:cri-containerd:" CID,
	  UID_D, CID, KT_CG_RT_CONTAINERD, KT_CG_QOS_BURSTABLE, true, false },
	{ "/system.slice/containerd.service/kubepods-pod" UID_U ".slice:cri-containerd:" CID,
	  UID_D, CID, KT_CG_RT_CONTAINERD, KT_CG_QOS_GUARANTEED, true, false },
	/* nested: kind/k3d node containers hold kubepods; the outer id is the node's */
	{ "/docker/" CID2 "/kubepods/burstable/pod" UID_D "/" CID, UID_D, CID, KT_CG_RT_UNKNOWN, KT_CG_QOS_BURSTABLE, true, false },
	{ "/docker/" CID2 "/kubepods/burstable/pod" UID_D, UID_D, "", KT_CG_RT_NONE, KT_CG_QOS_BURSTABLE, true, false },
	{ "/system.slice/docker-" CID2 ".scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" UID_U ".slice/cri-containerd-" CID ".scope",
	  UID_D, CID, KT_CG_RT_CONTAINERD, KT_CG_QOS_BESTEFFORT, true, false },
	/* a cgroup namespace shows the path relative to its root */
	{ "/../../kubepods/burstable/pod" UID_D "/" CID, UID_D, CID, KT_CG_RT_UNKNOWN, KT_CG_QOS_BURSTABLE, true, false },
	{ "/", "", "", KT_CG_RT_NONE, KT_CG_QOS_NONE, false, false },
	/* outside Kubernetes */
	{ "/docker/" CID, "", CID, KT_CG_RT_DOCKER, KT_CG_QOS_NONE, false, false },
	{ "/system.slice/docker-" CID ".scope", "", CID, KT_CG_RT_DOCKER, KT_CG_QOS_NONE, false, false },
	{ "/machine.slice/libpod-" CID ".scope", "", CID, KT_CG_RT_PODMAN, KT_CG_QOS_NONE, false, false },
	{ "/machine.slice/libpod-conmon-" CID ".scope", "", CID, KT_CG_RT_PODMAN, KT_CG_QOS_NONE, false, true },
	{ "/user.slice/user-1000.slice/session-3.scope", "", "", KT_CG_RT_NONE, KT_CG_QOS_NONE, false, false },
	{ "/system.slice/containerd.service", "", "", KT_CG_RT_NONE, KT_CG_QOS_NONE, false, false },
	{ "/init.scope", "", "", KT_CG_RT_NONE, KT_CG_QOS_NONE, false, false },
	{ "", "", "", KT_CG_RT_NONE, KT_CG_QOS_NONE, false, false },
	/* near misses: nothing must be invented */
	{ "/kubepods/burstable/pod" UID_D "x/" CID, "", CID, KT_CG_RT_UNKNOWN, KT_CG_QOS_NONE, true, false },
	/* found by fuzzing: a UID going wrong late must leave nothing behind */
	{ "/kubepods/burstable/pod2d3c\xb9" "a6e-6f1b-4c1e-9d5a-0b7e8f9a1c2d/" CID, "", CID, KT_CG_RT_UNKNOWN, KT_CG_QOS_NONE, true, false },
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod2d3c9a6e_6f1b_4c1e_9d5a_0b7e8f9a1c2g.slice",
	  "", "", KT_CG_RT_NONE, KT_CG_QOS_NONE, true, false },
	{ "/kubepods/burstable/pod2d3c9a6e-6f1b-4c1e-9d5a-0b7e8f9a1c2/" CID, "", CID, KT_CG_RT_UNKNOWN, KT_CG_QOS_NONE, true, false },
	{ "/kubepods/burstable/pod" UID_D "/4F7E5B1C0D9A8E3F2B6C1D0E9F8A7B6C5D4E3F2A1B0C9D8E7F6A5B4C3D2E1F0A",
	  UID_D, "", KT_CG_RT_NONE, KT_CG_QOS_BURSTABLE, true, false },
	{ "/kubepods/burstable/pod" UID_D "/cri-containerd-" CID ".scopex", UID_D, "", KT_CG_RT_NONE, KT_CG_QOS_BURSTABLE, true, false },
	{ "/kubepods/burstable/pod" UID_D "/" CID "0", UID_D, "", KT_CG_RT_NONE, KT_CG_QOS_BURSTABLE, true, false },
	{ "/system.slice/foo-pod" UID_U ".slice", "", "", KT_CG_RT_NONE, KT_CG_QOS_NONE, false, false },
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_D ".slice",
	  UID_D, "", KT_CG_RT_NONE, KT_CG_QOS_BURSTABLE, true, false },
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_U "slice", "", "", KT_CG_RT_NONE, KT_CG_QOS_NONE, true, false },
};

START_TEST(cgroup_shapes)
{
	const struct cg_case *c = &cases[_i];
	struct kt_cgroup_info ci;

	ck_assert_int_eq(kt_cgroup_parse(c->path, &ci), 0);
	ck_assert_msg(!strcmp(ci.pod_uid, c->uid), "%s: uid '%s', want '%s'", c->path, ci.pod_uid, c->uid);
	ck_assert_msg(!strcmp(ci.container_id, c->cid), "%s: id '%s', want '%s'", c->path,
		      ci.container_id, c->cid);
	ck_assert_msg(ci.runtime == c->rt, "%s: runtime %s, want %s", c->path,
		      kt_cg_runtime_name(ci.runtime), kt_cg_runtime_name(c->rt));
	ck_assert_msg(ci.qos == c->qos, "%s: qos '%s', want '%s'", c->path, kt_cg_qos_name(ci.qos),
		      kt_cg_qos_name(c->qos));
	ck_assert_msg(ci.kubepods == c->kubepods, "%s: kubepods %d", c->path, ci.kubepods);
	ck_assert_msg(ci.monitor == c->monitor, "%s: monitor %d", c->path, ci.monitor);
}
END_TEST

START_TEST(cgroup_limits)
{
	struct kt_cgroup_info ci;
	char *big = malloc(5000);

	ck_assert_int_eq(kt_cgroup_parse(NULL, &ci), -EINVAL);
	ck_assert_int_eq(kt_cgroup_parse("/", NULL), -EINVAL);
	memset(big, 'a', 4999);
	big[4999] = '\0';
	ck_assert_int_eq(kt_cgroup_parse(big, &ci), -EINVAL);
	/* exactly at the limit: parsed, nothing found */
	big[4096] = '\0';
	ck_assert_int_eq(kt_cgroup_parse(big, &ci), 0);
	ck_assert_str_eq(ci.container_id, "");
	free(big);
	ck_assert_str_eq(kt_cg_runtime_name(KT_CG_RT_CRIO), "cri-o");
	ck_assert_str_eq(kt_cg_qos_name(KT_CG_QOS_BESTEFFORT), "besteffort");
}
END_TEST

START_TEST(cgroup_lines)
{
	char l1[] = "0::/kubepods.slice/x.scope\n", l2[] = "12:cpu,cpuacct:/kubepods/burstable",
	     l3[] = "1:name=systemd:/system.slice/containerd.service/kubepods-pod" UID_U ".slice:cri-containerd:" CID,
	     b1[] = "", b2[] = "abc", b3[] = "1:cpu", b4[] = "x:y:z", b5[] = "99999999:a:/b", b6[] = ":cpu:/";
	const char *ctrl, *path;
	unsigned h;

	ck_assert_int_eq(kt_cgroup_line_split(l1, &h, &ctrl, &path), 0);
	ck_assert_uint_eq(h, 0);
	ck_assert_str_eq(ctrl, "");
	ck_assert_str_eq(path, "/kubepods.slice/x.scope");
	ck_assert_int_eq(kt_cgroup_line_split(l2, &h, &ctrl, &path), 0);
	ck_assert_uint_eq(h, 12);
	ck_assert_str_eq(ctrl, "cpu,cpuacct");
	ck_assert_int_eq(kt_cgroup_line_split(l3, &h, &ctrl, &path), 0);
	ck_assert_str_eq(ctrl, "name=systemd");
	ck_assert_str_eq(path, "/system.slice/containerd.service/kubepods-pod" UID_U ".slice:cri-containerd:" CID);
	ck_assert_int_eq(kt_cgroup_line_split(b1, &h, &ctrl, &path), -EPROTO);
	ck_assert_int_eq(kt_cgroup_line_split(b2, &h, &ctrl, &path), -EPROTO);
	ck_assert_int_eq(kt_cgroup_line_split(b3, &h, &ctrl, &path), -EPROTO);
	ck_assert_int_eq(kt_cgroup_line_split(b4, &h, &ctrl, &path), -EPROTO);
	ck_assert_int_eq(kt_cgroup_line_split(b5, &h, &ctrl, &path), -EPROTO);
	ck_assert_int_eq(kt_cgroup_line_split(b6, &h, &ctrl, &path), -EPROTO);
}
END_TEST

START_TEST(sockmap)
{
	struct kt_sockmap m;
	uint32_t i;

	ck_assert_int_eq(kt_sockmap_init(&m, 100), 0);
	kt_sockmap_put(&m, 12345, 7);
	kt_sockmap_put(&m, 12345, 9);	/* a second holder does not replace the first */
	kt_sockmap_put(&m, 0, 3);	/* inode 0 is never a socket */
	ck_assert_uint_eq(kt_sockmap_get(&m, 12345), 7);
	ck_assert_uint_eq(kt_sockmap_get(&m, 0), 0);
	ck_assert_uint_eq(kt_sockmap_get(&m, 54321), 0);
	for (i = 1; i <= 10000; i++)
		kt_sockmap_put(&m, 1000000 + i, i);
	ck_assert_uint_gt(m.dropped, 0);
	ck_assert_uint_le(m.n * 2, m.cap);
	/* what was kept is still right */
	for (i = 1; i <= 10000; i++) {
		uint32_t p = kt_sockmap_get(&m, 1000000 + i);

		ck_assert(p == 0 || p == i);
	}
	kt_sockmap_release(&m);
}
END_TEST

/* Facts written into a spool: the documents and one SNAPSHOT per process. */
static ssize_t fd_read(void *ctx, void *buf, size_t len)
{
	ssize_t n = read(*(int *)ctx, buf, len);

	return n < 0 ? -errno : n;
}

START_TEST(write_spool)
{
	char dir[] = "/tmp/check_host.XXXXXX", spdir[256], path[512];
	struct kt_stream_reader *r;
	struct kt_spool *sp;
	const struct kt_proc *recs;
	json_t *facts, *doc;
	struct dirent *de;
	size_t n, total = 0;
	DIR *d;
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(spdir, sizeof(spdir), "%s/spool", dir);
	facts = json_pack("{s:{s:s}, s:{s:[{s:i, s:i, s:s, s:I, s:I, s:s, s:s, s:[{s:i, s:s, s:s}, {s:i, s:s, s:s}]},"
			  " {s:i, s:s}]}, s:{s:[]}, s:{s:[]}, s:{s:[]}}",
			  "node", "node_name", "n1",
			  "processes", "processes",
			  "pid", 42, "ppid", 1, "comm", "nginx", "cgroup_id", (json_int_t)77,
			  "netns", (json_int_t)4026532000, "pod_uid", UID_D, "container_id", CID,
			  "cgroups", "hierarchy", 4, "controllers", "cpu", "path", "/kubepods/burstable/pod" UID_D "/" CID,
			  "hierarchy", 0, "controllers", "", "path", "/kubepods.slice/x.scope",
			  "pid", 43, "comm", "bash",
			  "netns", "namespaces", "sockets", "namespaces", "conntrack", "namespaces");
	ck_assert_ptr_nonnull(facts);
	ck_assert_int_eq(kt_spool_create(&sp, spdir, NULL), 0);
	ck_assert_int_eq(kt_host_write(sp, "start", facts, 1700000000000000000ull), 0);
	ck_assert_int_eq(kt_spool_close(sp), 0);

	snprintf(path, sizeof(path), "%s/host/start/processes.json", spdir);
	doc = json_load_file(path, 0, NULL);
	ck_assert_ptr_nonnull(doc);
	ck_assert(json_equal(doc, json_object_get(facts, "processes")));
	json_decref(doc);
	for (const char *const *f = (const char *const[]){ "node", "netns", "sockets", "conntrack", NULL }; *f; f++) {
		snprintf(path, sizeof(path), "%s/host/start/%s.json", spdir, *f);
		doc = json_load_file(path, 0, NULL);
		ck_assert_msg(doc != NULL, "no %s", path);
		json_decref(doc);
	}

	snprintf(path, sizeof(path), "%s/streams/proc", spdir);
	d = opendir(path);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d))) {
		char seg[800];

		if (de->d_name[0] == '.')
			continue;
		snprintf(seg, sizeof(seg), "%s/%s", path, de->d_name);
		fd = open(seg, O_RDONLY);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(kt_stream_reader_open(&r, fd_read, &fd, &kt_proc_schema, seg), 0);
		while (kt_stream_reader_next(r, (const void **)&recs, &n) == 0 && n) {
			for (size_t i = 0; i < n; i++, total++) {
				const struct kt_proc *p = &recs[i];

				ck_assert_uint_eq(p->kind, KT_PROC_SNAPSHOT);
				ck_assert_uint_eq(p->ts, 1700000000000000000ull);
				if (p->pid == 42) {
					ck_assert_uint_eq(p->ppid, 1);
					ck_assert_uint_eq(p->cgroup_id, 77);
					ck_assert_uint_eq(p->netns, 4026532000u);
					ck_assert(p->comm.len == 5 && !memcmp(p->comm.p, "nginx", 5));
					ck_assert(p->pod_uid.len == 36 && !memcmp(p->pod_uid.p, UID_D, 36));
					ck_assert(p->container_id.len == 64 && !memcmp(p->container_id.p, CID, 64));
					/* the v2 path, the one cgroup_id names */
					ck_assert(p->path.len == strlen("/kubepods.slice/x.scope") &&
						  !memcmp(p->path.p, "/kubepods.slice/x.scope", p->path.len));
				} else {
					ck_assert_uint_eq(p->pid, 43);
					ck_assert_uint_eq(p->pod_uid.len, 0);
				}
			}
		}
		kt_stream_reader_free(r);
		close(fd);
	}
	closedir(d);
	ck_assert_uint_eq(total, 2);
	json_decref(facts);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(path), 0);
}
END_TEST

/* This process, walked for real: it appears with its comm (made invalid
 * UTF-8 on purpose) and netns, and a socket it listens on appears with its
 * pid. */
START_TEST(collect_self)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct kt_host_opts o = { .no_netns = true };
	socklen_t len = sizeof(sa);
	json_t *facts = NULL, *p, *ns, *s;
	struct stat st;
	size_t i, k;
	bool found_proc = false, found_sock = false;
	int lfd = socket(AF_INET, SOCK_STREAM, 0), err;

	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 1), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
	ck_assert_int_eq(stat("/proc/self/ns/net", &st), 0);
	ck_assert_int_eq(prctl(PR_SET_NAME, "check\xffhost", 0, 0, 0), 0);

	err = kt_host_collect(&facts, &o);
	prctl(PR_SET_NAME, "check_host", 0, 0, 0);
	ck_assert_msg(err == 0, "%s", kt_err_msg(err));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(facts, "node"), "cgroup_layout")),
			 access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ? "unified" :
			 access("/sys/fs/cgroup/unified/cgroup.procs", F_OK) == 0 ? "hybrid" : "legacy");
	json_array_foreach(json_object_get(json_object_get(facts, "processes"), "processes"), i, p) {
		if (json_integer_value(json_object_get(p, "pid")) != getpid())
			continue;
		found_proc = true;
		ck_assert_str_eq(json_string_value(json_object_get(p, "comm")), "check?host");
		ck_assert_int_eq(json_integer_value(json_object_get(p, "netns")), (json_int_t)st.st_ino);
		ck_assert_int_eq(json_integer_value(json_object_get(p, "ppid")), getppid());
		ck_assert_uint_gt(json_array_size(json_object_get(p, "cgroups")), 0);
	}
	ck_assert(found_proc);
	json_array_foreach(json_object_get(json_object_get(facts, "sockets"), "namespaces"), i, ns) {
		if (json_integer_value(json_object_get(ns, "netns")) != (json_int_t)st.st_ino)
			continue;
		json_array_foreach(json_object_get(ns, "sockets"), k, s) {
			if (json_integer_value(json_object_get(s, "sport")) != ntohs(sa.sin_port) ||
			    strcmp(json_string_value(json_object_get(s, "state")), "listen"))
				continue;
			found_sock = true;
			ck_assert_str_eq(json_string_value(json_object_get(s, "src")), "127.0.0.1");
			ck_assert_int_eq(json_integer_value(json_object_get(s, "pid")), getpid());
		}
	}
	ck_assert(found_sock);
	json_decref(facts);
	close(lfd);
}
END_TEST

/* The source as ktcap record drives it: facts at start and at stop, the
 * node name from the options, counts in the manifest report. */
START_TEST(source_start_stop)
{
	char dir[] = "/tmp/check_host_src.XXXXXX", spdir[256], path[512];
	struct kt_record_opts opts = { .node_name = "lab-node-1" };
	struct kt_record_ctx ctx = { .opts = &opts };
	json_t *report = json_object(), *doc, *p;
	struct kt_spool *sp;
	void *state = NULL;
	size_t i;

	ck_assert_str_eq(kt_host_source.name, "host");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(spdir, sizeof(spdir), "%s/spool", dir);
	ck_assert_int_eq(kt_spool_create(&sp, spdir, NULL), 0);
	ctx.spool = sp;
	ck_assert_int_eq(kt_host_source.start(&ctx, &state), 0);
	ck_assert_int_eq(kt_host_source.fd(state), -1);
	ck_assert_int_eq(kt_host_source.poll(state, &ctx), 0);
	ck_assert_int_eq(kt_host_source.stop(state, &ctx, report), 0);
	kt_host_source.free(state);
	ck_assert_int_eq(kt_spool_close(sp), 0);

	for (const char *const *ph = (const char *const[]){ "start", "end", NULL }; *ph; ph++) {
		bool me = false;

		snprintf(path, sizeof(path), "%s/host/%s/node.json", spdir, *ph);
		doc = json_load_file(path, 0, NULL);
		ck_assert_msg(doc != NULL, "no %s", path);
		ck_assert_str_eq(json_string_value(json_object_get(doc, "node_name")), "lab-node-1");
		json_decref(doc);
		snprintf(path, sizeof(path), "%s/host/%s/processes.json", spdir, *ph);
		doc = json_load_file(path, 0, NULL);
		ck_assert_msg(doc != NULL, "no %s", path);
		json_array_foreach(json_object_get(doc, "processes"), i, p)
			me |= json_integer_value(json_object_get(p, "pid")) == getpid();
		ck_assert_msg(me, "this process is not in %s", path);
		ck_assert_int_ge(json_integer_value(json_object_get(json_object_get(report, *ph), "processes")),
				 1);
		ck_assert_int_ge(json_integer_value(json_object_get(json_object_get(report, *ph), "netns")), 1);
		json_decref(doc);
	}
	json_decref(report);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(path), 0);
}
END_TEST

Suite *kt_host_suite(void)
{
	Suite *s = suite_create("host");
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, cgroup_shapes, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, cgroup_limits);
	tcase_add_test(tc, cgroup_lines);
	tcase_add_test(tc, sockmap);
	suite_add_tcase(s, tc);
	tc = tcase_create("collect");
	tcase_add_test(tc, write_spool);
	tcase_add_test(tc, collect_self);
	tcase_add_test(tc, source_start_stop);
	suite_add_tcase(s, tc);
	return s;
}
