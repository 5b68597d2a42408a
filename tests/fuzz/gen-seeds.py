#!/usr/bin/env python3
"""Writes the seed corpora in tests/fuzz/corpus/<name>/ (run from anywhere; idempotent).

Seeds are what the official E2B SDKs (Python httpx, JS undici/fetch, connect clients) send to
E2B_API_URL and E2B_SANDBOX_URL, plus malformed and edge-case requests. Files named crash-* in
the corpus directories are inputs that crashed a target (they stay, as regression tests, once
the bug is fixed); the only ones this script writes are named in main() below.

fuzz-http inputs start with 5 control bytes (flags, then 4 piece sizes; see fuzz-http.c);
fuzz-url inputs with 1 flags byte; fuzz-route and fuzz-json-body take the raw bytes.
"""
import json
import os
import urllib.parse

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
SID = "i3kq1m0xv7c2b9d4e5f6"
KEY = "e2b_" + "0123456789abcdef" * 2 + "01234567"
TOKEN = "ea7c2b2f1d0e4c39a6d5b8e7f0a1c2d3"

PY_HEADERS = [
    ("Host", "localhost:3000"),
    ("Accept", "*/*"),
    ("Accept-Encoding", "gzip, deflate"),
    ("Connection", "keep-alive"),
    ("User-Agent", "e2b-python-sdk/2.45.1"),
    ("lang", "python"),
    ("lang_version", "3.11.2"),
    ("package_version", "2.45.1"),
    ("publisher", "e2b"),
    ("sdk_runtime", "python"),
    ("system", "Linux"),
    ("X-API-Key", KEY),
]
JS_HEADERS = [
    ("host", "127.0.0.1:3000"),
    ("connection", "keep-alive"),
    ("content-type", "application/json"),
    ("x-api-key", KEY),
    ("user-agent", "e2b-js-sdk/2.45.0"),
    ("browser", "unknown"),
    ("lang", "js"),
    ("lang_version", "v20.19.2"),
    ("package_version", "2.45.0"),
    ("publisher", "e2b"),
    ("sdk_runtime", "node"),
    ("system", "Linux"),
    ("accept", "*/*"),
    ("accept-language", "*"),
    ("sec-fetch-mode", "cors"),
    ("accept-encoding", "gzip, deflate"),
]


def head(method, target, headers, version="HTTP/1.1"):
    lines = [f"{method} {target} {version}"] + [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def chunked(body, sizes=(7, 100000)):
    out, i, k = b"", 0, 0
    while i < len(body):
        n = sizes[k % len(sizes)]
        part = body[i : i + n]
        out += b"%x\r\n" % len(part) + part + b"\r\n"
        i += len(part)
        k += 1
    return out + b"0\r\n\r\n"


def req(method, target, headers, body=b"", te=False, version="HTTP/1.1"):
    h = list(headers)
    if body and te:
        h.append(("Transfer-Encoding", "chunked"))
        return head(method, target, h, version) + chunked(body)
    if body or method in ("POST", "PUT", "PATCH"):
        h.append(("Content-Length", str(len(body))))
    return head(method, target, h, version) + body


def sandbox_headers(port=49983, extra=()):
    return [
        ("Host", "localhost:3000"),
        ("E2b-Sandbox-Id", SID),
        ("E2b-Sandbox-Port", str(port)),
        ("User-Agent", "e2b-python-sdk/2.45.1"),
        ("Accept", "*/*"),
    ] + list(extra)


def meta_param(d):
    inner = "&".join(urllib.parse.quote(k) + "=" + urllib.parse.quote(v) for k, v in d.items())
    return urllib.parse.quote(inner, safe="")


CREATE = json.dumps(
    {
        "templateID": "base",
        "metadata": {"suite": "bench", "user": "a b"},
        "envVars": {"FOO": "bar"},
        "secure": True,
        "allow_internet_access": True,
        "timeout": 300,
        "autoPause": False,
    }
).encode()
CREATE_JS = b'{"templateID":"base","metadata":{},"envVars":{},"timeout":60,"secure":true}'

REQUESTS = {
    "create-py": req("POST", "/sandboxes", PY_HEADERS + [("Content-Type", "application/json")], CREATE),
    "create-js-chunked": req("POST", "/sandboxes", JS_HEADERS, CREATE_JS, te=True),
    "create-v2": req("POST", "/v2/sandboxes", PY_HEADERS, b'{"templateID":"base","timeout":60}'),
    "list-v2": req(
        "GET",
        "/v2/sandboxes?metadata=" + meta_param({"suite": "api", "user": "a b"})
        + "&state=running,paused&limit=2&nextToken=MTczMjI2NjQwMDAwMDAwMHxpM2txMW0weHY3YzJiOWQ0ZTVmNg%3D%3D",
        PY_HEADERS,
    ),
    "list-v1": req("GET", "/sandboxes?metadata=user%3Da%252520b", JS_HEADERS),
    "kill": req("DELETE", f"/sandboxes/{SID}", PY_HEADERS),
    "get": req("GET", f"/sandboxes/{SID}", PY_HEADERS),
    "timeout": req("POST", f"/sandboxes/{SID}/timeout", JS_HEADERS, b'{"timeout":120}', te=True),
    "connect": req("POST", f"/sandboxes/{SID}/connect", PY_HEADERS, b'{"timeout":30}'),
    "pause": req("POST", f"/sandboxes/{SID}/pause", PY_HEADERS),
    "health": req("GET", "/health", [("Host", "127.0.0.1:3000"), ("User-Agent", "curl/7.88.1"), ("Accept", "*/*")]),
    "health-http10": req("GET", "/health", [], version="HTTP/1.0"),
    "templates": req("GET", "/templates?teamID=local", PY_HEADERS),
    "sandbox-health": req("GET", "/health", sandbox_headers()),
    "sandbox-host-route": req(
        "GET", "/health", [("Host", f"49983-{SID}.localhost"), ("User-Agent", "e2b-js-sdk/2.45.0")]
    ),
    "sandbox-host-port": req(
        "GET", "/files?path=%2Fhome%2Fuser%2Fa.txt&username=user&signature=v1_abc&signature_expiration=1732266400",
        [("Host", f"49983-{SID}.localhost:3000"), ("Accept", "*/*")],
    ),
    "sandbox-host-app": req("GET", "/", [("Host", f"8080-{SID}.e2b.local:3000"), ("Accept", "text/html")]),
    "sandbox-connect-start": req(
        "POST",
        "/process.Process/Start",
        sandbox_headers(
            extra=[
                ("Content-Type", "application/connect+json"),
                ("Connect-Protocol-Version", "1"),
                ("Keepalive-Ping-Interval", "50"),
                ("X-Access-Token", TOKEN),
                ("Connection", "keep-alive"),
            ]
        ),
        b"\x00\x00\x00\x00\x3c"
        + b'{"process":{"cmd":"/bin/bash","args":["-l","-c","echo hi"]}}',
        te=True,
    ),
    "sandbox-files-upload": req(
        "POST",
        "/files?path=%2Fhome%2Fuser%2Fx.bin&username=user",
        sandbox_headers(extra=[("Content-Type", "multipart/form-data; boundary=----b")]),
        b"------b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.bin\"\r\n"
        b"Content-Type: application/octet-stream\r\n\r\nhello\r\n------b--\r\n",
    ),
    "sandbox-init-internal": req("POST", "/init", sandbox_headers(), b"{}"),
    "sandbox-internal-doubleslash": req("POST", "//init", sandbox_headers(), b"{}"),
    "sandbox-internal-absolute": req("POST", "http://localhost:3000/init", sandbox_headers(), b"{}"),
    "sandbox-websocket": req(
        "GET",
        "/ws",
        [
            ("Host", f"8888-{SID}.localhost"),
            ("Connection", "Upgrade"),
            ("Upgrade", "websocket"),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ],
    ),
    "sandbox-proxy-auth": req(
        "GET", "/envs", sandbox_headers(extra=[("Proxy-Authorization", "Basic eDp5"), ("Keep-Alive", "timeout=5")])
    ),
    "sandbox-only-id": req("GET", "/health", [("E2b-Sandbox-Id", SID)]),
    "sandbox-only-port": req("GET", "/health", [("E2b-Sandbox-Port", "49983")]),
    "sandbox-bad-port": req("GET", "/health", sandbox_headers(port=65536)),
    "sandbox-port-leading-zero": req("GET", "/health", sandbox_headers(port="049983")),
    "sandbox-upper-id": req("GET", "/health", [("E2b-Sandbox-Id", "ABC"), ("E2b-Sandbox-Port", "1")]),
    "trailers": b"POST /sandboxes HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\n{\"a\":\r\n2\r\n1}\r\n0\r\nX-Checksum: 1234\r\nX-More: " + b"y" * 200 + b"\r\n\r\n",
    "chunk-ext": b"POST /sandboxes HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"2;name=val\r\n{}\r\n0\r\n\r\n",
    "folded-header": b"GET /health HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n  b\r\n\r\n",
    "folded-content-length": b"POST /sandboxes HTTP/1.1\r\nContent-Length: 1\r\n 0\r\n\r\n0123456789",
    "te-and-cl": b"POST /sandboxes HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "te-not-chunked": b"POST /sandboxes HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nxx",
    "te-list": b"POST /sandboxes HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    "double-cl": b"POST /sandboxes HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
    "bare-lf": b"GET /health HTTP/1.1\nHost: x\n\n",
    "header-space-name": b"GET /health HTTP/1.1\r\nHost: x\r\nBad Name: v\r\nE2b-Sandbox-Id : abc\r\n\r\n",
    "header-empty-value": b"GET /health HTTP/1.1\r\nHost:\r\nX-Empty: \r\n\r\n",
    "header-high-bytes": "GET /h\u00e9 HTTP/1.1\r\nX-Name: caf\u00e9\r\n\r\n".encode(),
    "url-tab": b"GET /a\tb HTTP/1.1\r\nHost: x\r\n\r\n",
    "connect-method": b"CONNECT 10.0.0.1:22 HTTP/1.1\r\nHost: 10.0.0.1:22\r\n\r\nSSH-2.0-x\r\n",
    "options-star": b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
    "head-method": b"HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n",
    "nul-in-header": b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n",
    "no-version": b"GET /\r\n\r\n",
    "bad-method": b"G@T / HTTP/1.1\r\n\r\n",
    "huge-content-length": b"POST / HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n",
    "negative-chunk": b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n\r\n",
    "truncated-body": b"POST /sandboxes HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"templateID\"",
    "many-headers": b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: %d\r\n" % (i, i) for i in range(101)) + b"\r\n",
    "long-url": b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n",
}
PIPELINED = {
    "pipelined-3": REQUESTS["health"] + REQUESTS["create-js-chunked"] + REQUESTS["kill"],
    "pipelined-sandbox": REQUESTS["sandbox-health"] * 3,
    "pipelined-then-garbage": REQUESTS["health"] + b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    "pipelined-head-split": REQUESTS["list-v2"] + REQUESTS["timeout"] + REQUESTS["sandbox-connect-start"],
}
RESPONSES = {
    "resp-created": b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n"
    b'{"sandboxID":"i3kq1m0xv7c"}',
    "resp-no-content": b"HTTP/1.1 204 No Content\r\nDate: x\r\n\r\n",
    "resp-chunked-connect": b"HTTP/1.1 200 OK\r\nContent-Type: application/connect+json\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n" + chunked(b"\x00\x00\x00\x00\x0b{\"event\":1}\x02\x00\x00\x00\x02{}", (5, 11, 100)),
    "resp-close-delimited": b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of this until EOF",
    "resp-http10": b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    "resp-101": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x02hi",
    "resp-502": b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\nContent-Length: 64\r\n\r\n"
    + b'{"code":502,"message":"The sandbox was not found","sandboxId":"x"}'[:64],
    "resp-100-then-200": b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    "resp-pipelined": b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
    "resp-trailers": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: grpc-status\r\n\r\n"
    b"3\r\nabc\r\n0\r\ngrpc-status: 0\r\ngrpc-message: " + b"m" * 300 + b"\r\n\r\n",
    "resp-bad-status": b"HTTP/1.1 2000 OK\r\n\r\n",
}


def write(name, fname, data):
    d = os.path.join(ROOT, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, fname), "wb") as f:
        f.write(data)


def main():
    # fuzz-http: flags byte + 4 piece sizes + stream. Each request is written whole (0xff),
    # in small pieces, and (some) with a failing callback or finish().
    # Chunked trailers made the head strings dangle in on_complete (use after free).
    trailers = {"trailers": "crash-trailer-head-uaf", "resp-trailers": "crash-trailer-head-uaf-response"}
    for name, data in {**REQUESTS, **PIPELINED}.items():
        write("http", trailers.get(name, name), bytes([0x10, 0xFF, 0xFF, 0xFF, 0xFF]) + data)
    for name in ("create-js-chunked", "pipelined-3", "sandbox-connect-start", "list-v2"):
        data = {**REQUESTS, **PIPELINED}[name]
        write("http", name + "-pieces", bytes([0x10, 0, 6, 1, 40]) + data)
        write("http", name + "-bodyfail", bytes([0x04, 3, 0xFF, 9, 1]) + data)
        write("http", name + "-headfail", bytes([0x08, 0xFF, 2, 0xFF, 17]) + data)
    for name, data in RESPONSES.items():
        write("http", trailers.get(name, name), bytes([0x11, 0xFF, 0xFF, 0xFF, 0xFF]) + data)
        if name not in trailers:
            write("http", name + "-pieces", bytes([0x11, 1, 2, 3, 5]) + data)
    write("http", "resp-head-reply", bytes([0x13, 0xFF, 0, 0, 0]) + RESPONSES["resp-created"])

    # fuzz-route: raw requests. "//init" and "http://host/init" reach the agent as /init but
    # pass proxy_path_is_internal().
    bypass = {
        "sandbox-internal-doubleslash": "crash-internal-path-doubleslash",
        "sandbox-internal-absolute": "crash-internal-path-absolute-form",
    }
    for name, data in {**REQUESTS, **PIPELINED}.items():
        write("route", bypass.get(name, name), data)

    # fuzz-url: flags byte + request target.
    targets = {
        "list-v2": "/v2/sandboxes?metadata=" + meta_param({"suite": "api", "user": "a b"})
        + "&state=running,paused&limit=2&nextToken=MTczMjI2NjQwMDAwMDAwMHxpM2txMW0weHY3YzJiOWQ0ZTVmNg%3D%3D",
        "list-v1-spec": "/sandboxes?metadata=user%3Da%252520b",
        "list-order": "/v2/sandboxes?order=asc&startedAfter=2024-11-22T04%3A18%3A00Z&template=base",
        "meta-unicode": "/v2/sandboxes?metadata=" + meta_param({"k\u00e9y": "v=al&ue", "x+y": "100%"}),
        "meta-novalue": "/v2/sandboxes?metadata=novalue",
        "meta-empty": "/v2/sandboxes?metadata=",
        "meta-trailing-amp": "/v2/sandboxes?metadata=a%3Db%26",
        "meta-double-eq": "/v2/sandboxes?metadata=a%3Db%3Dc",
        "meta-bad-escape": "/v2/sandboxes?metadata=a%253Gb%3Dc",
        "meta-many": "/v2/sandboxes?metadata=" + meta_param({f"k{i}": f"v{i}" for i in range(12)}),
        "kill": f"/sandboxes/{SID}",
        "trailing-slash": f"/sandboxes/{SID}/",
        "double-slash": "//sandboxes//x",
        "absolute": "http://localhost:3000/sandboxes?limit=1",
        "absolute-no-path": "http://localhost:3000?x=1",
        "encoded-slash": "/sandboxes/a%2Fb/timeout",
        "encoded-nul": "/sandboxes/a%00b",
        "plus": "/templates?name=a+b&x=%2B",
        "bad-escapes": "/x?a=%&b=%4&c=%zz&d=%%41",
        "many-segments": "/" + "/".join("s%d" % i for i in range(20)),
        "files": "/files?path=%2Fhome%2Fuser%2Fa%20b.txt&username=user&signature=v1_x&signature_expiration=1",
        "star": "*",
        "authority": "10.0.0.1:22",
        "empty-keys": "/x?=v&&=&limit",
        "round-trip": "\u00ff\u0001 ~%+/?#&=\t;:k:v;a b:c%d",
    }
    for i, (name, t) in enumerate(targets.items()):
        write("url", name, bytes([i & 0x0F]) + t.encode("utf-8", "surrogatepass"))

    # fuzz-json-body: bodies the SDKs send, and edge cases.
    bodies = {
        "create-py": CREATE,
        "create-js": CREATE_JS,
        "create-min": b'{"templateID":"base","timeout":60}',
        "timeout": b'{"timeout": 120}',
        "connect": b"{\"timeout\":30}",
        "template-build": json.dumps(
            {
                "alias": "my-tpl",
                "cpuCount": 2,
                "memoryMB": 1024,
                "steps": [{"type": "RUN", "args": ["pip install numpy"], "force": False}],
                "startCmd": "python3 -m http.server",
                "readyCmd": "sleep 1",
            }
        ).encode(),
        "network": b'{"templateID":"base","network":{"allowOut":["1.1.1.1/32","example.com"],"denyOut":["0.0.0.0/0"]}}',
        "lifecycle": b'{"templateID":"base","autoPause":true,"lifecycle":{"onTimeout":"pause","autoResume":true}}',
        "real-timeout": b'{"timeout": 60.0}',
        "fraction-timeout": b'{"timeout": 60.5}',
        "huge-real": b'{"timeout": 1e300}',
        "huge-int": b'{"timeout": 9223372036854775807}',
        "too-big-int": b'{"timeout": 9223372036854775808}',
        "negative": b'{"timeout": -1, "secure": false}',
        "null-fields": b'{"templateID": null, "timeout": null, "metadata": null, "secure": null}',
        "metadata-not-strings": b'{"metadata": {"a": 1}}',
        "metadata-empty-key": b'{"metadata": {"": "x"}}',
        "duplicate-keys": b'{"templateID": "base", "templateID": "other"}',
        "nested-duplicate": b'{"a": {"b": 1, "b": 2}}',
        "not-object": b'["templateID", "base"]',
        "scalar": b"42",
        "string": b'"x"',
        "unicode": '{"metadata": {"k\u00e9y": "\u2603 \\ud83d\\ude00 \\u00e9"}}'.encode(),
        "escaped-nul": b'{"a": "\\u0000"}',
        "invalid-utf8": b'{"a": "\xff\xfe"}',
        "lone-surrogate": b'{"a": "\\ud800"}',
        "trailing-garbage": b'{"a":1} x',
        "two-values": b'{"a":1}{"b":2}',
        "bom": b'\xef\xbb\xbf{"a":1}',
        "comments": b'{"a":1 /* c */}',
        "depth-32": b'{"a":' * 31 + b"{}" + b"}" * 31,
        "depth-33": b'{"a":' * 32 + b"{}" + b"}" * 32,
        "depth-array-33": b'{"a":' + b"[" * 32 + b"]" * 32 + b"}",
        "depth-2048": b'{"a":' + b"[" * 2047 + b"]" * 2047 + b"}",
        "depth-2049": b'{"a":' + b"[" * 2048 + b"]" * 2048 + b"}",
        "wide-then-deep": b'{"a":[' + b"1," * 1000 + b"[" * 40 + b"]" * 40 + b"]}",
        "truncated": b'{"templateID":"ba',
        "whitespace": b' \t\r\n{ "a" : [ 1 , 2 ] } \n',
    }
    for name, b in bodies.items():
        write("json-body", name, b)


if __name__ == "__main__":
    main()
