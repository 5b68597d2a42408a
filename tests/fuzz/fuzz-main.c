/* Standalone main() for fuzz targets: replays every file named on the command line (or every
 * file in a directory named there) through LLVMFuzzerTestOneInput, printing TAP. Used by
 * `make test` under gcc with sanitizers; `make fuzz` links the same targets with libFuzzer.
 * Each file runs in its own child process, so that one crashing input (say a crash-* file
 * whose bug is not fixed yet) is reported as "not ok" without hiding the files after it. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned n_tests;

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rbe");
    if (!f) {
        printf("not ok %u - %s # cannot open\n", ++n_tests, path);
        return 1;
    }
    size_t cap = 1 << 16, len = 0;
    uint8_t *data = malloc(cap);
    size_t n;
    while (data && (n = fread(data + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap)
            data = realloc(data, cap *= 2);
    }
    fclose(f);
    if (!data)
        return 1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        /* Copy into an exact-size buffer so ASan catches reads past the end. */
        uint8_t *exact = malloc(len ? len : 1);
        memcpy(exact, data, len);
        free(data);
        (void) LLVMFuzzerTestOneInput(exact, len);
        free(exact);
        exit(0); /* not _exit: leak checkers run at exit */
    }
    free(data);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0) {
        printf("not ok %u - %s # cannot fork\n", ++n_tests, path);
        return 1;
    }
    if (WIFSIGNALED(status) || WEXITSTATUS(status) != 0) {
        printf("not ok %u - %s # %s %d\n", ++n_tests, path,
               WIFSIGNALED(status) ? "killed by signal" : "exit status",
               WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        fflush(stdout);
        return 1;
    }
    printf("ok %u - %s\n", ++n_tests, path);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    int failed = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            struct dirent **list;
            int n = scandir(argv[i], &list, NULL, alphasort);
            for (int j = 0; j < n; j++) {
                if (list[j]->d_name[0] != '.') {
                    char path[4096];
                    snprintf(path, sizeof(path), "%s/%s", argv[i], list[j]->d_name);
                    failed |= replay_file(path);
                }
                free(list[j]);
            }
            free(list);
        } else {
            failed |= replay_file(argv[i]);
        }
    }
    if (n_tests == 0) {
        printf("not ok 1 - no corpus files given\n");
        return 1;
    }
    printf("1..%u\n", n_tests);
    return failed;
}
