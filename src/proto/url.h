/* Request-target helpers: split path and query, percent-decode, look up query parameters,
 * split a path into segments, and decode the SDKs' double-encoded `metadata` filter.
 * Pure functions over (ptr, len); fuzzed by tests/fuzz/fuzz-url.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/slice.h"

#define URL_MAX 8192
#define URL_SEGMENTS_MAX 16

/* Splits a request target ("/a/b?x=1") into path and query (without '?'; empty if none).
 * Absolute-form targets ("http://host/a") are reduced to their path. */
void url_split(struct slice url, struct slice *ret_path, struct slice *ret_query);

/* Percent-decodes in into out (NUL-terminated). plus_as_space decodes '+' as ' ' (form
 * encoding). Returns the decoded length, -EBADMSG for a malformed escape or an encoded NUL,
 * -EMSGSIZE if out is too small. */
int url_decode(struct slice in, bool plus_as_space, char *out, size_t out_size);

/* Finds the first query parameter named name and decodes its value into out (form decoding).
 * Returns 1 if found, 0 if absent, or a url_decode() error. A parameter without '=' has an
 * empty value. */
int url_query_get(struct slice query, const char *name, char *out, size_t out_size);

/* Splits "/a/b/c" into raw (still encoded) segments; an empty path or "/" gives 0 segments.
 * Empty segments ("//") are kept as empty. Returns the count or -EMSGSIZE if more than max. */
int url_path_segments(struct slice path, struct slice *segs, size_t max);

/* Decodes the value of the `metadata` list filter (already query-decoded once): unescape the
 * whole string again, split on '&', each item must be exactly "key=value" with a non-empty
 * key, then unescape key and value. Keys and values are written NUL-terminated into storage
 * (of storage_size bytes) and pointed to from keys/values (max pairs). Returns the number of
 * pairs, -EBADMSG for a malformed filter, -EMSGSIZE when limits are exceeded. */
int url_metadata_filter_parse(const char *param, char *storage, size_t storage_size,
                              const char **keys, const char **values, size_t max);
