/* See net.h: veth pairs over rtnetlink (libmnl).
 *
 * One sandbox link costs, in order: one RTM_NEWLINK that creates the pair, the peer born
 * inside the sandbox's namespace (IFLA_NET_NS_FD) as `eth0`, both MTUs set; the host end up
 * (without IPv6 link-local address) and its address; then, through a netlink socket opened
 * inside the namespace, the same for the peer, the default route and `lo` up. Each request waits
 * for its ACK so errors are attributed to the step that failed; the kernel's extended ACK text goes
 * to reterr. The whole sequence is a handful of round trips and stays well under a millisecond,
 * where running `ip` costs ~12 ms. */

#include "sandbox/net.h"

#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/alloc.h"
#include "common/errbuf.h"
#include "common/log.h"
#include "common/macro.h"
#include "sandbox/net-internal.h"
#include "common/banned.h"

/* Every network namespace gets its loopback device first, with this index (kernel 4.x+). */
#define LOOPBACK_IFINDEX 1
/* Receive buffer: large enough for one message of a dump (libmnl's MNL_SOCKET_DUMP_SIZE). */
#define NL_RECV_SIZE 32768
/* Requests here are small: a veth creation is about 150 bytes. */
#define NL_SEND_SIZE 1024
#define SANDBOX_IFNAME "eth0"
/* A dump interrupted by concurrent changes (NLM_F_DUMP_INTR) is retried this often. */
#define DUMP_RETRIES 5

struct nl {
    struct mnl_socket *sock;
    uint32_t portid;
    uint32_t seq;
};

/* State of one request while its answers are parsed. */
struct nl_call_ctx {
    mnl_cb_t cb; /* may be NULL */
    void *userdata;
    struct errbuf *reterr; /* may be NULL */
};

static void nl_close(struct nl *nl)
{
    if (nl->sock)
        (void) mnl_socket_close(nl->sock);
    nl->sock = NULL;
}

static int nl_open(struct nl *nl)
{
    struct mnl_socket *sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    if (!sock)
        return errno > 0 ? -errno : -EIO;
    /* Extended ACKs carry the kernel's reason text; capped ACKs do not echo our request. Both
     * are optional (kernel 4.12+), hence no error check. */
    int one = 1;
    (void) mnl_socket_setsockopt(sock, NETLINK_EXT_ACK, &one, sizeof(one));
    (void) mnl_socket_setsockopt(sock, NETLINK_CAP_ACK, &one, sizeof(one));
    if (mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0) {
        int r = errno > 0 ? -errno : -EIO;
        (void) mnl_socket_close(sock);
        return r;
    }
    *nl = (struct nl){.sock = sock, .portid = mnl_socket_get_portid(sock), .seq = 1};
    return 0;
}

/* Opens a netlink socket that lives in the network namespace netns_fd. The socket stays in
 * that namespace after the thread has switched back. */
static int nl_open_in_netns(struct nl *nl, int netns_fd)
{
    /* thread-self, not self: the namespace of this thread is what must be restored. */
    _cleanup_close_ int self =
        NEG_ERRNO(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (self < 0)
        return self;
    int r = NEG_ERRNO(setns(netns_fd, CLONE_NEWNET));
    if (r < 0)
        return r;
    r = nl_open(nl);
    /* Returning cannot fail short of kernel memory exhaustion; if it does, every socket this
     * thread opens from now on would live inside a sandbox. Stop instead. */
    if (setns(self, CLONE_NEWNET) < 0)
        abort();
    return r;
}

/* Captures the error code and extended ACK text of NLMSG_ERROR; error 0 is the ACK. */
static int nl_cb_error(const struct nlmsghdr *nlh, void *data)
{
    const struct nl_call_ctx *ctx = data;
    const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
    if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*err))) {
        errno = EBADMSG;
        return MNL_CB_ERROR;
    }
    if (err->error == 0)
        return MNL_CB_STOP;
    if (ctx->reterr && (nlh->nlmsg_flags & NLM_F_ACK_TLVS)) {
        /* The TLVs follow the error header, and our request unless the ACK was capped. */
        size_t off = sizeof(*err);
        if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
            off += err->msg.nlmsg_len - sizeof(struct nlmsghdr);
        const struct nlattr *attr;
        mnl_attr_for_each(attr, nlh, off)
        {
            if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
                mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0) {
                (void) errbuf_set(ctx->reterr, err->error, "%s", mnl_attr_get_str(attr));
                break;
            }
        }
    }
    errno = err->error < 0 ? -err->error : EPROTO;
    return MNL_CB_ERROR;
}

/* End of a dump; it carries the dump's own error, if any. */
static int nl_cb_done(const struct nlmsghdr *nlh, void *data)
{
    if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
        int error = *(const int *) mnl_nlmsg_get_payload(nlh);
        if (error < 0) {
            errno = -error;
            return MNL_CB_ERROR;
        }
    }
    return MNL_CB_STOP;
}

static int nl_cb_data(const struct nlmsghdr *nlh, void *data)
{
    const struct nl_call_ctx *ctx = data;
    return ctx->cb ? ctx->cb(nlh, ctx->userdata) : MNL_CB_OK;
}

/* Sends nlh (NLM_F_ACK is added) and reads until its ACK, error or end of dump; cb sees every
 * data message. Returns 0 or -errno: the kernel's, or -EINTR for an interrupted dump. */
static int nl_call(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *userdata,
                   struct errbuf *reterr)
{
    /* Types beyond this array (NLMSG_OVERRUN) get libmnl's defaults; NOOP is skipped. */
    static const mnl_cb_t ctl_cbs[NLMSG_DONE + 1] = {
        [NLMSG_ERROR] = nl_cb_error,
        [NLMSG_DONE] = nl_cb_done,
    };
    struct nl_call_ctx ctx = {.cb = cb, .userdata = userdata, .reterr = reterr};
    nlh->nlmsg_flags |= NLM_F_ACK;
    nlh->nlmsg_seq = ++nl->seq;
    if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
        return errno > 0 ? -errno : -EIO;

    _cleanup_free_ char *buf = xmalloc(NL_RECV_SIZE);
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(nl->sock, buf, NL_RECV_SIZE);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno > 0 ? -errno : -EIO;
        errno = 0;
        int r = mnl_cb_run2(buf, (size_t) n, nlh->nlmsg_seq, nl->portid, nl_cb_data, &ctx,
                            (mnl_cb_t *) ctl_cbs, ELEMENTSOF(ctl_cbs));
        if (r == MNL_CB_STOP)
            return 0;
        if (r < 0)
            return errno > 0 ? -errno : -EIO;
    }
}

static struct nlmsghdr *nl_put_header(char *buf, uint16_t type, uint16_t flags)
{
    memset(buf, 0, NL_SEND_SIZE);
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | flags;
    return nlh;
}

static int cb_link_index(const struct nlmsghdr *nlh, void *data)
{
    const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
    if (nlh->nlmsg_type == RTM_NEWLINK && nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(*ifi)))
        *(int *) data = ifi->ifi_index;
    return MNL_CB_OK;
}

/* Index of the link called name in nl's namespace; -ENODEV if there is none. */
static int link_index(struct nl *nl, const char *name)
{
    char buf[NL_SEND_SIZE];
    struct nlmsghdr *nlh = nl_put_header(buf, RTM_GETLINK, 0);
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    int index = 0;
    int r = nl_call(nl, nlh, cb_link_index, &index, NULL);
    if (r < 0)
        return r;
    return index > 0 ? index : -ENODEV;
}

/* Starts a nested struct ifinfomsg inside the current message, as VETH_INFO_PEER wants. */
static struct ifinfomsg *put_nested_ifinfomsg(struct nlmsghdr *nlh)
{
    struct ifinfomsg *ifi = (struct ifinfomsg *) ((char *) nlh + nlh->nlmsg_len);
    memset(ifi, 0, sizeof(*ifi));
    nlh->nlmsg_len += MNL_ALIGN(sizeof(*ifi));
    return ifi;
}

/* Turns off IPv6 link-local address generation on a link being configured: sandboxes are
 * IPv4-only and the host end needs no IPv6 presence on a sandbox-facing link. */
static void put_no_ipv6_addrgen(struct nlmsghdr *nlh)
{
    struct nlattr *spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
    struct nlattr *inet6 = mnl_attr_nest_start(nlh, AF_INET6);
    mnl_attr_put_u8(nlh, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
    mnl_attr_nest_end(nlh, inet6);
    mnl_attr_nest_end(nlh, spec);
}

static int veth_create(struct nl *nl, const char *ifname, int netns_fd, uint32_t mtu,
                       struct errbuf *reterr)
{
    char buf[NL_SEND_SIZE];
    struct nlmsghdr *nlh = nl_put_header(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
    if (mtu)
        mnl_attr_put_u32(nlh, IFLA_MTU, mtu);

    struct nlattr *linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
    struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
    struct nlattr *peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
    struct ifinfomsg *pifi = put_nested_ifinfomsg(nlh);
    pifi->ifi_family = AF_UNSPEC;
    /* No IFF_UP for the peer: the kernel would open it before the pair is linked (ENOTCONN).
     * It is brought up from inside. */
    mnl_attr_put_strz(nlh, IFLA_IFNAME, SANDBOX_IFNAME);
    mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t) netns_fd);
    if (mtu)
        mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
    mnl_attr_nest_end(nlh, peer);
    mnl_attr_nest_end(nlh, data);
    mnl_attr_nest_end(nlh, linkinfo);
    return nl_call(nl, nlh, NULL, NULL, reterr);
}

static int link_set_up(struct nl *nl, int index, bool ipv6_off, struct errbuf *reterr)
{
    char buf[NL_SEND_SIZE];
    struct nlmsghdr *nlh = nl_put_header(buf, RTM_NEWLINK, 0);
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = index;
    ifi->ifi_flags = ifi->ifi_change = IFF_UP;
    if (ipv6_off)
        put_no_ipv6_addrgen(nlh);
    return nl_call(nl, nlh, NULL, NULL, reterr);
}

static int link_delete(struct nl *nl, const char *ifname)
{
    char buf[NL_SEND_SIZE];
    struct nlmsghdr *nlh = nl_put_header(buf, RTM_DELLINK, 0);
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
    return nl_call(nl, nlh, NULL, NULL, NULL);
}

static int addr_add(struct nl *nl, int index, uint32_t addr, uint8_t prefix, struct errbuf *reterr)
{
    char buf[NL_SEND_SIZE];
    struct nlmsghdr *nlh = nl_put_header(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
    struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = prefix;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = (uint32_t) index;
    uint32_t a = htonl(addr);
    mnl_attr_put(nlh, IFA_LOCAL, sizeof(a), &a);
    mnl_attr_put(nlh, IFA_ADDRESS, sizeof(a), &a);
    return nl_call(nl, nlh, NULL, NULL, reterr);
}

static int route_add_default(struct nl *nl, int index, uint32_t gateway, struct errbuf *reterr)
{
    char buf[NL_SEND_SIZE];
    struct nlmsghdr *nlh = nl_put_header(buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
    struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
    rtm->rtm_family = AF_INET;
    rtm->rtm_dst_len = 0;
    rtm->rtm_table = RT_TABLE_MAIN;
    rtm->rtm_protocol = RTPROT_BOOT;
    rtm->rtm_scope = RT_SCOPE_UNIVERSE;
    rtm->rtm_type = RTN_UNICAST;
    uint32_t gw = htonl(gateway);
    mnl_attr_put(nlh, RTA_GATEWAY, sizeof(gw), &gw);
    mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t) index);
    return nl_call(nl, nlh, NULL, NULL, reterr);
}

/* Fails a step of net_sandbox_create() with "<what>: <strerror>[: <kernel's text>]". */
static int step_fail(struct errbuf *reterr, int r, const char *what, const struct errbuf *kmsg)
{
    return errbuf_set(reterr, r, "%s: %s%s%.160s", what, strerror(-r), kmsg->msg[0] ? ": " : "",
                      kmsg->msg);
}

/* Host end: up without IPv6, address (the slot's gateway). */
static int configure_host_end(struct nl *nl, const char *ifname, uint32_t host_ip,
                              struct errbuf *reterr)
{
    struct errbuf kmsg = {};
    int index = link_index(nl, ifname);
    if (index < 0)
        return step_fail(reterr, index, "cannot find the host end", &kmsg);
    int r = link_set_up(nl, index, /* ipv6_off= */ true, &kmsg);
    if (r < 0)
        return step_fail(reterr, r, "cannot bring up the host end", &kmsg);
    r = addr_add(nl, index, host_ip, 30, &kmsg);
    if (r < 0)
        return step_fail(reterr, r, "cannot set the host end's address", &kmsg);
    return 0;
}

/* Sandbox end, through a socket inside its namespace: up, address, default route, lo up. */
static int configure_sandbox_end(struct nl *nl, uint32_t host_ip, uint32_t sandbox_ip,
                                 struct errbuf *reterr)
{
    struct errbuf kmsg = {};
    int index = link_index(nl, SANDBOX_IFNAME);
    if (index < 0)
        return step_fail(reterr, index, "cannot find the sandbox end", &kmsg);
    /* The peer cannot be brought up at creation (see veth_create()), and IFLA_AF_SPEC is
     * refused there; both go in one request here. do_setlink() applies the flags first, but
     * addresses are only generated once the carrier-up event is processed, after this
     * request. The filter drops IPv6 from sandboxes regardless. */
    int r = link_set_up(nl, index, /* ipv6_off= */ true, &kmsg);
    if (r < 0)
        return step_fail(reterr, r, "cannot bring up the sandbox end", &kmsg);
    r = addr_add(nl, index, sandbox_ip, 30, &kmsg);
    if (r < 0)
        return step_fail(reterr, r, "cannot set the sandbox address", &kmsg);
    r = route_add_default(nl, index, host_ip, &kmsg);
    if (r < 0)
        return step_fail(reterr, r, "cannot add the sandbox default route", &kmsg);
    r = link_set_up(nl, LOOPBACK_IFINDEX, /* ipv6_off= */ false, &kmsg);
    if (r < 0)
        return step_fail(reterr, r, "cannot bring up the sandbox loopback", &kmsg);
    return 0;
}

int net_sandbox_create(const struct net_config *cfg, unsigned slot, int netns_fd,
                       struct errbuf *reterr)
{
    uint32_t host_ip, sandbox_ip;
    char ifname[IFNAMSIZ];
    int r = net_slot_addrs(cfg, slot, &host_ip, &sandbox_ip);
    if (r >= 0)
        r = net_slot_ifname(slot, ifname, sizeof(ifname));
    if (r < 0)
        return errbuf_set(reterr, r, "network slot %u out of range", slot);

    struct errbuf kmsg = {};
    _cleanup_(nl_close) struct nl host = {};
    _cleanup_(nl_close) struct nl inside = {};
    r = nl_open(&host);
    if (r < 0)
        return step_fail(reterr, r, "cannot open a netlink socket", &kmsg);
    /* Enter the namespace before creating anything: a bad fd fails here with nothing to undo. */
    r = nl_open_in_netns(&inside, netns_fd);
    if (r < 0)
        return step_fail(reterr, r, "cannot open a netlink socket in the sandbox network", &kmsg);

    r = veth_create(&host, ifname, netns_fd, cfg->mtu, &kmsg);
    if (r < 0)
        return step_fail(reterr, r, "cannot create the veth pair", &kmsg);

    r = configure_host_end(&host, ifname, host_ip, reterr);
    if (r >= 0)
        r = configure_sandbox_end(&inside, host_ip, sandbox_ip, reterr);
    if (r < 0) {
        /* Deleting one end deletes the pair. */
        int k = link_delete(&host, ifname);
        if (k < 0)
            log_debug_errno(k, "cannot delete veth '%s' after failure", ifname);
        return r;
    }
    log_debug("created veth '%s' for slot %u", ifname, slot);
    return 0;
}

int net_sandbox_destroy(unsigned slot)
{
    char ifname[IFNAMSIZ];
    int r = net_slot_ifname(slot, ifname, sizeof(ifname));
    if (r < 0)
        return r;
    _cleanup_(nl_close) struct nl nl = {};
    r = nl_open(&nl);
    if (r < 0)
        return r;
    r = link_delete(&nl, ifname);
    if (r == -ENODEV)
        return 0;
    return r;
}

struct link_list {
    unsigned *slots;
    size_t n, cap;
};

struct link_attrs {
    const char *name;
    const char *kind;
};

static int cb_linkinfo_attr(const struct nlattr *attr, void *data)
{
    struct link_attrs *la = data;
    if (mnl_attr_get_type(attr) == IFLA_INFO_KIND &&
        mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
        la->kind = mnl_attr_get_str(attr);
    return MNL_CB_OK;
}

static int cb_link_attr(const struct nlattr *attr, void *data)
{
    struct link_attrs *la = data;
    switch (mnl_attr_get_type(attr)) {
    case IFLA_IFNAME:
        if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
            la->name = mnl_attr_get_str(attr);
        break;
    case IFLA_LINKINFO:
        if (mnl_attr_validate(attr, MNL_TYPE_NESTED) >= 0)
            (void) mnl_attr_parse_nested(attr, cb_linkinfo_attr, la);
        break;
    default: break;
    }
    return MNL_CB_OK;
}

static int cb_link_collect(const struct nlmsghdr *nlh, void *data)
{
    struct link_list *list = data;
    struct link_attrs la = {};
    if (nlh->nlmsg_type != RTM_NEWLINK)
        return MNL_CB_OK;
    if (mnl_attr_parse(nlh, sizeof(struct ifinfomsg), cb_link_attr, &la) < 0)
        return MNL_CB_OK;
    unsigned slot;
    if (!la.name || !la.kind || !streq(la.kind, "veth") || net_slot_from_ifname(la.name, &slot) < 0)
        return MNL_CB_OK;
    if (list->n == list->cap) {
        list->cap = list->cap ? list->cap * 2 : 16;
        list->slots = xreallocarray(list->slots, list->cap, sizeof(*list->slots));
    }
    list->slots[list->n++] = slot;
    return MNL_CB_OK;
}

static int links_dump(struct nl *nl, struct link_list *list)
{
    char buf[NL_SEND_SIZE];
    struct nlmsghdr *nlh = nl_put_header(buf, RTM_GETLINK, NLM_F_DUMP);
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    return nl_call(nl, nlh, cb_link_collect, list, NULL);
}

int net_list_links(net_link_fn cb, void *userdata)
{
    struct link_list list = {};
    int r = -EINTR;
    /* A fresh socket per attempt: the rest of an interrupted dump is still queued. */
    for (int attempt = 0; r == -EINTR && attempt < DUMP_RETRIES; attempt++) {
        _cleanup_(nl_close) struct nl nl = {};
        r = nl_open(&nl);
        if (r < 0)
            break;
        list.n = 0;
        r = links_dump(&nl, &list);
    }
    if (r >= 0) {
        for (size_t i = 0; i < list.n; i++)
            cb(list.slots[i], userdata);
        r = (int) MIN(list.n, (size_t) INT32_MAX);
    }
    free(list.slots);
    return r;
}

struct default_route {
    int oif;
    uint32_t metric;
};

static int cb_route_attr(const struct nlattr *attr, void *data)
{
    const struct nlattr **tb = data;
    unsigned type = mnl_attr_get_type(attr);
    if (type <= RTA_MAX)
        tb[type] = attr;
    return MNL_CB_OK;
}

static int cb_default_route(const struct nlmsghdr *nlh, void *data)
{
    struct default_route *best = data;
    const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
    if (nlh->nlmsg_type != RTM_NEWROUTE || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*rtm)))
        return MNL_CB_OK;
    if (rtm->rtm_family != AF_INET || rtm->rtm_dst_len != 0 || rtm->rtm_type != RTN_UNICAST)
        return MNL_CB_OK;
    const struct nlattr *tb[RTA_MAX + 1] = {};
    if (mnl_attr_parse(nlh, sizeof(*rtm), cb_route_attr, tb) < 0)
        return MNL_CB_OK;
    uint32_t table = rtm->rtm_table;
    if (tb[RTA_TABLE] && mnl_attr_validate(tb[RTA_TABLE], MNL_TYPE_U32) >= 0)
        table = mnl_attr_get_u32(tb[RTA_TABLE]);
    if (table != RT_TABLE_MAIN)
        return MNL_CB_OK;
    uint32_t metric = 0;
    if (tb[RTA_PRIORITY] && mnl_attr_validate(tb[RTA_PRIORITY], MNL_TYPE_U32) >= 0)
        metric = mnl_attr_get_u32(tb[RTA_PRIORITY]);
    int oif = 0;
    if (tb[RTA_OIF] && mnl_attr_validate(tb[RTA_OIF], MNL_TYPE_U32) >= 0)
        oif = (int) mnl_attr_get_u32(tb[RTA_OIF]);
    else if (tb[RTA_MULTIPATH] &&
             mnl_attr_get_payload_len(tb[RTA_MULTIPATH]) >= sizeof(struct rtnexthop))
        oif = ((const struct rtnexthop *) mnl_attr_get_payload(tb[RTA_MULTIPATH]))->rtnh_ifindex;
    if (oif > 0 && (best->oif == 0 || metric < best->metric))
        *best = (struct default_route){.oif = oif, .metric = metric};
    return MNL_CB_OK;
}

static int cb_link_mtu(const struct nlmsghdr *nlh, void *data)
{
    if (nlh->nlmsg_type != RTM_NEWLINK)
        return MNL_CB_OK;
    const struct nlattr *attr;
    mnl_attr_for_each(attr, nlh, sizeof(struct ifinfomsg))
    {
        if (mnl_attr_get_type(attr) == IFLA_MTU && mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
            *(uint32_t *) data = mnl_attr_get_u32(attr);
    }
    return MNL_CB_OK;
}

int net_host_mtu(uint32_t *ret_mtu)
{
    _cleanup_(nl_close) struct nl nl = {};
    int r = nl_open(&nl);
    if (r < 0)
        return r;

    char buf[NL_SEND_SIZE];
    struct nlmsghdr *nlh = nl_put_header(buf, RTM_GETROUTE, NLM_F_DUMP);
    struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
    rtm->rtm_family = AF_INET;
    struct default_route best = {};
    r = nl_call(&nl, nlh, cb_default_route, &best, NULL);
    if (r < 0)
        return r;
    if (best.oif == 0)
        return -ENETUNREACH;

    nlh = nl_put_header(buf, RTM_GETLINK, 0);
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = best.oif;
    mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    uint32_t mtu = 0;
    r = nl_call(&nl, nlh, cb_link_mtu, &mtu, NULL);
    if (r < 0)
        return r;
    if (mtu == 0)
        return -EBADMSG;
    *ret_mtu = mtu;
    return 0;
}
