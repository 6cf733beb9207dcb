/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fs-util.h"
#include "store/tree-internal.h"

#define TREE_MAGIC_PREFIX "karapace-tree "

/* Extended attributes that mark a directory opaque (value "y"): kernel
 * overlayfs as root, kernel overlayfs with "userxattr", fuse-overlayfs. */
static const char *const opaque_xattrs[] = {
        "trusted.overlay.opaque",
        "user.overlay.opaque",
        "user.fuseoverlayfs.opaque",
};

static const char tree_type_chars[_TREE_ENTRY_TYPE_MAX] = {
        [TREE_ENTRY_DIRECTORY] = 'd',
        [TREE_ENTRY_FILE] = 'f',
        [TREE_ENTRY_SYMLINK] = 'l',
        [TREE_ENTRY_HARDLINK] = 'h',
        [TREE_ENTRY_WHITEOUT] = 'w',
};

static const char *const tree_type_names[_TREE_ENTRY_TYPE_MAX] = {
        [TREE_ENTRY_DIRECTORY] = "directory",
        [TREE_ENTRY_FILE] = "file",
        [TREE_ENTRY_SYMLINK] = "symlink",
        [TREE_ENTRY_HARDLINK] = "hardlink",
        [TREE_ENTRY_WHITEOUT] = "whiteout",
};

const char *tree_entry_type_to_string(TreeEntryType t) {
        if ((unsigned) t >= _TREE_ENTRY_TYPE_MAX)
                return NULL;
        return tree_type_names[t];
}

/* ---- Escaping ---------------------------------------------------------- */

/* Bytes written as themselves; every other byte is written as "\xHH". */
static bool byte_is_plain(unsigned char c) {
        return c > ' ' && c < 0x7f && c != '\\' && c != '=';
}

void tree_escape_to(FILE *f, const char *s, size_t len) {
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) s[i];

                if (byte_is_plain(c))
                        fputc(c, f);
                else
                        fprintf(f, "\\x%02x", c);
        }
}

static char *escape_bytes(const char *s, size_t len) {
        char *out = malloc(len * 4 + 1), *p = out;

        if (!out)
                return NULL;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) s[i];

                if (byte_is_plain(c))
                        *p++ = (char) c;
                else
                        p += sprintf(p, "\\x%02x", c);
        }
        *p = '\0';
        return out;
}

/* The escaped form of S, for messages and the cache file. NULL on OOM. */
char *tree_escape_string(const char *s) {
        return escape_bytes(s, strlen(s));
}

static int hex_digit(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

/* Decode the escaped token S of LEN bytes. Only the canonical encoding is
 * accepted (lowercase hex, and only for bytes that cannot appear as
 * themselves), so a tree has exactly one text form. NUL bytes are accepted
 * only when ALLOW_NUL is set (extended attribute values). */
int tree_unescape(const char *s, size_t len, bool allow_nul, char **ret, size_t *ret_len) {
        _cleanup_free_ char *out = malloc(len + 1);
        size_t o = 0;

        if (!out)
                return -ENOMEM;

        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) s[i];
                int hi, lo;

                if (c != '\\') {
                        if (!byte_is_plain(c))
                                return -EBADMSG;
                        out[o++] = (char) c;
                        continue;
                }

                if (len - i < 4 || s[i + 1] != 'x')
                        return -EBADMSG;
                hi = hex_digit(s[i + 2]);
                lo = hex_digit(s[i + 3]);
                if (hi < 0 || lo < 0)
                        return -EBADMSG;
                c = (unsigned char) (hi * 16 + lo);
                if (byte_is_plain(c) || (c == 0 && !allow_nul))
                        return -EBADMSG;
                out[o++] = (char) c;
                i += 3;
        }

        out[o] = '\0';
        *ret = TAKE_PTR(out);
        if (ret_len)
                *ret_len = o;
        return 0;
}

bool tree_xattr_name_is_opaque(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(opaque_xattrs); i++)
                if (streq(name, opaque_xattrs[i]))
                        return true;
        return false;
}

/* ---- Entries ----------------------------------------------------------- */

void tree_xattrs_free(TreeXattr *xattrs, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(xattrs[i].name);
                free(xattrs[i].value);
        }
        free(xattrs);
}

void tree_entry_done(TreeEntry *e) {
        free(e->path);
        free(e->target);
        tree_xattrs_free(e->xattrs, e->n_xattrs);
        *e = (TreeEntry) {};
}

void tree_entries_free(TreeEntry *entries, size_t n) {
        if (!entries)
                return;
        for (size_t i = 0; i < n; i++)
                tree_entry_done(&entries[i]);
        free(entries);
}

/* Byte order of paths, except that the root "." sorts first. */
int tree_compare_paths(const char *a, const char *b) {
        bool a_root = streq(a, "."), b_root = streq(b, ".");

        if (a_root || b_root)
                return (int) b_root - (int) a_root;
        return strcmp(a, b);
}

static int compare_entry_paths(const void *a, const void *b) {
        return tree_compare_paths(((const TreeEntry *) a)->path, ((const TreeEntry *) b)->path);
}

/* Index of PATH in ENTRIES (sorted in tree order), or -1. */
ssize_t tree_entries_find(const TreeEntry *entries, size_t n, const char *path) {
        const TreeEntry probe = { .path = (char *) path };
        const TreeEntry *found;

        found = bsearch(&probe, entries, n, sizeof(TreeEntry), compare_entry_paths);
        return found ? found - entries : -1;
}

/* Returns true for a relative path of non-empty components other than "."
 * and "..", each at most NAME_MAX bytes. */
bool tree_path_is_valid(const char *path) {
        const char *p = path;
        size_t len = strlen(path);

        if (len == 0 || len > TREE_PATH_MAX)
                return false;

        for (;;) {
                size_t n = strcspn(p, "/");

                if (n == 0 || n > NAME_MAX)
                        return false;
                if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
                        return false;
                if (p[n] == '\0')
                        return true;
                p += n + 1;
        }
}

/* Split PATH into its parent directory (written to DIR, "" for a top-level
 * entry) and its last component. DIR must hold PATH_MAX bytes. */
const char *tree_path_split(const char *path, char dir[static PATH_MAX]) {
        const char *slash = strrchr(path, '/');
        size_t n;

        if (!slash) {
                dir[0] = '\0';
                return path;
        }
        n = (size_t) (slash - path);
        memcpy(dir, path, n);
        dir[n] = '\0';
        return slash + 1;
}

/* ---- Serialization ----------------------------------------------------- */

static void entry_write(FILE *f, const TreeEntry *e) {
        fputc(tree_type_chars[e->type], f);
        fputc(' ', f);
        tree_escape_to(f, e->path, strlen(e->path));

        switch (e->type) {
        case TREE_ENTRY_DIRECTORY:
                fprintf(f, " mode=%04o uid=%u gid=%u", (unsigned) e->mode, (unsigned) e->uid, (unsigned) e->gid);
                if (e->opaque)
                        fputs(" opaque=y", f);
                break;
        case TREE_ENTRY_FILE:
                fprintf(f, " mode=%04o uid=%u gid=%u size=%" PRIu64 " key=%s",
                        (unsigned) e->mode, (unsigned) e->uid, (unsigned) e->gid, e->size, e->key);
                break;
        case TREE_ENTRY_SYMLINK:
                fprintf(f, " uid=%u gid=%u target=", (unsigned) e->uid, (unsigned) e->gid);
                tree_escape_to(f, e->target, strlen(e->target));
                break;
        case TREE_ENTRY_HARDLINK:
                fputs(" target=", f);
                tree_escape_to(f, e->target, strlen(e->target));
                break;
        case TREE_ENTRY_WHITEOUT:
                fprintf(f, " mode=%04o uid=%u gid=%u", (unsigned) e->mode, (unsigned) e->uid, (unsigned) e->gid);
                break;
        case _TREE_ENTRY_TYPE_MAX:
                break;
        }

        /* A hard link shares the attributes of its target. */
        for (size_t i = 0; e->type != TREE_ENTRY_HARDLINK && i < e->n_xattrs; i++) {
                fputs(" xattr=", f);
                tree_escape_to(f, e->xattrs[i].name, strlen(e->xattrs[i].name));
                fputc('=', f);
                tree_escape_to(f, e->xattrs[i].value, e->xattrs[i].value_size);
        }
        fputc('\n', f);
}

int tree_serialize(const TreeEntry *entries, size_t n, char **ret, size_t *ret_len) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        FILE *f;
        int r = 0;

        f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;

        fputs(TREE_MAGIC, f);
        for (size_t i = 0; i < n; i++)
                entry_write(f, &entries[i]);

        if (ferror(f))
                r = -ENOMEM;
        if (fclose(f) != 0 && r == 0)
                r = -ENOMEM;
        if (r < 0)
                return r;

        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

/* ---- Parsing ----------------------------------------------------------- */

typedef struct TreeParser {
        const char *key;        /* for messages, may be NULL */
        size_t line_no;
        TreeEntry *entries;
        size_t n_entries;
        size_t allocated;
        KpError *err;
} TreeParser;

static int parser_fail(TreeParser *p, const char *fmt, ...) _printf_(2, 3);
static int parser_fail(TreeParser *p, const char *fmt, ...) {
        _cleanup_free_ char *reason = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&reason, fmt, ap) < 0)
                reason = NULL;
        va_end(ap);

        if (p->key)
                return kp_error_set_kind(p->err, KP_ERROR_STORE, -EBADMSG, "invalid tree object '%s': line %zu: %s",
                                         p->key, p->line_no, strna(reason));
        return kp_error_set_kind(p->err, KP_ERROR_STORE, -EBADMSG, "invalid tree object: line %zu: %s",
                                 p->line_no, strna(reason));
}

/* Fail with WHAT and the offending token, escaped so that control bytes
 * from a damaged object never reach a terminal, and cut to 80 bytes. */
static int parser_fail_token(TreeParser *p, const char *what, const char *tok, size_t len) {
        _cleanup_free_ char *escaped = escape_bytes(tok, len > 80 ? 80 : len);

        return parser_fail(p, "%s '%s%s'", what, strna(escaped), len > 80 ? "..." : "");
}

/* Take the next space-separated token from [*pos, end). Empty tokens (two
 * spaces, a leading or trailing space) are returned as such, so callers
 * reject them. *pos becomes NULL after the last token. */
bool tree_next_token(const char **pos, const char *end, const char **ret, size_t *ret_len) {
        const char *p = *pos, *sp;

        if (!p)
                return false;
        sp = memchr(p, ' ', (size_t) (end - p));
        *ret = p;
        *ret_len = (size_t) ((sp ? sp : end) - p);
        *pos = sp ? sp + 1 : NULL;
        return true;
}

/* Strict decimal: digits only, no leading zeros, at most MAX. */
int tree_parse_decimal(const char *s, size_t len, uint64_t max, uint64_t *ret) {
        uint64_t v = 0;

        if (len == 0 || (len > 1 && s[0] == '0'))
                return -EINVAL;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                if (v > (max - (uint64_t) (s[i] - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t) (s[i] - '0');
        }
        *ret = v;
        return 0;
}

static int parse_mode(const char *s, size_t len, mode_t *ret) {
        mode_t m = 0;

        if (len != 4)
                return -EINVAL;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '7')
                        return -EINVAL;
                m = m * 8 + (mode_t) (s[i] - '0');
        }
        *ret = m;
        return 0;
}

int tree_parse_key(const char *s, size_t len, char ret[KP_HASH_HEX_SIZE]) {
        if (len != KP_HASH_HEX_LEN)
                return -EINVAL;
        for (size_t i = 0; i < len; i++)
                if (hex_digit(s[i]) < 0)
                        return -EINVAL;
        memcpy(ret, s, len);
        ret[len] = '\0';
        return 0;
}

/* Check that the token is "NAME=..." and point VALUE at what follows. */
static bool token_has_name(const char *tok, size_t len, const char *name, const char **value, size_t *value_len) {
        size_t n = strlen(name);

        if (len <= n || memcmp(tok, name, n) != 0 || tok[n] != '=')
                return false;
        *value = tok + n + 1;
        *value_len = len - n - 1;
        return true;
}

static int parse_attribute(TreeParser *p, TreeEntry *e, const char *name, const char *v, size_t len) {
        uint64_t number;
        int r;

        if (streq(name, "mode")) {
                if (parse_mode(v, len, &e->mode) < 0)
                        return parser_fail_token(p, "invalid mode", v, len);
        } else if (streq(name, "uid") || streq(name, "gid")) {
                /* (uid_t) -1 means "unchanged" to chown(), so it is not a valid owner. */
                if (tree_parse_decimal(v, len, UINT32_MAX - 1, &number) < 0)
                        return parser_fail_token(p, name[0] == 'u' ? "invalid uid" : "invalid gid", v, len);
                if (name[0] == 'u')
                        e->uid = (uid_t) number;
                else
                        e->gid = (gid_t) number;
        } else if (streq(name, "size")) {
                if (tree_parse_decimal(v, len, INT64_MAX, &e->size) < 0)
                        return parser_fail_token(p, "invalid size", v, len);
        } else if (streq(name, "key")) {
                if (tree_parse_key(v, len, e->key) < 0)
                        return parser_fail_token(p, "invalid object key", v, len);
        } else if (streq(name, "target")) {
                r = tree_unescape(v, len, false, &e->target, NULL);
                if (r == -ENOMEM)
                        return kp_error_set(p->err, r, "out of memory");
                if (r < 0 || e->target[0] == '\0' || strlen(e->target) > TREE_PATH_MAX)
                        return parser_fail_token(p, "invalid target", v, len);
        }
        return 0;
}

static int parse_xattr(TreeParser *p, TreeEntry *e, const char *v, size_t len) {
        _cleanup_free_ char *name = NULL, *value = NULL;
        const char *eq = memchr(v, '=', len);
        size_t value_size;
        TreeXattr *grown;
        int r;

        if (!eq)
                return parser_fail_token(p, "invalid extended attribute", v, len);

        r = tree_unescape(v, (size_t) (eq - v), false, &name, NULL);
        if (r == -ENOMEM)
                return kp_error_set(p->err, r, "out of memory");
        if (r < 0 || name[0] == '\0' || strlen(name) > TREE_XATTR_NAME_MAX)
                return parser_fail_token(p, "invalid extended attribute name", v, (size_t) (eq - v));

        r = tree_unescape(eq + 1, len - (size_t) (eq - v) - 1, true, &value, &value_size);
        if (r == -ENOMEM)
                return kp_error_set(p->err, r, "out of memory");
        if (r < 0 || value_size > TREE_XATTR_VALUE_MAX)
                return parser_fail_token(p, "invalid value of extended attribute", v, (size_t) (eq - v));

        if (e->n_xattrs > 0 && strcmp(e->xattrs[e->n_xattrs - 1].name, name) >= 0)
                return parser_fail_token(p, "extended attributes are not sorted by name, or repeated:", v,
                                         (size_t) (eq - v));

        grown = realloc(e->xattrs, (e->n_xattrs + 1) * sizeof(TreeXattr));
        if (!grown)
                return kp_error_set(p->err, -ENOMEM, "out of memory");
        e->xattrs = grown;
        e->xattrs[e->n_xattrs++] = (TreeXattr) {
                .name = TAKE_PTR(name),
                .value = TAKE_PTR(value),
                .value_size = value_size,
        };
        return 0;
}

/* Attributes every entry type requires, in the order they are written. */
static const char *const tree_required_attributes[_TREE_ENTRY_TYPE_MAX][6] = {
        [TREE_ENTRY_DIRECTORY] = { "mode", "uid", "gid" },
        [TREE_ENTRY_FILE] = { "mode", "uid", "gid", "size", "key" },
        [TREE_ENTRY_SYMLINK] = { "uid", "gid", "target" },
        [TREE_ENTRY_HARDLINK] = { "target" },
        [TREE_ENTRY_WHITEOUT] = { "mode", "uid", "gid" },
};

static int parse_type(TreeParser *p, const char *tok, size_t len, TreeEntryType *ret) {
        if (len == 1)
                for (int t = 0; t < _TREE_ENTRY_TYPE_MAX; t++)
                        if (tree_type_chars[t] == tok[0]) {
                                *ret = (TreeEntryType) t;
                                return 0;
                        }
        return parser_fail_token(p, "unknown entry type", tok, len);
}

static int parse_line(TreeParser *p, const char *line, size_t len, TreeEntry *e) {
        const char *pos = line, *end = line + len, *tok, *value;
        size_t tok_len, value_len;
        int r;

        if (len == 0 || !tree_next_token(&pos, end, &tok, &tok_len))
                return parser_fail(p, "empty line");
        r = parse_type(p, tok, tok_len, &e->type);
        if (r < 0)
                return r;

        if (!tree_next_token(&pos, end, &tok, &tok_len))
                return parser_fail(p, "missing path");
        r = tree_unescape(tok, tok_len, false, &e->path, NULL);
        if (r == -ENOMEM)
                return kp_error_set(p->err, r, "out of memory");
        if (r < 0)
                return parser_fail_token(p, "invalid path", tok, tok_len);

        for (const char *const *name = tree_required_attributes[e->type]; *name; name++) {
                if (!tree_next_token(&pos, end, &tok, &tok_len) || !token_has_name(tok, tok_len, *name, &value, &value_len))
                        return parser_fail(p, "missing attribute '%s'", *name);
                r = parse_attribute(p, e, *name, value, value_len);
                if (r < 0)
                        return r;
        }

        while (tree_next_token(&pos, end, &tok, &tok_len)) {
                if (e->type == TREE_ENTRY_DIRECTORY && e->n_xattrs == 0 && !e->opaque &&
                    tok_len == strlen("opaque=y") && memcmp(tok, "opaque=y", tok_len) == 0) {
                        e->opaque = true;
                        continue;
                }
                if (e->type == TREE_ENTRY_HARDLINK || !token_has_name(tok, tok_len, "xattr", &value, &value_len))
                        return parser_fail_token(p, "unexpected attribute", tok, tok_len);
                r = parse_xattr(p, e, value, value_len);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Check an entry against the ones before it: the root comes first, the
 * other paths are valid and strictly increasing, every parent is a
 * directory listed earlier, and a hard link names an earlier file. */
static int parser_check_entry(TreeParser *p, const TreeEntry *e) {
        _cleanup_free_ char *escaped = tree_escape_string(e->path);
        char dir[PATH_MAX];
        ssize_t i;

        if (p->n_entries == 0) {
                if (!streq(e->path, ".") || e->type != TREE_ENTRY_DIRECTORY)
                        return parser_fail(p, "the first entry must be the root directory '.'");
                return 0;
        }

        if (!tree_path_is_valid(e->path))
                return parser_fail(p, "invalid path '%s'", strna(escaped));
        if (p->n_entries > 1 && strcmp(p->entries[p->n_entries - 1].path, e->path) >= 0)
                return parser_fail(p, "path '%s' is out of order or repeated", strna(escaped));

        (void) tree_path_split(e->path, dir);
        i = tree_entries_find(p->entries, p->n_entries, dir[0] ? dir : ".");
        if (i < 0 || p->entries[i].type != TREE_ENTRY_DIRECTORY)
                return parser_fail(p, "parent of '%s' is not a directory in the tree", strna(escaped));

        if (e->type == TREE_ENTRY_HARDLINK) {
                if (!tree_path_is_valid(e->target))
                        return parser_fail(p, "invalid hard link target of '%s'", strna(escaped));
                i = tree_entries_find(p->entries, p->n_entries, e->target);
                if (i < 0 || p->entries[i].type != TREE_ENTRY_FILE)
                        return parser_fail(p, "hard link '%s' does not name an earlier file", strna(escaped));
        }
        return 0;
}

static int parser_add_line(TreeParser *p, const char *line, size_t len) {
        TreeEntry e = {};
        int r;

        r = parse_line(p, line, len, &e);
        if (r >= 0)
                r = parser_check_entry(p, &e);
        if (r < 0) {
                tree_entry_done(&e);
                return r;
        }

        if (p->n_entries == p->allocated) {
                size_t want = p->allocated ? p->allocated * 2 : 64;
                TreeEntry *grown = realloc(p->entries, want * sizeof(TreeEntry));

                if (!grown) {
                        tree_entry_done(&e);
                        return kp_error_set(p->err, -ENOMEM, "out of memory");
                }
                p->entries = grown;
                p->allocated = want;
        }
        p->entries[p->n_entries++] = e;
        return 0;
}

static int tree_parse_keyed(const char *data, size_t len, const char *key, TreeEntry **ret, size_t *ret_count,
                            KpError *err) {
        TreeParser p = { .key = key, .line_no = 1, .err = err };
        size_t magic_len = strlen(TREE_MAGIC);
        const char *pos, *end = data + len;
        int r = 0;

        if (len < magic_len || memcmp(data, TREE_MAGIC, magic_len) != 0)
                return parser_fail(&p, "missing the header line 'karapace-tree 1'");
        if (memchr(data, '\0', len))
                return parser_fail(&p, "contains a NUL byte");
        if (data[len - 1] != '\n')
                return parser_fail(&p, "the last line has no newline");

        for (pos = data + magic_len; pos < end; ) {
                const char *eol = memchr(pos, '\n', (size_t) (end - pos));

                p.line_no++;
                r = parser_add_line(&p, pos, (size_t) (eol - pos));
                if (r < 0)
                        break;
                pos = eol + 1;
        }

        if (r < 0) {
                tree_entries_free(p.entries, p.n_entries);
                return r;
        }
        *ret = p.entries;
        *ret_count = p.n_entries;
        return 0;
}

int tree_parse(const char *data, size_t len, TreeEntry **ret, size_t *ret_count, KpError *err) {
        return tree_parse_keyed(data, len, NULL, ret, ret_count, err);
}

/* ---- Reading objects --------------------------------------------------- */

/* Open the object KEY and report whether it is a tree object. Anything else
 * is taken for a legacy layer tarball. */
int tree_object_open(Store *s, const char *key, int *ret_fd, bool *ret_is_tree, KpError *err) {
        size_t magic_len = strlen(TREE_MAGIC), prefix_len = strlen(TREE_MAGIC_PREFIX);
        _cleanup_close_ int fd = -1;
        char head[64];
        ssize_t n;
        int r;

        if (!kp_hash_hex_is_valid(key))
                return kp_error_set_kind(err, KP_ERROR_STORE, -EINVAL, "invalid object key '%s'", key);

        r = store_object_open(s, key, &fd, err);
        if (r < 0)
                return r;

        do
                n = pread(fd, head, magic_len, 0);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
                r = -errno;
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to read object '%s': %s", key, strerror(-r));
        }

        if ((size_t) n >= prefix_len && memcmp(head, TREE_MAGIC_PREFIX, prefix_len) == 0 &&
            ((size_t) n < magic_len || memcmp(head, TREE_MAGIC, magic_len) != 0))
                return kp_error_set_kind(err, KP_ERROR_STORE, -EPROTONOSUPPORT,
                                         "tree object '%s' has an unsupported format version (supported: 1)", key);

        *ret_is_tree = (size_t) n == magic_len && memcmp(head, TREE_MAGIC, magic_len) == 0;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int tree_object_load(Store *s, const char *key, int fd, TreeEntry **ret, size_t *ret_count, KpError *err) {
        _cleanup_free_ char *data = NULL;
        struct stat st;
        size_t len;
        int r;

        if (fstat(fd, &st) < 0) {
                r = -errno;
                return kp_error_set_kind(err, KP_ERROR_STORE, r, "failed to stat object '%s': %s", key, strerror(-r));
        }
        if ((uint64_t) st.st_size > TREE_OBJECT_MAX)
                return kp_error_set_kind(err, KP_ERROR_STORE, -EFBIG,
                                         "tree object '%s' is too large (%" PRIu64 " bytes, the limit is %u)",
                                         key, (uint64_t) st.st_size, TREE_OBJECT_MAX);

        r = store_object_get(s, key, &data, &len, err);
        if (r < 0)
                return r;

        return tree_parse_keyed(data, len, key, ret, ret_count, err);
}


int store_tree_list(Store *s, const char *tree_key, TreeEntry **ret, size_t *ret_count, KpError *err) {
        _cleanup_close_ int fd = -1;
        bool is_tree;
        int r;

        r = tree_object_open(s, tree_key, &fd, &is_tree, err);
        if (r < 0)
                return r;

        if (is_tree)
                return tree_object_load(s, tree_key, fd, ret, ret_count, err);
        return tree_legacy_list(s, tree_key, fd, ret, ret_count, err);
}
