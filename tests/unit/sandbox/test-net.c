/* Tests for src/sandbox/net*.c and nft.c: configuration parsing, addressing, resolv.conf
 * handling and the ruleset text (pure), then, as root, the whole life cycle inside a private
 * network namespace that stands in for the host (the real host is never touched). */
#include "test.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common/buf.h"
#include "common/errbuf.h"
#include "common/fileio.h"
#include "common/macro.h"
#include "sandbox/net-internal.h"
#include "sandbox/net.h"
#include "sandbox/nft.h"

#define IP4(a, b, c, d) (((uint32_t) (a) << 24) | ((uint32_t) (b) << 16) | ((c) << 8) | (d))

TEST(cidr_parse)
{
    struct net_cidr c;
    ASSERT_OK(net_cidr_parse("10.213.0.0/16", &c));
    ASSERT_EQ(c.addr, IP4(10, 213, 0, 0));
    ASSERT_EQ(c.prefix, 16);
    ASSERT_OK(net_cidr_parse("203.0.113.80", &c));
    ASSERT_EQ(c.addr, IP4(203, 0, 113, 80));
    ASSERT_EQ(c.prefix, 32);
    ASSERT_OK(net_cidr_parse("0.0.0.0/0", &c));
    ASSERT_EQ(c.prefix, 0);
    ASSERT_ERRNO(net_cidr_parse("10.213.0.1/16", &c), EINVAL); /* host bits */
    ASSERT_ERRNO(net_cidr_parse("10.213.0.0/33", &c), EINVAL);
    ASSERT_ERRNO(net_cidr_parse("10.213.0.0/", &c), EINVAL);
    ASSERT_ERRNO(net_cidr_parse("10.213.0.0/016", &c), EINVAL);
    ASSERT_ERRNO(net_cidr_parse("10.213.0/16", &c), EINVAL);
    ASSERT_ERRNO(net_cidr_parse("010.213.0.0/16", &c), EINVAL);
    ASSERT_ERRNO(net_cidr_parse(" 10.213.0.0/16", &c), EINVAL);
    ASSERT_ERRNO(net_cidr_parse("10.213.0.0/16 ", &c), EINVAL);
    ASSERT_ERRNO(net_cidr_parse("", &c), EINVAL);
    ASSERT_ERRNO(net_cidr_parse("255.255.255.255/32/1", &c), EINVAL);
    ASSERT_ERRNO(net_cidr_parse("fd00::/8", &c), EINVAL);
}

TEST(config_subnet)
{
    struct net_config cfg;
    struct errbuf e = {};
    net_config_init(&cfg);
    ASSERT_EQ(cfg.pool_addr, IP4(10, 213, 0, 0));
    ASSERT_EQ(cfg.pool_prefix, 16);
    ASSERT_EQ(net_slot_count(&cfg), 16384);

    ASSERT_OK(net_config_parse_subnet(&cfg, "172.30.4.0/24", &e));
    ASSERT_EQ(cfg.pool_addr, IP4(172, 30, 4, 0));
    ASSERT_EQ(net_slot_count(&cfg), 64);
    ASSERT_OK(net_config_parse_subnet(&cfg, "100.64.0.0/30", &e));
    ASSERT_EQ(net_slot_count(&cfg), 1);
    ASSERT_OK(net_config_parse_subnet(&cfg, "10.0.0.0/8", &e));
    ASSERT_EQ(net_slot_count(&cfg), 1u << 22);

    /* Failures say why and leave cfg alone. */
    ASSERT_ERRNO(net_config_parse_subnet(&cfg, "10.213.0.1/16", &e), EINVAL);
    ASSERT_TRUE(strstr(e.msg, "host bits") != NULL);
    ASSERT_ERRNO(net_config_parse_subnet(&cfg, "10.213.0.0/31", &e), EINVAL);
    ASSERT_TRUE(strstr(e.msg, "prefix length") != NULL);
    ASSERT_ERRNO(net_config_parse_subnet(&cfg, "10.0.0.0/7", &e), EINVAL);
    ASSERT_ERRNO(net_config_parse_subnet(&cfg, "10.213.0.0", &e), EINVAL);
    ASSERT_ERRNO(net_config_parse_subnet(&cfg, "nonsense", &e), EINVAL);
    ASSERT_EQ(cfg.pool_addr, IP4(10, 0, 0, 0));
    ASSERT_EQ(cfg.pool_prefix, 8);
}

TEST(config_allow)
{
    struct net_config cfg;
    struct errbuf e = {};
    net_config_init(&cfg);
    ASSERT_OK(net_config_add_allow(&cfg, "203.0.113.80", &e));
    ASSERT_OK(net_config_add_allow(&cfg, "192.168.7.0/24", &e));
    ASSERT_EQ(cfg.n_allow, 2);
    ASSERT_EQ(cfg.allow[1].addr, IP4(192, 168, 7, 0));
    ASSERT_ERRNO(net_config_add_allow(&cfg, "192.168.7.1/24", &e), EINVAL);
    while (cfg.n_allow < NET_ALLOW_MAX)
        ASSERT_OK(net_config_add_allow(&cfg, "198.51.100.0/24", &e));
    ASSERT_ERRNO(net_config_add_allow(&cfg, "198.51.100.0/24", &e), E2BIG);
    ASSERT_EQ(cfg.n_allow, NET_ALLOW_MAX);
}

TEST(slot_addresses)
{
    struct net_config cfg;
    net_config_init(&cfg);
    uint32_t h = 0, s = 0;
    ASSERT_OK(net_slot_addrs(&cfg, 0, &h, &s));
    ASSERT_EQ(h, IP4(10, 213, 0, 1));
    ASSERT_EQ(s, IP4(10, 213, 0, 2));
    ASSERT_OK(net_slot_addrs(&cfg, 5, &h, &s));
    ASSERT_EQ(h, IP4(10, 213, 0, 21));
    ASSERT_EQ(s, IP4(10, 213, 0, 22));
    ASSERT_OK(net_slot_addrs(&cfg, 16383, &h, NULL));
    ASSERT_EQ(h, IP4(10, 213, 255, 253));
    ASSERT_OK(net_slot_addrs(&cfg, 16383, NULL, &s));
    ASSERT_EQ(s, IP4(10, 213, 255, 254));
    h = 7;
    ASSERT_ERRNO(net_slot_addrs(&cfg, 16384, &h, &s), ERANGE);
    ASSERT_EQ(h, 7); /* untouched on failure */
}

TEST(slot_ifnames)
{
    char name[16];
    unsigned slot = 0;
    ASSERT_OK(net_slot_ifname(0, name, sizeof(name)));
    ASSERT_STREQ(name, "sbx0");
    ASSERT_OK(net_slot_ifname(4194303, name, sizeof(name)));
    ASSERT_STREQ(name, "sbx4194303");
    ASSERT_ERRNO(net_slot_ifname(4194303, name, 8), ERANGE);
    ASSERT_OK(net_slot_from_ifname("sbx0", &slot));
    ASSERT_EQ(slot, 0);
    ASSERT_OK(net_slot_from_ifname("sbx4194303", &slot));
    ASSERT_EQ(slot, 4194303);
    const char *bad[] = {"sbx",  "sbx01",         "sbx-1", "sbx+1", "sbx1a",
                         "eth0", "sbx4294967296", "xsbx1", "sbx 1", "SBX1"};
    for (size_t i = 0; i < ELEMENTSOF(bad); i++)
        ASSERT_ERRNO(net_slot_from_ifname(bad[i], &slot), EINVAL);
}

TEST(sandbox_resolv_conf)
{
    struct net_config cfg;
    net_config_init(&cfg);
    char buf[NET_RESOLV_CONF_MAX];
    int n = net_sandbox_resolv_conf(&cfg, 3, buf, sizeof(buf));
    ASSERT_GE(n, 0);
    ASSERT_EQ((size_t) n, strlen(buf));
    ASSERT_TRUE(strncmp(buf, "nameserver 10.213.0.13\n", 23) == 0);
    ASSERT_ERRNO(net_sandbox_resolv_conf(&cfg, 3, buf, 20), ENOBUFS);
    ASSERT_ERRNO(net_sandbox_resolv_conf(&cfg, 16384, buf, sizeof(buf)), ERANGE);
}

static uint32_t parse_resolv(const char *text, bool skip_loopback, int *ret)
{
    uint32_t a = 0;
    *ret = net_resolv_conf_parse(text, strlen(text), skip_loopback, &a);
    return a;
}

TEST(resolv_conf_parse)
{
    int r;
    ASSERT_EQ(parse_resolv("nameserver 10.255.255.53\n", false, &r), IP4(10, 255, 255, 53));
    ASSERT_OK(r);
    /* Comments, other keywords, IPv6 and junk are skipped; no final newline is needed. */
    ASSERT_EQ(parse_resolv("# nameserver 1.1.1.1\n; x\nsearch example\nnameservers 2.2.2.2\n"
                           "nameserver fd00::1\nnameserver 300.1.1.1\n"
                           "nameserver\t\t192.0.2.53 # main\nnameserver 192.0.2.54",
                           false, &r),
              IP4(192, 0, 2, 53));
    ASSERT_OK(r);
    ASSERT_EQ(parse_resolv("nameserver 127.0.0.53\nnameserver 9.9.9.9\n", false, &r),
              IP4(127, 0, 0, 53));
    ASSERT_EQ(parse_resolv("nameserver 127.0.0.53\nnameserver 9.9.9.9\n", true, &r),
              IP4(9, 9, 9, 9));
    (void) parse_resolv("nameserver 127.0.0.53\n", true, &r);
    ASSERT_ERRNO(r, ENOENT);
    (void) parse_resolv("", false, &r);
    ASSERT_ERRNO(r, ENOENT);
    (void) parse_resolv("nameserver \n", false, &r);
    ASSERT_ERRNO(r, ENOENT);
    /* Not NUL-terminated: the length is what counts. */
    uint32_t a = 0;
    ASSERT_ERRNO(net_resolv_conf_parse("nameserver 1.2.3.4", 14, false, &a), ENOENT);
}

static void write_tmp(char *path, const char *text)
{
    int fd = mkostemp(path, O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, text, strlen(text)), (ssize_t) strlen(text));
    close(fd);
}

TEST(resolver_detect)
{
    char stub[] = "/tmp/test-net-stub.XXXXXX", upstream[] = "/tmp/test-net-up.XXXXXX";
    write_tmp(stub, "nameserver 127.0.0.53\noptions edns0\n");
    write_tmp(upstream, "nameserver 127.0.0.1\nnameserver 192.0.2.53\n");
    struct errbuf e = {};
    uint32_t a = 0;
    int r1 = net_resolver_detect(stub, upstream, &a, &e);
    uint32_t a1 = a;
    /* Stub without a usable upstream file. */
    int r2 = net_resolver_detect(stub, "/nonexistent/resolv.conf", &a, &e);
    int r3 = net_resolver_detect("/nonexistent/resolv.conf", upstream, &a, &e);
    int r4 = net_resolver_detect(upstream, stub, &a, &e); /* first entry is loopback too */
    (void) unlink(stub);
    (void) unlink(upstream);
    ASSERT_OK(r1);
    ASSERT_EQ(a1, IP4(192, 0, 2, 53));
    ASSERT_ERRNO(r2, ENOENT);
    ASSERT_ERRNO(r3, ENOENT);
    ASSERT_ERRNO(r4, ENOENT);
    ASSERT_TRUE(strstr(e.msg, "loopback") != NULL);
}

TEST(ruleset_text)
{
    struct net_config cfg;
    struct errbuf e = {};
    net_config_init(&cfg);
    ASSERT_OK(net_config_parse_subnet(&cfg, "172.30.0.0/20", &e));
    while (cfg.n_allow < NET_ALLOW_MAX)
        ASSERT_OK(net_config_add_allow(&cfg, "203.0.113.80", &e));
    /* The host's connected subnets join the fixed blocked ranges. */
    cfg.block[cfg.n_block++] = (struct net_cidr){.addr = IP4(192, 0, 2, 0), .prefix = 24};
    struct buf b;
    buf_init(&b, NFT_RULESET_MAX);
    ASSERT_OK(nft_ruleset_format(&cfg, IP4(10, 255, 255, 53), &b));
    const char *t = (const char *) b.data;
    /* Atomic replacement of our table only. */
    ASSERT_TRUE(strncmp(t, "add table inet sbx\ndelete table inet sbx\ntable inet sbx {", 56) == 0);
    ASSERT_TRUE(strstr(t, "elements = { 172.30.0.0/20 }") != NULL);
    ASSERT_TRUE(strstr(t, "dnat ip to 10.255.255.53") != NULL);
    ASSERT_TRUE(strstr(t, "ct status dnat ip daddr 10.255.255.53") != NULL);
    ASSERT_TRUE(strstr(t, "203.0.113.80/32") != NULL);
    ASSERT_TRUE(strstr(t, "masquerade") != NULL);
    ASSERT_TRUE(strstr(t, "iifname vmap @egress_policy") != NULL);
    ASSERT_TRUE(strstr(t, "fib saddr . iif oif missing drop") != NULL);
    const char *ranges[] = {"0.0.0.0/8",      "10.0.0.0/8",    "100.64.0.0/10", "127.0.0.0/8",
                            "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",  "192.168.0.0/16",
                            "198.18.0.0/15",  "224.0.0.0/4",   "240.0.0.0/4",   "192.0.2.0/24"};
    const char *blocked_set = strstr(t, "set blocked_v4");
    ASSERT_TRUE(blocked_set != NULL);
    const char *blocked_end = strchr(strstr(blocked_set, "elements"), '}');
    for (size_t i = 0; i < ELEMENTSOF(ranges); i++) {
        const char *at = strstr(blocked_set, ranges[i]);
        if (!at || at > blocked_end)
            TEST_FAIL("'%s' is not in the blocked set", ranges[i]);
    }
    /* Documentation ranges are not private: registries may live there (see nft.c). */
    const char *doc = strstr(blocked_set, "203.0.113.0/24");
    ASSERT_TRUE(doc == NULL || doc > blocked_end);
    /* Order in the egress chain: DNS exception, policy, exceptions, blocked ranges. */
    const char *dns = strstr(t, "ct status dnat ip daddr 10.255.255.53 meta l4proto { tcp, udp } "
                                "th dport 53 accept\n\t\tiifname vmap");
    const char *allowed = strstr(t, "ip daddr @allowed_v4 accept");
    const char *blocked = strstr(t, "ip daddr @blocked_v4 drop");
    ASSERT_TRUE(dns && allowed && blocked && dns < allowed && allowed < blocked);
    buf_release(&b);

    buf_init(&b, 512);
    ASSERT_ERRNO(nft_ruleset_format(&cfg, IP4(10, 255, 255, 53), &b), EMSGSIZE);
    buf_release(&b);
}

TEST(host_mtu_is_plausible)
{
    uint32_t mtu = 0;
    int r = net_host_mtu(&mtu);
    if (r == -ENETUNREACH)
        SKIP("no IPv4 default route");
    ASSERT_OK(r);
    ASSERT_GE(mtu, 68);
    ASSERT_TRUE(mtu <= 65536);
}

/* --- as root, in a private network namespace ------------------------------------------------ */

/* Moves the test process into a new network namespace, skipping if that is not possible. */
static void enter_private_host(void)
{
    if (geteuid() != 0)
        SKIP("needs root");
    if (unshare(CLONE_NEWNET) < 0)
        SKIP("cannot unshare the network namespace");
}

/* A further namespace held only by the returned fd (a child unshares, we open its ns). */
static int netns_new(void)
{
    int p[2];
    ASSERT_OK(pipe2(p, O_CLOEXEC));
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        char c = unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
        if (write(p[1], &c, 1) == 1)
            pause();
        _exit(0);
    }
    close(p[1]);
    char c = 0;
    ASSERT_EQ(read(p[0], &c, 1), 1);
    close(p[0]);
    ASSERT_EQ(c, 'y');
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/net", (int) pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    ASSERT_GE(fd, 0);
    return fd;
}

/* Link checks through sockets of the current namespace: /sys/class/net shows the namespace
 * sysfs was mounted in, not ours. */
static bool link_exists(const char *name)
{
    return if_nametoindex(name) > 0;
}

static int link_mtu(const char *name)
{
    struct ifreq ifr = {};
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    int r = ioctl(fd, SIOCGIFMTU, &ifr);
    close(fd);
    return r < 0 ? -errno : ifr.ifr_mtu;
}

static void count_slot(unsigned slot, void *userdata)
{
    unsigned *seen = userdata;
    if (slot == 7)
        seen[0]++;
    else if (slot == 8)
        seen[1]++;
    else
        seen[2]++;
}

static void destroy_slot(unsigned slot, void *userdata)
{
    (void) userdata;
    ASSERT_OK(net_sandbox_destroy(slot));
}

TEST(host_setup_and_teardown)
{
    enter_private_host();
    struct net_config cfg;
    struct errbuf e = {};
    net_config_init(&cfg);
    cfg.resolver = IP4(192, 0, 2, 53);
    ASSERT_OK(net_host_teardown()); /* nothing there yet */
    int r = net_host_setup(&cfg, &e);
    if (r < 0)
        TEST_FAIL("net_host_setup: %s: %s", strerror(-r), e.msg);
    ASSERT_OK(net_host_setup(&cfg, &e)); /* idempotent */
    _cleanup_free_ char *fwd = NULL;
    ASSERT_OK(read_file_at(AT_FDCWD, "/proc/sys/net/ipv4/ip_forward", 16, &fwd, NULL));
    ASSERT_STREQ(fwd, "1\n");
    ASSERT_OK(nft_run("list table inet sbx", &e));
    ASSERT_OK(net_host_teardown());
    ASSERT_ERRNO(nft_run("list table inet sbx", &e), EIO);
    ASSERT_TRUE(strstr(e.msg, "nftables:") == e.msg);
    ASSERT_OK(net_host_teardown());
}

TEST(sandbox_link_life_cycle)
{
    enter_private_host();
    struct net_config cfg;
    struct errbuf e = {};
    net_config_init(&cfg);
    cfg.mtu = 1400;
    int ns1 = netns_new(), ns2 = netns_new();

    int r = net_sandbox_create(&cfg, 7, ns1, &e);
    if (r < 0)
        TEST_FAIL("net_sandbox_create: %s: %s", strerror(-r), e.msg);
    ASSERT_OK(net_sandbox_create(&cfg, 8, ns2, &e));
    /* Same slot again, or a second eth0 in the same namespace: refused, nothing left. */
    ASSERT_ERRNO(net_sandbox_create(&cfg, 7, ns2, &e), EEXIST);
    ASSERT_ERRNO(net_sandbox_create(&cfg, 9, ns1, &e), EEXIST);
    ASSERT_FALSE(link_exists("sbx9"));
    /* Not a network namespace. */
    int mnt = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
    ASSERT_ERRNO(net_sandbox_create(&cfg, 9, mnt, &e), EINVAL);
    close(mnt);
    ASSERT_ERRNO(net_sandbox_create(&cfg, 16384, ns1, &e), ERANGE);

    ASSERT_EQ(link_mtu("sbx7"), 1400);

    unsigned seen[3] = {};
    ASSERT_EQ(net_list_links(count_slot, seen), 2);
    ASSERT_EQ(seen[0], 1);
    ASSERT_EQ(seen[1], 1);
    ASSERT_EQ(seen[2], 0);

    ASSERT_OK(net_sandbox_destroy(7));
    ASSERT_OK(net_sandbox_destroy(7));
    ASSERT_FALSE(link_exists("sbx7"));
    /* The slot is reusable, in the namespace that lost its eth0 with the pair. */
    ASSERT_OK(net_sandbox_create(&cfg, 7, ns1, &e));
    /* Orphan clean-up from the listing callback. */
    ASSERT_EQ(net_list_links(destroy_slot, NULL), 2);
    ASSERT_EQ(net_list_links(count_slot, seen), 0);
    ASSERT_FALSE(link_exists("sbx7"));
    ASSERT_FALSE(link_exists("sbx8"));
    close(ns1);
    close(ns2);
}
