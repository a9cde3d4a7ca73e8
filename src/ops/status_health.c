/* SPDX-License-Identifier: Apache-2.0 */
/* Verbose health text (see status_health.h). */
#include "ops/status_health.h"

#include "ops/status_format.h"

#define SOURCES_DOWN "every source is failing with nothing cached"

bool kd_status_health_passes(const struct kd_status_health *h, const struct kd_status_snapshot *s)
{
    if (h->probe == KD_STATUS_HEALTHZ)
        return h->live;
    return h->ready && !(h->requires_sources && kd_status_sources_down(s));
}

/* Error texts are one line by construction, but a plugin's words are not ours: keep the
 * format line-oriented whatever they hold. */
static void one_line(FILE *out, const char *s)
{
    for (; *s; s++)
        fputc(*s == '\n' || *s == '\r' ? ' ' : *s, out);
}

static void source_line(FILE *out, const struct kd_status_source *src)
{
    char since[KD_STATUS_TIME_LEN];

    if (!src->failing) {
        fputs("[+]source ", out);
        one_line(out, src->name);
        fputs(" ok\n", out);
        return;
    }
    kd_status_format_time(src->failing_since_ms, since);
    fputs("[-]source ", out);
    one_line(out, src->name);
    fprintf(out, " failing since %s: ", since);
    one_line(out, src->last_error && *src->last_error ? src->last_error : "fetch failed");
    fprintf(out, " (%zu of %zu workloads cached)\n", src->cached, src->workloads);
}

bool kd_status_health_render(const struct kd_status_health *h, const struct kd_status_snapshot *s,
                             FILE *out)
{
    bool pass = kd_status_health_passes(h, s);
    bool readyz = h->probe == KD_STATUS_READYZ;

    /* The loop answered this request, so it runs: the Kubernetes "ping" check. */
    fputs("[+]ping ok\n", out);
    if (readyz ? h->ready : h->live)
        fputs("[+]grpc ok\n", out);
    else
        fprintf(out, "[-]grpc failed: %s\n", h->live ? "not ready" : "draining");
    for (size_t i = 0; i < s->n_sources; i++)
        source_line(out, &s->sources[i]);
    if (readyz && h->requires_sources) {
        if (kd_status_sources_down(s))
            fputs("[-]sources failed: " SOURCES_DOWN "\n", out);
        else
            fputs("[+]sources ok\n", out);
    }
    fprintf(out, "%s check %s\n", readyz ? "readyz" : "healthz", pass ? "passed" : "failed");
    return pass;
}
