/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The real transport with only health, reflection and a stub ExternalScaler, for the python
 * interop test. Listens on 127.0.0.1:0 and prints the port. SIGUSR1 / SIGUSR2 flip health to
 * NOT_SERVING / SERVING; SIGTERM drains (Watch streams end with OK) and exits 0.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "grpc/grpc_server.h"
#include "services/health.h"
#include "services/reflection.h"

struct test_server {
    struct event_base *base;
    struct kd_grpc_server *grpc;
    struct kd_health *health;
};

/* IsActive stub: IsActiveResponse{result=false}, the 0-byte message. */
static void on_is_active(struct kd_grpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
    (void)msg;
    (void)len;
    (void)arg;
    if (kd_grpc_call_send(call, (const uint8_t *)"", 0) == 0)
        kd_grpc_call_finish(call, KD_GRPC_OK, NULL);
}

static void on_stub_close(struct kd_grpc_call *call, void *arg)
{
    (void)call;
    (void)arg;
}

static const struct kd_grpc_method scaler_methods[] = {
    {.path = "/externalscaler.ExternalScaler/IsActive",
     .kind = KD_GRPC_UNARY,
     .on_message = on_is_active,
     .on_close = on_stub_close},
};

static void on_drained(void *arg)
{
    struct test_server *ts = arg;
    event_base_loopexit(ts->base, NULL);
}

static void on_signal(evutil_socket_t sig, short events, void *arg)
{
    struct test_server *ts = arg;
    (void)events;
    if (sig == SIGUSR1 || sig == SIGUSR2) {
        kd_health_set_serving(ts->health, sig == SIGUSR2);
        return;
    }
    kd_health_set_serving(ts->health, false);
    kd_health_drain(ts->health);
    kd_grpc_server_drain(ts->grpc, 5000, on_drained, ts);
}

int main(void)
{
    static const char *const served[] = {"externalscaler.ExternalScaler", NULL};
    static const int signals[] = {SIGUSR1, SIGUSR2, SIGTERM};
    struct test_server ts = {0};
    struct kd_grpc_server_config cfg;
    struct kd_reflection *reflection = NULL;
    struct event *sig_ev[3] = {NULL};
    int rc = 1;

    signal(SIGPIPE, SIG_IGN);
    ts.base = event_base_new();
    if (!ts.base)
        return 1;
    kd_grpc_server_config_init(&cfg);
    if (kd_grpc_server_create(ts.base, &cfg, &ts.grpc) != 0)
        goto out;
    if (kd_grpc_server_register(ts.grpc, scaler_methods, 1) != 0 ||
        kd_health_create(ts.grpc, served, &ts.health) != 0 ||
        kd_reflection_create(ts.grpc, &reflection) != 0) {
        fprintf(stderr, "cannot register services\n");
        goto out;
    }
    for (int i = 0; i < 3; i++) {
        sig_ev[i] = evsignal_new(ts.base, signals[i], on_signal, &ts);
        if (!sig_ev[i] || evsignal_add(sig_ev[i], NULL) != 0)
            goto out;
    }
    int err = kd_grpc_server_listen(ts.grpc, "127.0.0.1:0");
    if (err != 0) {
        fprintf(stderr, "listen: %s\n", strerror(-err));
        goto out;
    }
    printf("%d\n", kd_grpc_server_port(ts.grpc));
    fflush(stdout);
    rc = event_base_dispatch(ts.base) == 0 ? 0 : 1;

out:
    for (int i = 0; i < 3; i++) {
        if (sig_ev[i])
            event_free(sig_ev[i]);
    }
    /* main.c's order: services first, then the server (open calls keep them alive). */
    kd_reflection_destroy(reflection);
    kd_health_destroy(ts.health);
    kd_grpc_server_destroy(ts.grpc);
    event_base_free(ts.base);
    return rc;
}
