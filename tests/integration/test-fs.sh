#!/bin/bash
# filesystem.Filesystem through the daemon's data-plane proxy (envd-api.md §3, §4;
# connect-protocol.md): a real daemon, one secured "base" sandbox, and raw Connect requests with
# the routing headers E2b-Sandbox-Id / E2b-Sandbox-Port: 49983, made by a python client written
# to the data dir. Files are prepared inside the sandbox from the host with nsenter (root in the
# sandbox's namespaces), so this test needs nothing but the filesystem service itself.
#
# Covers: Stat (file, directory, symlinks to a file, to a directory, dangling, metadata xattrs,
# ~ and relative paths, errors); ListDir (the SDK's tree at depths 1-3, order, paths through a
# symlink, errors); MakeDir (parents owned by the acting user, already_exists, not a
# directory); Move (parents, not_found, EntryInfo of the destination); Remove (file, tree,
# missing path); root privileges for every acting user, as envd (only ownership differs);
# WatchDir (start first, CREATE/WRITE/CHMOD/RENAME/REMOVE, recursive with a new directory,
# includeEntry, keepalives, the deadline, errors before start as end-stream errors, clients
# leaving); the Python sync SDK's CreateWatcher/GetWatcherEvents/RemoveWatcher; and that the
# agent keeps no inotify fds after all watchers are gone.
set -u
cd "$(dirname "$0")/../.." && . tests/harness/lib.sh

BUILD=${BUILD:-build/test}

sbx_start_daemon || t_done
sbx_wait_base || t_done

body=$(sbx_curl POST /sandboxes '{"templateID":"base","timeout":120,"secure":true}')
if [ "$(sbx_status)" != 201 ]; then
    t_fail "create a secured sandbox" "status $(sbx_status): $body"
    t_done
fi
ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sandboxID"])' "$SBX_LAST_BODY")
TOKEN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["envdAccessToken"])' "$SBX_LAST_BODY")
PID=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT pid FROM sandboxes WHERE id = ?", (sys.argv[2],)).fetchone()[0])' "$SBX_DIR/sbx.db" "$ID")
if ! [[ "$PID" =~ ^[0-9]+$ ]] || [ "$PID" = 0 ] || ! kill -0 "$PID" 2>/dev/null; then
    t_fail "sandbox has a running init process" "pid '$PID'"
    t_done
fi
t_ok "create a secured sandbox"

PY=$SBX_DIR/test-fs.py
cat >"$PY" <<'PY'
"""Runs every filesystem check; prints "ok NAME" / "not ok NAME" and "# ..." diagnostics."""
import base64, http.client, json, os, re, socket, struct, subprocess, sys, time
from urllib.parse import urlparse

BASE = urlparse(os.environ["SBX_RPC_URL"])
ROUTE = {"E2b-Sandbox-Id": os.environ["SBX_RPC_ID"], "E2b-Sandbox-Port": "49983",
         "X-Access-Token": os.environ["SBX_RPC_TOKEN"]}
PID = os.environ["SBX_SANDBOX_PID"]
ROOT = {"Authorization": "Basic " + base64.b64encode(b"root:").decode()}
H = "/home/user"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6}|\.\d{9})?Z$")

def check(name, cond, diag=None):
    print(("ok " if cond else "not ok ") + name, flush=True)
    if not cond and diag is not None:
        for line in str(diag)[:3000].splitlines():
            print("# " + line, flush=True)
    return cond

def sh(script, check_rc=True):
    """Runs script with /bin/sh inside the sandbox as its root."""
    r = subprocess.run(["nsenter", "-t", PID, "-a", "--setuid", "0", "--setgid", "0",
                        "/bin/sh", "-c", script], capture_output=True, text=True, timeout=30)
    if check_rc and r.returncode != 0:
        raise RuntimeError(f"sandbox command failed ({r.returncode}): {script}\n{r.stderr}")
    return r.stdout

def unary(method, req, headers=None):
    c = http.client.HTTPConnection(BASE.hostname, BASE.port, timeout=30)
    hdrs = dict(ROUTE, **{"Content-Type": "application/json", "Connect-Protocol-Version": "1"})
    hdrs.update(headers or {})
    c.request("POST", f"/filesystem.Filesystem/{method}", body=json.dumps(req), headers=hdrs)
    r = c.getresponse()
    raw = r.read()
    c.close()
    try:
        return r.status, json.loads(raw)
    except ValueError:
        return r.status, raw

class Stream:
    """A server stream over a raw socket (http.client cannot resume reading after a timeout):
    the request goes out at once; next_msg() returns ("msg"|"end", obj), or None on timeout."""
    def __init__(self, method, req, headers=None):
        self.sock = socket.create_connection((BASE.hostname, BASE.port), timeout=30)
        hdrs = dict(ROUTE, **{"Content-Type": "application/connect+json",
                              "Connect-Protocol-Version": "1", "Keepalive-Ping-Interval": "50"})
        hdrs.update(headers or {})
        data = json.dumps(req).encode()
        body = struct.pack(">BI", 0, len(data)) + data
        head = f"POST /filesystem.Filesystem/{method} HTTP/1.1\r\nHost: {BASE.hostname}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in hdrs.items())
        head += f"Content-Length: {len(body)}\r\n\r\n"
        self.sock.sendall(head.encode() + body)
        self.raw = b""      # bytes from the socket, not yet de-chunked
        self.buf = b""      # de-chunked body bytes
        self.eof = False
        while b"\r\n\r\n" not in self.raw:
            self._recv(time.monotonic() + 30)
        head, self.raw = self.raw.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
        self.ctype = self.headers.get("content-type")

    def _recv(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return False
        if not chunk:
            raise EOFError("stream closed")
        self.raw += chunk
        return True

    def _dechunk(self):
        while True:
            i = self.raw.find(b"\r\n")
            if i < 0:
                return
            size = int(self.raw[:i].split(b";")[0], 16)
            if len(self.raw) < i + 2 + size + 2:
                return
            if size == 0:
                self.eof = True
            self.buf += self.raw[i + 2:i + 2 + size]
            self.raw = self.raw[i + 2 + size + 2:]

    def _fill(self, n, deadline):
        while True:
            self._dechunk()
            if len(self.buf) >= n:
                return True
            if self.eof or not self._recv(deadline):
                return False

    def next_msg(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        if not self._fill(5, deadline):
            return None
        flags, ln = struct.unpack(">BI", self.buf[:5])
        if not self._fill(5 + ln, deadline):
            return None
        payload, self.buf = self.buf[5:5 + ln], self.buf[5 + ln:]
        return ("end" if flags & 2 else "msg"), json.loads(payload)

    def events(self, n, timeout=5.0, settle=0.3):
        """Filesystem events until n arrived (then settle more seconds), skipping keepalives."""
        out, deadline = [], time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if len(out) >= n:
                left = min(left, settle)
            if left <= 0:
                return out
            m = self.next_msg(left)
            if m is None:
                return out
            kind, obj = m
            if kind == "end":
                out.append(("END", obj))
                return out
            if "filesystem" in obj:
                out.append(obj["filesystem"])

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

def names(evs):
    return [(e["type"][len("EVENT_TYPE_"):], e["name"]) if isinstance(e, dict) else e for e in evs]

def stat(path, headers=None):
    return unary("Stat", {"path": path}, headers)

def main():
    sh(f"rm -rf {H}/fs-test /tmp/fs-root; mkdir -p {H}/fs-test; chown user:user {H}/fs-test")
    T = f"{H}/fs-test"

    # --- Stat ----------------------------------------------------------------------------
    sh(f"cd {T} && printf test > a.txt && chown user:user a.txt && chmod 644 a.txt && "
       f"ln -s a.txt link.txt && mkdir tdir && ln -s tdir link-dir && ln -s nowhere dangling && "
       f"ln -s loop2 loop1 && ln -s loop1 loop2 && chown -h user:user link.txt link-dir dangling")
    st, b = stat("fs-test/a.txt")
    e = b.get("entry", {}) if isinstance(b, dict) else {}
    check("Stat file: relative path resolved against the home", st == 200 and e.get("path") == f"{T}/a.txt", b)
    check("Stat file: name, type, size as string, mode, permissions",
          e.get("name") == "a.txt" and e.get("type") == "FILE_TYPE_FILE" and e.get("size") == "4"
          and e.get("mode") == 420 and e.get("permissions") == "-rw-r--r--", e)
    check("Stat file: owner/group user, RFC 3339 modifiedTime, no symlinkTarget/metadata",
          e.get("owner") == "user" and e.get("group") == "user"
          and RFC3339.match(e.get("modifiedTime", "")) is not None
          and "symlinkTarget" not in e and "metadata" not in e, e)
    check("Stat: JSON keys in protobuf field order",
          list(e.keys()) == ["name", "type", "path", "size", "mode", "permissions", "owner", "group", "modifiedTime"], list(e.keys()))
    st, b = stat(f"{T}/tdir")
    e = b.get("entry", {})
    check("Stat directory: DIRECTORY, 0755, drwxr-xr-x, size > 0",
          st == 200 and e.get("type") == "FILE_TYPE_DIRECTORY" and e.get("mode") == 493
          and e.get("permissions") == "drwxr-xr-x" and int(e.get("size", "0")) > 0, b)
    st, b = stat(f"{T}/link.txt")
    e = b.get("entry", {})
    check("Stat symlink to a file: type FILE, Lrwxrwxrwx, target's mode, resolved symlinkTarget",
          st == 200 and e.get("type") == "FILE_TYPE_FILE" and e.get("permissions") == "Lrwxrwxrwx"
          and e.get("mode") == 420 and e.get("symlinkTarget") == f"{T}/a.txt"
          and e.get("name") == "link.txt" and e.get("path") == f"{T}/link.txt", b)
    st, b = stat(f"{T}/link-dir")
    e = b.get("entry", {})
    check("Stat symlink to a directory: type DIRECTORY, symlinkTarget",
          st == 200 and e.get("type") == "FILE_TYPE_DIRECTORY" and e.get("symlinkTarget") == f"{T}/tdir", b)
    st, b = stat(f"{T}/dangling")
    e = b.get("entry", {})
    check("Stat dangling symlink: no type, no mode, symlinkTarget is the link itself",
          st == 200 and "type" not in e and "mode" not in e and e.get("symlinkTarget") == f"{T}/dangling", b)
    st, b = stat(f"{T}/loop1")
    check("Stat symlink loop: answered, unresolvable", st == 200 and "type" not in b.get("entry", {}), b)
    st, b = stat("~")
    check("Stat ~: the home", st == 200 and b["entry"]["path"] == H and b["entry"]["owner"] == "user", b)
    st, b = stat("/dev/null")
    check("Stat /dev/null: Dcrw-rw-rw-, no type", st == 200 and b["entry"]["permissions"] == "Dcrw-rw-rw-" and "type" not in b["entry"], b)
    st, b = stat(f"{T}/missing")
    check("Stat missing: 404 not_found 'file not found: ...'",
          st == 404 and b.get("code") == "not_found" and b.get("message", "").startswith("file not found:"), (st, b))
    st, b = stat("~root/x")
    check("Stat ~otheruser: 400 invalid_argument", st == 400 and b.get("code") == "invalid_argument", (st, b))
    st, b = stat("/" + "x" * 5000)
    check("Stat path longer than PATH_MAX: 400 invalid_argument", st == 400 and b.get("code") == "invalid_argument", (st, b))
    st, b = stat("x" * 4090)
    check("Stat resolved path longer than PATH_MAX: invalid_argument", st == 400 and b.get("code") == "invalid_argument", (st, b))
    st, b = stat("/", {"Authorization": "Basic " + base64.b64encode(b"nosuchuser:").decode()})
    check("Stat as an unknown user: 401 unauthenticated", st == 401 and b.get("code") == "unauthenticated", (st, b))
    st, b = unary("Stat", {"path": 5})
    check("Stat with a non-string path: 400 invalid_argument", st == 400 and b.get("code") == "invalid_argument", (st, b))
    md = sh(f"python3 -c \"import os; os.setxattr('{T}/a.txt', 'user.e2b.owner', b'me'); print('ok')\"", check_rc=False)
    if md.strip() == "ok":
        st, b = stat(f"{T}/a.txt")
        check("Stat metadata: user.e2b.* xattrs, prefix stripped", b["entry"].get("metadata") == {"owner": "me"}, b)
    else:
        print("ok Stat metadata # SKIP no user xattrs in the sandbox")

    # --- ListDir -------------------------------------------------------------------------
    for d in ["test_directory", "test_directory/subdir1", "test_directory/subdir2",
              "test_directory/subdir1/subdir1_1", "test_directory/subdir1/subdir1_2",
              "test_directory/subdir2/subdir2_1", "test_directory/subdir2/subdir2_2"]:
        unary("MakeDir", {"path": f"fs-test/{d}"})
    sh(f"printf 'Hello, world!' > {T}/test_directory/file1.txt; chown user:user {T}/test_directory/file1.txt")
    L = f"{T}/test_directory"
    d1 = [("file1.txt", "FILE_TYPE_FILE", f"{L}/file1.txt"), ("subdir1", "FILE_TYPE_DIRECTORY", f"{L}/subdir1"),
          ("subdir2", "FILE_TYPE_DIRECTORY", f"{L}/subdir2")]
    d2 = [d1[0], d1[1], ("subdir1_1", "FILE_TYPE_DIRECTORY", f"{L}/subdir1/subdir1_1"),
          ("subdir1_2", "FILE_TYPE_DIRECTORY", f"{L}/subdir1/subdir1_2"), d1[2],
          ("subdir2_1", "FILE_TYPE_DIRECTORY", f"{L}/subdir2/subdir2_1"),
          ("subdir2_2", "FILE_TYPE_DIRECTORY", f"{L}/subdir2/subdir2_2")]
    for depth, want in [(None, d1), (1, d1), (2, d2), (3, d2)]:
        req = {"path": "fs-test/test_directory"}
        if depth is not None:
            req["depth"] = depth
        st, b = unary("ListDir", req)
        got = [(x["name"], x.get("type"), x["path"]) for x in b.get("entries", [])]
        check(f"ListDir depth {depth}: SDK order, names, types, paths", st == 200 and got == want, (st, got))
    st, b = unary("ListDir", {"path": "fs-test/test_directory", "depth": 1})
    f = b["entries"][0]
    check("ListDir entry details: mode, permissions, owner, size, no symlinkTarget",
          f["mode"] == 420 and f["permissions"] == "-rw-r--r--" and f["owner"] == "user"
          and f["group"] == "user" and f["size"] == "13" and "symlinkTarget" not in f, f)
    sh(f"ln -s test_directory {T}/list-link")
    st, b = unary("ListDir", {"path": f"{T}/list-link"})
    check("ListDir through a symlink: paths under the requested path",
          st == 200 and [x["path"] for x in b["entries"]] == [f"{T}/list-link/file1.txt", f"{T}/list-link/subdir1", f"{T}/list-link/subdir2"], b)
    st, b = unary("ListDir", {"path": f"{T}/nope"})
    check("ListDir missing: not_found", st == 404 and b.get("code") == "not_found", (st, b))
    st, b = unary("ListDir", {"path": f"{T}/a.txt"})
    check("ListDir of a file: invalid_argument", st == 400 and b.get("code") == "invalid_argument", (st, b))
    st, b = unary("ListDir", {"path": f"{T}/loop1"})
    check("ListDir of a symlink loop: failed_precondition", st == 400 and b.get("code") == "failed_precondition", (st, b))
    sh(f"mkdir {T}/empty")
    st, b = unary("ListDir", {"path": f"{T}/empty"})
    check("ListDir of an empty directory: 200 {}", st == 200 and b == {}, (st, b))

    # --- MakeDir -------------------------------------------------------------------------
    st, b = unary("MakeDir", {"path": "fs-test/mk/nested/deep"})
    e = b.get("entry", {})
    check("MakeDir nested: 200, EntryInfo of the new directory",
          st == 200 and e.get("path") == f"{T}/mk/nested/deep" and e.get("type") == "FILE_TYPE_DIRECTORY"
          and e.get("mode") == 493, (st, b))
    owners = sh(f"stat -c '%U:%G' {T}/mk {T}/mk/nested {T}/mk/nested/deep").split()
    check("MakeDir: every created component owned by user:user", owners == ["user:user"] * 3, owners)
    st, b = unary("MakeDir", {"path": "fs-test/mk/nested/deep"})
    check("MakeDir existing: 409 already_exists", st == 409 and b.get("code") == "already_exists", (st, b))
    st, b = unary("MakeDir", {"path": "fs-test/a.txt"})
    check("MakeDir over a file: invalid_argument", st == 400 and b.get("code") == "invalid_argument", (st, b))
    st, b = unary("MakeDir", {"path": "fs-test/a.txt/sub"})
    check("MakeDir below a file: internal", st == 500 and b.get("code") == "internal", (st, b))
    st, b = unary("MakeDir", {"path": "/tmp/fs-root/x"}, ROOT)
    owners = sh("stat -c '%U:%G' /tmp/fs-root /tmp/fs-root/x").split()
    check("MakeDir as root: owned by root", st == 200 and owners == ["root:root"] * 2, (st, b, owners))

    # --- privileges: envd acts as root for every user (envd-api.md §1) --------------------
    sh("mkdir -p /tmp/fs-root/rootonly && chmod 755 /tmp/fs-root /tmp/fs-root/rootonly && "
       "printf x > /tmp/fs-root/rootonly/file")
    st, b = unary("MakeDir", {"path": "/tmp/fs-root/rootonly/by-user"})
    owner = sh("stat -c '%U:%G' /tmp/fs-root/rootonly/by-user 2>/dev/null || true").strip()
    check("MakeDir as user in a root-owned directory: allowed (root privileges), owned by user",
          st == 200 and owner == "user:user", (st, b, owner))
    st, b = unary("Move", {"source": "/tmp/fs-root/rootonly/file", "destination": "/tmp/fs-root/rootonly/moved"})
    check("Move as user inside a root-owned directory: allowed", st == 200 and b["entry"]["owner"] == "root", (st, b))
    st, b = unary("Remove", {"path": "/tmp/fs-root/rootonly"})
    check("Remove as user of a root-owned tree: allowed",
          st == 200 and not sh("ls -d /tmp/fs-root/rootonly 2>/dev/null || true").strip(), (st, b))
    st, b = stat("/root", None)
    check("Stat as user of /root: allowed", st == 200 and b["entry"]["owner"] == "root", (st, b))
    st, b = unary("Remove", {"path": "/tmp/fs-root"}, ROOT)
    check("Remove as root", st == 200 and not sh("ls -d /tmp/fs-root 2>/dev/null || true").strip(), (st, b))

    # --- Move ----------------------------------------------------------------------------
    sh(f"printf 'This file will be renamed.' > {T}/old.txt; chown user:user {T}/old.txt")
    st, b = unary("Move", {"source": "fs-test/old.txt", "destination": "fs-test/new.txt"})
    e = b.get("entry", {})
    check("Move: EntryInfo of the destination",
          st == 200 and e.get("name") == "new.txt" and e.get("path") == f"{T}/new.txt" and e.get("type") == "FILE_TYPE_FILE", (st, b))
    check("Move: the source is gone", stat(f"{T}/old.txt")[0] == 404 and stat(f"{T}/new.txt")[0] == 200)
    st, b = unary("Move", {"source": "fs-test/new.txt", "destination": "fs-test/p/q/moved.txt"})
    owners = sh(f"stat -c '%U' {T}/p {T}/p/q").split()
    check("Move: missing parents created, owned by user", st == 200 and owners == ["user", "user"], (st, b, owners))
    st, b = unary("Move", {"source": "fs-test/non_existing_file.txt", "destination": "fs-test/x.txt"})
    check("Move missing source: 404 not_found", st == 404 and b.get("code") == "not_found", (st, b))

    # --- Remove --------------------------------------------------------------------------
    st, b = unary("Remove", {"path": "fs-test/p/q/moved.txt"})
    check("Remove file: 200 {}", st == 200 and b == {} and stat(f"{T}/p/q/moved.txt")[0] == 404, (st, b))
    st, b = unary("Remove", {"path": "fs-test/test_directory"})
    check("Remove tree: gone", st == 200 and stat(f"{T}/test_directory")[0] == 404, (st, b))
    st, b = unary("Remove", {"path": "fs-test/non_existing_file.txt"})
    check("Remove missing path: success (envd's os.RemoveAll)", st == 200 and b == {}, (st, b))
    st, b = unary("Remove", {"path": f"{T}/link-dir"})
    check("Remove symlink to a directory: the link only",
          st == 200 and stat(f"{T}/link-dir")[0] == 404 and stat(f"{T}/tdir")[0] == 200, (st, b))

    # --- WatchDir ------------------------------------------------------------------------
    s = Stream("WatchDir", {"path": f"{T}/nope"})
    m = s.next_msg()
    check("WatchDir missing dir: HTTP 200 connect+json, end-stream not_found, no start",
          s.status == 200 and s.ctype == "application/connect+json" and m and m[0] == "end"
          and m[1].get("error", {}).get("code") == "not_found", (s.status, s.ctype, m))
    s.close()
    s = Stream("WatchDir", {"path": f"{T}/a.txt"})
    m = s.next_msg()
    check("WatchDir on a file: end-stream invalid_argument", m and m[0] == "end" and m[1]["error"]["code"] == "invalid_argument", m)
    s.close()

    sh(f"mkdir {T}/w; chown user:user {T}/w")
    s = Stream("WatchDir", {"path": "fs-test/w"})
    m = s.next_msg()
    check("WatchDir: first message is {\"start\":{}}", m == ("msg", {"start": {}}), m)
    sh(f"printf x > {T}/w/f.txt")
    ev = s.events(2)
    check("WatchDir: new file -> CREATE, WRITE", names(ev) == [("CREATE", "f.txt"), ("WRITE", "f.txt")], ev)
    check("WatchDir: no entry without includeEntry", all("entry" not in e for e in ev if isinstance(e, dict)), ev)
    sh(f"chmod 600 {T}/w/f.txt")
    ev = s.events(1)
    check("WatchDir: chmod -> CHMOD", names(ev) == [("CHMOD", "f.txt")], ev)
    sh(f"mv {T}/w/f.txt {T}/w/g.txt")
    ev = s.events(2)
    check("WatchDir: rename -> RENAME old, CREATE new", names(ev) == [("RENAME", "f.txt"), ("CREATE", "g.txt")], ev)
    sh(f"rm {T}/w/g.txt")
    ev = s.events(1)
    check("WatchDir: remove -> REMOVE", names(ev) == [("REMOVE", "g.txt")], ev)
    sh(f"mkdir {T}/w/sub; printf y > {T}/w/sub/inner")
    ev = s.events(1)
    check("WatchDir non-recursive: the subdirectory only", names(ev) == [("CREATE", "sub")], ev)
    s.close()

    s = Stream("WatchDir", {"path": f"{T}/w", "recursive": True, "includeEntry": True})
    m = s.next_msg()
    check("WatchDir recursive+includeEntry: start", m == ("msg", {"start": {}}), m)
    st, _ = unary("MakeDir", {"path": f"{T}/w/nested"})
    ev = s.events(2)
    # envd's MakeDir is mkdir + chown: CREATE, then CHMOD.
    check("WatchDir recursive: MakeDir -> CREATE, CHMOD nested with its entry",
          names(ev) == [("CREATE", "nested"), ("CHMOD", "nested")]
          and ev[0].get("entry", {}).get("type") == "FILE_TYPE_DIRECTORY"
          and ev[0]["entry"]["path"] == f"{T}/w/nested", ev)
    sh(f"printf z > {T}/w/nested/file")
    ev = s.events(2)
    check("WatchDir recursive: file in the new directory -> CREATE, WRITE nested/file",
          names(ev) == [("CREATE", "nested/file"), ("WRITE", "nested/file")], ev)
    check("WatchDir includeEntry: entries on CREATE/WRITE",
          all(e.get("entry", {}).get("name") == "file" for e in ev if isinstance(e, dict)), ev)
    sh(f"mkdir -p {T}/w/a/b/c")
    ev = s.events(3)
    check("WatchDir recursive: mkdir -p -> CREATE a, a/b, a/b/c",
          names(ev) == [("CREATE", "a"), ("CREATE", "a/b"), ("CREATE", "a/b/c")], ev)
    sh(f"rm {T}/w/nested/file")
    ev = s.events(1)
    check("WatchDir includeEntry: REMOVE carries no entry",
          names(ev) == [("REMOVE", "nested/file")] and "entry" not in ev[0], ev)
    s.close()

    s = Stream("WatchDir", {"path": f"{T}/w"}, {"Keepalive-Ping-Interval": "1"})
    m1 = s.next_msg()
    m2 = s.next_msg(3)
    check("WatchDir keepalive: {\"keepalive\":{}} after the interval", m1 == ("msg", {"start": {}}) and m2 == ("msg", {"keepalive": {}}), (m1, m2))
    s.close()
    t0 = time.monotonic()
    s = Stream("WatchDir", {"path": f"{T}/w"}, {"Connect-Timeout-Ms": "1500"})
    m1 = s.next_msg()
    m2 = s.next_msg(5)
    dt = time.monotonic() - t0
    check("WatchDir deadline: end-stream deadline_exceeded after Connect-Timeout-Ms",
          m1 == ("msg", {"start": {}}) and m2 and m2[0] == "end"
          and m2[1].get("error", {}).get("code") == "deadline_exceeded" and 1.2 < dt < 4, (m1, m2, dt))
    s.close()

    # --- Python sync SDK: CreateWatcher / GetWatcherEvents / RemoveWatcher ------------------
    st, b = unary("CreateWatcher", {"path": f"{T}/w"}, {"Connect-Timeout-Ms": "60000"})
    wid = b.get("watcherId", "") if isinstance(b, dict) else ""
    check("CreateWatcher: {\"watcherId\":\"w...\"}", st == 200 and wid.startswith("w") and len(wid) > 1, (st, b))
    # No sleep: the SDK's tests poll right after changing files (test_watch_iterated).
    sh(f"printf q > {T}/w/polled.txt; chmod 640 {T}/w/polled.txt")
    st, b = unary("GetWatcherEvents", {"watcherId": wid})
    got = names(b.get("events", []))
    check("GetWatcherEvents right after the change: every event, in order",
          st == 200 and got == [("CREATE", "polled.txt"), ("WRITE", "polled.txt"), ("CHMOD", "polled.txt")], (st, b))
    # The upload's sequence (create, fchown, one write): exactly CREATE, CHMOD, WRITE.
    sh(f"python3 -c \"import os; fd = os.open('{T}/w/upload.txt', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666); "
       f"os.fchown(fd, 1000, 1000); os.write(fd, b'data'); os.close(fd)\"")
    st, b = unary("GetWatcherEvents", {"watcherId": wid})
    got = names(b.get("events", []))
    check("GetWatcherEvents after an upload-like write: exactly CREATE, CHMOD, WRITE",
          st == 200 and got == [("CREATE", "upload.txt"), ("CHMOD", "upload.txt"), ("WRITE", "upload.txt")], (st, b))
    st, b = unary("GetWatcherEvents", {"watcher_id": wid})
    check("GetWatcherEvents again (snake_case id): {}", st == 200 and b == {}, (st, b))
    st, b = unary("RemoveWatcher", {"watcherId": wid})
    check("RemoveWatcher: {}", st == 200 and b == {}, (st, b))
    st, b = unary("GetWatcherEvents", {"watcherId": wid})
    check("GetWatcherEvents after removal: not_found", st == 404 and b.get("code") == "not_found", (st, b))
    st, b = unary("RemoveWatcher", {"watcherId": "wnope"})
    check("RemoveWatcher unknown: not_found", st == 404 and b.get("code") == "not_found", (st, b))
    st, b = unary("CreateWatcher", {"path": f"{T}/nope"})
    check("CreateWatcher on a missing dir: not_found", st == 404 and b.get("code") == "not_found", (st, b))
    st, b = unary("CreateWatcher", {"path": f"{T}/w", "recursive": True, "includeEntry": True})
    wid = b.get("watcherId", "")
    st, _ = unary("MakeDir", {"path": f"{T}/w/pnested"})
    sh(f"printf r > {T}/w/pnested/f")
    st, b = unary("GetWatcherEvents", {"watcherId": wid})
    got = names(b.get("events", []))
    check("CreateWatcher recursive+includeEntry: MakeDir then a file in it, entries",
          ("CREATE", "pnested") in got and ("CREATE", "pnested/f") in got and ("WRITE", "pnested/f") in got
          and all("entry" in e for e in b.get("events", []) if e["type"] != "EVENT_TYPE_REMOVE"), b)
    unary("RemoveWatcher", {"watcherId": wid})

    # --- no leaks ------------------------------------------------------------------------
    for i in range(20):
        s = Stream("WatchDir", {"path": f"{T}/w", "recursive": True})
        s.next_msg()
        s.close()
    time.sleep(0.5)
    agent_fds = subprocess.run(["ls", "-l", f"/proc/{PID}/fd"], capture_output=True, text=True).stdout
    n = agent_fds.count("anon_inode:inotify")
    check("no inotify fds left in the agent after clients left and watchers were removed", n == 0, agent_fds)

    st, b = stat(f"{T}")
    check("agent still serving", st == 200, (st, b))
    sh(f"rm -rf {T}")

try:
    main()
except Exception as ex:
    import traceback
    check("test script ran to the end", False, traceback.format_exc())
PY

export SBX_RPC_URL=$E2B_SANDBOX_URL SBX_RPC_ID=$ID SBX_RPC_TOKEN=$TOKEN SBX_SANDBOX_PID=$PID
while IFS= read -r line; do
    case "$line" in
    "not ok "*) t_fail "${line#not ok }" ;;
    "ok "*" # SKIP "*) rest=${line#ok }; t_skip "${rest%% # SKIP *}" "${rest#* # SKIP }" ;;
    "ok "*) t_ok "${line#ok }" ;;
    "#"*) echo "$line" ;;
    *) echo "# $line" ;;
    esac
done < <(python3 "$PY" 2>&1)

t_done
