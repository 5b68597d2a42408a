"""Files through the official Python SDK (sandbox.files and the signed file URLs): write/read in
every format, batch writes, list, exists, get_info, remove, rename, make_dir, users and
ownership, errors, signed upload/download URLs, gzip and metadata. Behaviour:
shared/spec/envd-api.md §3 and §5 (envd 0.6.13)."""

import asyncio
import gzip
import hashlib
import io
import json
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from e2b import (
    AsyncSandbox,
    AuthenticationException,
    FileNotFoundException,
    FileType,
    InvalidArgumentException,
    SandboxException,
)

from compat_helpers import DEFAULT_TIMEOUT_S, HOME, needs_sdk

# Payload with every byte value and some non-UTF-8 sequences.
BINARY = bytes(range(256)) * 64 + b"\xff\xfe\x00\xc3"


def test_write_read_text(sandbox):
    text = "héllo wörld 🐢\nsecond line\n"
    info = sandbox.files.write("docs/a.txt", text)
    # Relative paths resolve against the user's home; missing parents are created.
    assert info.name == "a.txt"
    assert info.type == FileType.FILE
    assert info.path == f"{HOME}/docs/a.txt"

    assert sandbox.files.read("docs/a.txt") == text
    assert sandbox.files.read(f"{HOME}/docs/a.txt", format="text") == text
    assert sandbox.files.read("~/docs/a.txt") == text
    data = sandbox.files.read("docs/a.txt", format="bytes")
    assert isinstance(data, bytearray)
    assert bytes(data) == text.encode()
    assert b"".join(sandbox.files.read("docs/a.txt", format="stream")) == text.encode()

    # The file is a plain file for commands too, owned by the default user.
    assert sandbox.commands.run("cat docs/a.txt; stat -c %U:%G:%a docs/a.txt").stdout == (
        text + "user:user:644\n"
    )

    # Overwrite replaces the whole content.
    sandbox.files.write("docs/a.txt", "short")
    assert sandbox.files.read("docs/a.txt") == "short"


def test_write_read_bytes_and_streams(sandbox):
    info = sandbox.files.write("bin/blob.bin", BINARY)
    assert info.path == f"{HOME}/bin/blob.bin"
    assert bytes(sandbox.files.read("bin/blob.bin", format="bytes")) == BINARY
    assert b"".join(sandbox.files.read("bin/blob.bin", format="stream")) == BINARY
    assert sandbox.commands.run("sha256sum bin/blob.bin | cut -c1-64").stdout.strip() == (
        hashlib.sha256(BINARY).hexdigest()
    )

    # A file-like object (the SDK streams it as an octet-stream upload).
    big = (b"0123456789abcdef" * 65536) + b"end"  # ~1 MiB
    info = sandbox.files.write("bin/big.bin", io.BytesIO(big))
    assert info.path == f"{HOME}/bin/big.bin"
    assert bytes(sandbox.files.read("bin/big.bin", format="bytes")) == big
    assert sandbox.commands.run("stat -c %s bin/big.bin").stdout.strip() == str(len(big))

    # Empty files.
    sandbox.files.write("bin/empty.txt", "")
    assert sandbox.files.read("bin/empty.txt") == ""
    assert bytes(sandbox.files.read("bin/empty.txt", format="bytes")) == b""
    sandbox.files.write("bin/empty2.bin", io.BytesIO(b""))
    assert sandbox.files.get_info("bin/empty2.bin").size == 0


@needs_sdk("2.63.0", "iterable (chunked) write data")
def test_write_iterable_chunks(sandbox):
    chunks = [b"chunk-%d;" % i for i in range(1000)]
    sandbox.files.write("iter/chunks.txt", iter(chunks))
    assert sandbox.files.read("iter/chunks.txt") == b"".join(chunks).decode()


def test_write_files_batch(sandbox):
    tmp_dir = f"/tmp/batch-{uuid.uuid4().hex[:8]}"
    infos = sandbox.files.write_files(
        [
            {"path": "batch/one.txt", "data": "one"},
            {"path": f"{tmp_dir}/two.bin", "data": b"\x00two"},
            {"path": "batch/nested/deep/three.txt", "data": io.BytesIO(b"three")},
        ]
    )
    assert [(i.name, i.path, i.type) for i in infos] == [
        ("one.txt", f"{HOME}/batch/one.txt", FileType.FILE),
        ("two.bin", f"{tmp_dir}/two.bin", FileType.FILE),
        ("three.txt", f"{HOME}/batch/nested/deep/three.txt", FileType.FILE),
    ]
    assert sandbox.files.read("batch/one.txt") == "one"
    assert bytes(sandbox.files.read(f"{tmp_dir}/two.bin", format="bytes")) == b"\x00two"
    assert sandbox.files.read("batch/nested/deep/three.txt") == "three"
    assert sandbox.files.write_files([]) == []

    # Many files in one batch, all plain multipart parts.
    many = [{"path": f"many/f{i}.txt", "data": f"content {i}"} for i in range(20)]
    infos = sandbox.files.write_files(many)
    assert [i.path for i in infos] == [f"{HOME}/many/f{i}.txt" for i in range(20)]
    for i in (0, 7, 19):
        assert sandbox.files.read(f"many/f{i}.txt") == f"content {i}"


def test_list_depth(sandbox):
    for path in ("tree/a.txt", "tree/sub/b.txt", "tree/sub/deeper/c.txt", "tree/z/d.txt"):
        sandbox.files.write(path, path)
    base = f"{HOME}/tree"

    entries = sandbox.files.list("tree")
    assert sorted((e.name, e.path, e.type) for e in entries) == [
        ("a.txt", f"{base}/a.txt", FileType.FILE),
        ("sub", f"{base}/sub", FileType.DIR),
        ("z", f"{base}/z", FileType.DIR),
    ]
    a = next(e for e in entries if e.name == "a.txt")
    assert a.size == len("tree/a.txt")
    assert a.owner == "user"

    depth2 = sandbox.files.list("tree", depth=2)
    assert sorted(e.path for e in depth2) == [
        f"{base}/a.txt",
        f"{base}/sub",
        f"{base}/sub/b.txt",
        f"{base}/sub/deeper",
        f"{base}/z",
        f"{base}/z/d.txt",
    ]
    # Names are base names, not relative paths.
    assert next(e for e in depth2 if e.path == f"{base}/sub/b.txt").name == "b.txt"
    depth3 = sandbox.files.list(base, depth=3)
    assert f"{base}/sub/deeper/c.txt" in {e.path for e in depth3}
    assert len(depth3) == 7

    sandbox.files.make_dir("empty-dir")
    assert sandbox.files.list("empty-dir") == []

    with pytest.raises(InvalidArgumentException):
        sandbox.files.list("tree", depth=0)
    with pytest.raises(FileNotFoundException):
        sandbox.files.list("no-such-dir")
    with pytest.raises(SandboxException):
        sandbox.files.list("tree/a.txt")  # not a directory


def test_exists(sandbox):
    sandbox.files.write("ex/file.txt", "x")
    assert sandbox.files.exists("ex/file.txt") is True
    assert sandbox.files.exists("ex") is True
    assert sandbox.files.exists(f"{HOME}/ex/file.txt") is True
    assert sandbox.files.exists("ex/missing.txt") is False
    assert sandbox.files.exists("/no/such/path") is False


def test_file_info_fields(sandbox):
    before = datetime.now(timezone.utc)
    sandbox.files.write("info/file.txt", "1234")
    info = sandbox.files.get_info("info/file.txt")
    assert info.name == "file.txt"
    assert info.type == FileType.FILE
    assert info.path == f"{HOME}/info/file.txt"
    assert info.size == 4
    assert info.mode == 0o644
    assert info.permissions == "-rw-r--r--"
    assert info.owner == "user"
    assert info.group == "user"
    assert info.modified_time.tzinfo is not None
    skew = timedelta(seconds=30)
    assert before - skew <= info.modified_time <= datetime.now(timezone.utc) + skew
    assert info.symlink_target is None
    assert info.metadata is None

    d = sandbox.files.get_info("info")
    assert (d.name, d.type, d.path) == ("info", FileType.DIR, f"{HOME}/info")
    assert d.mode == 0o755
    assert d.permissions == "drwxr-xr-x"
    assert d.size > 0
    assert (d.owner, d.group) == ("user", "user")

    # Mode changes, ownership by root, a symlink and special files.
    sandbox.commands.run(
        "cd info && chmod 600 file.txt && ln -s file.txt link.txt && ln -s sub dirlink "
        "&& mkdir sub && ln -s missing dangling"
    )
    sandbox.commands.run("touch /tmp/root-file", user="root")
    assert sandbox.files.get_info("info/file.txt").permissions == "-rw-------"
    assert sandbox.files.get_info("info/file.txt").mode == 0o600
    root_file = sandbox.files.get_info("/tmp/root-file")
    assert (root_file.owner, root_file.group) == ("root", "root")

    link = sandbox.files.get_info("info/link.txt")
    assert link.name == "link.txt"
    assert link.path == f"{HOME}/info/link.txt"
    assert link.symlink_target == f"{HOME}/info/file.txt"
    # envd reports the target's type (e2b >= 2.63 would show SYMLINK if the server set
    # is_symlink, which envd 0.6.13 does not) and the target's permission bits.
    assert link.type in (FileType.FILE, FileType.SYMLINK)
    assert link.mode == 0o600
    assert link.permissions.startswith("L")
    dirlink = sandbox.files.get_info("info/dirlink")
    assert dirlink.type in (FileType.DIR, FileType.SYMLINK)
    assert dirlink.symlink_target == f"{HOME}/info/sub"
    # A dangling link has no type: list() leaves it out.
    assert sorted(e.name for e in sandbox.files.list("info")) == [
        "dirlink", "file.txt", "link.txt", "sub"
    ]

    tmp = sandbox.files.get_info("/tmp")
    assert tmp.permissions == "dtrwxrwxrwx"

    with pytest.raises(FileNotFoundException):
        sandbox.files.get_info("info/nope.txt")


def test_make_dir_rename_remove(sandbox):
    assert sandbox.files.make_dir("mk/a/b/c") is True
    assert sandbox.files.make_dir("mk/a/b/c") is False
    for path in ("mk", "mk/a", "mk/a/b", "mk/a/b/c"):
        info = sandbox.files.get_info(path)
        assert info.type == FileType.DIR, path
        assert info.owner == "user", path
    sandbox.files.write("mk/file.txt", "f")
    with pytest.raises(SandboxException):
        sandbox.files.make_dir("mk/file.txt")  # exists as a file

    moved = sandbox.files.rename("mk/file.txt", "mk/a/renamed.txt")
    assert moved.name == "renamed.txt"
    assert moved.path == f"{HOME}/mk/a/renamed.txt"
    assert moved.type == FileType.FILE
    assert sandbox.files.exists("mk/file.txt") is False
    assert sandbox.files.read("mk/a/renamed.txt") == "f"
    # Rename into a directory that does not exist yet creates it.
    sandbox.files.rename("mk/a/renamed.txt", "mk/new/parent/r.txt")
    assert sandbox.files.read("mk/new/parent/r.txt") == "f"
    # Directories move with their content.
    moved_dir = sandbox.files.rename("mk/a", "mk/a2")
    assert moved_dir.type == FileType.DIR
    assert sandbox.files.exists("mk/a2/b/c") is True
    with pytest.raises(FileNotFoundException):
        sandbox.files.rename("mk/missing", "mk/other")

    sandbox.files.remove("mk/new/parent/r.txt")
    assert sandbox.files.exists("mk/new/parent/r.txt") is False
    sandbox.files.remove("mk")  # recursive
    assert sandbox.files.exists("mk") is False
    sandbox.files.remove("mk/never-existed")  # not an error


def test_missing_file_errors(sandbox):
    with pytest.raises(FileNotFoundException):
        sandbox.files.read("missing/file.txt")
    with pytest.raises(FileNotFoundException):
        sandbox.files.read("/missing/file.txt", format="bytes")
    with pytest.raises(FileNotFoundException):
        sandbox.files.get_info("missing/file.txt")
    # Reading a directory is a bad request.
    sandbox.files.make_dir("a-dir")
    with pytest.raises(InvalidArgumentException):
        sandbox.files.read("a-dir")


def test_users_and_permissions(sandbox):
    # user="root": relative paths resolve against root's home and files belong to root.
    info = sandbox.files.write("owned-by-root.txt", "r", user="root")
    assert info.path == "/root/owned-by-root.txt"
    stat = sandbox.files.get_info("/root/owned-by-root.txt")
    assert (stat.owner, stat.group) == ("root", "root")
    assert sandbox.files.read("owned-by-root.txt", user="root") == "r"
    assert sandbox.files.exists("owned-by-root.txt", user="root") is True
    assert sandbox.files.list("/root", user="root")  # listable as root

    # envd's file API acts with root privileges for every user: writing as `user` into a
    # root-owned directory works (the SDKs' own tests write to /<n>/... as user) and the new
    # file and the parents it created belong to that user.
    top = f"/sbx-{uuid.uuid4().hex[:8]}"
    sandbox.files.write(f"{top}/x.txt", "x")
    assert (sandbox.files.get_info(top).owner, sandbox.files.get_info(f"{top}/x.txt").owner) == (
        "user",
        "user",
    )
    assert sandbox.files.make_dir("/opt/by-user") is True
    assert sandbox.files.get_info("/opt/by-user").owner == "user"

    # Commands, on the other hand, run with the user's own permissions.
    res = sandbox.commands.run("test -w /root && echo writable || echo denied")
    assert res.stdout == "denied\n"

    # An unknown user is refused (HTTP 401 on /files, unauthenticated on RPCs).
    with pytest.raises(AuthenticationException):
        sandbox.files.read("x", user="sbx-no-such-user")
    with pytest.raises(AuthenticationException):
        sandbox.files.write("x", "y", user="sbx-no-such-user")
    with pytest.raises(AuthenticationException):
        sandbox.files.list("/", user="sbx-no-such-user")
    with pytest.raises(AuthenticationException):
        sandbox.commands.run("id", user="sbx-no-such-user")


def _multipart(field: str, filename: str, data: bytes):
    boundary = "sbx" + uuid.uuid4().hex
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; "
        f"filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _fetch(url, data=None, headers=None):
    """Plain urllib request, no SDK and no E2b-Sandbox-* headers. Returns (status, headers, body)."""
    req = urllib.request.Request(url, data=data, headers=headers or {},
                                 method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def test_signed_urls(sandbox):
    content = "signed download ✓"
    sandbox.files.write("signed/down.txt", content)

    url = sandbox.download_url("signed/down.txt")
    assert "signature=" in url  # sandboxes are secure: the URL is signed
    status, _, body = _fetch(url)
    assert (status, body.decode()) == (200, content)

    url = sandbox.download_url("signed/down.txt", use_signature_expiration=120)
    assert "signature_expiration=" in url
    status, _, body = _fetch(url)
    assert (status, body.decode()) == (200, content)

    url = sandbox.download_url("signed/down.txt", user="user", use_signature_expiration=120)
    assert _fetch(url)[0] == 200

    expired = sandbox.download_url("signed/down.txt", use_signature_expiration=-120)
    status, _, body = _fetch(expired)
    assert status == 401
    assert json.loads(body) == {"code": 401, "message": "signature is already expired"}

    # Missing file through a valid URL.
    status, _, body = _fetch(sandbox.download_url("signed/missing.txt"))
    assert status == 404
    assert json.loads(body)["code"] == 404

    # Upload through a signed URL: multipart form with a `file` part.
    up = sandbox.upload_url("signed/up.txt", use_signature_expiration=120)
    body, ctype = _multipart("file", "up.txt", b"uploaded content")
    status, _, resp = _fetch(up, data=body, headers={"Content-Type": ctype})
    assert status == 200, resp
    assert json.loads(resp) == [
        {"name": "up.txt", "path": f"{HOME}/signed/up.txt", "type": "file"}
    ]
    assert sandbox.files.read("signed/up.txt") == "uploaded content"

    # As root: the path resolves against /root.
    up = sandbox.upload_url("root-up.txt", user="root")
    body, ctype = _multipart("file", "root-up.txt", b"root content")
    status, _, resp = _fetch(up, data=body, headers={"Content-Type": ctype})
    assert status == 200, resp
    assert json.loads(resp) == [{"name": "root-up.txt", "path": "/root/root-up.txt", "type": "file"}]
    assert sandbox.files.get_info("/root/root-up.txt").owner == "root"

    expired_up = sandbox.upload_url("signed/late.txt", use_signature_expiration=-120)
    status, _, resp = _fetch(expired_up, data=body, headers={"Content-Type": ctype})
    assert status == 401
    assert json.loads(resp) == {"code": 401, "message": "signature is already expired"}
    assert sandbox.files.exists("signed/late.txt") is False


def test_gzip(sandbox):
    content = "gzip me " * 1000
    info = sandbox.files.write("gz/a.txt", content, gzip=True)
    assert info.path == f"{HOME}/gz/a.txt"
    assert sandbox.files.read("gz/a.txt", gzip=True) == content
    assert sandbox.files.read("gz/a.txt") == content
    assert bytes(sandbox.files.read("gz/a.txt", format="bytes", gzip=True)) == content.encode()
    infos = sandbox.files.write_files(
        [{"path": "gz/b.txt", "data": "bee"}, {"path": "gz/c.bin", "data": BINARY}], gzip=True
    )
    assert [i.path for i in infos] == [f"{HOME}/gz/b.txt", f"{HOME}/gz/c.bin"]
    assert bytes(sandbox.files.read("gz/c.bin", format="bytes")) == BINARY

    # A plain client asking for gzip gets either gzip (Content-Encoding) or identity.
    status, headers, body = _fetch(
        sandbox.download_url("gz/a.txt"), headers={"Accept-Encoding": "gzip"}
    )
    assert status == 200
    if headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    assert body.decode() == content


def test_metadata(sandbox):
    info = sandbox.files.write("meta/a.txt", "m", metadata={"Owner": "me", "stage": "draft v1"})
    assert info.metadata == {"owner": "me", "stage": "draft v1"}
    stat = sandbox.files.get_info("meta/a.txt")
    assert stat.metadata == {"owner": "me", "stage": "draft v1"}
    listed = sandbox.files.list("meta")
    assert listed[0].metadata == {"owner": "me", "stage": "draft v1"}
    # Rewriting without metadata clears it.
    info = sandbox.files.write("meta/a.txt", "m2")
    assert info.metadata is None
    assert sandbox.files.get_info("meta/a.txt").metadata is None
    with pytest.raises(InvalidArgumentException):
        sandbox.files.write("meta/b.txt", "x", metadata={"bad key": "v"})


def test_async_files(sandboxes):
    async def main():
        sbx = await AsyncSandbox.create(timeout=DEFAULT_TIMEOUT_S)
        sandboxes.track(sbx.sandbox_id)
        info = await sbx.files.write("async/a.txt", "async text")
        assert info.path == f"{HOME}/async/a.txt"
        assert await sbx.files.read("async/a.txt") == "async text"
        await sbx.files.write("async/b.bin", io.BytesIO(BINARY))
        assert bytes(await sbx.files.read("async/b.bin", format="bytes")) == BINARY
        chunks = []
        async for chunk in await sbx.files.read("async/b.bin", format="stream"):
            chunks.append(chunk)
        assert b"".join(chunks) == BINARY
        infos = await sbx.files.write_files(
            [{"path": "async/c.txt", "data": "c"}, {"path": "async/d/e.txt", "data": "e"}]
        )
        assert [i.name for i in infos] == ["c.txt", "e.txt"]
        names = sorted(e.name for e in await sbx.files.list("async"))
        assert names == ["a.txt", "b.bin", "c.txt", "d"]
        assert await sbx.files.exists("async/d/e.txt") is True
        assert (await sbx.files.get_info("async/d")).type == FileType.DIR
        assert await sbx.files.make_dir("async/new") is True
        assert await sbx.files.make_dir("async/new") is False
        moved = await sbx.files.rename("async/c.txt", "async/new/c.txt")
        assert moved.path == f"{HOME}/async/new/c.txt"
        await sbx.files.remove("async")
        assert await sbx.files.exists("async") is False
        with pytest.raises(FileNotFoundException):
            await sbx.files.read("async/a.txt")
        await sbx.kill()

    asyncio.run(main())
