/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes kd_external_scaler_parse: the first byte picks the method (and so ScaledObjectRef or
 * GetMetricsRequest), the rest is the packed message as a client sends it. Checks what the
 * callers rely on: a success has a checked workload and a metric name; a failure is
 * INVALID_ARGUMENT or RESOURCE_EXHAUSTED with a message and leaves the request untouched; and,
 * for inputs without a NUL byte (where protobuf-c's C strings are the wire strings), the
 * names are the ones protobuf-c itself unpacks: metadata "workload" else the ref's name, the
 * last duplicate key winning. Every input is also given to kd_pb_check against each request
 * descriptor and the messages of pb_check_test.proto, and its verdict must be
 * protobuf_c_message_unpack's (abort on any difference).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "externalscaler.pb-c.h"
#include "pb_check_test.pb-c.h"
#include "scaler/external_scaler.h"
#include "scaler/pb_check.h"
#include "scaler/ref_scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The last non-empty value of `key` in the ref's metadata, as upstream's Go map read. */
static const char *metadata(const Externalscaler__ScaledObjectRef *ref, const char *key)
{
    const char *found = NULL;

    for (size_t i = 0; i < ref->n_scalermetadata; i++) {
        const Externalscaler__ScaledObjectRef__ScalerMetadataEntry *e = ref->scalermetadata[i];
        if (e->key && strcmp(e->key, key) == 0)
            found = e->value && e->value[0] ? e->value : NULL;
    }
    return found;
}

/* Cross-check a successful parse against protobuf-c's own view of the same bytes. */
static void check_against_protobuf_c(enum kd_scaler_method method, const uint8_t *msg, size_t len,
                                     const struct kd_scaler_request *req)
{
    const Externalscaler__ScaledObjectRef *ref;
    const char *requested = NULL;
    ProtobufCMessage *m;

    if (method == KD_SCALER_GET_METRICS) {
        Externalscaler__GetMetricsRequest *r =
            externalscaler__get_metrics_request__unpack(NULL, len, msg);
        if (!r || !r->scaledobjectref)
            abort(); /* parse accepted what protobuf-c refuses */
        m = &r->base;
        ref = r->scaledobjectref;
        requested = r->metricname && r->metricname[0] ? r->metricname : NULL;
    } else {
        Externalscaler__ScaledObjectRef *r =
            externalscaler__scaled_object_ref__unpack(NULL, len, msg);
        if (!r)
            abort();
        m = &r->base;
        ref = r;
    }
    const char *workload = metadata(ref, "workload");
    if (!workload)
        workload = ref->name;
    if (!workload || strcmp(workload, req->workload) != 0)
        abort();
    const char *metric = requested ? requested : metadata(ref, "metricName");
    char computed[KD_WORKLOAD_NAME_MAX + 32];
    snprintf(computed, sizeof(computed), "kedastral-%s-desired-replicas", req->workload);
    if (strcmp(metric ? metric : computed, req->metric_name) != 0)
        abort();
    for (int k = 0; k < KD_OVERRIDE_COUNT; k++) {
        const char *v = metadata(ref, kd_override_names[k]);
        if (!v != !req->overrides.value[k] || (v && strcmp(v, req->overrides.value[k]) != 0))
            abort();
    }
    protobuf_c_message_free_unpacked(m, NULL);
}

static void check_success(const struct kd_scaler_request *req, enum kd_scaler_method method)
{
    size_t wl = strlen(req->workload);
    char why[128];

    if (req->method != method || wl == 0 || wl > KD_WORKLOAD_NAME_MAX || !req->metric_name[0])
        abort();
    if (kd_name_check((struct kd_slice){(const uint8_t *)req->workload, wl}, KD_WORKLOAD_NAME_MAX,
                      why, sizeof(why)))
        abort();
    if (req->override_error && !req->override_error[0])
        abort();
}

/* kd_pb_check accepts exactly what protobuf-c unpacks (nesting past its depth aside). */
static void check_verdicts(const uint8_t *msg, size_t len)
{
    static const ProtobufCMessageDescriptor *const descs[] = {
        &externalscaler__scaled_object_ref__descriptor,
        &externalscaler__get_metrics_request__descriptor,
        &externalscaler__scaled_object_ref__scaler_metadata_entry__descriptor,
        &kdtest__all_types__descriptor,
        &kdtest__with_required__descriptor,
    };

    for (size_t i = 0; i < sizeof(descs) / sizeof(descs[0]); i++) {
        int r = kd_pb_check(descs[i], msg, len);
        ProtobufCMessage *m = protobuf_c_message_unpack(descs[i], NULL, len, msg);
        if (r != -E2BIG && (r == 0) != (m != NULL)) {
            fprintf(stderr, "kd_pb_check(%s) = %d, protobuf-c %s\n", descs[i]->name, r,
                    m ? "accepts" : "refuses");
            abort();
        }
        protobuf_c_message_free_unpacked(m, NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum kd_scaler_method method = (enum kd_scaler_method)(data[0] % 4);
    const uint8_t *msg = data + 1;
    size_t len = size - 1;
    struct kd_scaler_request req = {0};
    struct kd_scaler_reply reply;

    check_verdicts(msg, len);
    kd_external_scaler_reply_init(&reply);
    int r = kd_external_scaler_parse(method, msg, len, &req, &reply);
    if (r == 0) {
        check_success(&req, method);
        if (!memchr(msg, 0, len))
            check_against_protobuf_c(method, msg, len, &req);
        kd_external_scaler_request_fini(&req);
    } else {
        enum kd_grpc_status want =
            r == -EINVAL ? KD_GRPC_INVALID_ARGUMENT : KD_GRPC_RESOURCE_EXHAUSTED;
        if ((r != -EINVAL && r != -ENOMEM) || reply.status != want || !reply.message[0] ||
            !memchr(reply.message, '\0', sizeof(reply.message)) || req.workload)
            abort();
    }
    kd_external_scaler_reply_fini(&reply);
    return 0;
}
