/* See net.h. This file holds the pure parts (configuration, addressing, resolv.conf) and the
 * host-wide set-up; links are in net-link.c and the ruleset in nft.c. */

#include "sandbox/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "common/errbuf.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/parse.h"
#include "sandbox/net-internal.h"
#include "sandbox/nft.h"
#include "common/banned.h"

/* Longest "A.B.C.D/NN". */
#define CIDR_STRLEN_MAX (INET_ADDRSTRLEN + 3)

static uint32_t prefix_mask(uint8_t prefix)
{
    return prefix == 0 ? 0 : UINT32_MAX << (32 - prefix);
}

const char *net_ipv4_format(uint32_t addr, char buf[static INET_ADDRSTRLEN])
{
    struct in_addr in = {.s_addr = htonl(addr)};
    if (!inet_ntop(AF_INET, &in, buf, INET_ADDRSTRLEN))
        buf[0] = 0; /* Cannot happen with a correctly sized buffer. */
    return buf;
}

void net_config_init(struct net_config *cfg)
{
    *cfg = (struct net_config){
        .pool_addr = NET_DEFAULT_POOL_ADDR,
        .pool_prefix = NET_DEFAULT_POOL_PREFIX,
    };
}

int net_cidr_parse(const char *s, struct net_cidr *ret)
{
    char addr[CIDR_STRLEN_MAX + 1];
    size_t len = strlen(s);
    if (len == 0 || len > CIDR_STRLEN_MAX)
        return -EINVAL;
    memcpy(addr, s, len + 1);

    uint64_t prefix = 32;
    char *slash = strchr(addr, '/');
    if (slash) {
        *slash = 0;
        /* parse_u64 takes "0032"; a prefix is at most two digits. */
        if (strlen(slash + 1) > 2 || parse_u64(slash + 1, &prefix) < 0 || prefix > 32)
            return -EINVAL;
    }
    struct in_addr in;
    /* inet_pton(AF_INET) accepts only the strict four-part dotted decimal form. */
    if (inet_pton(AF_INET, addr, &in) != 1)
        return -EINVAL;
    uint32_t a = ntohl(in.s_addr);
    if (a & ~prefix_mask((uint8_t) prefix))
        return -EINVAL;
    *ret = (struct net_cidr){.addr = a, .prefix = (uint8_t) prefix};
    return 0;
}

int net_config_parse_subnet(struct net_config *cfg, const char *s, struct errbuf *reterr)
{
    struct net_cidr c;
    if (!strchr(s, '/') || net_cidr_parse(s, &c) < 0)
        return errbuf_set(reterr, -EINVAL,
                          "subnet '%.64s': must be A.B.C.D/N with the host bits zero", s);
    if (c.prefix < NET_POOL_PREFIX_MIN || c.prefix > NET_POOL_PREFIX_MAX)
        return errbuf_set(reterr, -EINVAL, "subnet '%.64s': prefix length must be %d to %d", s,
                          NET_POOL_PREFIX_MIN, NET_POOL_PREFIX_MAX);
    cfg->pool_addr = c.addr;
    cfg->pool_prefix = c.prefix;
    return 0;
}

int net_config_add_allow(struct net_config *cfg, const char *s, struct errbuf *reterr)
{
    struct net_cidr c;
    if (net_cidr_parse(s, &c) < 0)
        return errbuf_set(reterr, -EINVAL,
                          "allowed network '%.64s': must be A.B.C.D or A.B.C.D/N with the host "
                          "bits zero",
                          s);
    if (cfg->n_allow >= NET_ALLOW_MAX)
        return errbuf_set(reterr, -E2BIG, "allowed networks: at most %d", NET_ALLOW_MAX);
    cfg->allow[cfg->n_allow++] = c;
    return 0;
}

int net_host_connected_subnets(struct net_config *cfg)
{
    char *text = NULL;
    int r = read_file_at(AT_FDCWD, "/proc/net/route", 1 << 20, &text, NULL);
    if (r < 0)
        return r;
    int added = 0;
    /* Columns: Iface Destination Gateway Flags RefCnt Use Metric Mask ... (hex, host order
     * of the kernel = little endian on the wire format used here). */
    for (char *line = strchr(text, '\n'); line && *++line;) {
        char iface[32];
        unsigned dst, gw, flags, mask;
        if (sscanf(line, "%31s %x %x %x %*d %*d %*d %x", iface, &dst, &gw, &flags, &mask) == 5 &&
            gw == 0 && mask != 0 && strcmp(iface, "lo") != 0 && strncmp(iface, "sbx", 3) != 0) {
            if (cfg->n_block >= NET_ALLOW_MAX) {
                r = -E2BIG;
                break;
            }
            uint32_t m = ntohl(mask);
            uint8_t prefix = (uint8_t) __builtin_popcount(m);
            cfg->block[cfg->n_block++] =
                (struct net_cidr){.addr = ntohl(dst) & m, .prefix = prefix};
            added++;
        }
        line = strchr(line, '\n');
    }
    free(text);
    return r < 0 ? r : added;
}

unsigned net_slot_count(const struct net_config *cfg)
{
    /* A pool the parser would have rejected yields no slots rather than a bogus shift. */
    if (cfg->pool_prefix < NET_POOL_PREFIX_MIN || cfg->pool_prefix > NET_POOL_PREFIX_MAX)
        return 0;
    return 1u << (32 - cfg->pool_prefix - 2);
}

int net_slot_addrs(const struct net_config *cfg, unsigned slot, uint32_t *ret_host,
                   uint32_t *ret_sandbox)
{
    if (slot >= net_slot_count(cfg))
        return -ERANGE;
    uint32_t base = cfg->pool_addr + 4 * slot;
    if (ret_host)
        *ret_host = base + 1;
    if (ret_sandbox)
        *ret_sandbox = base + 2;
    return 0;
}

int net_slot_ifname(unsigned slot, char *buf, size_t size)
{
    int n = snprintf(buf, size, NET_IFNAME_PREFIX "%u", slot);
    /* IFNAMSIZ includes the NUL; callers pass IFNAMSIZ. */
    return n < 0 || (size_t) n >= size ? -ERANGE : 0;
}

int net_slot_from_ifname(const char *name, unsigned *ret_slot)
{
    const size_t plen = strlen(NET_IFNAME_PREFIX);
    if (strncmp(name, NET_IFNAME_PREFIX, plen) != 0)
        return -EINVAL;
    const char *digits = name + plen;
    /* Canonical form only: "sbx01" is not ours, and neither is "sbx" or "sbx-1". */
    if (digits[0] == '0' && digits[1] != 0)
        return -EINVAL;
    uint64_t v;
    if (strlen(digits) > 10 || parse_u64(digits, &v) < 0 || v > UINT32_MAX)
        return -EINVAL;
    *ret_slot = (unsigned) v;
    return 0;
}

int net_sandbox_resolv_conf(const struct net_config *cfg, unsigned slot, char *buf, size_t size)
{
    uint32_t gw;
    int r = net_slot_addrs(cfg, slot, &gw, NULL);
    if (r < 0)
        return r;
    char a[INET_ADDRSTRLEN];
    /* One upstream only: retry a lost UDP answer sooner than glibc's default 5 s. */
    int n = snprintf(buf, size, "nameserver %s\noptions timeout:2 attempts:3\n",
                     net_ipv4_format(gw, a));
    if (n < 0 || (size_t) n >= size)
        return -ENOBUFS;
    return n;
}

/* Matches one resolv.conf line "nameserver ADDR ..." and parses ADDR as IPv4. */
static int resolv_line_nameserver(const char *line, size_t len, uint32_t *ret)
{
    static const char kw[] = "nameserver";
    const size_t kwlen = sizeof(kw) - 1;
    if (len <= kwlen || memcmp(line, kw, kwlen) != 0 || (line[kwlen] != ' ' && line[kwlen] != '\t'))
        return -ENOENT;
    size_t i = kwlen;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    size_t start = i;
    while (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '\r' && line[i] != '#' &&
           line[i] != ';')
        i++;
    char addr[INET_ADDRSTRLEN];
    if (i == start || i - start >= sizeof(addr))
        return -ENOENT;
    memcpy(addr, line + start, i - start);
    addr[i - start] = 0;
    struct in_addr in;
    if (inet_pton(AF_INET, addr, &in) != 1)
        return -ENOENT; /* IPv6 or junk: not usable for our IPv4 DNAT. */
    *ret = ntohl(in.s_addr);
    return 0;
}

int net_resolv_conf_parse(const char *text, size_t len, bool skip_loopback, uint32_t *ret_addr)
{
    size_t pos = 0;
    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t linelen = nl ? (size_t) (nl - line) : len - pos;
        pos += linelen + 1;
        uint32_t a;
        if (resolv_line_nameserver(line, linelen, &a) < 0)
            continue;
        if (skip_loopback && (a >> 24) == 127)
            continue;
        *ret_addr = a;
        return 0;
    }
    return -ENOENT;
}

static int resolver_from_file(const char *path, bool skip_loopback, uint32_t *ret)
{
    _cleanup_free_ char *text = NULL;
    size_t len;
    int r = read_file_at(AT_FDCWD, path, NET_RESOLV_FILE_MAX, &text, &len);
    if (r < 0)
        return r;
    return net_resolv_conf_parse(text, len, skip_loopback, ret);
}

int net_resolver_detect(const char *resolv_conf, const char *resolved_conf, uint32_t *ret_addr,
                        struct errbuf *reterr)
{
    uint32_t a;
    int r = resolver_from_file(resolv_conf, /* skip_loopback= */ false, &a);
    if (r == -ENOENT)
        return errbuf_set(reterr, r, "no IPv4 nameserver in '%s'", resolv_conf);
    if (r < 0)
        return errbuf_set(reterr, r, "cannot read '%s': %s", resolv_conf, strerror(-r));
    if ((a >> 24) != 127) {
        *ret_addr = a;
        return 0;
    }
    /* A local stub (systemd-resolved's 127.0.0.53, dnsmasq on 127.0.0.1) is not reachable
     * from a sandbox by DNAT without route_localnet; use the stub's upstream instead. */
    r = resolver_from_file(resolved_conf, /* skip_loopback= */ true, &a);
    if (r < 0)
        return errbuf_set(reterr, -ENOENT,
                          "nameserver in '%s' is a loopback address and '%s' names no other: "
                          "set the sandbox DNS server explicitly",
                          resolv_conf, resolved_conf);
    *ret_addr = a;
    return 0;
}

int net_host_setup(const struct net_config *cfg, struct errbuf *reterr)
{
    if (net_slot_count(cfg) == 0)
        return errbuf_set(reterr, -EINVAL, "invalid sandbox address pool");
    uint32_t resolver = cfg->resolver;
    int r;
    if (resolver == 0) {
        r = net_resolver_detect(NET_RESOLV_CONF_PATH, NET_RESOLVED_CONF_PATH, &resolver, reterr);
        if (r < 0)
            return r;
    }
    char a[INET_ADDRSTRLEN];
    log_debug("sandbox DNS upstream is %s", net_ipv4_format(resolver, a));

    /* Rules first, forwarding second: forwarding never runs without our filter in place. */
    r = nft_table_install(cfg, resolver, reterr);
    if (r < 0)
        return r;
    r = write_string_file_at(AT_FDCWD, NET_IP_FORWARD_PATH, "1");
    if (r < 0)
        return errbuf_set(reterr, r, "cannot enable IPv4 forwarding: %s", strerror(-r));
    return 0;
}

int net_host_teardown(void)
{
    return nft_table_remove(/* reterr= */ NULL);
}
