/*
 * What the teamsop side reads of an operation: every field the C ABI models, the
 * enums and both times in Unix ms included. Used by teamsop_loop.c and
 * parse_bench.c. Returns 0 if the values are the seed operation's.
 */
#ifndef TEAMSOP_BENCH_TEAMSOP_FIELDS_H
#define TEAMSOP_BENCH_TEAMSOP_FIELDS_H

#include "teamsop.h"

#include "bench_common.h"

static inline int teamsop_read_fields(const teamsop_operation *op) {
    uint64_t sink = 0;
    sink += bench_touch(teamsop_operation_odata_context(op));
    sink += bench_touch(teamsop_operation_id(op));
    teamsop_status status = teamsop_operation_status(op);
    sink += bench_touch(teamsop_operation_status_str(op));
    teamsop_type type = teamsop_operation_type(op);
    sink += bench_touch(teamsop_operation_type_str(op));
    sink += bench_touch(teamsop_operation_created_date_time(op));
    sink += bench_touch(teamsop_operation_last_action_date_time(op));
    int64_t created = teamsop_operation_created_unix_ms(op);
    int64_t last_action = teamsop_operation_last_action_unix_ms(op);
    int32_t attempts = teamsop_operation_attempts_count(op);
    sink += bench_touch(teamsop_operation_target_resource_id(op));
    sink += bench_touch(teamsop_operation_target_resource_location(op));
    sink += bench_touch(teamsop_operation_values(op));
    const char *error_code = teamsop_operation_error_code(op);
    sink += bench_touch(error_code);
    sink += bench_touch(teamsop_operation_error_message(op));
    bench_sink += sink;
    return status != TEAMSOP_STATUS_SUCCEEDED || type != TEAMSOP_TYPE_CREATE_CHAT ||
           created != BENCH_CREATED_MS || last_action != BENCH_LAST_ACTION_MS || attempts != 1 ||
           error_code != NULL;
}

#endif
