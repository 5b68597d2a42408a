/* See nft.h. The ruleset below is the security boundary between sandboxes and everything
 * else on the network; every rule says why it is there. Order inside a chain matters: the
 * fixed protections come first, then the per-sandbox policy, then operator exceptions, then
 * the blocked ranges, then accept. */

#include "sandbox/nft.h"

#include <errno.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/errbuf.h"
#include "common/log.h"
#include "common/macro.h"
#include "sandbox/net-internal.h"
#include "sandbox/net.h"
#include "common/banned.h"

/* Destinations no sandbox may reach by default: "this network", private (RFC 1918), shared
 * CGN space, loopback, link-local (includes the cloud metadata address 169.254.169.254), IETF
 * protocol assignments, benchmarking, multicast and reserved/broadcast. The documentation
 * ranges (192.0.2/24, 198.51.100/24, 203.0.113/24) are not private networks and some
 * providers number real egress paths in them (this project's CI machines do), so they are not
 * listed: the host's own connected subnets, whatever their range, are added at start-up
 * (net_config.block). */
static const char *const blocked_ranges[] = {
    "0.0.0.0/8",      "10.0.0.0/8",    "100.64.0.0/10", "127.0.0.0/8",
    "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",  "192.168.0.0/16",
    "198.18.0.0/15",  "224.0.0.0/4",   "240.0.0.0/4",
};

static int format_sets(const struct net_config *cfg, struct buf *out)
{
    char a[INET_ADDRSTRLEN];
    int r = buf_printf(out,
                       "\tset pool_v4 {\n"
                       "\t\ttype ipv4_addr\n"
                       "\t\tflags interval\n"
                       "\t\telements = { %s/%u }\n"
                       "\t}\n",
                       net_ipv4_format(cfg->pool_addr, a), cfg->pool_prefix);
    if (r < 0)
        return r;

    /* auto-merge: a connected subnet may lie inside one of the fixed ranges. */
    r = buf_append_str(out, "\tset blocked_v4 {\n"
                            "\t\ttype ipv4_addr\n"
                            "\t\tflags interval\n"
                            "\t\tauto-merge\n"
                            "\t\telements = {");
    for (size_t i = 0; r >= 0 && i < ELEMENTSOF(blocked_ranges); i++)
        r = buf_printf(out, "%s %s", i ? "," : "", blocked_ranges[i]);
    for (size_t i = 0; r >= 0 && i < cfg->n_block; i++)
        r = buf_printf(out, ", %s/%u", net_ipv4_format(cfg->block[i].addr, a),
                       cfg->block[i].prefix);
    if (r >= 0)
        r = buf_append_str(out, " }\n\t}\n");
    if (r < 0)
        return r;

    /* Operator exceptions; "auto-merge" lets overlapping entries coexist. */
    r = buf_append_str(out, "\tset allowed_v4 {\n"
                            "\t\ttype ipv4_addr\n"
                            "\t\tflags interval\n"
                            "\t\tauto-merge\n");
    for (size_t i = 0; r >= 0 && i < cfg->n_allow; i++)
        r = buf_printf(out, "%s%s/%u", i ? ", " : "\t\telements = { ",
                       net_ipv4_format(cfg->allow[i].addr, a), cfg->allow[i].prefix);
    if (r >= 0 && cfg->n_allow > 0)
        r = buf_append_str(out, " }\n");
    if (r >= 0)
        r = buf_append_str(out, "\t}\n");
    if (r < 0)
        return r;

    /* The extension point for per-sandbox allow/deny lists, see nft.h. */
    return buf_append_str(out, "\tmap egress_policy {\n"
                               "\t\ttype ifname : verdict\n"
                               "\t}\n");
}

static int format_chains(uint32_t resolver, struct buf *out)
{
    char dns[INET_ADDRSTRLEN];
    (void) net_ipv4_format(resolver, dns);

    /* Before conntrack (priority raw), so spoofed packets do not even create entries: IPv6 is
     * not offered to sandboxes; a source must be routed back through the link it came in on
     * (a sandbox cannot pose as another one or as the host, nor leak unmasqueraded sources). */
    int r = buf_append_str(out, "\tchain prerouting_raw {\n"
                                "\t\ttype filter hook prerouting priority raw; policy accept;\n"
                                "\t\tiifname \"" NET_IFNAME_PREFIX "*\" jump sandbox_ingress\n"
                                "\t}\n"
                                "\tchain sandbox_ingress {\n"
                                "\t\tmeta nfproto != ipv4 drop\n"
                                "\t\tfib saddr type != unicast drop\n"
                                "\t\tfib saddr . iif oif missing drop\n"
                                "\t}\n");
    if (r < 0)
        return r;

    /* DNS to the slot's own gateway address goes to the real resolver. */
    r = buf_printf(out,
                   "\tchain prerouting_nat {\n"
                   "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
                   "\t\tiifname \"" NET_IFNAME_PREFIX "*\" ip daddr @pool_v4 "
                   "fib daddr . iif type local meta l4proto { tcp, udp } th dport 53 "
                   "dnat ip to %s\n"
                   "\t}\n"
                   "\tchain postrouting_nat {\n"
                   "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
                   "\t\toifname != \"" NET_IFNAME_PREFIX "*\" ip saddr @pool_v4 masquerade\n"
                   "\t}\n",
                   dns);
    if (r < 0)
        return r;

    /* To the host itself: only replies to connections the host opened, and DNS when the
     * resolver is one of the host's own addresses. */
    r = buf_printf(out,
                   "\tchain input {\n"
                   "\t\ttype filter hook input priority filter; policy accept;\n"
                   "\t\tiifname \"" NET_IFNAME_PREFIX "*\" jump sandbox_input\n"
                   "\t}\n"
                   "\tchain sandbox_input {\n"
                   "\t\tct state established,related accept\n"
                   "\t\tct status dnat ip daddr %s meta l4proto { tcp, udp } th dport 53 accept\n"
                   "\t\tdrop\n"
                   "\t}\n",
                   dns);
    if (r < 0)
        return r;

    /* Forwarded: sandboxes never reach each other; the DNAT'ed DNS flow passes although the
     * resolver may sit in a private range; then per-sandbox policy, operator exceptions,
     * blocked ranges, host addresses. Towards sandboxes only replies pass. */
    return buf_printf(out,
                      "\tchain forward {\n"
                      "\t\ttype filter hook forward priority filter; policy accept;\n"
                      "\t\tiifname \"" NET_IFNAME_PREFIX "*\" jump sandbox_egress\n"
                      "\t\toifname \"" NET_IFNAME_PREFIX "*\" ct state established,related "
                      "accept\n"
                      "\t\toifname \"" NET_IFNAME_PREFIX "*\" drop\n"
                      "\t}\n"
                      "\tchain sandbox_egress {\n"
                      "\t\toifname \"" NET_IFNAME_PREFIX "*\" drop\n"
                      "\t\tct status dnat ip daddr %s meta l4proto { tcp, udp } th dport 53 "
                      "accept\n"
                      "\t\tiifname vmap @egress_policy\n"
                      "\t\tip daddr @allowed_v4 accept\n"
                      "\t\tip daddr @blocked_v4 drop\n"
                      "\t\tfib daddr type local drop\n"
                      "\t\taccept\n"
                      "\t}\n",
                      dns);
}

int nft_ruleset_format(const struct net_config *cfg, uint32_t resolver, struct buf *out)
{
    /* "add" makes the "delete" succeed when the table does not exist yet; all three commands
     * form one transaction. */
    int r = buf_append_str(out, "add table " NFT_TABLE_FAMILY " " NFT_TABLE_NAME "\n"
                                "delete table " NFT_TABLE_FAMILY " " NFT_TABLE_NAME "\n"
                                "table " NFT_TABLE_FAMILY " " NFT_TABLE_NAME " {\n"
                                "\tcomment \"sandbox networking of sbx serve, replaced at "
                                "every start\"\n");
    if (r >= 0)
        r = format_sets(cfg, out);
    if (r >= 0)
        r = format_chains(resolver, out);
    if (r >= 0)
        r = buf_append_str(out, "}\n");
    return r;
}

static void nft_ctx_freep(struct nft_ctx **ctx)
{
    if (*ctx)
        nft_ctx_free(*ctx);
}

/* Copies the first line of nftables' error text into reterr, the offending command and the
 * caret lines that follow are not useful in a one-line message. */
static void errbuf_set_nft(struct errbuf *reterr, const char *text)
{
    if (!text || !*text)
        text = "nftables failed without a message";
    size_t n = strcspn(text, "\n");
    (void) errbuf_set(reterr, -EIO, "nftables: %.*s", (int) MIN(n, (size_t) 200), text);
}

int nft_run(const char *cmds, struct errbuf *reterr)
{
    _cleanup_(nft_ctx_freep) struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!ctx)
        return errbuf_set(reterr, -ENOMEM, "nftables: cannot create context");
    /* Buffer both streams: libnftables would otherwise print to our stdout/stderr. */
    if (nft_ctx_buffer_output(ctx) != 0 || nft_ctx_buffer_error(ctx) != 0)
        return errbuf_set(reterr, -ENOMEM, "nftables: cannot buffer output");
    if (nft_run_cmd_from_buffer(ctx, cmds) != 0) {
        const char *err = nft_ctx_get_error_buffer(ctx);
        log_debug("nftables failed: %s", err ? err : "");
        errbuf_set_nft(reterr, err);
        return -EIO;
    }
    return 0;
}

int nft_table_install(const struct net_config *cfg, uint32_t resolver, struct errbuf *reterr)
{
    struct buf b;
    buf_init(&b, NFT_RULESET_MAX);
    int r = nft_ruleset_format(cfg, resolver, &b);
    if (r < 0)
        r = errbuf_set(reterr, r, "nftables ruleset too large");
    else
        r = nft_run((const char *) b.data, reterr);
    buf_release(&b);
    return r;
}

int nft_table_remove(struct errbuf *reterr)
{
    return nft_run("add table " NFT_TABLE_FAMILY " " NFT_TABLE_NAME "\n"
                   "delete table " NFT_TABLE_FAMILY " " NFT_TABLE_NAME "\n",
                   reterr);
}
