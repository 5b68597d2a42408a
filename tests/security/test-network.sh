#!/bin/bash
# Security: what a sandbox's network can reach. Probes run inside real sandboxes through
# tests/helpers/sandbox-exec; every "cannot connect" has a positive control (the listener is
# there and answers someone else), and every connect attempt has a short timeout.
#
#   host:       the daemon's port and a host listener on 0.0.0.0 (TCP and UDP, also UDP
#               broadcast) are unreachable at the host's uplink address, at the sandbox's
#               gateway address (the host end of its veth) and at another sandbox's gateway;
#               127.0.0.1 inside is the sandbox's own loopback; no IPv6, no re-addressing
#               (no CAP_NET_ADMIN), and raw packets with forged sources are dropped;
#   sandboxes:  a TCP server inside sandbox B answers inside B, also at B's eth0 address, but
#               not from sandbox A;
#   ranges:     169.254.169.254:80 (cloud metadata) and 10.0.0.1:80 (private) fail quickly;
#   internet:   a package registry (host name derived at run time from the host's apt, npm or
#               pip configuration, never written down) resolves inside and answers HTTP
#               (control; skipped when the registry's address lies in the blocked ranges and
#               the daemon offers no option to exempt it, as on this machine family, where
#               registries answer from 203.0.113.0/24 through a transparent proxy);
#   offline:    a sandbox created with allow_internet_access false has only lo and cannot
#               resolve or reach the registry.
cd "$(dirname "$0")/../.." || exit 1
. tests/harness/lib.sh
. tests/security/sec-lib.bash

sec_init

UPLINK=$(ip -4 route show default | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }')
HOST_IP=
[ -n "$UPLINK" ] && HOST_IP=$(ip -4 -o addr show dev "$UPLINK" | awk '{ split($4, a, "/"); print a[1]; exit }')

# A package registry's host name, derived here (apt's URIs, else npm's or pip's index).
REG_HOST=$(sed -n 's#^URIs:[[:space:]]*http://\([^/[:space:]:]*\).*#\1#p' \
    /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
REG_URL=http://$REG_HOST/
if [ -z "$REG_HOST" ] && command -v npm >/dev/null; then
    REG_HOST=$(npm config get registry 2>/dev/null | sed -n 's#^https://\([^/:]*\).*#\1#p')
    REG_URL=https://$REG_HOST/
fi
if [ -z "$REG_HOST" ] && command -v pip >/dev/null; then
    REG_HOST=$(pip config list 2>/dev/null | sed -n "s#.*index-url='https://\([^/:']*\).*#\1#p" | head -n 1)
    REG_URL=https://$REG_HOST/
fi
REG_PORT=80
case $REG_URL in https:*) REG_PORT=443 ;; esac
REG_IP=
[ -n "$REG_HOST" ] && REG_IP=$(getent ahostsv4 "$REG_HOST" | awk 'NR == 1 { print $1 }')

# probe TIMEOUT HOST:PORT...: one line "HOST:PORT RESULT" per target, all in parallel; RESULT is
# connected, timeout or an errno name (ECONNREFUSED, ENETUNREACH, ...).
PROBE='
import errno, socket, sys, threading
t = float(sys.argv[1]); res = {}
def go(a):
    h, p = a.rsplit(":", 1)
    s = socket.socket()
    s.settimeout(t)
    try:
        s.connect((h, int(p)))
        res[a] = "connected"
    except socket.timeout:
        res[a] = "timeout"
    except OSError as e:
        res[a] = errno.errorcode.get(e.errno, str(e.errno))
    finally:
        s.close()
th = [threading.Thread(target=go, args=(a,)) for a in sys.argv[2:]]
for x in th: x.start()
for x in th: x.join()
for a in sys.argv[2:]: print(a, res[a])
'
# udp_send HOST:PORT...: one datagram to each.
UDP_SEND='
import socket, sys
for a in sys.argv[1:]:
    h, p = a.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    try:
        s.sendto(b"from-sandbox", (h, int(p)))
    except OSError as e:
        print(a, "send failed:", e)
    s.close()
'

SERVE_ARGS=()
if [ -n "$REG_IP" ] && "${BUILD:-build/test}/sbx" serve --help 2>&1 | grep -q -- '--allow '; then
    SERVE_ARGS+=(--allow "$REG_IP/32")
fi
sec_start "${SERVE_ARGS[@]}" || t_done
sb_new A || t_done
sb_new B || t_done

# --- the host -------------------------------------------------------------------------------------

GW=$(sx "$A" -- ip -4 route show default 2>/dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "via") { print $(i + 1); exit } }')
A_IP=$(sx "$A" -- ip -4 -o addr show dev eth0 2>/dev/null | awk '{ split($4, a, "/"); print a[1]; exit }')
A_CIDR=$(sx "$A" -- ip -4 -o addr show dev eth0 2>/dev/null | awk '{ print $4; exit }')
A_BRD=$(python3 -c 'import ipaddress, sys; print(ipaddress.ip_interface(sys.argv[1]).network.broadcast_address)' "$A_CIDR" 2>/dev/null)
B_IP=$(sx "$B" -- ip -4 -o addr show dev eth0 2>/dev/null | awk '{ split($4, a, "/"); print a[1]; exit }')
GW_B=$(sx "$B" -- ip -4 route show default 2>/dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "via") { print $(i + 1); exit } }')
t_diag "host uplink $UPLINK $HOST_IP, sandbox A $A_IP (brd $A_BRD) via $GW, B $B_IP via $GW_B, daemon port $SBX_PORT"
t_check "sandbox A has an eth0 address and a default route" test -n "$GW" -a -n "$A_IP"

# A host listener on every address, TCP and UDP, logging each peer.
LPORT=$(_sbx_free_port)
cat >"$SEC_TMP/listener.py" <<'EOF'
import select, socket, sys
port, log, ready = int(sys.argv[1]), sys.argv[2], sys.argv[3]
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("0.0.0.0", port)); t.listen(16)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", port))
open(ready, "w").close()
with open(log, "a", buffering=1) as f:
    while True:
        r, _, _ = select.select([t, u], [], [])
        if t in r:
            c, peer = t.accept()
            f.write("tcp %s\n" % peer[0]); c.sendall(b"hello\n"); c.close()
        if u in r:
            _, peer = u.recvfrom(2048)
            f.write("udp %s\n" % peer[0])
EOF
python3 "$SEC_TMP/listener.py" "$LPORT" "$SEC_TMP/listener.log" "$SEC_TMP/listener.ready" &
SEC_BG+=($!)
for _ in $(seq 50); do
    [ -e "$SEC_TMP/listener.ready" ] && break
    sleep 0.1
done

if [ -z "$HOST_IP" ] || [ -z "$GW" ]; then
    t_skip "host listener answers on the uplink and gateway addresses (control)" "no uplink or gateway address"
else
    out=$(python3 -c "$PROBE" 2 "$HOST_IP:$LPORT" "$GW:$LPORT" "127.0.0.1:$SBX_PORT" 2>&1)
    if [ "$(printf '%s\n' "$out" | grep -c ' connected$')" = 3 ]; then
        t_ok "host listener answers on the uplink and gateway addresses (control)"
    else
        t_fail "host listener answers on the uplink and gateway addresses (control)" "$out"
    fi
    start=$SECONDS
    out=$(sx "$A" -- python3 -c "$PROBE" 2 "$HOST_IP:$SBX_PORT" "$GW:$SBX_PORT" "127.0.0.1:$SBX_PORT" \
        "$HOST_IP:$LPORT" "$GW:$LPORT" "127.0.0.1:$LPORT" "$HOST_IP:22" "$GW:22" "$GW_B:$LPORT" 2>&1)
    t_diag "from inside A ($((SECONDS - start)) s):" "$out"
    if [ "$(printf '%s\n' "$out" | grep -cE ' (timeout|E[A-Z]+)$')" = 9 ]; then
        t_ok "the daemon's port and a host listener are unreachable from inside (uplink, gateways, loopback)"
    else
        t_fail "the daemon's port and a host listener are unreachable from inside (uplink, gateways, loopback)" "$out"
    fi
    # UDP too, also to the link's broadcast addresses and to another sandbox's gateway.
    sx "$A" -- python3 -c "$UDP_SEND" "$HOST_IP:$LPORT" "$GW:$LPORT" "$GW_B:$LPORT" \
        "${A_BRD:-255.255.255.255}:$LPORT" "255.255.255.255:$LPORT" >/dev/null 2>&1
    python3 -c "$UDP_SEND" "127.0.0.1:$LPORT" # control: the listener does log UDP
    sleep 0.5
    if grep -q '^udp 127.0.0.1$' "$SEC_TMP/listener.log" 2>/dev/null &&
        ! grep -q " $A_IP$" "$SEC_TMP/listener.log"; then
        t_ok "the host listener saw nothing from the sandbox (TCP or UDP)"
    else
        t_fail "the host listener saw nothing from the sandbox (TCP or UDP)" "$(cat "$SEC_TMP/listener.log" 2>&1)"
    fi
fi

# No way around the addressing: no IPv6 on eth0, and without CAP_NET_ADMIN root inside can
# neither re-address eth0 nor add IPv6 or routes. Raw sockets (CAP_NET_RAW is in the default
# set) can forge source addresses, which the host drops (source must route back through the
# sandbox's own link): a forged UDP datagram to the host listener never arrives.
out=$(sx "$A" -- sh -c 'ip -6 -o addr show dev eth0; echo "v6 done"
ip addr add 10.213.255.250/32 dev eth0 2>&1 && echo READDRESSED
ip -6 addr add fd00:5b::1/64 dev eth0 2>&1 && echo IPV6-ADDED
ip route add 192.0.2.0/24 dev eth0 2>&1 && echo ROUTE-ADDED
ip link set eth0 address 02:00:00:00:00:01 2>&1 && echo MAC-CHANGED
echo end' 2>&1)
if [ "$(printf '%s\n' "$out" | head -n 1)" = "v6 done" ] &&
    ! printf '%s\n' "$out" | grep -q -e READDRESSED -e IPV6-ADDED -e ROUTE-ADDED -e MAC-CHANGED &&
    [ "$(printf '%s\n' "$out" | grep -c 'Operation not permitted')" = 4 ]; then
    t_ok "eth0 has no IPv6 and cannot be re-addressed, re-routed or given a new MAC inside"
else
    t_fail "eth0 has no IPv6 and cannot be re-addressed, re-routed or given a new MAC inside" "$out"
fi
SPOOF='
import socket, struct, sys
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
src, port = sys.argv[1], int(sys.argv[2])
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for dst in sys.argv[3:]:
    payload = b"spoofed"
    udp = struct.pack("!HHHH", 40000, port, 8 + len(payload), 0) + payload
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, len(udp))
    udp = udp[:6] + struct.pack("!H", csum(pseudo + udp)) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    r.sendto(ip + udp, (dst, 0))
print("sent")
'
if [ -n "$HOST_IP" ] && [ -n "$GW" ]; then
    # Forged sources: another pool address (a sandbox that does not exist) and the host's own.
    for src in 10.213.255.254 "$HOST_IP"; do
        sx "$A" -- python3 -c "$SPOOF" "$src" "$LPORT" "$GW" "$HOST_IP" >/dev/null 2>&1
    done
    sleep 0.5
    if ! grep -qE '^udp (10\.213\.255\.254|'"${HOST_IP//./\\.}"')$' "$SEC_TMP/listener.log"; then
        t_ok "raw packets with forged sources do not reach the host"
    else
        t_fail "raw packets with forged sources do not reach the host" "$(cat "$SEC_TMP/listener.log")"
    fi
fi

# --- another sandbox ------------------------------------------------------------------------------

BPORT=8765
sx_bg "$B" -- python3 -m http.server "$BPORT" --bind 0.0.0.0 --directory /etc 2>/dev/null
SERVER=$SX_BG_PID
up=
for _ in $(seq 50); do
    up=$(sx "$B" -- python3 -c "$PROBE" 1 "127.0.0.1:$BPORT" 2>/dev/null)
    case $up in *connected) break ;; esac
    sleep 0.1
done
out=$(sx "$B" -- curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$B_IP:$BPORT/hostname" 2>&1)
if [ -n "$B_IP" ] && [ "$out" = 200 ]; then
    t_ok "a server in sandbox B answers inside B at B's eth0 address (control)"
else
    t_fail "a server in sandbox B answers inside B at B's eth0 address (control)" "B $B_IP: $out; $up"
fi
out=$(sx "$A" -- python3 -c "$PROBE" 2 "$B_IP:$BPORT" 2>&1)
if printf '%s\n' "$out" | grep -qE ' (timeout|E[A-Z]+)$'; then
    t_ok "sandbox A cannot reach sandbox B's server"
else
    t_fail "sandbox A cannot reach sandbox B's server" "$out"
fi
out=$(sx "$A" -- curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://$B_IP:$BPORT/hostname" 2>&1)
t_check "sandbox A gets no HTTP answer from B (curl)" test "$out" = 000
sec_kill_bg "$SERVER"
out=$(sx "$B" -- python3 -c "$PROBE" 1 "127.0.0.1:$BPORT" 2>&1)
t_check "the server in B is gone after killing its helper" test "$out" = "127.0.0.1:$BPORT ECONNREFUSED"

# --- private and metadata ranges ------------------------------------------------------------------

start=$SECONDS
out=$(sx "$A" -- python3 -c "$PROBE" 2 169.254.169.254:80 10.0.0.1:80 2>&1)
elapsed=$((SECONDS - start))
t_diag "from inside A ($elapsed s):" "$out"
if [ "$(printf '%s\n' "$out" | grep -cE ' (timeout|E[A-Z]+)$')" = 2 ] && [ $elapsed -le 6 ]; then
    t_ok "169.254.169.254:80 and 10.0.0.1:80 are unreachable, within the timeout"
else
    t_fail "169.254.169.254:80 and 10.0.0.1:80 are unreachable, within the timeout" "$out (after $elapsed s)"
fi

# --- the internet (positive control) and an offline sandbox -----------------------------------

# On this machine family registries answer from a documentation range (a transparent proxy)
# that the sandbox policy blocks unless the operator exempts it: with a daemon that has an
# --allow option the test exempts exactly the registry's address; without one, only name
# resolution can be checked and the TCP control is skipped.
reg_blocked() {
    nft -j list table inet sbx 2>/dev/null | python3 -c '
import ipaddress, json, sys
ip = ipaddress.ip_address(sys.argv[1])
sets = {}
for o in json.load(sys.stdin)["nftables"]:
    s = o.get("set")
    if s:
        nets = []
        for e in s.get("elem", []):
            if isinstance(e, str):
                nets.append(ipaddress.ip_network(e))
            elif "prefix" in e:
                nets.append(ipaddress.ip_network("%s/%d" % (e["prefix"]["addr"], e["prefix"]["len"])))
            elif "range" in e:
                lo, hi = (ipaddress.ip_address(x) for x in e["range"])
                nets.extend(ipaddress.summarize_address_range(lo, hi))
        sets[s["name"]] = nets
inside = lambda n: any(ip in net for net in sets.get(n, []))
sys.exit(0 if inside("blocked_v4") and not inside("allowed_v4") else 1)' "$1"
}
if [ -z "$REG_IP" ]; then
    t_skip "DNS inside resolves a package registry (through the gateway)" "no registry host derivable or resolvable on the host"
    t_skip "a package registry answers HTTP from inside" "no registry host"
else
    out=$(sx "$A" -- getent ahostsv4 "$REG_HOST" 2>&1)
    if printf '%s
' "$out" | grep -q "^$REG_IP "; then
        t_ok "DNS inside resolves a package registry (through the gateway)"
    else
        t_fail "DNS inside resolves a package registry (through the gateway)" "expected $REG_IP: $out"
    fi
    if reg_blocked "$REG_IP"; then
        t_skip "a package registry answers HTTP from inside" \
            "the registry answers from $REG_IP, inside the blocked ranges, and this sbx serve has no --allow to exempt it"
    else
        out=$(sx "$A" -- curl -s -o /dev/null -w "%{http_code}" --max-time 5 "$REG_URL" 2>&1)
        if [ -n "$out" ] && [ "$out" != 000 ]; then
            t_ok "a package registry answers HTTP from inside"
        else
            t_fail "a package registry answers HTTP from inside" "$REG_URL ($REG_IP): $out"
        fi
    fi
fi

sb_new C '{"templateID":"base","timeout":120,"allow_internet_access":false}' || t_done
out=$(sx "$C" -- ls /sys/class/net 2>&1)
if [ "$(echo $out)" = lo ]; then
    t_ok "offline sandbox has only lo"
else
    t_fail "offline sandbox has only lo" "$out"
fi
out=$(sx "$C" -- python3 -c "$PROBE" 1 127.0.0.1:49983 2>&1)
t_check "offline sandbox's loopback works (its agent listens on it)" test "$out" = "127.0.0.1:49983 connected"
if [ -z "$REG_IP" ]; then
    t_skip "offline sandbox cannot resolve or reach the registry" "no registry host"
else
    out=$(sx "$C" -- sh -c 'getent ahostsv4 "$1" && echo RESOLVED; python3 -c "$2" 2 "$3"; curl -s -o /dev/null --max-time 2 "$4" && echo FETCHED' \
        sh "$REG_HOST" "$PROBE" "$REG_IP:$REG_PORT" "$REG_URL" 2>&1)
    if ! printf '%s\n' "$out" | grep -q -e RESOLVED -e connected -e FETCHED &&
        printf '%s\n' "$out" | grep -qE " (timeout|E[A-Z]+)$"; then
        t_ok "offline sandbox cannot resolve or reach the registry"
    else
        t_fail "offline sandbox cannot resolve or reach the registry" "$out"
    fi
fi
sec_delete_all
t_done
