/* Uploads a local file into a new sandbox, reads it back, lists the directory and checks the
 * copy is byte-for-byte the same.
 *
 *   build/examples/upload-read /etc/os-release
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sbx/sbx.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s LOCAL_FILE\n", argv[0]);
        return 2;
    }
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        perror(argv[1]);
        return 1;
    }
    sbx_client *client = NULL;
    sbx_sandbox *sandbox = NULL;
    sbx_file_list *list = NULL;
    void *data = NULL;
    size_t len = 0;
    const char *step = "make a client";
    int r = sbx_client_new(NULL, NULL, &client);
    if (r >= 0 && (step = "create a sandbox"))
        r = sbx_sandbox_create(client, NULL, &sandbox);
    if (r >= 0 && (step = "upload"))
        r = sbx_files_write_from_fd(sandbox, "/home/user/upload/copy", NULL, fd);
    if (r >= 0 && (step = "read back"))
        r = sbx_files_read(sandbox, "/home/user/upload/copy", NULL, 0, &data, &len);
    if (r >= 0 && (step = "list"))
        r = sbx_files_list(sandbox, "/home/user/upload", NULL, 1, &list);
    if (r < 0) {
        fprintf(stderr, "cannot %s: %s (%s)\n", step, sbx_strerror(r),
                client ? sbx_client_errmsg(client) : "");
    } else {
        for (size_t i = 0; i < sbx_file_list_count(list); i++) {
            const sbx_file_info *f = sbx_file_list_at(list, i);
            printf("%s %8llu %s\n", sbx_file_info_permissions(f),
                   (unsigned long long) sbx_file_info_size(f), sbx_file_info_path(f));
        }
        /* Compare with the local file, read again from the start. */
        char buf[65536];
        size_t off = 0;
        ssize_t n;
        int same = lseek(fd, 0, SEEK_SET) == 0;
        while (same && (n = read(fd, buf, sizeof(buf))) > 0) {
            same = off + (size_t) n <= len && memcmp((char *) data + off, buf, (size_t) n) == 0;
            off += (size_t) n;
        }
        same = same && off == len;
        printf("%zu bytes, %s\n", len, same ? "identical" : "DIFFERENT");
        if (!same)
            r = -1;
    }
    sbx_free(data);
    sbx_file_list_free(list);
    if (sandbox)
        (void) sbx_sandbox_kill(client, sbx_sandbox_id(sandbox));
    sbx_sandbox_free(sandbox);
    sbx_client_free(client);
    close(fd);
    return r < 0 ? 1 : 0;
}
