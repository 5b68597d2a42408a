#!/bin/bash
# Sandbox networking (src/sandbox/net*.c, nft.c) on the real host, through tests/helpers/net-tool:
# table inet sbx, veth pairs into network namespaces this test creates, DNS through the gateway
# DNAT, TCP to a package registry (the only internet this machine family reaches), and what a
# sandbox must NOT reach: the host (uplink address and its own gateway), another sandbox, a
# private address and the metadata address (both served by a namespace this test creates, so a
# broken filter never sends traffic off the machine), spoofed sources. Every "cannot reach" has
# a positive control from the host, so it cannot pass because the listener was not there.
#
# Needs root. Skips when a daemon is using sandbox networking (sbx* links exist): this test
# removes only what it created. A table inet sbx left by an earlier daemon (the daemon keeps it
# on exit) is saved and put back at the end, as is net.ipv4.ip_forward.
cd "$(dirname "$0")/../.." || exit 1
. tests/harness/lib.sh

BUILD=${BUILD:-build/test}
TOOL=$BUILD/helpers/net-tool
SLOT_A=4001
SLOT_B=4002
SLOT_C=4003
PORT=$((20000 + RANDOM % 20000))
TGT_NET=10.254.77
METADATA=169.254.169.254

BG_PIDS=()
TMP=
FWD_ORIG=
TGT_IF=
TABLE_OURS=0
TABLE_SAVED=

skip_all() {
    t_skip "sandbox networking" "$1"
    t_done
}

net_cleanup() {
    local p s
    for p in "${BG_PIDS[@]}"; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    BG_PIDS=()
    # No sbx* link existed before this run (checked below), so these are ours.
    for s in $SLOT_A $SLOT_B $SLOT_C; do
        [ -e "/sys/class/net/sbx$s" ] && ip link del "sbx$s" 2>/dev/null
    done
    [ -n "$TGT_IF" ] && [ -e "/sys/class/net/$TGT_IF" ] && ip link del "$TGT_IF" 2>/dev/null
    if [ "$TABLE_OURS" = 1 ] && nft list table inet sbx >/dev/null 2>&1; then
        nft delete table inet sbx
    fi
    if [ -n "$TABLE_SAVED" ] && ! nft list table inet sbx >/dev/null 2>&1; then
        nft -f "$TABLE_SAVED" || echo "# could not restore the saved table inet sbx"
    fi
    if [ -n "$FWD_ORIG" ]; then
        echo "$FWD_ORIG" >/proc/sys/net/ipv4/ip_forward
    fi
    [ -n "$TMP" ] && rm -rf "$TMP"
    TMP=
    return 0
}
# lib.sh's EXIT trap prints the plan and sets the exit status; run ours first.
trap '_rc=$?; net_cleanup; (exit $_rc); _sbx_on_exit' EXIT

# --- prerequisites -----------------------------------------------------------------------------

[ "$(id -u)" = 0 ] || skip_all "needs root"
for c in ip nft python3 timeout unshare nsenter getent; do
    command -v "$c" >/dev/null || skip_all "needs $c"
done
if [ ! -x "$TOOL" ]; then
    t_fail "net-tool built" "$TOOL missing: make BUILD=$BUILD $TOOL"
    t_done
fi
if compgen -G '/sys/class/net/sbx*' >/dev/null; then
    skip_all "sbx* links exist already (a daemon is running?)"
fi
# A daemon started meanwhile would replace the table under this test (and this test would
# remove it under the daemon): only run when none is.
if pids=$(pgrep -f '(^|/)sbx serve( |$)'); then
    skip_all "an sbx daemon is running (pid $(echo $pids)); the table inet sbx is shared"
fi
if ip -4 route show "$TGT_NET.0/30" | grep -q . || ip -4 route show "$METADATA" | grep -q .; then
    skip_all "$TGT_NET.0/30 or $METADATA is routed on this host already"
fi

PY=$(python3 -c 'import sys; print(sys.executable)')
UPLINK=$(ip -4 route show default | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }')
[ -n "$UPLINK" ] || skip_all "no IPv4 default route"
HOST_IP=$(ip -4 -o addr show dev "$UPLINK" | awk '{ split($4, a, "/"); print a[1]; exit }')
HOST_MTU=$(cat "/sys/class/net/$UPLINK/mtu")

# A package registry is the only internet this machine family reaches. Its name is derived
# here, never written down: apt's URIs, else npm's or pip's index.
REG_HOST=$(sed -n 's#^URIs:[[:space:]]*http://\([^/[:space:]:]*\).*#\1#p' \
    /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
REG_PORT=80
if [ -z "$REG_HOST" ] && command -v npm >/dev/null; then
    REG_HOST=$(npm config get registry 2>/dev/null | sed -n 's#^https://\([^/:]*\).*#\1#p')
    REG_PORT=443
fi
if [ -z "$REG_HOST" ] && command -v pip >/dev/null; then
    REG_HOST=$(pip config list 2>/dev/null | sed -n "s#.*index-url='https://\([^/:']*\).*#\1#p" | head -n 1)
    REG_PORT=443
fi
REG_IP=
[ -n "$REG_HOST" ] && REG_IP=$(getent ahostsv4 "$REG_HOST" | awk 'NR == 1 { print $1 }')

mkdir -p "$BUILD/tmp"
TMP=$(mktemp -d "$BUILD/tmp/net-test.XXXXXX") || skip_all "mktemp failed"
FWD_ORIG=$(cat /proc/sys/net/ipv4/ip_forward)
if nft list table inet sbx >"$TMP/saved-table.nft" 2>/dev/null; then
    TABLE_SAVED=$TMP/saved-table.nft
    t_diag "saving the existing table inet sbx, restored at the end"
fi

cat >"$TMP/server.py" <<'EOF'
# server.py ADDR PORT READYFILE [LOGFILE]: answers every TCP connection with a banner; with
# LOGFILE, also receives UDP on the same port and appends each datagram as a line.
import socket, sys, threading
addr, port = sys.argv[1], int(sys.argv[2])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port))
s.listen(16)
if len(sys.argv) > 4:
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((addr, port))
    def udp():
        with open(sys.argv[4], "a") as log:
            while True:
                data, _ = u.recvfrom(512)
                log.write(data.decode(errors="replace") + "\n")
                log.flush()
    threading.Thread(target=udp, daemon=True).start()
open(sys.argv[3], "w").close()
while True:
    c, _ = s.accept()
    try:
        c.sendall(b"sbx-net-test\n")
    finally:
        c.close()
EOF
cat >"$TMP/client.py" <<'EOF'
# client.py banner ADDR PORT [SRC]  exit 0 if our server's banner arrives
# client.py udp ADDR PORT TOKEN [SRC] sends TOKEN in one datagram (from SRC, spoofed if need be)
# client.py http ADDR PORT HOST      exit 0 if an HTTP status line (or, port 443, a connection)
# client.py dns SERVER NAME udp|tcp  prints the first A record, exit 0 if there is one, 2 if
#                                    a TCP connection was made but no DNS answer came
import socket, struct, sys, random
IP_TRANSPARENT = 19
mode, addr = sys.argv[1], sys.argv[2]

def recvall(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise OSError("short read")
        b += c
    return b

def dns(server, name, proto):
    qid = random.randint(0, 65535)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    q += struct.pack(">HH", 1, 1)
    if proto == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(3)
        s.sendto(q, (server, 53))
        r, _ = s.recvfrom(4096)
    else:
        s = socket.create_connection((server, 53), timeout=3)
        s.sendall(struct.pack(">H", len(q)) + q)
        r = recvall(s, struct.unpack(">H", recvall(s, 2))[0])
    if struct.unpack(">H", r[:2])[0] != qid:
        raise OSError("wrong id")
    an = struct.unpack(">H", r[6:8])[0]
    pos = 12
    def skip_name(pos):
        while r[pos] != 0:
            if r[pos] & 0xC0 == 0xC0:
                return pos + 2
            pos += r[pos] + 1
        return pos + 1
    pos = skip_name(pos) + 4
    for _ in range(an):
        pos = skip_name(pos)
        typ, _cls, _ttl, rdlen = struct.unpack(">HHIH", r[pos:pos + 10])
        pos += 10
        if typ == 1 and rdlen == 4:
            return socket.inet_ntoa(r[pos:pos + 4])
        pos += rdlen
    raise OSError("no A record")

try:
    if mode == "dns":
        try:
            print(dns(addr, sys.argv[3], sys.argv[4]))
            sys.exit(0)
        except (OSError, ValueError, IndexError, struct.error) as e:
            connected = sys.argv[4] == "tcp" and not isinstance(e, (socket.timeout, ConnectionError))
            print("error:", e)
            sys.exit(2 if connected else 1)
    if mode == "udp":
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if len(sys.argv) > 5:
            # Root in the namespace may send from any address (like a raw socket would).
            u.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1)
            u.bind((sys.argv[5], 0))
        u.sendto(sys.argv[4].encode(), (addr, int(sys.argv[3])))
        sys.exit(0)
    s = socket.socket()
    s.settimeout(3)
    if mode == "banner" and len(sys.argv) > 4:
        s.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1)
        s.bind((sys.argv[4], 0))
    s.connect((addr, int(sys.argv[3])))
    if mode == "banner":
        data = s.recv(64)
        print(data.decode(errors="replace").strip())
        sys.exit(0 if data.startswith(b"sbx-net-test") else 1)
    if int(sys.argv[3]) == 443:
        print("connected")
        sys.exit(0)
    s.sendall(b"HEAD / HTTP/1.0\r\nHost: " + sys.argv[4].encode() + b"\r\n\r\n")
    line = s.makefile("rb").readline().decode(errors="replace").strip()
    print(line)
    sys.exit(0 if line.startswith("HTTP/") else 1)
except (OSError, ValueError) as e:
    print("error:", e)
    sys.exit(1)
EOF

# new_netns VAR: a network namespace held by a background sleep; VAR gets its pid.
new_netns() {
    unshare --net sleep 100000 &
    local pid=$! i
    BG_PIDS+=("$pid")
    for i in $(seq 50); do
        [ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" != "$(readlink /proc/self/ns/net)" ] &&
            [ -n "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" ] && break
        sleep 0.1
    done
    printf -v "$1" '%s' "$pid"
}

# in_ns PID CMD...: runs CMD in the network namespace of PID.
in_ns() {
    local pid=$1
    shift
    nsenter -t "$pid" -n "$@"
}

# serve NAME PID|host ADDR [UDPLOG]: background banner server; waits until it listens. nsenter -n
# execs without forking, so $! is the server itself and SERVERS[NAME] can stop it.
declare -A SERVERS
serve() {
    local name=$1 where=$2 addr=$3 i
    if [ "$where" = host ]; then
        "$PY" "$TMP/server.py" "$addr" "$PORT" "$TMP/ready-$name" "${@:4}" \
            2>"$TMP/server-$name.log" &
    else
        nsenter -t "$where" -n "$PY" "$TMP/server.py" "$addr" "$PORT" "$TMP/ready-$name" "${@:4}" \
            2>"$TMP/server-$name.log" &
    fi
    SERVERS[$name]=$!
    BG_PIDS+=("$!")
    for i in $(seq 50); do
        [ -e "$TMP/ready-$name" ] && return 0
        sleep 0.1
    done
    return 1
}

# reach PID|host ADDR [SRC]: 0 if the banner server at ADDR:PORT answers.
reach() {
    local where=$1
    shift
    if [ "$where" = host ]; then
        "$PY" "$TMP/client.py" banner "$1" "$PORT" "${@:2}" >"$TMP/last-client" 2>&1
    else
        in_ns "$where" "$PY" "$TMP/client.py" banner "$1" "$PORT" "${@:2}" >"$TMP/last-client" 2>&1
    fi
}

# blocked NAME ADDR [SRC]: sandbox A must not reach ADDR; the host must (control).
blocked() {
    local name=$1 addr=$2
    shift 2
    if ! reach host "$addr"; then
        t_fail "$name" "control failed: the host cannot reach $addr:$PORT: $(cat "$TMP/last-client")"
    elif reach "$NS_A" "$addr" "$@"; then
        t_fail "$name" "sandbox reached $addr:$PORT: $(cat "$TMP/last-client")"
    else
        t_ok "$name"
    fi
}

# --- host set-up -------------------------------------------------------------------------------

SETUP_OPTS=(--mtu host)
if [ -n "$REG_IP" ]; then
    # On this machine family registries answer from a documentation range (through a
    # transparent proxy), which the blocked ranges cover: allow exactly that address.
    SETUP_OPTS+=(--allow "$REG_IP/32")
fi

TABLE_OURS=1
t_check "setup installs table inet sbx" "$TOOL" "${SETUP_OPTS[@]}" setup
ruleset=$(nft list table inet sbx 2>&1)
if grep -q 'masquerade' <<<"$ruleset" && grep -q 'dnat ip to' <<<"$ruleset" &&
    grep -q '169.254.0.0/16' <<<"$ruleset" && [ "$(cat /proc/sys/net/ipv4/ip_forward)" = 1 ]; then
    t_ok "table has NAT, DNS DNAT and blocked ranges; ip_forward is 1"
else
    t_fail "table has NAT, DNS DNAT and blocked ranges; ip_forward is 1" "$ruleset"
fi
"$TOOL" "${SETUP_OPTS[@]}" setup
if [ $? = 0 ] && [ "$(nft list tables | grep -c '^table inet sbx$')" = 1 ]; then
    t_ok "setup again replaces the table"
else
    t_fail "setup again replaces the table" "$(nft list tables)"
fi

# --- links -------------------------------------------------------------------------------------

new_netns NS_A
new_netns NS_B
read -r A_HOST A_SB < <("$TOOL" addrs $SLOT_A)
read -r B_HOST B_SB < <("$TOOL" addrs $SLOT_B)
t_check "create slot $SLOT_A" "$TOOL" --mtu host create $SLOT_A "/proc/$NS_A/ns/net"
t_check "create slot $SLOT_B" "$TOOL" --mtu host create $SLOT_B "/proc/$NS_B/ns/net"

check_addresses() {
    local why=
    ip -4 -o addr show dev "sbx$SLOT_A" | grep -q " $A_HOST/30 " || why+="host end address; "
    in_ns "$NS_A" ip -4 -o addr show dev eth0 | grep -q " $A_SB/30 " || why+="sandbox address; "
    in_ns "$NS_A" ip -4 route show default | grep -q "^default via $A_HOST dev eth0" ||
        why+="default route; "
    in_ns "$NS_A" ip link show lo | grep -q '[<,]UP[,>]' || why+="lo not up; "
    [ "$(cat "/sys/class/net/sbx$SLOT_A/mtu")" = "$HOST_MTU" ] || why+="host end MTU; "
    [ "$(in_ns "$NS_A" cat /sys/class/net/eth0/mtu)" = "$HOST_MTU" ] || why+="sandbox MTU; "
    ip -6 -o addr show dev "sbx$SLOT_A" | grep -q . && why+="host end has IPv6; "
    in_ns "$NS_A" ip -6 -o addr show dev eth0 | grep -q . && why+="sandbox has IPv6; "
    [ -z "$why" ] || {
        echo "$why"
        ip addr show dev "sbx$SLOT_A"
        in_ns "$NS_A" ip addr
        in_ns "$NS_A" ip route
        return 1
    }
}
if out=$(check_addresses 2>&1); then
    t_ok "addresses, default route, lo, MTU $HOST_MTU, no IPv6"
else
    t_fail "addresses, default route, lo, MTU $HOST_MTU, no IPv6" "$out"
fi

out=$("$TOOL" list | sort -n | tr '\n' ' ')
[ "$out" = "$SLOT_A $SLOT_B " ] && t_ok "list reports both links" ||
    t_fail "list reports both links" "got '$out'"

out=$("$TOOL" resolv-conf $SLOT_A)
grep -qx "nameserver $A_HOST" <<<"$out" && t_ok "resolv.conf names the gateway" ||
    t_fail "resolv.conf names the gateway" "$out"

if ! "$TOOL" create $SLOT_A "/proc/$NS_B/ns/net" 2>"$TMP/err" &&
    grep -q 'File exists' "$TMP/err" && out=$(check_addresses 2>&1); then
    t_ok "creating an existing slot fails and leaves it intact"
else
    t_fail "creating an existing slot fails and leaves it intact" "$(cat "$TMP/err") $out"
fi
if ! "$TOOL" create $SLOT_C "/proc/$$/ns/mnt" 2>"$TMP/err" && [ ! -e "/sys/class/net/sbx$SLOT_C" ]; then
    t_ok "create into a non-netns fd fails and leaves nothing"
else
    t_fail "create into a non-netns fd fails and leaves nothing" "$(cat "$TMP/err")"
fi
# A failure after the pair exists (the namespace already has a default route, so adding ours
# fails) must delete the pair again.
new_netns NS_C
if in_ns "$NS_C" ip link set lo up && in_ns "$NS_C" ip route add default dev lo &&
    ! "$TOOL" create $SLOT_C "/proc/$NS_C/ns/net" 2>"$TMP/err" &&
    grep -q 'default route' "$TMP/err" && [ ! -e "/sys/class/net/sbx$SLOT_C" ] &&
    ! in_ns "$NS_C" ip link show eth0 >/dev/null 2>&1; then
    t_ok "a failure after creating the pair removes it again"
else
    t_fail "a failure after creating the pair removes it again" "$(cat "$TMP/err")"
fi

# --- what a sandbox can reach ------------------------------------------------------------------

if [ -z "$REG_IP" ]; then
    for n in "DNS over UDP through the gateway" "DNS over TCP through the gateway" \
        "glibc resolves through the sandbox resolv.conf" "TCP to a package registry"; do
        t_skip "$n" "no package registry found to derive a host name from"
    done
else
    if out=$(in_ns "$NS_A" "$PY" "$TMP/client.py" dns "$A_HOST" "$REG_HOST" udp 2>&1); then
        t_ok "DNS over UDP through the gateway"
    else
        t_fail "DNS over UDP through the gateway" "$out"
    fi
    # Some upstreams (this machine family's) do not speak DNS over TCP at all: then only the
    # DNAT is checked, i.e. that the gateway's port 53 leads somewhere (the host itself would
    # drop the connection).
    out=$(in_ns "$NS_A" "$PY" "$TMP/client.py" dns "$A_HOST" "$REG_HOST" tcp 2>&1)
    rc=$?
    if [ $rc = 0 ]; then
        t_ok "DNS over TCP through the gateway"
    elif [ $rc = 2 ] && ! "$PY" "$TMP/client.py" dns "$("$TOOL" resolver)" "$REG_HOST" tcp \
        >/dev/null 2>&1; then
        t_ok "DNS over TCP through the gateway (connection DNAT'ed; the upstream has no TCP DNS)"
    else
        t_fail "DNS over TCP through the gateway" "$out"
    fi
    # The resolv.conf a sandbox gets, bind-mounted in a private mount namespace.
    "$TOOL" resolv-conf $SLOT_A >"$TMP/resolv.conf"
    if out=$(in_ns "$NS_A" unshare --mount sh -c \
        'mount --bind "$1" /etc/resolv.conf && getent ahostsv4 "$2"' sh "$TMP/resolv.conf" \
        "$REG_HOST" 2>&1) && [ -n "$out" ]; then
        t_ok "glibc resolves through the sandbox resolv.conf"
    else
        t_fail "glibc resolves through the sandbox resolv.conf" "$out"
    fi
    if out=$(in_ns "$NS_A" "$PY" "$TMP/client.py" http "$REG_IP" "$REG_PORT" "$REG_HOST" 2>&1); then
        t_ok "TCP to a package registry"
    else
        t_fail "TCP to a package registry" "$REG_IP:$REG_PORT: $out"
    fi
fi

# --- what it cannot reach ----------------------------------------------------------------------

# A namespace standing in for a private network and the metadata service, routed from the host
# over a link that is not sbx*.
new_netns NS_T
TGT_IF=ntest$$
TGT_IF=${TGT_IF:0:15}
if ip link add "$TGT_IF" type veth peer name eth0 netns "/proc/$NS_T/ns/net" &&
    ip addr add "$TGT_NET.1/30" dev "$TGT_IF" && ip link set "$TGT_IF" up &&
    ip route add "$METADATA/32" via "$TGT_NET.2" dev "$TGT_IF" &&
    in_ns "$NS_T" ip addr add "$TGT_NET.2/30" dev eth0 &&
    in_ns "$NS_T" ip addr add "$METADATA/32" dev eth0 &&
    in_ns "$NS_T" ip link set eth0 up && in_ns "$NS_T" ip link set lo up &&
    in_ns "$NS_T" ip route add default via "$TGT_NET.1"; then
    :
else
    t_fail "target namespace for private and metadata addresses" "ip commands failed"
fi

serve uplink host "$HOST_IP" || t_diag "server on $HOST_IP:$PORT did not start"
serve gateway host "$A_HOST" || t_diag "server on $A_HOST:$PORT did not start"
serve sandbox-b "$NS_B" 0.0.0.0 || t_diag "server in sandbox B did not start"
serve target "$NS_T" 0.0.0.0 "$TMP/udp.log" || t_diag "server in the target namespace did not start"

blocked "cannot reach the host's uplink address" "$HOST_IP"
blocked "cannot reach its own gateway address" "$A_HOST"
blocked "cannot reach another sandbox" "$B_SB"
blocked "cannot reach a private (10/8) address" "$TGT_NET.2"
blocked "cannot reach the metadata address" "$METADATA"
# The private-range block is what stops it: an operator exception opens exactly that address,
# and re-installing without it closes it again.
if "$TOOL" "${SETUP_OPTS[@]}" --allow "$TGT_NET.2/32" setup && reach "$NS_A" "$TGT_NET.2"; then
    t_ok "an allowed private address becomes reachable"
else
    t_fail "an allowed private address becomes reachable" "$(cat "$TMP/last-client")
$(ip -br link show "sbx$SLOT_A" 2>&1; in_ns "$NS_A" ip -br addr 2>&1; in_ns "$NS_A" ip route 2>&1)"
fi

# Spoofing, with the target reachable: datagrams with another slot's address or a foreign
# address as source must not leave; the same datagram with the sandbox's own address arrives.
udp_to_target() {
    in_ns "$NS_A" "$PY" "$TMP/client.py" udp "$TGT_NET.2" "$PORT" "$@"
}
sent=0
udp_to_target "plain-$$" >>"$TMP/udp-send.log" 2>&1 && sent=$((sent + 1))
udp_to_target "spoof-slot-$$" "$B_SB" >>"$TMP/udp-send.log" 2>&1 && sent=$((sent + 1))
udp_to_target "spoof-foreign-$$" 198.51.100.7 >>"$TMP/udp-send.log" 2>&1 && sent=$((sent + 1))
for i in $(seq 20); do
    grep -q "plain-$$" "$TMP/udp.log" 2>/dev/null && break
    sleep 0.1
done
sleep 0.5
if [ $sent != 3 ]; then
    t_fail "spoofed sources are dropped" "a datagram could not be sent: $(cat "$TMP/udp-send.log")"
elif ! grep -q "plain-$$" "$TMP/udp.log" 2>/dev/null; then
    t_fail "spoofed sources are dropped" "control failed: the unspoofed datagram did not arrive"
elif grep -q spoof "$TMP/udp.log"; then
    t_fail "spoofed sources are dropped" "arrived: $(grep spoof "$TMP/udp.log" | tr '\n' ' ')"
else
    t_ok "spoofed sources are dropped"
fi
if "$TOOL" "${SETUP_OPTS[@]}" setup && ! reach "$NS_A" "$TGT_NET.2"; then
    t_ok "re-installing without the exception blocks it again"
else
    t_fail "re-installing without the exception blocks it again" "$(cat "$TMP/last-client")"
fi

# --- teardown ----------------------------------------------------------------------------------

if "$TOOL" destroy $SLOT_A && [ ! -e "/sys/class/net/sbx$SLOT_A" ] && "$TOOL" destroy $SLOT_A; then
    t_ok "destroy removes the link and is idempotent"
else
    t_fail "destroy removes the link and is idempotent"
fi
# When a sandbox's namespace dies the kernel removes its pair by itself.
kill "${SERVERS[sandbox-b]}" "$NS_B" 2>/dev/null
for i in $(seq 50); do
    [ -e "/sys/class/net/sbx$SLOT_B" ] || break
    sleep 0.1
done
out=$("$TOOL" list)
if [ ! -e "/sys/class/net/sbx$SLOT_B" ] && [ -z "$out" ] && ! compgen -G '/sys/class/net/sbx*' >/dev/null; then
    t_ok "no sbx links left after the namespace died"
else
    t_fail "no sbx links left after the namespace died" "list: $out"
fi
if "$TOOL" teardown && ! nft list table inet sbx >/dev/null 2>&1 && "$TOOL" teardown; then
    t_ok "teardown removes the table and is idempotent"
else
    t_fail "teardown removes the table and is idempotent" "$(nft list tables)"
fi

# A daemon started meanwhile replaces the table and sweeps sbx* links it does not know (ours).
if pids=$(pgrep -f '(^|/)sbx serve( |$)'); then
    t_diag "an sbx daemon started during this test (pid $(echo $pids)): failures above may be" \
        "its doing (it replaces table inet sbx and deletes sbx* links it does not own)"
fi
if [ -n "$TABLE_SAVED" ]; then
    TABLE_OURS=0
    if nft -f "$TABLE_SAVED" && nft list table inet sbx >"$TMP/restored-table.nft" &&
        cmp -s "$TABLE_SAVED" "$TMP/restored-table.nft"; then
        t_ok "the earlier table inet sbx is restored"
    else
        t_fail "the earlier table inet sbx is restored" "$(diff "$TABLE_SAVED" "$TMP/restored-table.nft")"
    fi
fi
t_done
