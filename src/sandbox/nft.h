/* The nftables half of sandbox networking (see net.h): the text of our one table, `inet sbx`,
 * and running nftables commands in-process through libnftables (never the `nft` binary).
 *
 * The table is always replaced as a whole in one transaction ("add table; delete table;
 * table { ... }"), so a re-install after a crash or a configuration change is atomic and never
 * leaves a half-filtered window. Nothing outside the table is touched.
 *
 * Extension point for per-sandbox egress lists (E2B network.allowOut/denyOut): the verdict
 * map `egress_policy` (ifname : verdict) is consulted for every forwarded packet of a sandbox
 * after the fixed protections (no other sandbox, no host) and before the operator exceptions
 * and the blocked ranges. A sandbox with a policy gets a chain and an element, e.g.
 *
 *     add set inet sbx allow_7 { type ipv4_addr; flags interval; }
 *     add chain inet sbx egress_7
 *     add rule inet sbx egress_7 ip daddr @allow_7 accept
 *     add rule inet sbx egress_7 ip daddr @deny_7 drop   (or: drop, for "deny all but")
 *     add element inet sbx egress_policy { "sbx7" : jump egress_7 }
 *
 * A chain that ends without a verdict falls through to the global rules. Remove the element
 * before the chain and sets when the sandbox goes away. Domain names (allowOut entries that are
 * not CIDRs) need the DNS answers fed into such a set; not implemented yet. */
#pragma once

#include <stdint.h>

struct buf;
struct errbuf;
struct net_config;

#define NFT_TABLE_FAMILY "inet"
#define NFT_TABLE_NAME "sbx"
/* Upper bound of the generated ruleset text. */
#define NFT_RULESET_MAX (64 * 1024)

/* Appends the commands that atomically replace table `inet sbx` for cfg (pool, exceptions) and
 * the DNS upstream resolver (host byte order) to out. -EMSGSIZE if out's maximum is too small
 * (NFT_RULESET_MAX suffices). Pure. */
int nft_ruleset_format(const struct net_config *cfg, uint32_t resolver, struct buf *out);

/* Runs nftables commands (the `nft -f` language) in the calling thread's network namespace as
 * one transaction. -EIO on failure with nftables' first error line in reterr (may be NULL);
 * -ENOMEM if libnftables cannot allocate its context. Blocks on netlink. */
int nft_run(const char *cmds, struct errbuf *reterr);

/* Formats and runs the ruleset: creates or replaces table `inet sbx`. Errors as nft_run(). */
int nft_table_install(const struct net_config *cfg, uint32_t resolver, struct errbuf *reterr);

/* Deletes table `inet sbx`; 0 if it did not exist. Errors as nft_run(). */
int nft_table_remove(struct errbuf *reterr);
