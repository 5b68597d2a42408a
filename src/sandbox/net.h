/* Sandbox networking: one routed veth pair per sandbox with internet access, NAT and egress
 * filtering by one nftables table of our own.
 *
 * Theory of operation. The daemon owns an IPv4 pool (default 10.213.0.0/16) cut into /30
 * slots. Slot i has the host end `sbx<i>` with address base+4i+1 and the sandbox end `eth0`
 * (inside the sandbox's network namespace) with base+4i+2 and a default route via the host end.
 * Nothing is bridged: the host routes between `sbx*` links and its uplink, and the nftables
 * table `inet sbx` (installed once by net_host_setup()) decides what may pass:
 *
 *   - to the host itself: nothing, except DNS to the slot's gateway address, which is DNAT'ed
 *     to the host's real resolver (so /etc/resolv.conf inside says `nameserver <gateway>`);
 *   - forwarded: never to another sandbox, never to private/special ranges (set blocked_v4) or
 *     host addresses, unless an operator exception (set allowed_v4) or a per-sandbox policy
 *     (map egress_policy, the extension point for E2B allowOut/denyOut) says otherwise;
 *   - towards sandboxes: only replies (conntrack established/related);
 *   - source addresses are checked against the slot's route (no spoofing), IPv6 is dropped;
 *   - traffic leaving through a non-sandbox link is masqueraded.
 *
 * Sandboxes without internet access get no veth at all, only loopback (the caller brings `lo`
 * up). Address families: IPv4 only. All functions are non-logging (debug at most) and return 0
 * or a negative errno. Link functions speak rtnetlink (libmnl) and never run `ip`; rules go
 * through libnftables, never `nft`. Everything here blocks on netlink: creating a pair takes
 * ~0.6 ms, deleting one ~35 ms (see net_sandbox_destroy()). */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct errbuf;

#define NET_DEFAULT_POOL_ADDR UINT32_C(0x0ad50000) /* 10.213.0.0, host byte order */
#define NET_DEFAULT_POOL_PREFIX 16
/* Smallest pool: one /30 slot; largest: /8 (4 Mi slots, names up to "sbx4194303"). */
#define NET_POOL_PREFIX_MIN 8
#define NET_POOL_PREFIX_MAX 30
/* Host-side link names are NET_IFNAME_PREFIX followed by the slot number in decimal. */
#define NET_IFNAME_PREFIX "sbx"
/* Operator egress exceptions (net_config_add_allow()). */
#define NET_ALLOW_MAX 32
/* Large enough for net_sandbox_resolv_conf()'s text. */
#define NET_RESOLV_CONF_MAX 128

/* An IPv4 prefix, address in host byte order with its host bits zero. */
struct net_cidr {
    uint32_t addr;
    uint8_t prefix; /* 0..32 */
};

/* Host-wide network settings, filled once at start-up (net_config_init() plus options) and
 * read-only afterwards. Embedded object, no resources: copy freely. */
struct net_config {
    uint32_t pool_addr;  /* host byte order, host bits zero */
    uint8_t pool_prefix; /* NET_POOL_PREFIX_MIN..NET_POOL_PREFIX_MAX */
    /* MTU of both veth ends; 0 leaves the kernel default (1500). Set it from net_host_mtu():
     * a sandbox link larger than the host's uplink breaks PMTU-less paths. */
    uint32_t mtu;
    /* Upstream DNS server the gateway address forwards to, host byte order; 0 means "detect
     * from /etc/resolv.conf" in net_host_setup(). */
    uint32_t resolver;
    /* Destinations exempt from the blocked ranges for every sandbox, e.g. an upstream proxy
     * that lives in a private range. Checked after the per-sandbox policy. */
    struct net_cidr allow[NET_ALLOW_MAX];
    size_t n_allow;
    /* Extra destinations blocked for every sandbox on top of the fixed private ranges: the
     * host's directly connected subnets (net_host_connected_subnets()), so that a sandbox
     * cannot reach the host's neighbours whatever range they are numbered in. */
    struct net_cidr block[NET_ALLOW_MAX];
    size_t n_block;
};

/* Fills cfg with the defaults: pool 10.213.0.0/16, kernel MTU, detected resolver, no
 * exceptions. */
void net_config_init(struct net_config *cfg);

/* Parses "A.B.C.D/N" (N 0..32; a bare "A.B.C.D" means /32) into *ret. The address must have
 * its host bits zero. -EINVAL if malformed. Pure. */
int net_cidr_parse(const char *s, struct net_cidr *ret);

/* Parses a `--subnet A.B.C.D/N` value into cfg's pool. -EINVAL, with the reason in reterr, if
 * malformed, if host bits are set or if N is outside NET_POOL_PREFIX_MIN..MAX; cfg is unchanged
 * then. Pure. */
int net_config_parse_subnet(struct net_config *cfg, const char *s, struct errbuf *reterr);

/* Adds one operator egress exception "A.B.C.D[/N]". -EINVAL if malformed, -E2BIG beyond
 * NET_ALLOW_MAX; reterr says why. Pure. */
int net_config_add_allow(struct net_config *cfg, const char *s, struct errbuf *reterr);

/* Number of /30 slots in the pool: 2^(32 - prefix) / 4. */
unsigned net_slot_count(const struct net_config *cfg);

/* Adds the host's directly connected IPv4 subnets (routes without a gateway on interfaces
 * other than lo and sbx*, from /proc/net/route) to cfg->block. Returns how many were added, or
 * a negative errno (-E2BIG past NET_ALLOW_MAX). Blocking (reads /proc). */
int net_host_connected_subnets(struct net_config *cfg);

/* Addresses of slot (host byte order): host end base+4*slot+1, sandbox end base+4*slot+2, both
 * /30. Either output may be NULL. -ERANGE if slot >= net_slot_count(). Pure. */
int net_slot_addrs(const struct net_config *cfg, unsigned slot, uint32_t *ret_host,
                   uint32_t *ret_sandbox);

/* Writes the resolv.conf a sandbox in slot should get ("nameserver <host end>\n" plus options)
 * into buf, NUL-terminated. Returns the length, -ERANGE for a bad slot, -ENOBUFS if size is too
 * small (NET_RESOLV_CONF_MAX always suffices). Pure. */
int net_sandbox_resolv_conf(const struct net_config *cfg, unsigned slot, char *buf, size_t size);

/* Looks up the link holding the IPv4 default route (lowest metric) and returns its MTU, for
 * cfg->mtu. -ENETUNREACH if there is no IPv4 default route. Blocks on rtnetlink. */
int net_host_mtu(uint32_t *ret_mtu);

/* At daemon start: sets net.ipv4.ip_forward=1 and (re)creates the nftables table `inet sbx`
 * in one atomic transaction (an old table of ours is replaced; nothing else on the host is
 * touched). Resolves the DNS upstream first (cfg->resolver, else the first IPv4 nameserver of
 * /etc/resolv.conf, or if that is a loopback stub such as systemd-resolved's 127.0.0.53, the
 * first non-loopback one of /run/systemd/resolve/resolv.conf). Errors: -ENOENT no usable
 * resolver, -EIO nftables refused the ruleset (its message in reterr), -EPERM/-EACCES without
 * privileges, other -errno from /proc. Blocks (netlink, small files). ip_forward is never set
 * back to 0 by sbx: other software on the host may rely on it. */
int net_host_setup(const struct net_config *cfg, struct errbuf *reterr);

/* Deletes the table `inet sbx` if it exists (uninstall, tests). Leaves links and ip_forward
 * alone. 0 if there was nothing to delete; -EIO if nftables failed. Blocks. */
int net_host_teardown(void);

/* Creates the veth pair of slot: host end `sbx<slot>` (address, up) and peer `eth0` created
 * directly inside the network namespace netns_fd (address, up, default route via the host end;
 * `lo` is brought up too). Both ends get cfg->mtu if set. netns_fd is borrowed. On failure
 * nothing is left behind (the pair is deleted again).
 *
 * Configuring the inside needs a netlink socket that lives in the target namespace: the
 * calling thread setns()es into netns_fd, opens the socket and setns()es back (namespace
 * switches are per thread, so other threads are unaffected). Call it from the daemon's main
 * thread only; it is not reentrant (a signal handler must not use netlink sockets it creates
 * meanwhile). If the thread cannot return to its own namespace the process aborts rather
 * than run on inside a sandbox's network.
 *
 * Errors: -ERANGE bad slot, -EEXIST `sbx<slot>` or the peer name already exists, -EINVAL
 * netns_fd is not a network namespace, -EPERM without CAP_NET_ADMIN/CAP_SYS_ADMIN, other
 * kernel -errno; reterr gets the kernel's extended-ack text when there is one. Blocks
 * (~1 ms). */
int net_sandbox_create(const struct net_config *cfg, unsigned slot, int netns_fd,
                       struct errbuf *reterr);

/* Deletes `sbx<slot>` (the kernel deletes the peer with it). 0 if it did not exist, so it is
 * idempotent; -ERANGE if slot cannot name a link, other kernel -errno. Blocks in the kernel
 * (RCU grace periods under the RTNL lock): 15-90 ms, median ~35 ms on this machine family, so
 * keep it off the event loop. It switches no namespace and is safe from any thread (the thread
 * pool). Alternatively let the sandbox's network namespace die: the kernel then removes the
 * pair asynchronously, but `sbx<slot>` lingers until it has, so a slot must not be reused
 * before net_sandbox_destroy() returned or the link is gone (create fails with -EEXIST). */
int net_sandbox_destroy(unsigned slot);

typedef void (*net_link_fn)(unsigned slot, void *userdata);

/* Calls cb for every existing veth link named `sbx<N>` (canonical decimal N) in the calling
 * thread's network namespace, after the dump completed, so cb may call
 * net_sandbox_destroy(). For orphan clean-up after a crash. Returns the number of links
 * reported or -errno. Blocks. */
int net_list_links(net_link_fn cb, void *userdata);
