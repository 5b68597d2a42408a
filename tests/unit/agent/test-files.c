/* Tests for the pure and blocking helpers of GET/POST /files (src/agent/files-util.c,
 * files-fs.c) and the parsers of GET /metrics (metrics.c). The agent is not in the core
 * archive, so the sources are compiled in. The handlers themselves (and gzip, whose zlib the
 * unit-test link line does not carry) are exercised end to end by
 * tests/integration/test-files.sh. */
#include "test.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "../../../src/agent/files-fs.c"
#include "../../../src/agent/files-util.c"
#include "../../../src/agent/metrics.c"
#include "../../../src/agent/rpc-util.c"
#include "../../../src/agent/server-request.c"
#include "../../../src/agent/server.c"
#include "../../../src/agent/users.c"

/* router.c holds the whole route table (every handler of the agent); its comparison is all
 * the files code needs. */
bool router_token_equal(const char *given, const char *expected)
{
    return strcmp(given, expected) == 0;
}

/* rpc.c is not compiled in; rpc-util.c's JSON readers (unused here) report through this. */
int rpc_error(struct rpc_call *call, int error, const char *fmt, ...)
{
    return error;
}

static struct slice S(const char *s) {
    return slice_from_str(s);
}

TEST(files_params)
{
    struct files_params q;
    char *msg = NULL;
    ASSERT_OK(files_params_parse(S("path=%2Fa+b.txt&username=user&x=1&signature=v1_x&"
                                   "signature_expiration=%2B17"),
                                 &q, &msg));
    ASSERT_STREQ(q.path, "/a b.txt");
    ASSERT_STREQ(q.username, "user");
    ASSERT_STREQ(q.signature, "v1_x");
    ASSERT_TRUE(q.has_expiration);
    ASSERT_EQ(q.expiration, 17);
    files_params_release(&q);

    /* Pairs with bad escapes or semicolons are dropped, as Go's url.ParseQuery does. */
    ASSERT_OK(files_params_parse(S("path=%zz&username=a;b&path2=x"), &q, &msg));
    ASSERT_NULL(q.path);
    ASSERT_NULL(q.username);
    ASSERT_FALSE(q.has_expiration);
    files_params_release(&q);

    ASSERT_OK(files_params_parse(S("username="), &q, &msg));
    ASSERT_STREQ(q.username, "");
    files_params_release(&q);

    ASSERT_ERRNO(files_params_parse(S("path=a&path=b"), &q, &msg), EINVAL);
    ASSERT_STREQ(msg, "Invalid format for parameter path: multiple values for single value "
                      "parameter 'path'");
    free(msg);
    ASSERT_ERRNO(files_params_parse(S("signature_expiration=abc"), &q, &msg), EINVAL);
    ASSERT_STREQ(msg, "Invalid format for parameter signature_expiration: error binding string "
                      "parameter: strconv.ParseInt: parsing \"abc\": invalid syntax");
    free(msg);
    ASSERT_ERRNO(files_params_parse(S("signature_expiration=99999999999999999999"), &q, &msg),
                 EINVAL);
    free(msg);
}

TEST(files_signature_and_access)
{
    char sig[FILES_SIGNATURE_MAX];
    int64_t exp = 1795317834;
    files_signature("a.txt", "read", "", "tok", &exp, sig);
    ASSERT_STREQ(sig, "v1_ahmN0uNLHWIepX2ZDsAgz1JZSc5vCMUCv4pcRIriOmc");
    files_signature("/home/user/x y", "write", "user", "tok", NULL, sig);
    ASSERT_STREQ(sig, "v1_N2oMK/Jmik0MS31KB8cQSnI7O6cHRR+crHMi0IpzEpw");

    const char *why = NULL;
    struct files_params q = {.path = "a.txt"};
    ASSERT_OK(files_check_access(NULL, NULL, &q, "read", 0, &why));
    ASSERT_OK(files_check_access("tok", "tok", &q, "read", 0, &why));
    ASSERT_ERRNO(files_check_access("tok", "nope", &q, "read", 0, &why), EACCES);
    ASSERT_STREQ(why, "access token present in header but does not match");
    ASSERT_ERRNO(files_check_access("tok", "", &q, "read", 0, &why), EACCES);
    ASSERT_STREQ(why, "missing signature query parameter");

    q.signature = "v1_ahmN0uNLHWIepX2ZDsAgz1JZSc5vCMUCv4pcRIriOmc";
    q.has_expiration = true;
    q.expiration = exp;
    ASSERT_OK(files_check_access("tok", NULL, &q, "read", exp, &why));
    ASSERT_ERRNO(files_check_access("tok", NULL, &q, "read", exp + 1, &why), EACCES);
    ASSERT_STREQ(why, "signature is already expired");
    ASSERT_ERRNO(files_check_access("tok", NULL, &q, "write", exp, &why), EACCES);
    ASSERT_STREQ(why, "invalid signature");
    q.username = "user"; /* the user is part of the signature */
    ASSERT_ERRNO(files_check_access("tok", NULL, &q, "read", exp, &why), EACCES);
    ASSERT_STREQ(why, "invalid signature");
}

TEST(files_encodings)
{
    ASSERT_EQ(files_accept_encoding(NULL), FILES_ENCODING_IDENTITY);
    ASSERT_EQ(files_accept_encoding(""), FILES_ENCODING_IDENTITY);
    ASSERT_EQ(files_accept_encoding("gzip, deflate"), FILES_ENCODING_GZIP);
    ASSERT_EQ(files_accept_encoding("GZIP"), FILES_ENCODING_GZIP);
    ASSERT_EQ(files_accept_encoding("deflate, br"), FILES_ENCODING_IDENTITY);
    ASSERT_EQ(files_accept_encoding("identity, gzip"), FILES_ENCODING_IDENTITY);
    ASSERT_EQ(files_accept_encoding("identity;q=0.5, gzip"), FILES_ENCODING_GZIP);
    ASSERT_EQ(files_accept_encoding("gzip;q=0"), FILES_ENCODING_IDENTITY);
    ASSERT_EQ(files_accept_encoding("*"), FILES_ENCODING_IDENTITY);
    ASSERT_EQ(files_accept_encoding("*;q=0, gzip;q=0.1"), FILES_ENCODING_GZIP);
    ASSERT_EQ(files_accept_encoding("identity;q=0, *"), FILES_ENCODING_GZIP);
    ASSERT_ERRNO(files_accept_encoding("identity;q=0"), EBADMSG);
    ASSERT_ERRNO(files_accept_encoding("*;q=0, br"), EBADMSG);
    ASSERT_TRUE(files_identity_acceptable("gzip"));
    ASSERT_FALSE(files_identity_acceptable("gzip, identity;q=0"));
    ASSERT_TRUE(files_identity_acceptable("*;q=0, identity"));

    ASSERT_EQ(files_content_encoding(NULL), FILES_ENCODING_IDENTITY);
    ASSERT_EQ(files_content_encoding("identity"), FILES_ENCODING_IDENTITY);
    ASSERT_EQ(files_content_encoding(" Gzip "), FILES_ENCODING_GZIP);
    ASSERT_ERRNO(files_content_encoding("br"), EINVAL);
    ASSERT_ERRNO(files_content_encoding("gzip, identity"), EINVAL);
}

static void head_add(struct http_head *h, const char *name, const char *value)
{
    h->headers[h->n_headers].name = name;
    h->headers[h->n_headers].value = value;
    h->n_headers++;
}

TEST(files_metadata_headers)
{
    struct http_head h = {};
    head_add(&h, "Content-Type", "application/octet-stream");
    head_add(&h, "x-metadata-Owner", "me");
    head_add(&h, "X-METADATA-owner", "second");
    head_add(&h, "X-Metadata-", "ignored");
    head_add(&h, "X-Metadata-Tag", "a b");
    struct files_metadata m;
    char *msg = NULL;
    ASSERT_OK(files_metadata_from_head(&h, &m, &msg));
    ASSERT_EQ(m.n, 2);
    ASSERT_STREQ(m.keys[0], "owner");
    ASSERT_STREQ(m.values[0], "me");
    ASSERT_STREQ(m.keys[1], "tag");
    files_metadata_release(&m);

    struct http_head bad = {};
    head_add(&bad, "X-Metadata-K", "caf\xc3\xa9");
    ASSERT_ERRNO(files_metadata_from_head(&bad, &m, &msg), EINVAL);
    ASSERT_STREQ(msg, "metadata value for key \"k\" contains non-printable-ASCII byte 0xc3 at "
                      "offset 3");
    free(msg);

    char longkey[300] = "X-Metadata-";
    memset(longkey + 11, 'k', 247);
    struct http_head lk = {};
    head_add(&lk, longkey, "v");
    ASSERT_ERRNO(files_metadata_from_head(&lk, &m, &msg), EINVAL);
    ASSERT_TRUE(strstr(msg, "exceeds 246 bytes") != NULL);
    free(msg);

    static char big[4100];
    memset(big, 'v', 4090);
    struct http_head tb = {};
    head_add(&tb, "X-Metadata-A", big);
    ASSERT_ERRNO(files_metadata_from_head(&tb, &m, &msg), EINVAL);
    ASSERT_STREQ(msg, "total metadata size 4100 exceeds 4096 bytes");
    free(msg);
}

static char *json(const char *s, size_t len)
{
    struct buf b;
    buf_init(&b, SIZE_MAX);
    ASSERT_OK(files_json_string(&b, s, len));
    return buf_steal(&b);
}

TEST(files_json_like_go)
{
    char *s = json("/tmp/a&b<c>\"d\\e", 15);
    ASSERT_STREQ(s, "\"/tmp/a\\u0026b\\u003cc\\u003e\\\"d\\\\e\"");
    free(s);
    s = json("t\tn\nr\rb\bf\f\x01\x7f", 12);
    ASSERT_STREQ(s, "\"t\\tn\\nr\\rb\\bf\\f\\u0001\x7f\"");
    free(s);
    s = json("\xe2\x80\xa8 caf\xc3\xa9 \xff\xc3", 12);
    ASSERT_STREQ(s, "\"\\u2028 caf\xc3\xa9 \\ufffd\\ufffd\"");
    free(s);
    s = json("\xed\xa0\x80", 3); /* a surrogate is invalid UTF-8 */
    ASSERT_STREQ(s, "\"\\ufffd\\ufffd\\ufffd\"");
    free(s);
}

TEST(files_download_headers)
{
    char *d = files_content_disposition("hello.txt");
    ASSERT_STREQ(d, "inline; filename=hello.txt");
    free(d);
    d = files_content_disposition("a b\"c.txt");
    ASSERT_STREQ(d, "inline; filename=\"a b\\\"c.txt\"");
    free(d);
    d = files_content_disposition("caf\xc3\xa9 1%.txt");
    ASSERT_STREQ(d, "inline; filename*=utf-8''caf%C3%A9%201%25.txt");
    free(d);

    ASSERT_STREQ(files_type_by_extension("a.txt"), "text/plain; charset=utf-8");
    ASSERT_STREQ(files_type_by_extension("dir.d/A.JSON"), "application/json");
    ASSERT_NULL(files_type_by_extension("dir.d/noext"));
    ASSERT_NULL(files_type_by_extension(".bashrc"));
    ASSERT_STREQ(files_sniff_type((const uint8_t *) "hello", 5), "text/plain; charset=utf-8");
    ASSERT_STREQ(files_sniff_type((const uint8_t *) "\x00\x01", 2), "application/octet-stream");
    ASSERT_STREQ(files_sniff_type((const uint8_t *) "  <html><body>", 14),
                 "text/html; charset=utf-8");
    ASSERT_STREQ(files_sniff_type((const uint8_t *) "\x89PNG\r\n\x1a\nxx", 10), "image/png");
    ASSERT_STREQ(files_sniff_type((const uint8_t *) "", 0), "text/plain; charset=utf-8");

    char date[32];
    files_http_date(1136214245, date);
    ASSERT_STREQ(date, "Mon, 02 Jan 2006 15:04:05 GMT");
    time_t t;
    ASSERT_OK(files_parse_http_date("Mon, 02 Jan 2006 15:04:05 GMT", &t));
    ASSERT_EQ(t, 1136214245);
    ASSERT_ERRNO(files_parse_http_date("yesterday", &t), EINVAL);

    uint64_t start, len;
    ASSERT_EQ(files_parse_range(NULL, 100, &start, &len), 0);
    ASSERT_EQ(files_parse_range("bytes=10-19", 100, &start, &len), 1);
    ASSERT_EQ(start, 10);
    ASSERT_EQ(len, 10);
    ASSERT_EQ(files_parse_range("bytes=90-", 100, &start, &len), 1);
    ASSERT_EQ(len, 10);
    ASSERT_EQ(files_parse_range("bytes=-5", 100, &start, &len), 1);
    ASSERT_EQ(start, 95);
    ASSERT_EQ(files_parse_range("bytes=50-500", 100, &start, &len), 1);
    ASSERT_EQ(len, 50);
    ASSERT_EQ(files_parse_range("bytes=0-1,5-6", 100, &start, &len), 0);
    ASSERT_ERRNO(files_parse_range("bytes=100-", 100, &start, &len), ERANGE);
    ASSERT_ERRNO(files_parse_range("bytes=5-1", 100, &start, &len), ERANGE);
    ASSERT_ERRNO(files_parse_range("items=1-2", 100, &start, &len), ERANGE);
}

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/sbx-test-files.XXXXXX");
    ASSERT_NOT_NULL(mkdtemp(tmpdir));
}

TEST(files_upload_open_creates_parents_and_owns)
{
    make_tmpdir();
    uid_t uid = geteuid() == 0 ? 1234 : geteuid();
    gid_t gid = geteuid() == 0 ? 4321 : getegid();
    char path[256];
    snprintf(path, sizeof(path), "%s/a/b/c.txt", tmpdir);
    struct files_error err = {};
    mode_t old = umask(022);
    int fd = files_upload_open(path, uid, gid, &err);
    umask(old);
    ASSERT_OK(fd);
    ASSERT_OK(files_write_all(fd, (const uint8_t *) "hi", 2));
    close(fd);
    struct stat st;
    ASSERT_OK(stat(path, &st));
    ASSERT_EQ(st.st_mode & 07777, 0644);
    ASSERT_EQ(st.st_size, 2);
    ASSERT_EQ(st.st_uid, uid);
    ASSERT_EQ(st.st_gid, gid);
    char dir[256];
    snprintf(dir, sizeof(dir), "%s/a/b", tmpdir);
    ASSERT_OK(stat(dir, &st));
    ASSERT_EQ(st.st_mode & 07777, 0755);
    ASSERT_EQ(st.st_uid, uid);

    /* Overwrite truncates. */
    fd = files_upload_open(path, uid, gid, &err);
    ASSERT_OK(fd);
    close(fd);
    ASSERT_OK(stat(path, &st));
    ASSERT_EQ(st.st_size, 0);

    /* A directory at the path: 400; a file as a parent: 500. */
    ASSERT_ERRNO(files_upload_open(dir, uid, gid, &err), EISDIR);
    ASSERT_EQ(err.status, 400);
    char msg[300];
    snprintf(msg, sizeof(msg), "path is a directory: %s", dir);
    ASSERT_STREQ(err.message, msg);
    snprintf(dir, sizeof(dir), "%s/a/b/c.txt/d", tmpdir);
    ASSERT_ERRNO(files_upload_open(dir, uid, gid, &err), ENOTDIR);
    ASSERT_EQ(err.status, 500);
    snprintf(msg, sizeof(msg), "error ensuring directories: path is a file: %s/a/b/c.txt", tmpdir);
    ASSERT_STREQ(err.message, msg);
    files_error_release(&err);
    (void) rm_rf(tmpdir);
}

TEST(files_metadata_xattrs)
{
    make_tmpdir();
    char path[256];
    snprintf(path, sizeof(path), "%s/m.txt", tmpdir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    ASSERT_OK(fd);
    if (fsetxattr(fd, "user.e2b.old", "x", 1, 0) < 0 && (errno == ENOTSUP || errno == EOPNOTSUPP)) {
        close(fd);
        (void) rm_rf(tmpdir);
        SKIP("no user xattrs on /tmp");
    }
    ASSERT_OK(fsetxattr(fd, "user.other", "keep", 4, 0));
    char *keys[] = {"b", "a"};
    char *values[] = {"2", "1<"};
    struct files_metadata md = {.n = 2, .keys = keys, .values = values};
    struct buf j;
    buf_init(&j, SIZE_MAX);
    struct files_error err = {};
    ASSERT_OK(files_metadata_apply(fd, &md, &j, &err));
    ASSERT_STREQ((char *) j.data, ",\"metadata\":{\"a\":\"1\\u003c\",\"b\":\"2\"}");
    char v[16];
    ASSERT_EQ(fgetxattr(fd, "user.e2b.old", v, sizeof(v)), -1);
    ASSERT_EQ(fgetxattr(fd, "user.other", v, sizeof(v)), 4);

    /* An empty set clears ours and reports nothing. */
    struct files_metadata none = {};
    buf_reset(&j);
    ASSERT_OK(files_metadata_apply(fd, &none, &j, &err));
    ASSERT_EQ(j.len, 0);
    ASSERT_EQ(fgetxattr(fd, "user.e2b.a", v, sizeof(v)), -1);
    buf_release(&j);
    close(fd);
    (void) rm_rf(tmpdir);
}

TEST(files_download_prepare_checks)
{
    make_tmpdir();
    struct user_record u = {.name = "user", .home = tmpdir};
    struct files_download_target t = {};
    struct files_error err = {};
    char msg[300];
    ASSERT_ERRNO(files_download_prepare(&u, "missing.txt", NULL, &t, &err), ENOENT);
    ASSERT_EQ(err.status, 404);
    snprintf(msg, sizeof(msg), "path '%s/missing.txt' does not exist", tmpdir);
    ASSERT_STREQ(err.message, msg);
    ASSERT_ERRNO(files_download_prepare(&u, "", NULL, &t, &err), EISDIR);
    ASSERT_EQ(err.status, 400);
    snprintf(msg, sizeof(msg), "path '%s' is a directory", tmpdir);
    ASSERT_STREQ(err.message, msg);
    ASSERT_ERRNO(files_download_prepare(&u, "~other/x", NULL, &t, &err), EINVAL);
    ASSERT_EQ(err.status, 400);

    char path[256];
    snprintf(path, sizeof(path), "%s/f.txt", tmpdir);
    ASSERT_OK(write_file_atomic(path, "data", 4, 0600));
    files_error_release(&err);
    ASSERT_OK(files_download_prepare(&u, "~/f.txt", NULL, &t, &err));
    ASSERT_EQ(err.status, 0);
    ASSERT_STREQ(t.resolved, path);
    ASSERT_OK(t.fd);
    ASSERT_EQ(t.st.st_size, 4);
    close(t.fd);
    free(t.resolved);
    (void) rm_rf(tmpdir);
}

TEST(metrics_parsers)
{
    struct cpu_sample a, b;
    ASSERT_OK(parse_proc_stat("cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1 2 3 4\n", &a));
    ASSERT_EQ(a.total, 1000);
    ASSERT_EQ(a.busy, 200);
    ASSERT_OK(parse_proc_stat("cpu  150 0 150 900 0 0 0 0 50 0\n", &b));
    ASSERT_TRUE(cpu_percent(&a, &b) > 49.99 && cpu_percent(&a, &b) < 50.01);
    ASSERT_ERRNO(parse_proc_stat("intr 1 2 3", &a), EBADMSG);

    struct mem_info m;
    ASSERT_OK(parse_meminfo("MemTotal:       16384 kB\nMemFree: 1 kB\nMemAvailable:    4096 kB\n"
                            "Buffers: 1 kB\nCached:          1024 kB\nSwapCached: 7 kB\n"
                            "SReclaimable:     512 kB\n",
                            &m));
    ASSERT_EQ(m.total, 16384 * 1024);
    ASSERT_EQ(m.used, 12288 * 1024);
    ASSERT_EQ(m.cache, 1536 * 1024);

    char p[32];
    format_pct(12.3, p);
    ASSERT_STREQ(p, "12.3");
    format_pct(0, p);
    ASSERT_STREQ(p, "0");
    format_pct(100, p);
    ASSERT_STREQ(p, "100");
    format_pct(0.456, p);
    ASSERT_STREQ(p, "0.46");

    struct mem_info mi = {.total = 2 << 20, .used = 1 << 20, .cache = 5};
    char *j = metrics_json(2, 1.5, &mi, 1000, 10, 1700000000);
    ASSERT_STREQ(j, "{\"ts\":1700000000,\"cpu_count\":2,\"cpu_used_pct\":1.5,\"mem_total_mib\":2,"
                    "\"mem_used_mib\":1,\"mem_total\":2097152,\"mem_used\":1048576,"
                    "\"mem_cache\":5,\"disk_used\":10,\"disk_total\":1000}\n");
    free(j);
    ASSERT_TRUE(cpu_count() >= 1);
}
