/* SPDX-License-Identifier: Apache-2.0 */
/* A gRPC server built only on grpc_server.h, for test_transport.py: echo, empty, failing, slow,
 * delayed, streaming and bidi methods. Prints its port, and at exit how many calls reached a
 * handler and how many were closed, so a leaked call shows as a mismatch (/test.Stats/Get tells
 * the same while running). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "grpc/grpc_server.h"

static int g_calls;  /* calls that reached on_message for the first time */
static int g_closed; /* on_close runs */
static char g_seen;  /* marker stored as call user data once a call is counted */

static void count_call(struct kd_grpc_call *call)
{
    if (kd_grpc_call_user(call))
        return;
    kd_grpc_call_set_user(call, &g_seen);
    g_calls++;
}

static void on_close(struct kd_grpc_call *call, void *arg)
{
    (void)call;
    (void)arg;
    g_closed++;
}

static void echo_unary(struct kd_grpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
    (void)arg;
    count_call(call);
    if (kd_grpc_call_send(call, msg, len) != 0)
        kd_grpc_call_finish(call, KD_GRPC_INTERNAL, "send failed");
    else
        kd_grpc_call_finish(call, KD_GRPC_OK, NULL);
}

static void empty(struct kd_grpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
    (void)msg;
    (void)len;
    (void)arg;
    count_call(call);
    kd_grpc_call_send(call, NULL, 0);
    kd_grpc_call_finish(call, KD_GRPC_OK, "");
}

static void fail(struct kd_grpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
    (void)msg;
    (void)len;
    (void)arg;
    count_call(call);
    kd_grpc_call_finishf(call, KD_GRPC_NOT_FOUND, "no such thing: caf\xc3\xa9 100%% \xe2\x82\xac%s",
                         "\n\"end\"");
}

static void slow(struct kd_grpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
    (void)msg;
    (void)len;
    (void)arg;
    count_call(call);
}

/* Per-call state of /test.Echo/Later: freed by on_close whichever way the call ends. */
struct later {
    struct kd_grpc_call *call;
    struct event *timer;
    size_t len;
    uint8_t msg[];
};

static void on_later_timer(evutil_socket_t fd, short events, void *arg)
{
    struct later *l = arg;
    (void)fd;
    (void)events;
    kd_grpc_call_send(l->call, l->msg, l->len);
    kd_grpc_call_finish(l->call, KD_GRPC_OK, NULL);
}

static void later(struct kd_grpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
    struct event_base *base = arg;
    struct timeval tv = {0, 200 * 1000};
    count_call(call);
    struct later *l = malloc(sizeof(*l) + len);
    if (!l) {
        kd_grpc_call_finish(call, KD_GRPC_RESOURCE_EXHAUSTED, "out of memory");
        return;
    }
    l->call = call;
    l->len = len;
    memcpy(l->msg, msg, len);
    l->timer = evtimer_new(base, on_later_timer, l);
    kd_grpc_call_set_user(call, l);
    evtimer_add(l->timer, &tv);
}

static void later_close(struct kd_grpc_call *call, void *arg)
{
    struct later *l = kd_grpc_call_user(call);
    (void)arg;
    if (l && l != (void *)&g_seen) {
        event_free(l->timer);
        free(l);
    }
    g_closed++;
}

static void server_stream(struct kd_grpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
    (void)arg;
    count_call(call);
    unsigned n = len > 0 ? msg[0] : 0;
    for (unsigned i = 0; i < n; i++) {
        uint8_t b = (uint8_t)i;
        kd_grpc_call_send(call, &b, 1);
    }
    kd_grpc_call_finish(call, KD_GRPC_OK, NULL);
}

static void bidi_message(struct kd_grpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
    (void)arg;
    count_call(call);
    kd_grpc_call_send(call, msg, len);
}

static void bidi_half_close(struct kd_grpc_call *call, void *arg)
{
    (void)arg;
    kd_grpc_call_finish(call, KD_GRPC_OK, NULL);
}

static void endless(struct kd_grpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
    (void)arg;
    count_call(call);
    kd_grpc_call_send(call, msg, len);
}

/* Not counted itself: lets the test see whether cancelled calls were closed. */
static void stats(struct kd_grpc_call *call, const uint8_t *msg, size_t len, void *arg)
{
    char text[64];
    (void)msg;
    (void)len;
    (void)arg;
    int n = snprintf(text, sizeof(text), "calls=%d closed=%d", g_calls, g_closed);
    kd_grpc_call_send(call, (const uint8_t *)text, (size_t)n);
    kd_grpc_call_finish(call, KD_GRPC_OK, NULL);
}

static void on_drained(void *arg)
{
    event_base_loopexit(arg, NULL);
}

struct app {
    struct event_base *base;
    struct kd_grpc_server *server;
};

static void on_signal(evutil_socket_t sig, short events, void *arg)
{
    struct app *app = arg;
    (void)sig;
    (void)events;
    kd_grpc_server_drain(app->server, 2000, on_drained, app->base);
}

int main(int argc, char **argv)
{
    struct kd_grpc_server_config cfg;
    struct app app;
    kd_grpc_server_config_init(&cfg);

    for (int i = 1; i + 1 < argc; i += 2) {
        const char *flag = argv[i];
        long long v = strtoll(argv[i + 1], NULL, 10);
        if (strcmp(flag, "--default-deadline-ms") == 0) {
            cfg.default_deadline_ms = v;
        } else if (strcmp(flag, "--max-message-size") == 0) {
            cfg.max_message_size = (size_t)v;
        } else if (strcmp(flag, "--connection-buffer") == 0) {
            cfg.connection_buffer = (size_t)v;
        } else if (strcmp(flag, "--max-connections") == 0) {
            cfg.max_connections = (uint32_t)v;
        } else if (strcmp(flag, "--handshake-timeout-ms") == 0) {
            cfg.handshake_timeout_ms = v;
        } else if (strcmp(flag, "--idle-timeout-ms") == 0) {
            cfg.idle_timeout_ms = v;
        } else if (strcmp(flag, "--write-timeout-ms") == 0) {
            cfg.write_timeout_ms = v;
        } else if (strcmp(flag, "--max-deadline-ms") == 0) {
            cfg.max_deadline_ms = v;
        } else if (strcmp(flag, "--max-streams-without-deadline") == 0) {
            cfg.max_streams_without_deadline = (uint32_t)v;
        } else {
            fprintf(stderr,
                    "usage: %s [--default-deadline-ms N] [--max-message-size N] [--LIMIT N]\n",
                    argv[0]);
            return 2;
        }
    }

    signal(SIGPIPE, SIG_IGN);
    app.base = event_base_new();
    if (!app.base || kd_grpc_server_create(app.base, &cfg, &app.server) != 0)
        return 1;

    const struct kd_grpc_method methods[] = {
        {"/test.Echo/Unary", KD_GRPC_UNARY, echo_unary, NULL, on_close, NULL},
        {"/test.Echo/Empty", KD_GRPC_UNARY, empty, NULL, on_close, NULL},
        {"/test.Echo/Fail", KD_GRPC_UNARY, fail, NULL, on_close, NULL},
        {"/test.Echo/Slow", KD_GRPC_UNARY, slow, NULL, on_close, NULL},
        {"/test.Echo/Later", KD_GRPC_UNARY, later, NULL, later_close, app.base},
        {"/test.Echo/ServerStream", KD_GRPC_SERVER_STREAMING, server_stream, NULL, on_close, NULL},
        {"/test.Echo/Bidi", KD_GRPC_BIDI_STREAMING, bidi_message, bidi_half_close, on_close, NULL},
        {"/test.Echo/Endless", KD_GRPC_SERVER_STREAMING, endless, NULL, on_close, NULL},
        {"/test.Stats/Get", KD_GRPC_UNARY, stats, NULL, NULL, NULL},
    };
    int rc = kd_grpc_server_register(app.server, methods, sizeof(methods) / sizeof(methods[0]));
    if (rc == 0)
        rc = kd_grpc_server_listen(app.server, "127.0.0.1:0");
    if (rc != 0) {
        fprintf(stderr, "grpc_test_server: %s\n", strerror(-rc));
        return 1;
    }
    printf("%d\n", kd_grpc_server_port(app.server));
    fflush(stdout);

    struct event *term = evsignal_new(app.base, SIGTERM, on_signal, &app);
    struct event *intr = evsignal_new(app.base, SIGINT, on_signal, &app);
    evsignal_add(term, NULL);
    evsignal_add(intr, NULL);
    event_base_dispatch(app.base);

    kd_grpc_server_destroy(app.server);
    event_free(term);
    event_free(intr);
    event_base_free(app.base);
    printf("calls=%d closed=%d\n", g_calls, g_closed);
    return g_calls == g_closed ? 0 : 3;
}
