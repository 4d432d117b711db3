/* nl_dump.c - one netlink dump request and its replies, for rtnl.c and
 * diag.c: send a NLM_F_DUMP request of 'type' with 'extra' after the header,
 * then run every reply through 'cb' until the kernel says done. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "host_int.h"

#define DUMP_BUF (64u << 10)	/* one recvmsg; the kernel fills up to this */

int kt_nl_dump(struct mnl_socket *nl, uint16_t type, const void *extra, size_t extra_len,
	       mnl_cb_t cb, void *data, const char *what)
{
	char *buf = malloc(DUMP_BUF);
	struct nlmsghdr *nlh;
	uint32_t seq = (uint32_t)time(NULL), portid = mnl_socket_get_portid(nl);
	ssize_t n;
	int ret = 0, err = 0;

	if (!buf)
		return kt_err_set(-ENOMEM, "cannot allocate a netlink buffer");
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	memcpy(mnl_nlmsg_put_extra_header(nlh, extra_len), extra, extra_len);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		err = kt_err_set(-errno, "cannot send a %s request: %s", what, strerror(errno));
		goto out;
	}
	while ((n = mnl_socket_recvfrom(nl, buf, DUMP_BUF)) > 0) {
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, cb, data);
		if (ret <= MNL_CB_STOP)
			break;
	}
	if (n < 0 || ret < 0)
		err = kt_err_set(-errno ? -errno : -EIO, "%s failed: %s", what, strerror(errno));
out:
	free(buf);
	return err;
}
