/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every daemon setting, one row each: config file key, flag, environment variable, type,
 * default, help. The file parser, the flag and environment parser (main), --help and the
 * README's settings table are all made from kd_settings[] (tests/unit/config/test_settings
 * checks the README). Adding a setting is adding a row here and its field in struct
 * kd_config; nothing else lists settings.
 */
#ifndef KD_SETTINGS_H
#define KD_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum kd_setting_type {
    KD_SETTING_STRING,   /* char *, non-empty, owned by the config */
    KD_SETTING_ADDRESS,  /* char *, "host:port" */
    KD_SETTING_PATH,     /* char *, made absolute: a file's value against its folder, a flag's
                            or variable's against the working directory */
    KD_SETTING_BOOL,     /* bool; flags: --x, --x=true|false|1|0; variables: "true" or "1" is
                            true, anything else false (Go's upstream) */
    KD_SETTING_INT,      /* int64_t in [min, max] */
    KD_SETTING_DURATION, /* int64_t milliseconds in [min, max], "5m" */
    KD_SETTING_SIZE,     /* int64_t bytes in [min, max], 4194304 or "4MiB" */
    KD_SETTING_ENUM,     /* int: the index of the value in choices ("a|b|c") */
};

/* kd_setting.flags */
enum {
    KD_SETTING_NOT_IN_FILE = 1 << 0, /* flag and/or environment only */
    KD_SETTING_ENV_LENIENT = 1 << 1, /* a bad variable is ignored with a warning (upstream) */
};

struct kd_setting {
    const char *key;  /* file key, "group.key" for a key inside a group; names the setting */
    const char *flag; /* "--" + flag; NULL: none */
    const char *env;  /* NULL: none */
    enum kd_setting_type type;
    const char *def;     /* default as the file spells it; NULL: unset (0, false, NULL) */
    const char *def_doc; /* default as --help and the README say it; NULL: def */
    size_t offset;       /* of the field in struct kd_config */
    int64_t min, max;    /* INT, DURATION, SIZE: the allowed range */
    const char *choices; /* ENUM */
    const char *metavar; /* for --help: "ADDR" */
    const char *help;    /* one line */
    unsigned flags;
};

#define KD_SETTINGS_MAX 96

extern const struct kd_setting kd_settings[];
extern const size_t kd_settings_count;

/* The row for `key` ("listen", "limits.max_connections"); NULL if none. */
const struct kd_setting *kd_setting_find(const char *key);

static inline size_t kd_setting_index(const struct kd_setting *s)
{
    return (size_t)(s - kd_settings);
}

/* A parsed value. text points to the caller's text. */
struct kd_setting_value {
    const char *text;
    int64_t i; /* INT, DURATION, SIZE, ENUM */
    bool b;    /* BOOL */
};

/*
 * Parse `text` as setting `s` would take it from a flag (from_env: from its variable).
 * -EINVAL (-ERANGE: out of range) with "what is wrong; what is allowed" in err, without the
 * setting's name (the caller says where the text came from).
 */
int kd_setting_parse(const struct kd_setting *s, const char *text, bool from_env,
                     struct kd_setting_value *ret_value, char *err, size_t err_len);

/* 0 if min <= n <= max; else -ERANGE with "<text> is out of range; allowed: ..." in err. */
int kd_setting_check_range(const struct kd_setting *s, int64_t n, const char *text, char *err,
                           size_t err_len);

/* "string", "duration", ... as the README's type column says it. */
const char *kd_setting_type_name(const struct kd_setting *s);

/* One --help entry: "  --flag ARG   text", text wrapped at 100 columns. */
void kd_settings_usage_line(FILE *out, const char *left, const char *text);

/* The settings part of --help: one line per setting with a flag. */
void kd_settings_usage(FILE *out);

/* The README's settings table (markdown), one row per setting. */
void kd_settings_markdown(FILE *out);

#endif /* KD_SETTINGS_H */
