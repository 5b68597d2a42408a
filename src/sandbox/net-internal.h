/* Parts of sandbox networking shared between net.c, net-link.c and nft.c, and reachable from
 * unit tests. Not for other modules: use net.h. */
#pragma once

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct errbuf;

#define NET_RESOLV_CONF_PATH "/etc/resolv.conf"
#define NET_RESOLVED_CONF_PATH "/run/systemd/resolve/resolv.conf"
#define NET_IP_FORWARD_PATH "/proc/sys/net/ipv4/ip_forward"
/* resolv.conf files larger than this are rejected (glibc reads far less). */
#define NET_RESOLV_FILE_MAX (64 * 1024)

/* Formats a host-byte-order IPv4 address into buf (INET_ADDRSTRLEN) and returns buf. */
const char *net_ipv4_format(uint32_t addr, char buf[static INET_ADDRSTRLEN]);

/* Finds the first IPv4 `nameserver` line of resolv.conf text (len bytes, no NUL needed); with
 * skip_loopback, 127.0.0.0/8 entries are passed over. IPv6 and malformed entries are skipped.
 * -ENOENT if there is none. Pure. */
int net_resolv_conf_parse(const char *text, size_t len, bool skip_loopback, uint32_t *ret_addr);

/* The resolver rule of net_host_setup() over the two given files: the first IPv4 nameserver of
 * resolv_conf; if that is loopback, the first non-loopback one of resolved_conf. -ENOENT (with
 * reterr) if there is no usable one, other -errno reading resolv_conf. Blocks (file reads). */
int net_resolver_detect(const char *resolv_conf, const char *resolved_conf, uint32_t *ret_addr,
                        struct errbuf *reterr);

/* Writes "sbx<slot>" into buf (IFNAMSIZ); -ERANGE if it would not fit. */
int net_slot_ifname(unsigned slot, char *buf, size_t size);

/* Parses a link name "sbx<N>" with canonical decimal N (no sign, no leading zero, fits an
 * unsigned and the IFNAMSIZ limit). -EINVAL otherwise. Pure. */
int net_slot_from_ifname(const char *name, unsigned *ret_slot);
