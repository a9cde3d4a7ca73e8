/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The built source-http.so, loaded with dlopen and driven through tests/fakes on a real
 * libevent loop, against tests/stub/forecaster.py started as a child process.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <event2/event.h>

#include "fakes/fake_host.h"

#define SAFETY_NET_S 60 /* only so a broken plugin fails the test instead of hanging it */

/* What each workload does at the stub; names not listed get the forecaster's 404. */
static const char control_json[] =
    "{"
    "\"fresh-1\":{\"mode\":\"fresh\",\"desiredReplicas\":[1,2,3],\"values\":[10,20.5,30],"
    "\"stepSeconds\":30,\"horizonSeconds\":90,\"metric\":\"rps\"},"
    "\"a&b=c\":{\"mode\":\"fresh\"},\"a b\":{\"mode\":\"fresh\"},\"a#b\":{\"mode\":\"fresh\"},"
    "\"\xc3\xbc"
    "ber\":{\"mode\":\"fresh\"},"
    "\"stale-1\":{\"mode\":\"stale\"},"
    "\"offset-1\":{\"mode\":\"offset\"},"
    "\"array-1\":{\"mode\":\"array\",\"desiredReplicas\":[7]},"
    "\"chunked-1\":{\"mode\":\"chunked\",\"desiredReplicas\":[4,4,6]},"
    "\"big-ok\":{\"mode\":\"huge\",\"size\":3000000,\"chunked\":true},"
    "\"slow-1\":{\"mode\":\"slow\",\"delay_ms\":100},"
    "\"slow-cancel\":{\"mode\":\"slow\",\"delay_ms\":200},"
    "\"slow-late\":{\"mode\":\"slow\",\"delay_ms\":600},"
    "\"hang-1\":{\"mode\":\"hang\"},\"hang-2\":{\"mode\":\"hang\"},"
    "\"err-500\":{\"mode\":\"500\"},"
    "\"err-503\":{\"mode\":\"status\",\"status\":503,\"body\":\"first line\\nsecond line "
    "0123456789012345678901234567890123456789012345678901234567890123456789"
    "0123456789012345678901234567890123456789012345678901234567890123456789"
    "0123456789012345678901234567890123456789012345678901234567890123456789 TAIL\"},"
    "\"reset-1\":{\"mode\":\"reset\"},\"truncated-1\":{\"mode\":\"truncated\"},"
    "\"malformed-1\":{\"mode\":\"malformed\"},\"wrongtypes-1\":{\"mode\":\"wrongtypes\"},"
    "\"empty-1\":{\"mode\":\"empty\"},\"points-1\":{\"mode\":\"points\",\"count\":1000000},"
    "\"huge-1\":{\"mode\":\"huge\"},\"huge-chunked\":{\"mode\":\"huge\",\"chunked\":true},"
    "\"redirect-1\":{\"mode\":\"redirect\",\"to\":\"a&b=c\"},"
    "\"loop-1\":{\"mode\":\"redirect\",\"to\":\"loop-1\"},"
    "\"hdr-1\":{\"mode\":\"fresh\"},\"hdr-2\":{\"mode\":\"fresh\"},"
    "\"keep-1\":{\"mode\":\"fresh\"},"
    "\"many\":{\"mode\":\"slow\",\"delay_ms\":50}"
    "}";

static pid_t stub_pid;
static char stub_url[64];
static char control_path[] = "/tmp/kd-http-control-XXXXXX";
static const struct kd_plugin *plugin;
static void *dl;

/* Per test: a loop, a fake host, a config the test may change before create(). */
static struct event_base *base;
static struct kd_fake_host fake;
static void *config;
static void *source;
static int (*fake_fetch_done_orig)(struct kd_fetch *fetch, const struct kd_forecast *forecast);

/* ---- The stub forecaster --------------------------------------------------------------- */

/* Starts the stub (HTTPS with mTLS when tls_dir is set); its base URL goes to `url`. */
static int spawn_stub(const char *tls_dir, pid_t *ret_pid, char *url, size_t url_len)
{
    int fds[2];
    char line[32] = "";
    size_t len = 0;

    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        /* A failed assertion longjmps past stop_stub(): the stub must not outlive us. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        if (tls_dir)
            execl(KD_PYTHON, KD_PYTHON, KD_STUB_FORECASTER, "--control", control_path, "--tls",
                  tls_dir, (char *)NULL);
        else
            execl(KD_PYTHON, KD_PYTHON, KD_STUB_FORECASTER, "--control", control_path,
                  (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    while (len + 1 < sizeof(line) && !strchr(line, '\n')) {
        ssize_t got = read(fds[0], line + len, sizeof(line) - 1 - len);
        if (got <= 0)
            break;
        len += (size_t)got;
        line[len] = '\0';
    }
    close(fds[0]);
    int port = atoi(line);
    if (port <= 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        return -1;
    }
    snprintf(url, url_len, "%s://127.0.0.1:%d", tls_dir ? "https" : "http", port);
    *ret_pid = pid;
    return 0;
}

static void stop_stub(pid_t pid)
{
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

static int start_stub(void)
{
    int fd = mkstemp(control_path);
    if (fd < 0 || write(fd, control_json, strlen(control_json)) != (ssize_t)strlen(control_json))
        return -1;
    close(fd);
    return spawn_stub(NULL, &stub_pid, stub_url, sizeof(stub_url));
}

static size_t collect(char *data, size_t size, size_t nmemb, void *arg)
{
    char **buf = arg;
    size_t old = *buf ? strlen(*buf) : 0;
    char *grown = realloc(*buf, old + size * nmemb + 1);

    if (!grown)
        return 0;
    memcpy(grown + old, data, size * nmemb);
    grown[old + size * nmemb] = '\0';
    *buf = grown;
    return size * nmemb;
}

/* A blocking GET to the stub's own endpoints, with libcurl's easy API as an outside client. */
static cJSON *stub_get(const char *path, const char *workload)
{
    char url[512];
    char *body = NULL;

    CURL *easy = curl_easy_init();
    assert_non_null(easy);
    char *escaped = curl_easy_escape(easy, workload ? workload : "", 0);
    snprintf(url, sizeof(url), "%s%s?workload=%s", stub_url, path, escaped);
    curl_free(escaped);
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(easy, CURLOPT_PROXY, "");
    assert_int_equal(curl_easy_perform(easy), CURLE_OK);
    curl_easy_cleanup(easy);
    cJSON *doc = cJSON_Parse(body);
    free(body);
    assert_non_null(doc);
    return doc;
}

static int stub_number(const char *path, const char *workload, const char *key)
{
    cJSON *doc = stub_get(path, workload);
    int n = cJSON_GetObjectItem(doc, key)->valueint;

    cJSON_Delete(doc);
    return n;
}

static int stub_count(const char *workload)
{
    return stub_number("/_count", workload, "count");
}

/* The value of header `name` on the stub's last request for `workload` ("" if none). */
static void stub_header(const char *workload, const char *name, char *out, size_t out_len)
{
    cJSON *doc = stub_get("/_count", workload);
    cJSON *h = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "headers"), name);

    snprintf(out, out_len, "%s", cJSON_IsString(h) ? h->valuestring : "");
    cJSON_Delete(doc);
}

/* ---- Loop helpers ------------------------------------------------------------------------ */

static bool is_complete(const struct kd_fake_fetch *f)
{
    return f->n_done + f->n_fail > 0;
}

struct wait {
    bool (*is_done)(void *arg);
    void *arg;
};

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg; /* only wakes the loop so the condition is checked again */
}

/* Runs the loop until is_done(arg); the safety net turns a hang into a failure. */
static void run_until(bool (*is_done)(void *arg), void *arg)
{
    struct timeval tick = {0, 20 * 1000};
    struct event *ticker = event_new(base, -1, EV_PERSIST, on_tick, NULL);
    time_t give_up = time(NULL) + SAFETY_NET_S;

    assert_non_null(ticker);
    event_add(ticker, &tick);
    while (!is_done(arg) && time(NULL) < give_up)
        event_base_loop(base, EVLOOP_ONCE);
    event_free(ticker);
    assert_true(is_done(arg));
}

static bool fetch_is_complete(void *arg)
{
    return is_complete(arg);
}

struct fetch_set {
    struct kd_fake_fetch *f;
    size_t n;
};

static bool all_complete(void *arg)
{
    const struct fetch_set *set = arg;

    for (size_t i = 0; i < set->n; i++) {
        if (!is_complete(&set->f[i]))
            return false;
    }
    return true;
}

struct stub_seen {
    const char *workload;
    int count;
};

static bool stub_has_seen(void *arg)
{
    const struct stub_seen *s = arg;

    return stub_count(s->workload) >= s->count;
}

/* ---- Fixtures ---------------------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (start_stub() != 0)
        return -1;
    dl = dlopen(KD_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return -1;
    }
    plugin = dlsym(dl, KD_PLUGIN_SYMBOL);
    return plugin ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    if (stub_pid > 0)
        stop_stub(stub_pid);
    unlink(control_path);
    curl_global_cleanup();
    /* The plugin stays mapped so leak reports can still name its functions. */
    return 0;
}

static void set_str(const char *name, const char *value)
{
    assert_int_equal(kd_fake_host_set_string(plugin, config, name, value), 0);
}

/* `header` is a list: one header, or NULL for none. */
static void set_header(const char *value)
{
    static const char *list[2];

    list[0] = value;
    list[1] = NULL;
    assert_int_equal(kd_fake_host_set_list(plugin, config, "header", value ? list : NULL), 0);
}

static void set_i64(const char *name, int64_t value)
{
    assert_int_equal(kd_fake_host_set_i64(plugin, config, name, value), 0);
}

static int setup(void **state)
{
    (void)state;
    base = event_base_new();
    kd_fake_host_init(&fake, base, (int64_t)time(NULL) * 1000);
    config = calloc(1, plugin->config_size);
    source = NULL;
    if (!base || !config)
        return -1;
    /* The option table's defaults, as the host would fill them, with a roomier timeout. */
    set_str("url", stub_url);
    set_i64("timeout", 10000);
    set_i64("connect_timeout", 1000);
    set_i64("max_body", 4 * 1024 * 1024);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    plugin->source->destroy(source);
    free(config);
    event_base_free(base);
    return 0;
}

static void create(void)
{
    assert_int_equal(
        plugin->source->create(&fake.host, kd_fake_host_instance(&fake), config, &source), 0);
}

/* Starts one fetch, runs the loop until it completes, leaves the outcome in *f. */
static void fetch_one(const char *workload, struct kd_fake_fetch *f)
{
    assert_int_equal(plugin->source->fetch(source, kd_fake_host_fetch(f), workload), 0);
    run_until(fetch_is_complete, f);
    assert_int_equal(f->n_done + f->n_fail, 1);
}

static void assert_done(const char *workload, struct kd_fake_fetch *f)
{
    fetch_one(workload, f);
    if (f->n_fail)
        fail_msg("fetch of \"%s\" failed: %s", workload, f->message);
    assert_true(f->has_forecast);
}

static void assert_fail(const char *workload, enum kd_fetch_error error, const char *words,
                        struct kd_fake_fetch *f)
{
    fetch_one(workload, f);
    if (getenv("KD_TEST_VERBOSE"))
        print_message("%s -> %s\n", workload, f->message);
    assert_int_equal(f->n_fail, 1);
    assert_int_equal(f->error, error);
    if (!strstr(f->message, words))
        fail_msg("\"%s\": message \"%s\" lacks \"%s\"", workload, f->message, words);
}

static void assert_close_to_now(int64_t ms, int64_t offset_ms)
{
    int64_t now_ms = (int64_t)time(NULL) * 1000;

    /* Second precision on the wire, plus the test's own run time. */
    assert_true(ms - offset_ms <= now_ms + 1000);
    assert_true(ms - offset_ms >= now_ms - 30000);
}

/* ---- Answers ----------------------------------------------------------------------------- */

static void test_descriptor(void **state)
{
    (void)state;
    assert_string_equal(plugin->name, "http");
    assert_int_equal(plugin->kind, KD_PLUGIN_SOURCE);
    assert_string_equal(plugin->version, KD_PROJECT_VERSION);
    for (const struct kd_option *o = plugin->options; o->name; o++) {
        if (strcmp(o->name, "url") == 0) {
            assert_string_equal(o->default_value, "http://localhost:8081");
            assert_string_equal(o->host_default, "forecaster_url");
        }
    }
}

static void test_fresh(void **state)
{
    struct kd_fake_fetch f;

    (void)state;
    create();
    assert_done("fresh-1", &f);
    assert_string_equal(f.forecast.workload, "fresh-1");
    assert_string_equal(f.forecast.metric, "rps");
    assert_int_equal(f.forecast.step_seconds, 30);
    assert_int_equal(f.forecast.horizon_seconds, 90);
    assert_int_equal(f.forecast.n_desired_replicas, 3);
    assert_int_equal(f.forecast.desired_replicas[0], 1);
    assert_int_equal(f.forecast.desired_replicas[2], 3);
    assert_int_equal(f.forecast.n_values, 3);
    assert_true(f.forecast.values[1] == 20.5);
    assert_close_to_now(f.forecast.generated_at_ms, 0);
    kd_fake_host_fetch_fini(&f);
}

static void test_stale(void **state)
{
    struct kd_fake_fetch f;

    (void)state;
    create();
    assert_done("stale-1", &f);
    assert_close_to_now(f.forecast.generated_at_ms, -3600 * 1000);
    kd_fake_host_fetch_fini(&f);
}

static void test_offset_timestamp(void **state)
{
    struct kd_fake_fetch f;

    (void)state;
    create();
    assert_done("offset-1", &f); /* "...T02:43:46+02:00" is the same instant as now */
    assert_close_to_now(f.forecast.generated_at_ms, 0);
    kd_fake_host_fetch_fini(&f);
}

static void test_array_picks_requested(void **state)
{
    struct kd_fake_fetch f;

    (void)state;
    create();
    assert_done("array-1", &f);
    assert_string_equal(f.forecast.workload, "array-1");
    assert_int_equal(f.forecast.n_desired_replicas, 1);
    assert_int_equal(f.forecast.desired_replicas[0], 7);
    kd_fake_host_fetch_fini(&f);
}

static void test_chunked(void **state)
{
    struct kd_fake_fetch f;

    (void)state;
    create();
    assert_done("chunked-1", &f);
    assert_int_equal(f.forecast.n_desired_replicas, 3);
    assert_int_equal(f.forecast.desired_replicas[2], 6);
    kd_fake_host_fetch_fini(&f);
    /* 3 MB within max_body: parsed in slices of a loop turn each (paused, resumed), whole */
    kd_fake_host_clear_logs(&fake);
    assert_done("big-ok", &f);
    assert_string_equal(f.forecast.workload, "big-ok");
    /* the transfer did pause: the plugin says over how many turns (several, at 256 KiB each) */
    const struct kd_fake_log *turns =
        kd_fake_host_find_log(&fake, KD_LOG_DEBUG, "body bytes from ");
    assert_non_null(turns);
    unsigned long n_turns = 0;
    const char *over = strstr(turns->text, " parsed over ");
    assert_non_null(over);
    assert_int_equal(sscanf(over, " parsed over %lu loop turns", &n_turns), 1);
    assert_true(n_turns >= 3000000 / (256 * 1024));
    kd_fake_host_fetch_fini(&f);
}

/* Upstream's query injection (Security Audit #1): these names must arrive intact. */
static void test_workload_names_intact(void **state)
{
    /* "\xc3\xbc" is u-umlaut; split so "b" is not read as a hex digit */
    static const char *const names[] = {"a&b=c", "a b", "a#b",
                                        ("\xc3\xbc"
                                         "ber")};
    struct kd_fake_fetch f;

    (void)state;
    create();
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        int before = stub_count(names[i]);
        assert_done(names[i], &f);
        assert_string_equal(f.forecast.workload, names[i]); /* the stub echoes what it got */
        assert_int_equal(stub_count(names[i]), before + 1);
        kd_fake_host_fetch_fini(&f);
    }
}

static void test_redirect_followed(void **state)
{
    struct kd_fake_fetch f;

    (void)state;
    create();
    assert_done("redirect-1", &f);
    assert_string_equal(f.forecast.workload, "a&b=c");
    kd_fake_host_fetch_fini(&f);
    assert_fail("loop-1", KD_FETCH_FAILED, "redirects", &f);
    kd_fake_host_fetch_fini(&f);
}

/* ---- Failures ---------------------------------------------------------------------------- */

static void test_not_found(void **state)
{
    struct kd_fake_fetch f;

    (void)state;
    create();
    assert_fail("nobody", KD_FETCH_NOT_FOUND,
                "forecaster has no forecast for workload \"nobody\" (404)", &f);
    kd_fake_host_fetch_fini(&f);
}

static void test_server_errors(void **state)
{
    struct kd_fake_fetch f;

    (void)state;
    create();
    assert_fail("err-500", KD_FETCH_FAILED,
                "forecaster returned 500: {\"error\":\"internal server error\"}", &f);
    kd_fake_host_fetch_fini(&f);

    assert_fail("err-503", KD_FETCH_FAILED, "forecaster returned 503: first line second line", &f);
    assert_null(strchr(f.message, '\n'));
    assert_null(strstr(f.message, "TAIL"));
    assert_non_null(strstr(f.message, "..."));
    kd_fake_host_fetch_fini(&f);
}

static void test_broken_bodies(void **state)
{
    struct kd_fake_fetch f;

    (void)state;
    create();
    assert_fail("reset-1", KD_FETCH_FAILED, "Connection reset by peer", &f);
    kd_fake_host_fetch_fini(&f);
    assert_fail("truncated-1", KD_FETCH_FAILED, "transfer closed with", &f);
    kd_fake_host_fetch_fini(&f);
    assert_fail("malformed-1", KD_FETCH_FAILED, "bad forecast from", &f);
    kd_fake_host_fetch_fini(&f);
    assert_fail("wrongtypes-1", KD_FETCH_FAILED, "stepSeconds", &f);
    kd_fake_host_fetch_fini(&f);
    assert_fail("empty-1", KD_FETCH_FAILED, "bad forecast from", &f);
    kd_fake_host_fetch_fini(&f);
    /* 2 MB, under max_body: the element limit refuses it, while reading */
    assert_fail("points-1", KD_FETCH_FAILED, "desiredReplicas: more than 100000 elements", &f);
    kd_fake_host_fetch_fini(&f);
}

static void test_huge_bodies(void **state)
{
    struct kd_fake_fetch f;

    (void)state;
    create();
    assert_fail("huge-1", KD_FETCH_FAILED, "response larger than max_body (4194304 bytes)", &f);
    kd_fake_host_fetch_fini(&f);
    assert_fail("huge-chunked", KD_FETCH_FAILED, "response larger than max_body (4194304 bytes)",
                &f);
    kd_fake_host_fetch_fini(&f);
}

/* The limit is the option's: a normal forecast passes 4 MiB but not 64 bytes. */
static void test_max_body_option(void **state)
{
    struct kd_fake_fetch f;

    (void)state;
    set_i64("max_body", 64);
    create();
    assert_fail("fresh-1", KD_FETCH_FAILED, "response larger than max_body (64 bytes)", &f);
    kd_fake_host_fetch_fini(&f);
    /* Error bodies are only quoted, so the limit does not hide the status. */
    assert_fail("err-503", KD_FETCH_FAILED, "forecaster returned 503", &f);
    kd_fake_host_fetch_fini(&f);
}

static void test_timeout(void **state)
{
    struct kd_fake_fetch f;

    (void)state;
    set_i64("timeout", 300);
    create();
    assert_fail("hang-1", KD_FETCH_FAILED, "timed out after", &f);
    kd_fake_host_fetch_fini(&f);
}

/* A port nothing listens on: bound, then closed. */
static void refused_url(char *out, size_t out_len)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    snprintf(out, out_len, "http://127.0.0.1:%d/", ntohs(sa.sin_port));
}

static void test_connection_refused(void **state)
{
    char url[64];
    struct kd_fake_fetch f;

    (void)state;
    refused_url(url, sizeof(url));
    set_str("url", url);
    create();
    assert_fail("fresh-1", KD_FETCH_FAILED, "Connection refused", &f);
    kd_fake_host_fetch_fini(&f);
}

/* ---- Headers ----------------------------------------------------------------------------- */

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void test_headers(void **state)
{
    char token_path[] = "/tmp/kd-http-token-XXXXXX";
    char want[64], got[256];
    struct kd_fake_fetch f;

    (void)state;
    close(mkstemp(token_path));
    write_file(token_path, "s3cret-token\n");
    set_str("bearer_token_file", token_path);
    set_header("X-Tenant: blue");
    create();
    assert_done("hdr-1", &f);
    kd_fake_host_fetch_fini(&f);
    snprintf(want, sizeof(want), "kedastral-scaler/%s", KD_PROJECT_VERSION);
    stub_header("hdr-1", "User-Agent", got, sizeof(got));
    assert_string_equal(got, want);
    stub_header("hdr-1", "Authorization", got, sizeof(got));
    assert_string_equal(got, "Bearer s3cret-token");
    stub_header("hdr-1", "X-Tenant", got, sizeof(got));
    assert_string_equal(got, "blue");

    /* A rotated token (another size, so the change shows whatever the mtime granularity). */
    write_file(token_path, "rotated-token-2\n");
    assert_done("hdr-2", &f);
    kd_fake_host_fetch_fini(&f);
    stub_header("hdr-2", "Authorization", got, sizeof(got));
    assert_string_equal(got, "Bearer rotated-token-2");
    assert_non_null(kd_fake_host_find_log(&fake, KD_LOG_INFO, "re-read the bearer token"));

    /* A broken rotation keeps the last good token and warns once. */
    write_file(token_path, "");
    assert_done("hdr-2", &f);
    kd_fake_host_fetch_fini(&f);
    assert_done("hdr-2", &f);
    kd_fake_host_fetch_fini(&f);
    stub_header("hdr-2", "Authorization", got, sizeof(got));
    assert_string_equal(got, "Bearer rotated-token-2");
    assert_int_equal(kd_fake_host_count_logs(&fake, KD_LOG_WARN, "keeping the token"), 1);
    unlink(token_path);
}

/* ---- Bad configurations ------------------------------------------------------------------- */

static void assert_create_fails(const char *words)
{
    void *st = (void *)0x1;

    kd_fake_host_clear_logs(&fake);
    assert_true(plugin->source->create(&fake.host, kd_fake_host_instance(&fake), config, &st) < 0);
    assert_ptr_equal(st, (void *)0x1);
    if (!kd_fake_host_find_log(&fake, KD_LOG_ERROR, words))
        fail_msg("no error log containing \"%s\" (first: \"%s\")", words,
                 fake.n_logs ? fake.logs[0].text : "");
}

static void test_bad_config(void **state)
{
    char empty_token[] = "/tmp/kd-http-empty-XXXXXX";

    (void)state;
    set_str("url", "");
    assert_create_fails("url is empty");
    set_str("url", "ftp://f:21");
    assert_create_fails("url \"ftp://f:21\"");
    set_str("url", "localhost:8081");
    assert_create_fails("url \"localhost:8081\"");
    set_str("url", "http://f:8081/?x=1");
    assert_create_fails("a query");
    set_str("url", "http://f:8081/#frag");
    assert_create_fails("a fragment");
    set_str("url", stub_url);

    set_i64("timeout", 0);
    assert_create_fails("timeout and connect_timeout must be positive");
    set_i64("timeout", 2000);
    set_i64("max_body", 0);
    assert_create_fails("max_body must be between");
    set_i64("max_body", 4096);
    set_i64("max_connections", -1);
    assert_create_fails("max_connections must be between 0 (no cap) and 10000 (got -1)");
    set_i64("max_connections", 0);

    set_str("tls_cert", KD_STUB_FORECASTER);
    assert_create_fails("tls_cert and tls_key go together");
    set_str("tls_cert", NULL);
    set_str("tls_ca", "/nonexistent/ca.pem");
    assert_create_fails("tls_ca /nonexistent/ca.pem: No such file or directory");
    set_str("tls_ca", NULL);

    set_header("NoColonHere");
    assert_create_fails("header \"NoColonHere\": expected \"Name: value\"");
    set_header("Bad Name: x");
    assert_create_fails("not allowed in a header name");
    set_header("X-Ok: a\r\nX-Injected: b");
    assert_create_fails("control character");
    set_header(NULL);

    set_str("bearer_token_file", "/nonexistent/token");
    assert_create_fails("bearer_token_file /nonexistent/token: No such file or directory");
    close(mkstemp(empty_token));
    set_str("bearer_token_file", empty_token);
    assert_create_fails("empty");
    write_file(empty_token, "two words\n");
    assert_create_fails("not a printable character");
    unlink(empty_token);
    set_str("bearer_token_file", NULL);

    fake.base = NULL;
    assert_create_fails("needs the host's event loop");
}

/* Empty strings are unset options (an empty TLS_CA_FILE, say), not empty file names. */
/* `header` is a list: every element is sent. */
static void test_header_list(void **state)
{
    static const char *const headers[] = {"X-Tenant: blue", "X-Env: prod", NULL};
    struct kd_fake_fetch f;
    char value[64];

    (void)state;
    assert_int_equal(kd_fake_host_set_list(plugin, config, "header", headers), 0);
    create();
    assert_done("hdr-2", &f);
    kd_fake_host_fetch_fini(&f);
    stub_header("hdr-2", "X-Tenant", value, sizeof(value));
    assert_string_equal(value, "blue");
    stub_header("hdr-2", "X-Env", value, sizeof(value));
    assert_string_equal(value, "prod");
}

static void test_empty_strings_are_unset(void **state)
{
    struct kd_fake_fetch f;

    (void)state;
    set_str("tls_ca", "");
    set_str("tls_cert", "");
    set_str("tls_key", "");
    set_str("bearer_token_file", "");
    set_header("");
    create();
    assert_done("fresh-1", &f);
    kd_fake_host_fetch_fini(&f);
}

static void test_tls_on_plain_http_warns(void **state)
{
    (void)state;
    set_str("tls_ca", KD_STUB_FORECASTER); /* any readable file */
    create();
    assert_non_null(kd_fake_host_find_log(&fake, KD_LOG_WARN, "TLS is not used"));
}

/* One create, one fetch, one destroy, with whatever the config says now. */
static void fetch_fresh_once(struct kd_fake_fetch *f)
{
    create();
    fetch_one("fresh-1", f);
    plugin->source->destroy(source);
    source = NULL;
}

static void test_mtls(void **state)
{
    static const char *const files[] = {"ca.key",     "ca.pem",     "ca.srl",     "client.csr",
                                        "client.ext", "client.key", "client.pem", "server.csr",
                                        "server.ext", "server.key", "server.pem"};
    char dir[] = "/tmp/kd-http-tls-XXXXXX";
    char url[64], ca[64], cert[64], key[64];
    struct kd_fake_fetch f;
    pid_t pid;

    (void)state;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(spawn_stub(dir, &pid, url, sizeof(url)), 0);
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    snprintf(cert, sizeof(cert), "%s/client.pem", dir);
    snprintf(key, sizeof(key), "%s/client.key", dir);
    set_str("url", url);

    /* What upstream's --tls-enabled does: our CA, our client certificate. */
    set_str("tls_ca", ca);
    set_str("tls_cert", cert);
    set_str("tls_key", key);
    fetch_fresh_once(&f);
    if (f.n_fail)
        fail_msg("mTLS fetch failed: %s", f.message);
    assert_string_equal(f.forecast.workload, "fresh-1");
    kd_fake_host_fetch_fini(&f);

    /* The forecaster requires a client certificate; how the refusal reads depends on when
     * OpenSSL notices the server's alert, so only the failure is asserted. */
    set_str("tls_cert", NULL);
    set_str("tls_key", NULL);
    fetch_fresh_once(&f);
    assert_int_equal(f.n_fail, 1);
    assert_int_equal(f.error, KD_FETCH_FAILED);
    assert_non_null(strstr(f.message, "GET https://127.0.0.1"));
    kd_fake_host_fetch_fini(&f);

    /* Without tls_ca the system store does not know the test CA. */
    set_str("tls_ca", NULL);
    set_str("tls_cert", cert);
    set_str("tls_key", key);
    fetch_fresh_once(&f);
    assert_int_equal(f.n_fail, 1);
    if (!strstr(f.message, "SSL certificate problem"))
        fail_msg("unknown CA: \"%s\"", f.message);
    kd_fake_host_fetch_fini(&f);

    stop_stub(pid);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char path[96];
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
    }
    assert_int_equal(rmdir(dir), 0);
}

/* ---- Concurrency, cancel, destroy ---------------------------------------------------------- */

static void test_fifty_concurrent(void **state)
{
    struct kd_fake_fetch f[50];
    struct fetch_set set = {f, 50};
    int before = stub_count("many");

    (void)state;
    create();
    for (size_t i = 0; i < 50; i++)
        assert_int_equal(plugin->source->fetch(source, kd_fake_host_fetch(&f[i]), "many"), 0);
    run_until(all_complete, &set);
    for (size_t i = 0; i < 50; i++) {
        assert_int_equal(f[i].n_done, 1);
        assert_int_equal(f[i].n_fail, 0);
        assert_string_equal(f[i].forecast.workload, "many");
        kd_fake_host_fetch_fini(&f[i]);
    }
    /* The plugin does not coalesce: that is the host cache's job. */
    assert_int_equal(stub_count("many"), before + 50);
}

static void test_hanging_does_not_block_others(void **state)
{
    struct kd_fake_fetch a, b;
    struct kd_fetch *hb = kd_fake_host_fetch(&b);

    (void)state;
    create();
    assert_int_equal(plugin->source->fetch(source, hb, "hang-1"), 0);
    assert_int_equal(plugin->source->fetch(source, kd_fake_host_fetch(&a), "fresh-1"), 0);
    run_until(fetch_is_complete, &a);
    assert_int_equal(a.n_done, 1);
    assert_false(is_complete(&b)); /* B is still in flight while A has its answer */
    plugin->source->cancel(source, hb);
    kd_fake_host_fetch_fini(&a);
}

static void test_cancel_never_completes(void **state)
{
    struct kd_fake_fetch x, y;
    struct kd_fetch *hx = kd_fake_host_fetch(&x);
    struct stub_seen seen = {"slow-cancel", stub_count("slow-cancel") + 1};

    (void)state;
    create();
    assert_int_equal(plugin->source->fetch(source, hx, "slow-cancel"), 0);
    run_until(stub_has_seen, &seen); /* the request is at the stub, its answer on the way */
    plugin->source->cancel(source, hx);
    /* slow-late answers well after slow-cancel would have: x had every chance to complete. */
    assert_done("slow-late", &y);
    assert_false(is_complete(&x));
    kd_fake_host_fetch_fini(&y);
    /* Cancelling what is unknown (completed or never started) is harmless. */
    plugin->source->cancel(source, hx);
    plugin->source->cancel(source, (struct kd_fetch *)(void *)&y);
}

static void test_destroy_with_fetches_in_flight(void **state)
{
    struct kd_fake_fetch f[6];
    struct stub_seen seen = {"hang-2", stub_count("hang-2") + 6};

    (void)state;
    create();
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(plugin->source->fetch(source, kd_fake_host_fetch(&f[i]), "hang-2"), 0);
    run_until(stub_has_seen, &seen);
    plugin->source->destroy(source);
    source = NULL;
    for (size_t i = 0; i < 6; i++)
        assert_false(is_complete(&f[i]));
    /* Nothing of the plugin's is left on the loop. */
    assert_int_equal(event_base_loop(base, EVLOOP_NONBLOCK), 1);
}

/* A host may react to a completion by destroying the source (reload, shutdown)... */
static int done_then_destroy(struct kd_fetch *fetch, const struct kd_forecast *forecast)
{
    int rc = fake_fetch_done_orig(fetch, forecast);

    plugin->source->destroy(source);
    source = NULL;
    return rc;
}

static void test_destroy_inside_completion(void **state)
{
    struct kd_fake_fetch f[4], hung;

    (void)state;
    create();
    fake_fetch_done_orig = fake.host.fetch_done;
    fake.host.fetch_done = done_then_destroy;
    /* Four answers arrive together, so more are ready when the first one destroys us. */
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(plugin->source->fetch(source, kd_fake_host_fetch(&f[i]), "slow-1"), 0);
    assert_int_equal(plugin->source->fetch(source, kd_fake_host_fetch(&hung), "hang-1"), 0);
    while (source)
        event_base_loop(base, EVLOOP_ONCE);
    int completed = 0;
    for (size_t i = 0; i < 4; i++) {
        completed += f[i].n_done + f[i].n_fail;
        kd_fake_host_fetch_fini(&f[i]);
    }
    assert_int_equal(completed, 1);
    assert_false(is_complete(&hung));
    assert_int_equal(event_base_loop(base, EVLOOP_NONBLOCK), 1);
}

/* ...or by starting the next fetch right away. */
static struct kd_fake_fetch chained;

static int done_then_fetch(struct kd_fetch *fetch, const struct kd_forecast *forecast)
{
    int rc = fake_fetch_done_orig(fetch, forecast);

    fake.host.fetch_done = fake_fetch_done_orig;
    assert_int_equal(plugin->source->fetch(source, kd_fake_host_fetch(&chained), "fresh-1"), 0);
    return rc;
}

static void test_fetch_inside_completion(void **state)
{
    struct kd_fake_fetch f;

    (void)state;
    create();
    fake_fetch_done_orig = fake.host.fetch_done;
    fake.host.fetch_done = done_then_fetch;
    assert_done("keep-1", &f);
    kd_fake_host_fetch_fini(&f);
    run_until(fetch_is_complete, &chained);
    assert_int_equal(chained.n_done, 1);
    assert_string_equal(chained.forecast.workload, "fresh-1");
    kd_fake_host_fetch_fini(&chained);
}

static void test_keepalive_reuses_connection(void **state)
{
    struct kd_fake_fetch f;

    (void)state;
    create();
    int before = stub_number("/_connections", NULL, "forecast_connections");
    for (int i = 0; i < 5; i++) {
        assert_done("keep-1", &f);
        kd_fake_host_fetch_fini(&f);
    }
    assert_int_equal(stub_number("/_connections", NULL, "forecast_connections"), before + 1);
}

/* Issue 8: fetches beyond max_connections wait for a connection instead of opening one. */
static int connections_for_batch(int64_t max_connections)
{
    enum { N = 8 };
    struct kd_fake_fetch f[N];
    struct fetch_set set = {f, N};

    set_i64("max_connections", max_connections);
    create();
    int before = stub_number("/_connections", NULL, "forecast_connections");
    for (size_t i = 0; i < N; i++)
        assert_int_equal(plugin->source->fetch(source, kd_fake_host_fetch(&f[i]), "many"), 0);
    run_until(all_complete, &set);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(f[i].n_done, 1);
        kd_fake_host_fetch_fini(&f[i]);
    }
    plugin->source->destroy(source);
    source = NULL;
    return stub_number("/_connections", NULL, "forecast_connections") - before;
}

static void test_max_connections_queues(void **state)
{
    (void)state;
    int capped = connections_for_batch(2);
    assert_true(capped >= 1 && capped <= 2);
    /* the same batch without a cap opens more: the bound above is the cap's doing */
    assert_true(connections_for_batch(0) > 2);
}

static int count_fds(void)
{
    int n = 0;
    DIR *dir = opendir("/proc/self/fd");

    assert_non_null(dir);
    while (readdir(dir))
        n++;
    closedir(dir);
    return n;
}

/* Run under ASan too: no fd and no byte may outlive 1000 failed fetches. */
static void test_thousand_failures_leak_nothing(void **state)
{
    enum { BATCH = 50, TOTAL = 1000 };
    struct kd_fake_fetch f[BATCH];
    struct fetch_set set = {f, BATCH};
    char url[64];
    int after_first = 0;

    (void)state;
    refused_url(url, sizeof(url));
    set_str("url", url);
    int before_create = count_fds();
    create();
    for (int done = 0; done < TOTAL; done += BATCH) {
        for (size_t i = 0; i < BATCH; i++)
            assert_int_equal(plugin->source->fetch(source, kd_fake_host_fetch(&f[i]), "w"), 0);
        run_until(all_complete, &set);
        for (size_t i = 0; i < BATCH; i++) {
            assert_int_equal(f[i].n_fail, 1);
            kd_fake_host_fetch_fini(&f[i]);
        }
        if (done == 0)
            after_first = count_fds();
    }
    assert_int_equal(count_fds(), after_first);
    plugin->source->destroy(source);
    source = NULL;
    assert_int_equal(count_fds(), before_create);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_descriptor),
        T(test_fresh),
        T(test_stale),
        T(test_offset_timestamp),
        T(test_array_picks_requested),
        T(test_chunked),
        T(test_workload_names_intact),
        T(test_redirect_followed),
        T(test_not_found),
        T(test_server_errors),
        T(test_broken_bodies),
        T(test_huge_bodies),
        T(test_max_body_option),
        T(test_timeout),
        T(test_connection_refused),
        T(test_headers),
        T(test_bad_config),
        T(test_empty_strings_are_unset),
        T(test_mtls),
        T(test_tls_on_plain_http_warns),
        T(test_fifty_concurrent),
        T(test_hanging_does_not_block_others),
        T(test_cancel_never_completes),
        T(test_destroy_with_fetches_in_flight),
        T(test_destroy_inside_completion),
        T(test_fetch_inside_completion),
        T(test_keepalive_reuses_connection),
        T(test_max_connections_queues),
        T(test_header_list),
        T(test_thousand_failures_leak_nothing),
    };

    if (getenv("KD_TEST_FILTER"))
        cmocka_set_test_filter(getenv("KD_TEST_FILTER"));
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
