/* SPDX-License-Identifier: MIT */
/*
 * Image sources from the user's configuration file and the host's apt
 * sources (docs/images.md, "Configuration").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/fs-util.h"
#include "basic/log.h"
#include "runtime/image-internal.h"
#include "toml/toml.h"

/* A configuration file is a handful of lines; anything near this size is
 * not one. */
#define IMAGE_CONFIG_MAX_SIZE (1024 * 1024)

/* apt source files are small; this bounds what a broken file costs. */
#define APT_SOURCES_MAX_SIZE (4 * 1024 * 1024)

void image_config_done(ImageConfig *c) {
        free(c->path);
        free(c->image_server);
        free(c->debian_mirror);
        free(c->ubuntu_mirror);
        *c = (ImageConfig) {};
}

/* $XDG_CONFIG_HOME/karapace/config.toml, or ~/.config/karapace/config.toml
 * when XDG_CONFIG_HOME is unset or not absolute (the XDG Base Directory
 * rule). */
static char *config_file_path(void) {
        const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
        char *path = NULL;

        if (xdg && xdg[0] == '/') {
                if (asprintf(&path, "%s/karapace/config.toml", xdg) < 0)
                        return NULL;
        } else if (home && home[0] == '/') {
                if (asprintf(&path, "%s/.config/karapace/config.toml", home) < 0)
                        return NULL;
        }
        return path;
}

static int config_get_string(const TomlValue *root, const char *key, const char *path, char **ret, KpError *err) {
        TomlValue *v = toml_table_get(root, key);
        const char *s;
        size_t len;

        if (!v)
                return 0;
        if (toml_value_type(v) != TOML_STRING)
                return kp_error_set_kind(err, KP_ERROR_MANIFEST, -EINVAL,
                                         "%s:%u:%u: '%s' must be a string, found %s", path, toml_value_line(v),
                                         toml_value_column(v), key, toml_type_to_string(toml_value_type(v)));

        s = toml_value_string(v, &len);
        if (strlen(s) != len || len == 0)
                return kp_error_set_kind(err, KP_ERROR_MANIFEST, -EINVAL,
                                         "%s:%u:%u: '%s' must be a non-empty string without NUL characters", path,
                                         toml_value_line(v), toml_value_column(v), key);

        *ret = strdup(s);
        return *ret ? 0 : kp_error_set(err, -ENOMEM, "out of memory");
}

static int config_parse(ImageConfig *c, const char *data, size_t len, KpError *err) {
        _cleanup_(toml_value_freep) TomlValue *root = NULL;
        TomlParseError parse_error = {};
        int r;

        r = toml_parse(data, len, &root, &parse_error);
        if (r == -ENOMEM)
                return kp_error_set(err, r, "out of memory");
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_MANIFEST, r, "%s:%u:%u: %s", c->path, parse_error.line,
                                         parse_error.column, parse_error.message);

        /* Other keys belong to other parts of Karapace and are left alone. */
        r = config_get_string(root, "image_server", c->path, &c->image_server, err);
        if (r < 0)
                return r;
        r = config_get_string(root, "debian_mirror", c->path, &c->debian_mirror, err);
        if (r < 0)
                return r;
        return config_get_string(root, "ubuntu_mirror", c->path, &c->ubuntu_mirror, err);
}

int image_config_load(ImageConfig *ret, KpError *err) {
        _cleanup_(image_config_done) ImageConfig c = {};
        _cleanup_free_ char *data = NULL;
        const char *env;
        size_t len = 0;
        int r;

        c.path = config_file_path();
        if (c.path) {
                r = kp_read_file_at(AT_FDCWD, c.path, IMAGE_CONFIG_MAX_SIZE, &data, &len);
                if (r >= 0) {
                        r = config_parse(&c, data, len, err);
                        if (r < 0)
                                return kp_error_prefix(err, "invalid configuration file");
                } else if (r != -ENOENT)
                        return kp_error_set_kind(err, KP_ERROR_RUNTIME, r, "failed to read %s: %s", c.path,
                                                 strerror(-r));
        }

        env = getenv("KARAPACE_IMAGE_SERVER");
        if (!isempty(env)) {
                free(c.image_server);
                c.image_server = strdup(env);
                if (!c.image_server)
                        return kp_error_set(err, -ENOMEM, "out of memory");
        }
        if (!c.image_server) {
                c.image_server = strdup(IMAGE_DEFAULT_SERVER);
                if (!c.image_server)
                        return kp_error_set(err, -ENOMEM, "out of memory");
        }

        /* The index URL is built as "<server>/images/...". */
        for (size_t n = strlen(c.image_server); n > 1 && c.image_server[n - 1] == '/'; n--)
                c.image_server[n - 1] = '\0';

        *ret = c;
        c = (ImageConfig) {};
        return 0;
}

/* ---- apt sources ------------------------------------------------------- */

/* Debian release names and aliases accepted as a suite of the main archive;
 * "bookworm-updates" or "bookworm-security" do not count. */
static const char *const debian_suites[] = {
        "buster", "bullseye", "bookworm", "trixie", "forky", "duke", "sid",
        "oldoldstable", "oldstable", "stable", "testing", "unstable",
};

static bool is_debian_suite(const char *s, size_t n) {
        for (size_t i = 0; i < ELEMENTSOF(debian_suites); i++)
                if (strlen(debian_suites[i]) == n && strneq(debian_suites[i], s, n))
                        return true;
        return false;
}

/* The next whitespace-separated word of *P, or NULL at the end. */
static const char *next_word(const char **p, size_t *ret_len) {
        const char *s = *p + strspn(*p, " \t");
        size_t n = strcspn(s, " \t\r\n");

        if (n == 0)
                return NULL;
        *p = s + n;
        *ret_len = n;
        return s;
}

/* One-line format: "deb [options] URI suite [component...]". */
static char *one_line_mirror(const char *line) {
        const char *p = line, *word, *uri;
        size_t n, uri_len;

        word = next_word(&p, &n);
        if (!word || n != 3 || !strneq(word, "deb", 3))
                return NULL;

        uri = next_word(&p, &uri_len);
        if (uri && uri[0] == '[') {
                /* Options: "[arch=amd64 signed-by=...]", possibly several words. */
                while (uri && uri[uri_len - 1] != ']')
                        uri = next_word(&p, &uri_len);
                uri = uri ? next_word(&p, &uri_len) : NULL;
        }
        if (!uri)
                return NULL;

        word = next_word(&p, &n);
        if (!word || !is_debian_suite(word, n))
                return NULL;
        return strndup(uri, uri_len);
}

static char *list_file_mirror(const char *text) {
        for (const char *line = text; line && *line;) {
                const char *end = strchr(line, '\n');
                _cleanup_free_ char *copy = strndup(line, end ? (size_t) (end - line) : strlen(line));
                char *hash, *mirror;

                if (!copy)
                        return NULL;
                hash = strchr(copy, '#');
                if (hash)
                        *hash = '\0';
                mirror = one_line_mirror(copy);
                if (mirror)
                        return mirror;
                line = end ? end + 1 : NULL;
        }
        return NULL;
}

typedef struct Deb822Stanza {
        bool is_deb;
        bool enabled;
        char *uri;              /* first of URIs */
        bool has_debian_suite;
} Deb822Stanza;

static void deb822_field(Deb822Stanza *s, const char *key, size_t key_len, const char *value) {
        const char *p = value, *word;
        size_t n;

        if (key_len == 5 && strncasecmp(key, "Types", 5) == 0) {
                while ((word = next_word(&p, &n)))
                        if (n == 3 && strneq(word, "deb", 3))
                                s->is_deb = true;
        } else if (key_len == 4 && strncasecmp(key, "URIs", 4) == 0) {
                word = next_word(&p, &n);
                if (word && !s->uri)
                        s->uri = strndup(word, n);
        } else if (key_len == 6 && strncasecmp(key, "Suites", 6) == 0) {
                while ((word = next_word(&p, &n)))
                        if (is_debian_suite(word, n))
                                s->has_debian_suite = true;
        } else if (key_len == 7 && strncasecmp(key, "Enabled", 7) == 0) {
                word = next_word(&p, &n);
                s->enabled = !(word && n == 2 && strncasecmp(word, "no", 2) == 0);
        }
}

/* deb822 format (*.sources): stanzas of "Key: value" lines separated by
 * blank lines. Continuation lines (starting with a space) are skipped:
 * only Signed-By uses them in practice. */
static char *sources_file_mirror(const char *text) {
        Deb822Stanza s = { .enabled = true };
        const char *line = text;

        for (;;) {
                const char *end = NULL;
                size_t len = 0;
                bool blank;

                if (line) {
                        end = strchr(line, '\n');
                        len = end ? (size_t) (end - line) : strlen(line);
                }
                blank = !line || strspn(line, " \t\r") >= len;

                if (blank) {
                        if (s.is_deb && s.enabled && s.uri && s.has_debian_suite)
                                return s.uri;
                        free(s.uri);
                        s = (Deb822Stanza) { .enabled = true };
                        if (!line || !end)
                                return NULL;
                } else if (line[0] != '#' && line[0] != ' ' && line[0] != '\t') {
                        _cleanup_free_ char *copy = strndup(line, len);
                        char *colon = copy ? strchr(copy, ':') : NULL;

                        if (colon)
                                deb822_field(&s, copy, (size_t) (colon - copy), colon + 1);
                }
                line = end ? end + 1 : NULL;
        }
}

static char *apt_file_mirror(const char *dir, const char *name) {
        _cleanup_free_ char *path = NULL, *data = NULL;
        size_t len = 0;

        path = kp_path_join(dir, name);
        if (!path || kp_read_file_at(AT_FDCWD, path, APT_SOURCES_MAX_SIZE, &data, &len) < 0)
                return NULL;

        if (strlen(name) > 8 && streq(name + strlen(name) - 8, ".sources"))
                return sources_file_mirror(data);
        return list_file_mirror(data);
}

int image_apt_debian_mirror(const char *apt_dir, char **ret) {
        _cleanup_free_ char *parts = NULL;
        _cleanup_strv_free_ char **names = NULL;
        size_t n = 0;
        char *mirror;
        int r;

        /* sources.list first, then the sources.list.d files in name order,
         * which is the order apt reads them. */
        mirror = apt_file_mirror(apt_dir, "sources.list");
        if (mirror) {
                *ret = mirror;
                return 0;
        }

        parts = kp_path_join(apt_dir, "sources.list.d");
        if (!parts)
                return -ENOMEM;
        r = kp_dir_list_at(AT_FDCWD, parts, /* skip_hidden= */ true, /* missing_ok= */ true, &names, &n);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n; i++) {
                size_t len = strlen(names[i]);

                if (!(len > 5 && streq(names[i] + len - 5, ".list")) &&
                    !(len > 8 && streq(names[i] + len - 8, ".sources")))
                        continue;
                mirror = apt_file_mirror(parts, names[i]);
                if (mirror) {
                        *ret = mirror;
                        return 0;
                }
        }
        return -ENOENT;
}
