/* rtnl.c - interfaces and addresses of the current netns (rtnetlink dumps
 * through libmnl).
 *
 * Per link: index, name, kind (veth, bridge, ...), MAC, MTU, flags, the
 * bridge it is enslaved to, and for a veth the peer's index and the peer
 * netns id, which is how ktana pairs a pod's eth0 with the node's veth.
 */
#include "host_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"


json_t *kt_host_ip_json(int af, const void *addr)
{
	char buf[INET6_ADDRSTRLEN];

	if (!inet_ntop(af, addr, buf, sizeof(buf)))
		return json_null();
	return json_string(buf);
}

static json_t *find_link(json_t *links, int ifindex)
{
	size_t i;
	json_t *l;

	json_array_foreach(links, i, l)
		if (json_integer_value(json_object_get(l, "index")) == ifindex)
			return l;
	return NULL;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	json_t *links = data, *l;
	struct ifinfomsg ifi;
	struct nlattr *a;

	if (nlh->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof(ifi))
		return MNL_CB_OK;
	memcpy(&ifi, mnl_nlmsg_get_payload(nlh), sizeof(ifi));
	l = json_pack("{s:i, s:i, s:b}", "index", ifi.ifi_index, "flags", (int)ifi.ifi_flags,
		      "up", (ifi.ifi_flags & IFF_UP) != 0);
	mnl_attr_for_each(a, nlh, sizeof(ifi)) {
		switch (mnl_attr_get_type(a)) {
		case IFLA_IFNAME:
			if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
				json_object_set_new(l, "name", json_string(mnl_attr_get_str(a)));
			break;
		case IFLA_MTU:
			if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
				json_object_set_new(l, "mtu", json_integer(mnl_attr_get_u32(a)));
			break;
		case IFLA_MASTER:
			if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
				json_object_set_new(l, "master", json_integer(mnl_attr_get_u32(a)));
			break;
		case IFLA_LINK:
			if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
				json_object_set_new(l, "link", json_integer(mnl_attr_get_u32(a)));
			break;
		case IFLA_LINK_NETNSID:
			if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
				json_object_set_new(l, "link_netnsid",
						    json_integer((int32_t)mnl_attr_get_u32(a)));
			break;
		case IFLA_ADDRESS: {
			uint16_t n = mnl_attr_get_payload_len(a);
			const uint8_t *p = mnl_attr_get_payload(a);
			char out[3 * 32] = "";
			size_t o = 0;

			if (n == 0 || n > 32)
				break;
			for (uint16_t i = 0; i < n && o + 3 < sizeof(out); i++)
				o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%02x",
						      i ? ":" : "", p[i]);
			{
				json_object_set_new(l, "mac", json_string(out));
			}
			break;
		}
		case IFLA_LINKINFO: {
			struct nlattr *k;

			mnl_attr_for_each_nested(k, a)
				if (mnl_attr_get_type(k) == IFLA_INFO_KIND &&
				    mnl_attr_validate(k, MNL_TYPE_NUL_STRING) >= 0)
					json_object_set_new(l, "kind", json_string(mnl_attr_get_str(k)));
			break;
		}
		default:
			break;
		}
	}
	json_object_set_new(l, "addresses", json_array());
	json_array_append_new(links, l);
	return MNL_CB_OK;
}

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	json_t *links = data, *l, *local = NULL, *addr = NULL;
	struct ifaddrmsg ifa;
	struct nlattr *a;
	size_t want;

	if (nlh->nlmsg_type != RTM_NEWADDR || mnl_nlmsg_get_payload_len(nlh) < sizeof(ifa))
		return MNL_CB_OK;
	memcpy(&ifa, mnl_nlmsg_get_payload(nlh), sizeof(ifa));
	if (ifa.ifa_family != AF_INET && ifa.ifa_family != AF_INET6)
		return MNL_CB_OK;
	want = ifa.ifa_family == AF_INET ? 4 : 16;
	mnl_attr_for_each(a, nlh, sizeof(ifa)) {
		int t = mnl_attr_get_type(a);

		if ((t != IFA_LOCAL && t != IFA_ADDRESS) || mnl_attr_get_payload_len(a) != want)
			continue;
		if (t == IFA_LOCAL)
			local = kt_host_ip_json(ifa.ifa_family, mnl_attr_get_payload(a));
		else
			addr = kt_host_ip_json(ifa.ifa_family, mnl_attr_get_payload(a));
	}
	/* IFA_LOCAL is the address itself on point-to-point links, where
	 * IFA_ADDRESS is the peer. */
	if (local) {
		json_decref(addr);
		addr = local;
	}
	l = find_link(links, (int)ifa.ifa_index);
	if (addr && l)
		json_array_append_new(json_object_get(l, "addresses"),
				      json_pack("{s:o, s:i, s:s, s:i}", "address", addr,
						"prefixlen", ifa.ifa_prefixlen,
						"family", ifa.ifa_family == AF_INET ? "inet" : "inet6",
						"scope", ifa.ifa_scope));
	else
		json_decref(addr);
	return MNL_CB_OK;
}

int kt_host_links(json_t *links)
{
	/* dump every family: both requests start with it */
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct ifaddrmsg ifa = { .ifa_family = AF_UNSPEC };
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	int err = 0;

	if (!nl)
		return kt_err_set(-errno, "cannot open rtnetlink: %s", strerror(errno));
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = kt_err_set(-errno, "cannot bind rtnetlink: %s", strerror(errno));
		goto out;
	}
	err = kt_nl_dump(nl, RTM_GETLINK, &ifi, sizeof(ifi), link_cb, links, "rtnetlink link dump");
	if (!err)
		err = kt_nl_dump(nl, RTM_GETADDR, &ifa, sizeof(ifa), addr_cb, links,
				 "rtnetlink address dump");
out:
	mnl_socket_close(nl);
	return err;
}
