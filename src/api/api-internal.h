/* Parts of src/api shared with its tests and fuzz targets only. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Largest JSON nesting accepted in a request body. */
#define API_JSON_DEPTH_MAX 32

/* True if j nests more than max levels of objects/arrays below it (a scalar is 0 levels, "{}"
 * is 1). Stops as soon as it knows, so recursion is bounded by max. */
bool api_json_deeper_than(const json_t *j, size_t max);
