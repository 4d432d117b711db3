/* netns.c - visit every network namespace of the node.
 *
 * Namespaces are found through processes (/proc/PID/ns/net) and through the
 * bind mounts that name namespaces without a process (ip netns, docker, CNI
 * plugins: a pod's sandbox netns outlives nothing but its pause process, and
 * a lab node has none). Each is entered with setns(2) on this thread, walked
 * with fresh netlink sockets, and left again before anything else happens;
 * netlink sockets belong to the netns they were created in.
 */
#include "host_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

#define NETNS_MAX 65536

/* ---- socket inode -> pid ------------------------------------------------ */

int kt_sockmap_init(struct kt_sockmap *m, size_t cap)
{
	size_t c = 64;

	memset(m, 0, sizeof(*m));
	while (c < cap * 2)
		c <<= 1;
	m->ino = calloc(c, sizeof(*m->ino));
	m->pid = calloc(c, sizeof(*m->pid));
	if (!m->ino || !m->pid) {
		kt_sockmap_release(m);
		return kt_err_set(-ENOMEM, "cannot allocate the socket map");
	}
	m->cap = c;
	return 0;
}

static size_t slot(uint64_t ino, size_t cap)
{
	return (size_t)((ino * 0x9e3779b97f4a7c15ull) >> 20) & (cap - 1);
}

/* The first process seen holding a socket keeps it: the lowest pid on a
 * walk in /proc order, usually the parent (a server's master). */
void kt_sockmap_put(struct kt_sockmap *m, uint64_t ino, uint32_t pid)
{
	size_t i;

	if (!ino || !m->cap)
		return;
	if (m->n * 2 >= m->cap) {
		m->dropped++;
		return;
	}
	for (i = slot(ino, m->cap); m->ino[i]; i = (i + 1) & (m->cap - 1))
		if (m->ino[i] == ino)
			return;
	m->ino[i] = ino;
	m->pid[i] = pid;
	m->n++;
}

uint32_t kt_sockmap_get(const struct kt_sockmap *m, uint64_t ino)
{
	if (!ino || !m->cap)
		return 0;
	for (size_t i = slot(ino, m->cap); m->ino[i]; i = (i + 1) & (m->cap - 1))
		if (m->ino[i] == ino)
			return m->pid[i];
	return 0;
}

void kt_sockmap_release(struct kt_sockmap *m)
{
	free(m->ino);
	free(m->pid);
	memset(m, 0, sizeof(*m));
}

/* ---- the set of namespaces ---------------------------------------------- */

struct kt_netns_ref *kt_netns_set_add(struct kt_netns_set *s, uint64_t ino)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].ino == ino)
			return &s->v[i];
	if (s->n >= NETNS_MAX)
		return NULL;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 32;
		struct kt_netns_ref *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		s->v = v;
		s->cap = cap;
	}
	memset(&s->v[s->n], 0, sizeof(s->v[0]));
	s->v[s->n].ino = ino;
	s->v[s->n].names = json_array();
	return &s->v[s->n++];
}

void kt_netns_set_release(struct kt_netns_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		json_decref(s->v[i].names);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static const char *const default_dirs[] = {
	"/run/netns", "/var/run/netns", "/run/docker/netns", "/var/run/docker/netns", NULL,
};

void kt_host_named_netns(const struct kt_host_opts *o, struct kt_netns_set *nss,
			 json_t *errors)
{
	const char *const *dirs = o->netns_dirs ? o->netns_dirs : default_dirs;

	for (; *dirs; dirs++) {
		struct dirent *de;
		DIR *d = opendir(*dirs);

		if (!d)
			continue;
		while ((de = readdir(d))) {
			char path[PATH_MAX];
			struct kt_netns_ref *r;
			struct stat st;

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", *dirs, de->d_name);
			/* A bind mount of nsfs; an unmounted leftover is a plain
			 * file on the parent filesystem, not a namespace. */
			if (stat(path, &st) < 0 || st.st_dev == 0)
				continue;
			{
				struct stat self;

				if (stat(*dirs, &self) == 0 && self.st_dev == st.st_dev)
					continue;
			}
			r = kt_netns_set_add(nss, st.st_ino);
			if (!r) {
				json_array_append_new(errors, json_sprintf("too many netns at '%s'", path));
				break;
			}
			if (!r->path[0] || !r->pid)
				snprintf(r->path, sizeof(r->path), "%s", path);
			{
				/* /var/run is usually /run: name each mount once */
				size_t k;
				json_t *v;
				bool dup = false;

				json_array_foreach(r->names, k, v)
					dup |= !strcmp(json_string_value(v) ? json_string_value(v) : "",
						       de->d_name);
				if (!dup)
					json_array_append_new(r->names, json_string(de->d_name));
			}
		}
		closedir(d);
	}
}

/* Enter ref's netns, walk it, come back. The walk's errors go into the
 * documents; *stranded is set when this thread could not return to its own
 * netns, after which nothing more may be done on it. */
static int visit(struct kt_netns_ref *r, int home_fd, const struct kt_host_opts *o,
		 const struct kt_sockmap *socks, json_t *ns_out, json_t *sk_out, json_t *ct_out,
		 bool *stranded)
{
	json_t *links = json_array(), *socks_arr = json_array(), *ct = json_array();
	json_t *ns_err = json_array(), *sk_err = json_array(), *ct_err = json_array();
	bool sk_trunc = false, ct_trunc = false;
	int fd = -1, err = 0;
	struct stat st;

	if (home_fd >= 0) {
		fd = open(r->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			err = kt_err_set(-errno, "cannot open netns '%s': %s", r->path, strerror(errno));
			goto out;
		}
		/* The pid may have been reused by a process elsewhere. */
		if (fstat(fd, &st) < 0 || st.st_ino != r->ino) {
			err = kt_err_set(-ESRCH, "netns '%s' changed while walking", r->path);
			goto out;
		}
		if (setns(fd, CLONE_NEWNET) < 0) {
			err = kt_err_set(-errno, "cannot enter netns '%s': %s", r->path, strerror(errno));
			goto out;
		}
	}
	if (kt_host_links(links) < 0)
		json_array_append_new(ns_err, json_string(kt_err_msg(-EIO)));
	if (kt_host_sockets(socks, o->max_sockets, socks_arr, &sk_trunc) < 0)
		json_array_append_new(sk_err, json_string(kt_err_msg(-EIO)));
	if (kt_host_conntrack(o->max_conntrack, ct, &ct_trunc) < 0)
		json_array_append_new(ct_err, json_string(kt_err_msg(-EIO)));
	if (home_fd >= 0 && setns(home_fd, CLONE_NEWNET) < 0) {
		/* Going on in the wrong netns would mislabel every later fact. */
		err = kt_err_set(-errno, "cannot return to the original netns: %s", strerror(errno));
		*stranded = true;
		goto out;
	}
out:
	if (fd >= 0)
		close(fd);
	if (err) {
		/* Not walked: say so in each document, not only in one. */
		json_array_append_new(ns_err, json_string(kt_err_msg(err)));
		json_array_append_new(sk_err, json_string(kt_err_msg(err)));
		json_array_append_new(ct_err, json_string(kt_err_msg(err)));
	}
	json_array_append_new(ns_out, json_pack("{s:I, s:s, s:O, s:i, s:i, s:o, s:o}",
		"netns", (json_int_t)r->ino, "path", r->path, "names", r->names,
		"pid", (int)r->pid, "processes", (int)r->nprocs, "links", links, "errors", ns_err));
	json_array_append_new(sk_out, json_pack("{s:I, s:o, s:b, s:o}", "netns", (json_int_t)r->ino,
		"sockets", socks_arr, "truncated", sk_trunc, "errors", sk_err));
	json_array_append_new(ct_out, json_pack("{s:I, s:o, s:b, s:o}", "netns", (json_int_t)r->ino,
		"entries", ct, "truncated", ct_trunc, "errors", ct_err));
	return err;
}

int kt_host_netns(const struct kt_host_opts *o, struct kt_netns_set *nss,
		  const struct kt_sockmap *socks, json_t *netns_doc, json_t *sockets_doc,
		  json_t *conntrack_doc)
{
	json_t *ns_arr = json_object_get(netns_doc, "namespaces");
	json_t *sk_arr = json_object_get(sockets_doc, "namespaces");
	json_t *ct_arr = json_object_get(conntrack_doc, "namespaces");
	json_t *errors = json_object_get(netns_doc, "errors");
	struct stat self;
	int home = -1, err = 0;
	char self_path[PATH_MAX];

	snprintf(self_path, sizeof(self_path), "%s/thread-self/ns/net", o->proc_root);
	if (stat(self_path, &self) < 0) {
		err = kt_err_set(-errno, "cannot stat '%s': %s", self_path, strerror(errno));
		goto out;
	}
	if (!o->no_netns) {
		home = open(self_path, O_RDONLY | O_CLOEXEC);
		if (home < 0) {
			err = kt_err_set(-errno, "cannot open '%s': %s", self_path, strerror(errno));
			goto out;
		}
	}
	/* Our own netns is walked even when no process was seen in it (a
	 * /proc from another pid namespace). */
	{
		struct kt_netns_ref *r = kt_netns_set_add(nss, self.st_ino);

		if (r && !r->path[0])
			snprintf(r->path, sizeof(r->path), "%s", self_path);
	}
	for (size_t i = 0; i < nss->n; i++) {
		struct kt_netns_ref *r = &nss->v[i];
		bool stranded = false;
		int rc;

		if (o->no_netns && r->ino != self.st_ino)
			continue;
		rc = visit(r, r->ino == self.st_ino ? -1 : home, o, socks, ns_arr, sk_arr, ct_arr,
			   &stranded);
		if (rc == -EPERM && !json_array_size(errors))
			json_array_append_new(errors, json_string(
				"cannot enter other network namespaces (needs CAP_SYS_ADMIN): only the own one was walked"));
		if (stranded) {
			err = rc;
			goto out;
		}
	}
	json_object_set_new(netns_doc, "own_netns", json_integer((json_int_t)self.st_ino));
out:
	if (home >= 0)
		close(home);
	return err;
}
