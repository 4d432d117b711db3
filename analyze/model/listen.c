/* listen.c - who listens on a TCP port of a network namespace, over time:
 * from the host facts' listening sockets (start and end) and the capture's
 * LISTEN events. Used for a loopback connection whose server side the
 * capture did not see: the listener of that port in the client's netns is
 * the server, not the client itself. */
#include <errno.h>
#include <string.h>

#include "error.h"
#include "model_int.h"

static uint64_t listen_hash(uint64_t netns, uint16_t port)
{
	return kt_hash64(netns * 65537u + port);
}

int kt_listen_add(struct kt_model *m, uint64_t netns, uint16_t port, uint32_t pid,
		  const char *comm, size_t comm_len, uint64_t cgroup, uint64_t t)
{
	uint64_t h = listen_hash(netns, port);
	struct kt_listener *l;

	/* the same listener seen again (start and end facts) is one */
	for (uint32_t i = kt_map_first(&m->listenmap, h); i != KT_MAP_END;
	     i = kt_map_next(&m->listenmap, h, i))
		if (m->listeners[i].netns == netns && m->listeners[i].port == port &&
		    m->listeners[i].pid == pid)
			return 0;
	if (kt_grow((void **)&m->listeners, &m->caplisteners, m->nlisteners + 1,
		    sizeof(*m->listeners)))
		return kt_err_set(-ENOMEM, "out of memory");
	l = &m->listeners[m->nlisteners];
	memset(l, 0, sizeof(*l));
	l->netns = netns;
	l->port = port;
	l->pid = pid;
	l->cgroup = cgroup;
	l->from = t;
	if (comm_len > sizeof(l->comm) - 1)
		comm_len = sizeof(l->comm) - 1;
	memcpy(l->comm, comm ? comm : "", comm ? comm_len : 0);
	if (kt_map_put(&m->listenmap, h, m->nlisteners))
		return kt_err_set(-ENOMEM, "out of memory");
	m->nlisteners++;
	return 0;
}

const struct kt_listener *kt_listen_find(const struct kt_model *m, uint64_t netns,
					 uint16_t port, uint64_t t)
{
	uint64_t h = listen_hash(netns, port);
	const struct kt_listener *best = NULL;

	/* the newest listener that started by t; else the first one known */
	for (uint32_t i = kt_map_first(&m->listenmap, h); i != KT_MAP_END;
	     i = kt_map_next(&m->listenmap, h, i)) {
		const struct kt_listener *l = &m->listeners[i];

		if (l->netns != netns || l->port != port)
			continue;
		if (!best || (l->from <= t && (best->from > t || l->from > best->from)) ||
		    (best->from > t && l->from < best->from))
			best = l;
	}
	return best;
}
