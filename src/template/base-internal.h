/* Internals of the base image shared by base.c, base-inputs.c and the unit tests: the host
 * inputs of a build (extra CA certificates, apt sources) with configurable locations. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "template/layer.h"

struct errbuf;

/* Where the host inputs are read from; NULL members mean the defaults below. */
struct template_base_config {
    const char *ca_dir;  /* extra CA certificates, searched recursively for *.crt */
    const char *apt_dir; /* the host's apt configuration: sources.list, sources.list.d/ */
};

#define BASE_DEFAULT_CA_DIR "/usr/local/share/ca-certificates"
#define BASE_DEFAULT_APT_DIR "/etc/apt"

/* Limits on the CA certificates read from the host (they go into every image and the key). */
#define BASE_CA_MAX_FILES 256
#define BASE_CA_MAX_FILE_SIZE (1024u * 1024)
#define BASE_CA_MAX_TOTAL_SIZE (8u * 1024 * 1024)
#define BASE_CA_MAX_DEPTH 8

/* Host apt sources files are read up to this size. */
#define BASE_SOURCES_MAX_SIZE (1024u * 1024)

/* Only sources signed by these keyrings (or not naming any, relying on apt's trusted.gpg.d)
 * are copied into the image: the image has the keyrings of the debian-archive-keyring
 * package, which apt depends on, and no other, so apt inside a sandbox could not verify
 * anything else (and third-party repositories of the host, e.g. a newer nodejs, would change
 * what the image contains). */
#define BASE_DEBIAN_KEYRING_PREFIX "/usr/share/keyrings/debian-archive-"

struct base_ca_file {
    char *relpath; /* relative to the CA directory, e.g. "corp/proxy.crt" */
    char *data;
    size_t len;
};

/* The extra CA certificates, sorted by relpath (byte order). */
struct base_ca_list {
    struct base_ca_file *files;
    size_t n;
};

void base_ca_list_release(struct base_ca_list *l);

/* Reads every regular file (symlinks followed, as update-ca-certificates does) named *.crt
 * below ca_dir into *ret, sorted. A missing ca_dir is an empty list. Returns 0, -EMSGSIZE if
 * a limit above is exceeded, -ELOOP if nested deeper than BASE_CA_MAX_DEPTH, or the errno of a
 * failed read. *ret is set only on success. */
int base_ca_collect(const char *ca_dir, struct base_ca_list *ret);

/* Writes the files of l below the existing directory dir, with their relative paths,
 * directories 0755 and files 0644. Returns 0 or a negative errno. */
int base_ca_stage(const struct base_ca_list *l, const char *dir);

/* Computes the layer name for the given CA list (and the compiled-in recipe). */
int base_layer_name_for(const struct base_ca_list *cas, char ret[LAYER_NAME_LEN + 1]);

/* True if the apt sources text (deb822 if deb822 is true, else one-line format) only names
 * keyrings starting with BASE_DEBIAN_KEYRING_PREFIX in its Signed-By fields/options, or none. */
bool base_sources_signed_by_debian(const char *content, bool deb822);

/* Sets *ret_paths to a new NULL-terminated, sorted array of the host's apt sources files to
 * use (apt_dir/sources.list, then apt_dir/sources.list.d/ *.list and *.sources, each readable
 * and accepted by base_sources_signed_by_debian()); free with base_strv_free(). Files skipped
 * are reported on progress_fd (if >= 0). An empty array means "none usable": mmdebstrap then
 * uses Debian's default mirror for the suite. Returns 0 or a negative errno. */
int base_sources_select(const char *apt_dir, int progress_fd, char ***ret_paths);

char **base_strv_free(char **v);

/* Writes "base: " + text + "\n" to fd (if >= 0), best effort. */
void base_progress(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* template_base_layer_name() and template_base_build() with explicit host inputs. */
int template_base_layer_name_with(const struct template_base_config *cfg,
                                  char ret[LAYER_NAME_LEN + 1]);
int template_base_build_with(const struct template_base_config *cfg, const char *layers_dir,
                             int progress_fd, struct errbuf *reterr);
