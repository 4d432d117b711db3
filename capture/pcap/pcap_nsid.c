/* pcap_nsid.c - the id our netns gives another netns (RTM_GETNSID).
 *
 * A veth's peer is named by (peer index, peer netns id), and the id is the
 * one *our* netns assigned: every pod's veth peer has index 2 on a lab, and
 * often on a node, so only the id tells which netns holds it. The kernel
 * answers "what id do you give the netns behind this fd" (NETNSA_FD).
 */
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pcap_int.h"

static int on_attr(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == NETNSA_NSID && mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
		*(int32_t *)data = (int32_t)mnl_attr_get_u32(a);
	return MNL_CB_OK;
}

static int on_msg(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type != RTM_NEWNSID)
		return MNL_CB_OK;
	return mnl_attr_parse(nlh, sizeof(struct rtgenmsg), on_attr, data);
}

int kt_pcap_nsid_of(const char *nspath, int32_t *nsid)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = NULL;
	struct nlmsghdr *nlh;
	struct rtgenmsg *g;
	unsigned seq = (unsigned)time(NULL);
	int fd, err = 0;
	ssize_t r;

	*nsid = -1;
	if ((fd = open(nspath, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (!(nl = mnl_socket_open(NETLINK_ROUTE)) || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto out;
	}
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETNSID;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->rtgen_family = AF_UNSPEC;
	mnl_attr_put_u32(nlh, NETNSA_FD, (uint32_t)fd);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		err = -errno;
		goto out;
	}
	r = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (r < 0 || mnl_cb_run(buf, (size_t)r, seq, mnl_socket_get_portid(nl), on_msg, nsid) < 0)
		err = -errno ? -errno : -EPROTO;
out:
	if (nl)
		mnl_socket_close(nl);
	close(fd);
	return err;
}
