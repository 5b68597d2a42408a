/* Tests for src/template: the layer store (names, atomic visibility, locks, stale build
 * cleanup) and the host inputs of the base image (layer name vs. CA certificates, apt source
 * selection). Building the base image itself is covered by
 * tests/integration/test-base-image.sh. */
#include "test.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "common/alloc.h"
#include "common/errbuf.h"
#include "common/fileio.h"
#include "template/base-internal.h"
#include "template/base.h"
#include "template/layer.h"

/* The two strings differ (both non-NULL). */
#define ASSERT_STRNE(a, b)                                                  \
    do {                                                                    \
        const char *_a = (a), *_b = (b);                                    \
        if (!_a || !_b || strcmp(_a, _b) == 0)                              \
            TEST_FAIL("%s != %s: both \"%s\"", #a, #b, _a ? _a : "(null)"); \
    } while (0)

#define NAME_A "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define NAME_B "0000000000000000000000000000000000000000000000000000000000000001"

/* A fresh temporary directory; removed by the caller with rm_rf(). */
static char *tmpdir_new(void)
{
    const char *base = getenv("TMPDIR");
    char *p = xasprintf("%s/sbx-test-template.XXXXXX", base && *base ? base : "/tmp");
    ASSERT_NOT_NULL(mkdtemp(p));
    return p;
}

static void write_text(const char *dir, const char *rel, const char *text)
{
    char *p = xasprintf("%s/%s", dir, rel);
    char *slash = strrchr(p, '/');
    *slash = 0;
    ASSERT_OK(mkdir_p(p, 0755));
    *slash = '/';
    ASSERT_OK(write_file_atomic(p, text, strlen(text), 0644));
    free(p);
}

static bool path_exists(const char *dir, const char *rel)
{
    char *p = xasprintf("%s/%s", dir, rel);
    struct stat st;
    bool r = lstat(p, &st) == 0;
    free(p);
    return r;
}

/* Number of directory entries starting with prefix. */
static int count_prefixed(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    ASSERT_NOT_NULL(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
            n++;
    closedir(d);
    return n;
}

TEST(layer_name_validity)
{
    ASSERT_TRUE(layer_name_is_valid(NAME_A));
    ASSERT_FALSE(layer_name_is_valid(NULL));
    ASSERT_FALSE(layer_name_is_valid(""));
    ASSERT_FALSE(layer_name_is_valid("abc"));
    ASSERT_FALSE(layer_name_is_valid(NAME_A "0"));
    ASSERT_FALSE(
        layer_name_is_valid("BA7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    ASSERT_FALSE(
        layer_name_is_valid("../816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));

    char *p = NULL;
    ASSERT_ERRNO(layer_path("/x", "../etc", &p), EINVAL);
    ASSERT_ERRNO(layer_meta_path("/x", "", &p), EINVAL);
    ASSERT_NULL(p);
    ASSERT_OK(layer_path("/x", NAME_A, &p));
    ASSERT_STREQ(p, "/x/" NAME_A);
    free(p);
    ASSERT_OK(layer_meta_path("/x", NAME_A, &p));
    ASSERT_STREQ(p, "/x/" NAME_A ".json");
    free(p);
}

TEST(layer_name_is_sha256)
{
    char name[LAYER_NAME_LEN + 1];
    ASSERT_OK(layer_name_from_data("abc", 3, name));
    ASSERT_STREQ(name, NAME_A);
    ASSERT_OK(layer_name_from_data("", 0, name));
    ASSERT_STREQ(name, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(layer_becomes_visible_only_on_commit)
{
    char *dir = tmpdir_new();
    char *layers = xasprintf("%s/layers", dir);
    ASSERT_EQ(layer_exists(layers, NAME_A), 0); /* layers dir missing: not an error */

    char *tmp = NULL;
    ASSERT_OK(layer_tmp_new(layers, NAME_A, &tmp));
    struct stat st;
    ASSERT_OK(stat(layers, &st));
    ASSERT_EQ(st.st_mode & 07777, 0700);
    ASSERT_OK(stat(tmp, &st));
    ASSERT_EQ(st.st_mode & 07777, 0755);
    write_text(tmp, "usr/bin/hello", "#!/bin/sh\necho hi\n");
    ASSERT_EQ(layer_exists(layers, NAME_A), 0);
    ASSERT_EQ(count_prefixed(layers, LAYER_TMP_PREFIX NAME_A "-"), 1);

    ASSERT_OK(layer_commit(layers, NAME_A, tmp));
    ASSERT_EQ(layer_exists(layers, NAME_A), 1);
    ASSERT_FALSE(path_exists(tmp, ""));
    ASSERT_EQ(count_prefixed(layers, LAYER_TMP_PREFIX), 0);
    char *final = xasprintf("%s/%s", layers, NAME_A);
    ASSERT_TRUE(path_exists(final, "usr/bin/hello"));

    /* A second build of the same layer never replaces the first. */
    char *tmp2 = NULL;
    ASSERT_OK(layer_tmp_new(layers, NAME_A, &tmp2));
    ASSERT_STRNE(tmp, tmp2);
    write_text(tmp2, "other", "x");
    ASSERT_ERRNO(layer_commit(layers, NAME_A, tmp2), EEXIST);
    ASSERT_TRUE(path_exists(tmp2, "other"));
    ASSERT_FALSE(path_exists(final, "other"));
    ASSERT_OK(layer_tmp_remove(tmp2));
    ASSERT_FALSE(path_exists(tmp2, ""));

    /* Only real directories count as layers. */
    write_text(layers, NAME_B, "not a directory");
    ASSERT_ERRNO(layer_exists(layers, NAME_B), ENOTDIR);
    ASSERT_ERRNO(layer_exists(layers, "nope"), EINVAL);

    ASSERT_OK(rm_rf(dir));
    free(final);
    free(tmp2);
    free(tmp);
    free(layers);
    free(dir);
}

TEST(layer_lock_is_exclusive)
{
    char *dir = tmpdir_new();
    int fd = layer_lock(dir, NAME_A, /* wait= */ false);
    ASSERT_OK(fd);
    ASSERT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    ASSERT_ERRNO(layer_lock(dir, NAME_A, /* wait= */ false), EWOULDBLOCK);
    int other = layer_lock(dir, NAME_B, /* wait= */ false);
    ASSERT_OK(other);
    close(fd);
    fd = layer_lock(dir, NAME_A, /* wait= */ false);
    ASSERT_OK(fd);
    close(fd);
    close(other);
    ASSERT_ERRNO(layer_lock(dir, "bad", /* wait= */ false), EINVAL);
    ASSERT_OK(rm_rf(dir));
    free(dir);
}

TEST(layer_cleanup_removes_stale_builds_only)
{
    char *dir = tmpdir_new();
    ASSERT_EQ(layer_cleanup_tmp(dir), 0);
    char *missing = xasprintf("%s/missing", dir);
    ASSERT_EQ(layer_cleanup_tmp(missing), 0);

    /* A complete layer, a crashed build of it, a crashed build of another layer that is being
     * rebuilt right now (locked), and junk with the prefix. */
    char *tmp = NULL;
    ASSERT_OK(layer_tmp_new(dir, NAME_A, &tmp));
    write_text(tmp, "etc/os-release", "x");
    ASSERT_OK(layer_commit(dir, NAME_A, tmp));
    free(tmp);
    ASSERT_OK(layer_tmp_new(dir, NAME_A, &tmp));
    write_text(tmp, "deep/er/file", "x");
    char *link = xasprintf("%s/deep/link", tmp);
    ASSERT_OK(symlink("/etc/passwd", link));
    free(link);
    char *busy = NULL;
    ASSERT_OK(layer_tmp_new(dir, NAME_B, &busy));
    write_text(dir, LAYER_TMP_PREFIX "junk/x", "x");
    write_text(dir, LAYER_TMP_PREFIX "file", "x");

    int lock = layer_lock(dir, NAME_B, /* wait= */ false);
    ASSERT_OK(lock);
    ASSERT_EQ(layer_cleanup_tmp(dir), 3);
    ASSERT_FALSE(path_exists(tmp, ""));
    ASSERT_TRUE(path_exists(busy, ""));
    ASSERT_EQ(layer_exists(dir, NAME_A), 1);
    ASSERT_TRUE(path_exists(dir, NAME_A "/etc/os-release"));
    ASSERT_OK(access("/etc/passwd", F_OK));

    /* Once the build is gone (its lock released), its directory is stale too. */
    close(lock);
    ASSERT_EQ(layer_cleanup_tmp(dir), 1);
    ASSERT_FALSE(path_exists(busy, ""));
    ASSERT_EQ(count_prefixed(dir, LAYER_TMP_PREFIX), 0);

    ASSERT_OK(rm_rf(dir));
    free(busy);
    free(tmp);
    free(missing);
    free(dir);
}

TEST(layer_cleanup_detaches_leftover_mounts)
{
    if (geteuid() != 0)
        SKIP("needs root to mount");
    /* Private mount namespace: whatever happens, nothing leaks to the host. */
    if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
        SKIP("cannot create a mount namespace");
    char *dir = tmpdir_new();
    char *tmp = NULL;
    ASSERT_OK(layer_tmp_new(dir, NAME_A, &tmp));
    char *proc = xasprintf("%s/proc", tmp), *sub = xasprintf("%s/proc/sub", tmp);
    ASSERT_OK(mkdir_p(proc, 0755));
    if (mount("tmpfs", proc, "tmpfs", 0, "size=1m") < 0)
        SKIP("cannot mount tmpfs");
    ASSERT_OK(mkdir_p(sub, 0755));
    ASSERT_OK(mount("tmpfs", sub, "tmpfs", 0, "size=1m"));
    write_text(sub, "f", "x");
    /* rm_rf alone stops at the mount point. */
    ASSERT_ERRNO(rm_rf(tmp), EBUSY);
    ASSERT_EQ(layer_cleanup_tmp(dir), 1);
    ASSERT_FALSE(path_exists(tmp, ""));
    ASSERT_OK(rm_rf(dir));
    free(sub);
    free(proc);
    free(tmp);
    free(dir);
}

/* --- base image inputs --------------------------------------------------------------------- */

TEST(base_name_depends_on_ca_contents)
{
    char *dir = tmpdir_new();
    char *ca = xasprintf("%s/ca", dir);
    struct template_base_config cfg = {.ca_dir = ca};
    char missing[65], empty[65], one[65], again[65], changed[65], sub[65], noise[65];

    ASSERT_OK(template_base_layer_name_with(&cfg, missing));
    ASSERT_TRUE(layer_name_is_valid(missing));
    ASSERT_OK(mkdir_p(ca, 0755));
    ASSERT_OK(template_base_layer_name_with(&cfg, empty));
    ASSERT_STREQ(missing, empty);

    write_text(ca, "proxy.crt", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    ASSERT_OK(template_base_layer_name_with(&cfg, one));
    ASSERT_OK(template_base_layer_name_with(&cfg, again));
    ASSERT_STREQ(one, again);
    ASSERT_STRNE(one, empty);

    write_text(ca, "proxy.crt", "-----BEGIN CERTIFICATE-----\nAAAB\n-----END CERTIFICATE-----\n");
    ASSERT_OK(template_base_layer_name_with(&cfg, changed));
    ASSERT_STRNE(changed, one);

    /* Found recursively, like update-ca-certificates does; other files do not matter. */
    write_text(ca, "corp/inner.crt", "x");
    ASSERT_OK(template_base_layer_name_with(&cfg, sub));
    ASSERT_STRNE(sub, changed);
    write_text(ca, "README", "x");
    write_text(ca, "corp/inner.pem", "x");
    ASSERT_OK(template_base_layer_name_with(&cfg, noise));
    ASSERT_STREQ(noise, sub);

    /* The path is part of the key, not only the bytes. */
    char *from = xasprintf("%s/corp/inner.crt", ca), *to = xasprintf("%s/corp/renamed.crt", ca);
    ASSERT_OK(rename(from, to));
    ASSERT_OK(template_base_layer_name_with(&cfg, noise));
    ASSERT_STRNE(noise, sub);

    ASSERT_OK(rm_rf(dir));
    free(to);
    free(from);
    free(ca);
    free(dir);
}

TEST(base_ca_collect_sorts_follows_links_and_limits)
{
    char *dir = tmpdir_new();
    write_text(dir, "b.crt", "B");
    write_text(dir, "a/z.crt", "Z");
    write_text(dir, "target.pem", "T");
    char *l1 = xasprintf("%s/link.crt", dir), *l2 = xasprintf("%s/dangling.crt", dir);
    ASSERT_OK(symlink("target.pem", l1));
    ASSERT_OK(symlink("nowhere", l2));
    struct base_ca_list l;
    ASSERT_OK(base_ca_collect(dir, &l));
    ASSERT_EQ(l.n, 3);
    ASSERT_STREQ(l.files[0].relpath, "a/z.crt");
    ASSERT_STREQ(l.files[1].relpath, "b.crt");
    ASSERT_STREQ(l.files[2].relpath, "link.crt");
    ASSERT_EQ(l.files[2].len, 1);
    ASSERT_TRUE(memcmp(l.files[2].data, "T", 1) == 0);

    /* Staged with the same relative paths. */
    char *stage = xasprintf("%s/stage", dir);
    ASSERT_OK(mkdir_p(stage, 0755));
    ASSERT_OK(base_ca_stage(&l, stage));
    ASSERT_TRUE(path_exists(stage, "a/z.crt"));
    ASSERT_TRUE(path_exists(stage, "link.crt"));
    base_ca_list_release(&l);

    /* A file over the size limit is refused, not truncated. */
    size_t big = BASE_CA_MAX_FILE_SIZE + 1;
    char *data = xmalloc(big + 1);
    memset(data, 'A', big);
    data[big] = 0;
    write_text(dir, "huge.crt", data);
    ASSERT_ERRNO(base_ca_collect(dir, &l), EMSGSIZE);

    ASSERT_OK(rm_rf(dir));
    free(data);
    free(stage);
    free(l2);
    free(l1);
    free(dir);
}

TEST(base_sources_signed_by_rules)
{
    ASSERT_TRUE(
        base_sources_signed_by_debian("Types: deb\nURIs: http://mirror/debian\n"
                                      "Suites: bookworm\nComponents: main\n"
                                      "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n",
                                      true));
    ASSERT_TRUE(
        base_sources_signed_by_debian("Types: deb\nURIs: http://m/d\nSuites: bookworm\n", true));
    ASSERT_TRUE(base_sources_signed_by_debian(
        "signed-by: /usr/share/keyrings/debian-archive-bookworm-stable.gpg\n", true));
    ASSERT_FALSE(base_sources_signed_by_debian(
        "Types: deb\nSigned-By: /usr/share/keyrings/vendor.gpg\n", true));
    ASSERT_FALSE(base_sources_signed_by_debian(
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg /etc/x.gpg\n", true));
    ASSERT_FALSE(base_sources_signed_by_debian(
        "Signed-By: /usr/share/keyrings/debian-archive-../../x.gpg\n", true));
    /* An embedded key: value on continuation lines. */
    ASSERT_FALSE(base_sources_signed_by_debian(
        "Types: deb\nSigned-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n", true));

    ASSERT_TRUE(base_sources_signed_by_debian("deb http://m/debian bookworm main\n", false));
    ASSERT_TRUE(base_sources_signed_by_debian(
        "deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://m/debian "
        "bookworm main\n",
        false));
    ASSERT_FALSE(base_sources_signed_by_debian(
        "deb [signed-by=/usr/share/keyrings/vendor.gpg] https://v/apt stable main\n", false));
    ASSERT_FALSE(
        base_sources_signed_by_debian("deb http://m/debian bookworm main\n  deb [ arch=amd64  "
                                      "Signed-By=/etc/apt/keyrings/v.asc ] https://v/ x y\n",
                                      false));
    ASSERT_TRUE(base_sources_signed_by_debian(
        "# deb [signed-by=/etc/apt/keyrings/v.asc] https://v/ x y\n", false));
}

TEST(base_sources_select_host_files)
{
    char *dir = tmpdir_new();
    char **v = NULL;
    ASSERT_OK(base_sources_select(dir, -1, &v));
    ASSERT_NULL(v[0]);
    v = base_strv_free(v);

    write_text(dir, "sources.list", "deb http://m/debian bookworm main\n");
    write_text(dir, "sources.list.d/zz.sources",
               "Types: deb\nURIs: http://m/debian\nSuites: bookworm\nComponents: main\n"
               "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n");
    write_text(dir, "sources.list.d/aa.sources", "Types: deb\nURIs: http://m/debian-security\n");
    write_text(dir, "sources.list.d/vendor.list",
               "deb [signed-by=/usr/share/keyrings/vendor.gpg] https://v/apt stable main\n");
    write_text(dir, "sources.list.d/old.list.disabled", "deb http://m/debian bookworm main\n");

    int p[2];
    ASSERT_OK(pipe(p));
    ASSERT_OK(base_sources_select(dir, p[1], &v));
    close(p[1]);
    char msg[512] = {0};
    ASSERT_GE(read(p[0], msg, sizeof(msg) - 1), 1);
    close(p[0]);
    ASSERT_TRUE(strstr(msg, "vendor.list") != NULL);
    ASSERT_TRUE(strncmp(msg, "base: ", 6) == 0);

    char *e0 = xasprintf("%s/sources.list", dir);
    char *e1 = xasprintf("%s/sources.list.d/aa.sources", dir);
    char *e2 = xasprintf("%s/sources.list.d/zz.sources", dir);
    ASSERT_STREQ(v[0], e0);
    ASSERT_STREQ(v[1], e1);
    ASSERT_STREQ(v[2], e2);
    ASSERT_NULL(v[3]);
    base_strv_free(v);
    ASSERT_OK(rm_rf(dir));
    free(e2);
    free(e1);
    free(e0);
    free(dir);
}

TEST(base_build_returns_at_once_when_cached)
{
    char *dir = tmpdir_new();
    char *ca = xasprintf("%s/ca", dir), *layers = xasprintf("%s/layers", dir);
    write_text(ca, "x.crt", "X");
    struct template_base_config cfg = {.ca_dir = ca, .apt_dir = dir};
    char name[65];
    ASSERT_OK(template_base_layer_name_with(&cfg, name));
    char *tmp = NULL;
    ASSERT_OK(layer_tmp_new(layers, name, &tmp));
    ASSERT_OK(layer_commit(layers, name, tmp));

    /* No mmdebstrap run, no root needed: the layer is there. */
    struct errbuf err = {{0}};
    ASSERT_OK(template_base_build_with(&cfg, layers, -1, &err));
    ASSERT_EQ(count_prefixed(layers, LAYER_TMP_PREFIX), 0);

    /* Something that is not a layer in the way is an error, with a message. */
    write_text(ca, "y.crt", "Y");
    ASSERT_OK(template_base_layer_name_with(&cfg, name));
    write_text(layers, name, "not a directory");
    ASSERT_ERRNO(template_base_build_with(&cfg, layers, -1, &err), ENOTDIR);
    ASSERT_TRUE(strstr(err.msg, name) != NULL);

    ASSERT_OK(rm_rf(dir));
    free(tmp);
    free(layers);
    free(ca);
    free(dir);
}

TEST(base_build_failure_leaves_nothing)
{
    if (geteuid() != 0)
        SKIP("needs root to run mmdebstrap");
    if (access("/usr/bin/mmdebstrap", X_OK) != 0)
        SKIP("mmdebstrap not installed");
    /* An apt source that cannot work: mmdebstrap fails at its first apt-get update. */
    char *dir = tmpdir_new();
    char *apt = xasprintf("%s/apt", dir), *layers = xasprintf("%s/layers", dir);
    char *ca = xasprintf("%s/ca", dir);
    write_text(apt, "sources.list", "deb file:///nonexistent/sbx-test bookworm main\n");
    write_text(ca, "x.crt", "X");
    struct template_base_config cfg = {.ca_dir = ca, .apt_dir = apt};
    int p[2];
    ASSERT_OK(pipe2(p, O_CLOEXEC));
    ASSERT_OK(fcntl(p[0], F_SETFL, O_NONBLOCK));
    ASSERT_OK(fcntl(p[1], F_SETPIPE_SZ, 1024 * 1024));
    struct errbuf err = {{0}};
    ASSERT_ERRNO(template_base_build_with(&cfg, layers, p[1], &err), EPROTO);
    close(p[1]);
    printf("# %s\n", err.msg);
    ASSERT_TRUE(strstr(err.msg, "mmdebstrap failed with exit status") != NULL);
    ASSERT_TRUE(strstr(err.msg, "E: ") != NULL);
    char out[256] = {0};
    ASSERT_GE(read(p[0], out, sizeof(out) - 1), 6);
    ASSERT_TRUE(strncmp(out, "base: ", 6) == 0);
    close(p[0]);

    char name[65];
    ASSERT_OK(template_base_layer_name_with(&cfg, name));
    ASSERT_EQ(layer_exists(layers, name), 0);
    ASSERT_EQ(count_prefixed(layers, LAYER_TMP_PREFIX), 0);
    ASSERT_TRUE(path_exists(layers, ""));

    ASSERT_OK(rm_rf(dir));
    free(ca);
    free(layers);
    free(apt);
    free(dir);
}
