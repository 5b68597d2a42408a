/* Test helper for src/sandbox/net.{h,c}: calls the network functions one at a time so shell
 * tests can drive and inspect them, and measures create/destroy latency.
 *
 *   net-tool [OPTIONS] setup                  install table inet sbx, enable forwarding
 *   net-tool teardown                         delete table inet sbx
 *   net-tool [OPTIONS] create SLOT NETNS      veth for SLOT into NETNS (/proc/PID/ns/net,
 *                                             /run/netns/NAME)
 *   net-tool destroy SLOT
 *   net-tool list                             slots of existing sbx<N> links, one a line
 *   net-tool [OPTIONS] addrs SLOT             "HOST SANDBOX"
 *   net-tool [OPTIONS] resolv-conf SLOT
 *   net-tool host-mtu
 *   net-tool resolver                         the DNS upstream net_host_setup() would use
 *   net-tool ruleset RESOLVER                 print the ruleset text for OPTIONS
 *   net-tool [OPTIONS] bench SLOT N           N create+destroy rounds, fresh netns each
 *
 * OPTIONS: --subnet A.B.C.D/N, --allow A.B.C.D[/N] (repeatable), --dns A.B.C.D,
 * --mtu N|host. Exit status 0 on success, 1 on failure with the reason on stderr. */

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/errbuf.h"
#include "common/macro.h"
#include "common/parse.h"
#include "sandbox/net-internal.h"
#include "sandbox/net.h"
#include "sandbox/nft.h"
#include "common/banned.h"

static int fail(int r, const struct errbuf *e, const char *what)
{
    fprintf(stderr, "net-tool: %s: %s%s%s\n", what, strerror(-r), e && e->msg[0] ? ": " : "",
            e ? e->msg : "");
    return 1;
}

static int parse_slot(const char *s, unsigned *ret)
{
    uint64_t v;
    if (parse_u64(s, &v) < 0 || v > UINT32_MAX) {
        fprintf(stderr, "net-tool: bad slot '%s'\n", s);
        return -EINVAL;
    }
    *ret = (unsigned) v;
    return 0;
}

static void print_slot(unsigned slot, void *userdata)
{
    (void) userdata;
    printf("%u\n", slot);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    (void) clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* A fresh network namespace held only by the returned fd: a child unshares, the parent opens
 * its namespace and reaps it. */
static int netns_new(void)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        char c = unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
        if (write(p[1], &c, 1) == 1)
            pause();
        _exit(0);
    }
    (void) close(p[1]);
    char c = 0;
    int r = read(p[0], &c, 1) == 1 && c == 'y' ? 0 : -EPERM;
    (void) close(p[0]);
    int fd = -EBADF;
    if (r == 0) {
        char path[64];
        (void) snprintf(path, sizeof(path), "/proc/%d/ns/net", (int) pid);
        fd = NEG_ERRNO(open(path, O_RDONLY | O_CLOEXEC));
    }
    (void) kill(pid, SIGKILL);
    (void) waitpid(pid, NULL, 0);
    return r < 0 ? r : fd;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

static void print_stats(const char *name, uint64_t *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_u64);
    printf("%s: n=%zu min=%.0fus p50=%.0fus p90=%.0fus p99=%.0fus max=%.0fus\n", name, n,
           v[0] / 1e3, v[n / 2] / 1e3, v[n * 9 / 10] / 1e3, v[n * 99 / 100] / 1e3, v[n - 1] / 1e3);
}

static int cmd_bench(const struct net_config *cfg, unsigned slot, size_t n)
{
    if (n == 0 || n > 100000)
        return 1;
    uint64_t *create = calloc(n, sizeof(*create)), *destroy = calloc(n, sizeof(*destroy));
    if (!create || !destroy)
        return 1;
    int ret = 0;
    for (size_t i = 0; i < n; i++) {
        int fd = netns_new();
        if (fd < 0) {
            ret = fail(fd, NULL, "netns");
            break;
        }
        struct errbuf e = {};
        uint64_t t0 = now_ns();
        int r = net_sandbox_create(cfg, slot, fd, &e);
        uint64_t t1 = now_ns();
        if (r < 0) {
            (void) close(fd);
            ret = fail(r, &e, "create");
            break;
        }
        r = net_sandbox_destroy(slot);
        uint64_t t2 = now_ns();
        (void) close(fd);
        if (r < 0) {
            ret = fail(r, NULL, "destroy");
            break;
        }
        create[i] = t1 - t0;
        destroy[i] = t2 - t1;
        if (i + 1 == n) {
            print_stats("create", create, n);
            print_stats("destroy", destroy, n);
        }
    }
    free(create);
    free(destroy);
    return ret;
}

static int cmd_create(const struct net_config *cfg, unsigned slot, const char *netns)
{
    _cleanup_close_ int fd = NEG_ERRNO(open(netns, O_RDONLY | O_CLOEXEC));
    if (fd < 0)
        return fail(fd, NULL, netns);
    struct errbuf e = {};
    int r = net_sandbox_create(cfg, slot, fd, &e);
    return r < 0 ? fail(r, &e, "create") : 0;
}

static int cmd_ruleset(const struct net_config *cfg, const char *resolver)
{
    struct net_cidr dns;
    if (net_cidr_parse(resolver, &dns) < 0)
        return fail(-EINVAL, NULL, "resolver");
    struct buf b;
    buf_init(&b, NFT_RULESET_MAX);
    int r = nft_ruleset_format(cfg, dns.addr, &b);
    if (r >= 0)
        fputs((const char *) b.data, stdout);
    buf_release(&b);
    return r < 0 ? fail(r, NULL, "ruleset") : 0;
}

static int parse_options(struct net_config *cfg, int *argc, char ***argv)
{
    struct errbuf e = {};
    while (*argc >= 2 && strncmp((*argv)[0], "--", 2) == 0) {
        const char *opt = (*argv)[0], *val = (*argv)[1];
        int r = 0;
        if (streq(opt, "--subnet"))
            r = net_config_parse_subnet(cfg, val, &e);
        else if (streq(opt, "--allow"))
            r = net_config_add_allow(cfg, val, &e);
        else if (streq(opt, "--dns")) {
            struct net_cidr c = {};
            r = net_cidr_parse(val, &c);
            cfg->resolver = c.addr;
        } else if (streq(opt, "--mtu") && streq(val, "host"))
            r = net_host_mtu(&cfg->mtu);
        else if (streq(opt, "--mtu")) {
            uint64_t v;
            r = parse_u64(val, &v);
            if (r >= 0 && v > UINT32_MAX)
                r = -ERANGE;
            cfg->mtu = (uint32_t) v;
        } else
            r = -EINVAL;
        if (r < 0) {
            (void) fail(r, &e, opt);
            return -EINVAL;
        }
        *argc -= 2;
        *argv += 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct net_config cfg;
    net_config_init(&cfg);
    argc--;
    argv++;
    if (parse_options(&cfg, &argc, &argv) < 0)
        return 1;
    if (argc < 1) {
        fprintf(stderr, "usage: see tests/helpers/net-tool.c\n");
        return 2;
    }
    const char *cmd = argv[0];
    struct errbuf e = {};
    unsigned slot = 0;
    int r;
    if (argc >= 2 && !streq(cmd, "ruleset") && parse_slot(argv[1], &slot) < 0)
        return 2;

    if (streq(cmd, "setup")) {
        r = net_host_setup(&cfg, &e);
        return r < 0 ? fail(r, &e, "setup") : 0;
    }
    if (streq(cmd, "teardown")) {
        r = net_host_teardown();
        return r < 0 ? fail(r, NULL, "teardown") : 0;
    }
    if (streq(cmd, "create") && argc == 3)
        return cmd_create(&cfg, slot, argv[2]);
    if (streq(cmd, "destroy") && argc == 2) {
        r = net_sandbox_destroy(slot);
        return r < 0 ? fail(r, NULL, "destroy") : 0;
    }
    if (streq(cmd, "list")) {
        r = net_list_links(print_slot, NULL);
        return r < 0 ? fail(r, NULL, "list") : 0;
    }
    if (streq(cmd, "addrs") && argc == 2) {
        uint32_t h, s;
        char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
        r = net_slot_addrs(&cfg, slot, &h, &s);
        if (r < 0)
            return fail(r, NULL, "addrs");
        printf("%s %s\n", net_ipv4_format(h, a), net_ipv4_format(s, b));
        return 0;
    }
    if (streq(cmd, "resolv-conf") && argc == 2) {
        char text[NET_RESOLV_CONF_MAX];
        r = net_sandbox_resolv_conf(&cfg, slot, text, sizeof(text));
        if (r < 0)
            return fail(r, NULL, "resolv-conf");
        fputs(text, stdout);
        return 0;
    }
    if (streq(cmd, "host-mtu")) {
        uint32_t mtu;
        r = net_host_mtu(&mtu);
        if (r < 0)
            return fail(r, NULL, "host-mtu");
        printf("%u\n", mtu);
        return 0;
    }
    if (streq(cmd, "resolver")) {
        uint32_t addr;
        char a[INET_ADDRSTRLEN];
        r = net_resolver_detect(NET_RESOLV_CONF_PATH, NET_RESOLVED_CONF_PATH, &addr, &e);
        if (r < 0)
            return fail(r, &e, "resolver");
        printf("%s\n", net_ipv4_format(addr, a));
        return 0;
    }
    if (streq(cmd, "ruleset") && argc == 2)
        return cmd_ruleset(&cfg, argv[1]);
    if (streq(cmd, "bench") && argc == 3) {
        uint64_t n;
        if (parse_u64(argv[2], &n) < 0)
            return 2;
        return cmd_bench(&cfg, slot, (size_t) n);
    }
    fprintf(stderr, "net-tool: unknown command or wrong arguments: %s\n", cmd);
    return 2;
}
