/*
 * What the peer reads of a body with cJSON: the same fields as teamsop_fields.h,
 * each type-checked as the library checks them (a known field of the wrong type
 * is a parse error), the enums looked up without regard to case, both date-times
 * converted to Unix ms. Used by peer_loop.c and parse_bench.c. Returns 0 if the
 * body is the seed operation.
 */
#ifndef TEAMSOP_BENCH_CJSON_FIELDS_H
#define TEAMSOP_BENCH_CJSON_FIELDS_H

#include <cjson/cJSON.h>

#include "bench_common.h"

/* A string member: its text, NULL when absent or null; *bad set for another type. */
static inline const char *cjson_text(const cJSON *obj, const char *name, int *bad) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!item || cJSON_IsNull(item)) return NULL;
    if (!cJSON_IsString(item)) {
        *bad = 1;
        return NULL;
    }
    return item->valuestring;
}

static inline int cjson_read_fields(const char *body, size_t len) {
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (!root) return 1;
    int bad = !cJSON_IsObject(root);
    uint64_t sink = 0;
    sink += bench_touch(cjson_text(root, "@odata.context", &bad));
    sink += bench_touch(cjson_text(root, "id", &bad));
    const char *status_str = cjson_text(root, "status", &bad);
    int status = status_str ? bench_lookup(BENCH_STATUS_NAMES, 6, status_str) : 7;
    sink += bench_touch(status_str);
    const char *type_str = cjson_text(root, "operationType", &bad);
    int type = type_str ? bench_lookup(BENCH_TYPE_NAMES, 11, type_str) : 12;
    sink += bench_touch(type_str);
    const char *created_str = cjson_text(root, "createdDateTime", &bad);
    const char *last_str = cjson_text(root, "lastActionDateTime", &bad);
    sink += bench_touch(created_str) + bench_touch(last_str);
    int64_t created = created_str ? bench_iso8601_to_unix_ms(created_str) : INT64_MIN;
    int64_t last_action = last_str ? bench_iso8601_to_unix_ms(last_str) : INT64_MIN;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, "attemptsCount");
    int32_t attempts = -1;
    if (a && !cJSON_IsNull(a)) {
        if (!cJSON_IsNumber(a) || a->valuedouble != (double)(int32_t)a->valuedouble)
            bad = 1;
        else
            attempts = (int32_t)a->valuedouble;
    }
    sink += bench_touch(cjson_text(root, "targetResourceId", &bad));
    sink += bench_touch(cjson_text(root, "targetResourceLocation", &bad));
    sink += bench_touch(cjson_text(root, "values", &bad));
    const char *error_code = NULL, *error_message = NULL;
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (err && !cJSON_IsNull(err)) {
        if (!cJSON_IsObject(err)) {
            bad = 1;
        } else {
            error_code = cjson_text(err, "code", &bad);
            error_message = cjson_text(err, "message", &bad);
        }
    }
    sink += bench_touch(error_code) + bench_touch(error_message);
    bench_sink += sink;
    bad |= status != 3 /* succeeded */ || type != 8 /* createChat */ ||
           created != BENCH_CREATED_MS || last_action != BENCH_LAST_ACTION_MS || attempts != 1 ||
           error_code != NULL;
    cJSON_Delete(root);
    return bad;
}

#endif
