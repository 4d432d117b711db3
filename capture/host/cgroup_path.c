/* cgroup_path.c - container ID, runtime and pod UID from a cgroup path.
 *
 * kubelet and the runtimes encode identity in cgroup names, and the shape
 * depends on the cgroup driver, the runtime and the hierarchy:
 *
 *   systemd driver (v1 or v2):
 *     /kubepods.slice/kubepods-burstable.slice/
 *       kubepods-burstable-pod<uid with _>.slice/cri-containerd-<id>.scope
 *     /kubepods.slice/kubepods-pod<uid_>.slice/crio-<id>.scope   (Guaranteed)
 *     .../kubepods-besteffort-pod<uid_>.slice/docker-<id>.scope  (cri-dockerd)
 *     /kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/...
 *     /system.slice/containerd.service/
 *       kubepods-burstable-pod<uid_>.slice:cri-containerd:<id>    (containerd's
 *                                                                  own form)
 *   cgroupfs driver:
 *     /kubepods/burstable/pod<uid>/<id>          (containerd, dockershim)
 *     /kubepods/pod<uid>/crio-<id>               (CRI-O, Guaranteed)
 *   nested (kind, k3d): /docker/<node id>/kubepods/... - the node container's
 *     id is not the pod's container, so ids seen before kubepods are dropped
 *   outside Kubernetes: /docker/<id>, /system.slice/docker-<id>.scope,
 *     /machine.slice/libpod-<id>.scope
 *
 * Pod UIDs are 36-character UUIDs, except static pods' which are 32 hex
 * characters (a config hash). A cgroup namespace can make the path start
 * with "/.."; components are matched wherever they are.
 */
#include "host.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define KT_CGROUP_PATH_MAX 4096

static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return true;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && !memcmp(s + n - k, suffix, k);
}

static bool starts_with(const char *s, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);

	return n >= k && !memcmp(s, prefix, k);
}

/* A pod UID as kubelet writes it: dashes (cgroupfs) or underscores (systemd
 * slices) in UUID places, or 32 hex characters for a static pod. */
static bool take_uid(const char *s, size_t n, char out[37])
{
	static const int dash_at[] = { 8, 13, 18, 23 };
	char uid[37];
	size_t i;

	/* Built aside: a near miss must not leave half a UID in out. */
	if (n == 32 && is_hex(s, 32)) {
		memcpy(uid, s, 32);
		uid[32] = '\0';
	} else if (n == 36) {
		for (i = 0; i < 36; i++) {
			bool dash_place = false;

			for (size_t k = 0; k < 4; k++)
				dash_place |= (int)i == dash_at[k];
			if (dash_place) {
				if (s[i] != '-' && s[i] != '_')
					return false;
				uid[i] = '-';
			} else {
				if (!is_hex(s + i, 1))
					return false;
				uid[i] = s[i];
			}
		}
		uid[36] = '\0';
	} else {
		return false;
	}
	memcpy(out, uid, sizeof(uid));
	return true;
}

static void set_id(struct kt_cgroup_info *ci, const char *id, enum kt_cg_runtime rt,
		   bool monitor)
{
	memcpy(ci->container_id, id, 64);
	ci->container_id[64] = '\0';
	ci->runtime = (uint8_t)rt;
	ci->monitor = monitor;
}

/* "<prefix><64 hex>[<suffix>]" */
static bool match_id(const char *s, size_t n, const char *prefix, const char *suffix,
		     const char **id)
{
	size_t p = strlen(prefix), q = strlen(suffix);

	if (n != p + 64 + q || !starts_with(s, n, prefix) || !ends_with(s, n, suffix))
		return false;
	if (!is_hex(s + p, 64))
		return false;
	*id = s + p;
	return true;
}

static void container_component(struct kt_cgroup_info *ci, const char *s, size_t n,
				const char *prev, size_t prev_n)
{
	static const struct {
		const char *prefix, *suffix;
		enum kt_cg_runtime rt;
		bool monitor;
	} forms[] = {
		{ "cri-containerd-", ".scope", KT_CG_RT_CONTAINERD, false },
		{ "crio-conmon-", ".scope", KT_CG_RT_CRIO, true },
		{ "crio-", ".scope", KT_CG_RT_CRIO, false },
		{ "crio-", "", KT_CG_RT_CRIO, false },
		{ "docker-", ".scope", KT_CG_RT_DOCKER, false },
		{ "libpod-conmon-", ".scope", KT_CG_RT_PODMAN, true },
		{ "libpod-", ".scope", KT_CG_RT_PODMAN, false },
	};
	const char *id;

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		if (match_id(s, n, forms[i].prefix, forms[i].suffix, &id)) {
			set_id(ci, id, forms[i].rt, forms[i].monitor);
			return;
		}
	}
	if (n == 64 && is_hex(s, 64)) {
		enum kt_cg_runtime rt = KT_CG_RT_UNKNOWN;

		if (prev_n == 6 && !memcmp(prev, "docker", 6))
			rt = KT_CG_RT_DOCKER;
		set_id(ci, s, rt, false);
	}
}

static enum kt_cg_qos qos_word(const char *s, size_t n)
{
	if (n == 9 && !memcmp(s, "burstable", 9))
		return KT_CG_QOS_BURSTABLE;
	if (n == 10 && !memcmp(s, "besteffort", 10))
		return KT_CG_QOS_BESTEFFORT;
	return KT_CG_QOS_NONE;
}

/* "...kubepods[-<qos>]-pod<uid>.slice" */
static bool slice_pod(struct kt_cgroup_info *ci, const char *s, size_t n)
{
	const char *pod = NULL;

	if (!ends_with(s, n, ".slice"))
		return false;
	n -= 6;
	for (size_t i = 0; i + 4 <= n; i++)
		if (!memcmp(s + i, "-pod", 4))
			pod = s + i;	/* the last one */
	if (!pod || !take_uid(pod + 4, (size_t)(s + n - pod - 4), ci->pod_uid))
		return false;
	/* The QoS is the word between "kubepods-" and "-pod", if any. */
	{
		const char *k = NULL;

		for (const char *p = s; p + 9 <= pod; p++)
			if (!memcmp(p, "kubepods-", 9))
				k = p + 9;
		if (k && k < pod)
			ci->qos = (uint8_t)qos_word(k, (size_t)(pod - k));
		else
			ci->qos = KT_CG_QOS_GUARANTEED;
		if (!ci->qos)
			ci->qos = KT_CG_QOS_GUARANTEED;
	}
	return true;
}

static bool has_kubepods(const char *s, size_t n)
{
	for (size_t i = 0; i + 8 <= n; i++)
		if (!memcmp(s + i, "kubepods", 8))
			return true;
	return false;
}

int kt_cgroup_parse(const char *path, struct kt_cgroup_info *out)
{
	const char *p, *end, *prev = "";
	size_t prev_n = 0, len;

	if (!path || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	len = strnlen(path, KT_CGROUP_PATH_MAX + 1);
	if (len > KT_CGROUP_PATH_MAX)
		return -EINVAL;
	p = path;
	end = path + len;
	while (p < end) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		const char *c = p;
		size_t n = slash ? (size_t)(slash - p) : (size_t)(end - p);

		p += n + 1;
		if (n == 0 || (n == 2 && !memcmp(c, "..", 2)))
			continue;
		if (has_kubepods(c, n) && !out->kubepods) {
			/* Ids above kubepods belong to the node's own container. */
			out->kubepods = true;
			out->container_id[0] = '\0';
			out->runtime = KT_CG_RT_NONE;
			out->monitor = false;
		}
		if (out->kubepods && memchr(c, ':', n)) {
			/* containerd's systemd form: "<slice>:<prefix>:<id>" */
			const char *c1 = memchr(c, ':', n);
			const char *c2 = memchr(c1 + 1, ':', (size_t)(c + n - c1 - 1));

			slice_pod(out, c, (size_t)(c1 - c));
			if (c2 && c + n - c2 - 1 == 64 && is_hex(c2 + 1, 64)) {
				enum kt_cg_runtime rt = KT_CG_RT_UNKNOWN;
				size_t pn = (size_t)(c2 - c1 - 1);

				if (pn == 14 && !memcmp(c1 + 1, "cri-containerd", 14))
					rt = KT_CG_RT_CONTAINERD;
				else if (pn == 4 && !memcmp(c1 + 1, "crio", 4))
					rt = KT_CG_RT_CRIO;
				else if (pn == 6 && !memcmp(c1 + 1, "docker", 6))
					rt = KT_CG_RT_DOCKER;
				set_id(out, c2 + 1, rt, false);
			}
		} else if (out->kubepods && slice_pod(out, c, n)) {
			/* pod slice: done */
		} else if (out->kubepods && n > 3 && !memcmp(c, "pod", 3) &&
			   take_uid(c + 3, n - 3, out->pod_uid)) {
			/* cgroupfs: .../kubepods[/<qos>]/pod<uid> */
			out->qos = (uint8_t)qos_word(prev, prev_n);
			if (!out->qos)
				out->qos = KT_CG_QOS_GUARANTEED;
		} else {
			container_component(out, c, n, prev, prev_n);
		}
		prev = c;
		prev_n = n;
	}
	return 0;
}

const char *kt_cg_runtime_name(enum kt_cg_runtime rt)
{
	switch (rt) {
	case KT_CG_RT_CONTAINERD: return "containerd";
	case KT_CG_RT_CRIO: return "cri-o";
	case KT_CG_RT_DOCKER: return "docker";
	case KT_CG_RT_PODMAN: return "podman";
	case KT_CG_RT_UNKNOWN: return "unknown";
	default: return "";
	}
}

const char *kt_cg_qos_name(enum kt_cg_qos q)
{
	switch (q) {
	case KT_CG_QOS_GUARANTEED: return "guaranteed";
	case KT_CG_QOS_BURSTABLE: return "burstable";
	case KT_CG_QOS_BESTEFFORT: return "besteffort";
	default: return "";
	}
}

int kt_cgroup_line_split(char *line, unsigned *hier, const char **controllers,
			 const char **path)
{
	char *c1 = strchr(line, ':'), *c2, *end;
	unsigned long h;

	if (!c1 || c1 == line)
		return -EPROTO;
	c2 = strchr(c1 + 1, ':');
	if (!c2)
		return -EPROTO;
	*c1 = '\0';
	*c2 = '\0';
	errno = 0;
	h = strtoul(line, &end, 10);
	if (*end || errno || h > 0xffff)
		return -EPROTO;
	end = c2 + 1 + strcspn(c2 + 1, "\n");
	*end = '\0';
	*hier = (unsigned)h;
	*controllers = c1 + 1;
	*path = c2 + 1;
	return 0;
}
