/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "basic/fs-util.h"
#include "basic/log.h"
#include "runtime/sandbox-ids.h"

extern char **environ;

/* /etc/subuid is a few lines per user; 1 MiB bounds a corrupt or huge file. */
#define SUBID_FILE_MAX (1024 * 1024)

static bool parse_u32(const char *s, size_t len, uint32_t *ret) {
        uint64_t v = 0;

        if (len == 0 || len > 10)
                return false;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (uint64_t) (s[i] - '0');
        }
        if (v > UINT32_MAX)
                return false;
        *ret = (uint32_t) v;
        return true;
}

static bool subid_name_matches(const char *name, size_t len, const char *user, uint32_t id) {
        uint32_t v;

        if (user && strlen(user) == len && strneq(name, user, len))
                return true;
        return parse_u32(name, len, &v) && v == id;
}

int sandbox_subid_parse(const char *contents, const char *user, uint32_t id, SubidRange *ret) {
        const char *line = contents;

        while (line && *line) {
                const char *end = strchrnul(line, '\n');
                const char *c1 = memchr(line, ':', (size_t) (end - line));
                const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t) (end - c1 - 1)) : NULL;
                SubidRange range;

                if (c2 && line[0] != '#' &&
                    subid_name_matches(line, (size_t) (c1 - line), user, id) &&
                    parse_u32(c1 + 1, (size_t) (c2 - c1 - 1), &range.start) &&
                    parse_u32(c2 + 1, (size_t) (end - c2 - 1), &range.count) &&
                    range.count > 0 && (uint64_t) range.start + range.count <= UINT32_MAX) {
                        *ret = range;
                        return 0;
                }
                line = *end ? end + 1 : NULL;
        }
        return -ENOENT;
}

static void subid_load(const char *path, const char *user, uint32_t id, SubidRange *ret) {
        _cleanup_free_ char *contents = NULL;

        *ret = (SubidRange) {};
        if (kp_read_file_at(AT_FDCWD, path, SUBID_FILE_MAX, &contents, NULL) < 0)
                return;
        if (sandbox_subid_parse(contents, user, id, ret) < 0)
                *ret = (SubidRange) {};
}

int sandbox_ids_load(SandboxIds *ret) {
        struct passwd *pw;
        const char *user;

        *ret = (SandboxIds) {
                .uid = getuid(),
                .gid = getgid(),
        };

        pw = getpwuid(ret->uid);
        user = pw ? pw->pw_name : NULL;
        subid_load("/etc/subuid", user, ret->uid, &ret->subuid);
        subid_load("/etc/subgid", user, ret->uid, &ret->subgid);
        return 0;
}

bool sandbox_ids_have_range(const SandboxIds *ids) {
        return ids->subuid.count > 0 && ids->subgid.count > 0;
}

int sandbox_id_map_args(uint32_t id, const SubidRange *range, char buf[static SANDBOX_ID_MAP_MAX]) {
        int n;

        if (range && range->count > 0)
                n = snprintf(buf, SANDBOX_ID_MAP_MAX, "0 %" PRIu32 " 1 1 %" PRIu32 " %" PRIu32, id,
                             range->start, range->count);
        else
                n = snprintf(buf, SANDBOX_ID_MAP_MAX, "0 %" PRIu32 " 1", id);
        if (n < 0 || n >= SANDBOX_ID_MAP_MAX)
                return -EOVERFLOW;
        return 0;
}

int sandbox_id_map_single(uint32_t id, char buf[static SANDBOX_ID_MAP_MAX]) {
        int n = snprintf(buf, SANDBOX_ID_MAP_MAX, "0 %" PRIu32 " 1\n", id);

        if (n < 0 || n >= SANDBOX_ID_MAP_MAX)
                return -EOVERFLOW;
        return 0;
}

/* Split "a b c" into the argv of HELPER for PID. */
static int spawn_map_helper(const char *helper, pid_t pid, const char *args, pid_t *ret) {
        char pidbuf[16], copy[SANDBOX_ID_MAP_MAX];
        char *argv[10];
        size_t n = 0;
        char *save = NULL;
        int r;

        snprintf(pidbuf, sizeof pidbuf, "%d", (int) pid);
        snprintf(copy, sizeof copy, "%s", args);
        argv[n++] = (char *) helper;
        argv[n++] = pidbuf;
        for (char *tok = strtok_r(copy, " ", &save); tok && n < ELEMENTSOF(argv) - 1;
             tok = strtok_r(NULL, " ", &save))
                argv[n++] = tok;
        argv[n] = NULL;

        r = posix_spawnp(ret, helper, NULL, NULL, argv, environ);
        return -r;
}

static int wait_map_helper(const char *helper, pid_t pid, KpError *err) {
        int status;

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return kp_error_set_kind(err, KP_ERROR_RUNTIME, -errno, "waiting for %s failed: %m",
                                                 helper);

        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -EPERM,
                                         "%s failed (see its message above); check the entries for this "
                                         "user in /etc/subuid and /etc/subgid",
                                         helper);
        return 0;
}

static int map_with_helpers(const SandboxIds *ids, pid_t pid, KpError *err) {
        char uid_args[SANDBOX_ID_MAP_MAX], gid_args[SANDBOX_ID_MAP_MAX];
        pid_t uid_helper = -1, gid_helper = -1;
        int r, r2;

        (void) sandbox_id_map_args(ids->uid, &ids->subuid, uid_args);
        (void) sandbox_id_map_args(ids->gid, &ids->subgid, gid_args);

        r = spawn_map_helper("newuidmap", pid, uid_args, &uid_helper);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, r,
                                         "failed to run newuidmap: %s (install the 'uidmap' package)",
                                         strerror(-r));

        r = spawn_map_helper("newgidmap", pid, gid_args, &gid_helper);
        if (r < 0) {
                (void) wait_map_helper("newuidmap", uid_helper, NULL);
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, r,
                                         "failed to run newgidmap: %s (install the 'uidmap' package)",
                                         strerror(-r));
        }

        r = wait_map_helper("newuidmap", uid_helper, err);
        r2 = wait_map_helper("newgidmap", gid_helper, r < 0 ? NULL : err);
        return r < 0 ? r : r2;
}

static int write_proc_file(pid_t pid, const char *name, const char *contents) {
        char path[64];
        _cleanup_close_ int fd = -1;

        snprintf(path, sizeof path, "/proc/%d/%s", (int) pid, name);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, contents, strlen(contents)) < 0)
                return -errno;
        return 0;
}

static void warn_single_id_once(const SandboxIds *ids) {
        static bool warned = false;
        struct passwd *pw;

        if (warned)
                return;
        warned = true;
        pw = getpwuid(ids->uid);
        log_warn("no subordinate uid/gid range for this user in /etc/subuid and /etc/subgid, so only root "
                 "is mapped inside the sandbox: package installation and files owned by other users may "
                 "fail. Fix (as root): usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s",
                 pw ? pw->pw_name : "USER");
}

static int map_single(const SandboxIds *ids, pid_t pid, KpError *err) {
        char map[SANDBOX_ID_MAP_MAX];
        int r;

        warn_single_id_once(ids);

        r = write_proc_file(pid, "setgroups", "deny");
        if (r < 0 && r != -ENOENT)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, r, "failed to deny setgroups in the user namespace: %s",
                                         strerror(-r));

        (void) sandbox_id_map_single(ids->uid, map);
        r = write_proc_file(pid, "uid_map", map);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, r, "failed to write the uid map: %s", strerror(-r));

        (void) sandbox_id_map_single(ids->gid, map);
        r = write_proc_file(pid, "gid_map", map);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, r, "failed to write the gid map: %s", strerror(-r));

        return 0;
}

int sandbox_ids_map_pid(const SandboxIds *ids, pid_t pid, KpError *err) {
        if (sandbox_ids_have_range(ids))
                return map_with_helpers(ids, pid, err);
        return map_single(ids, pid, err);
}

int sandbox_ids_become_root(const SandboxIds *ids) {
        if (setresgid(0, 0, 0) < 0)
                return -errno;
        if (setresuid(0, 0, 0) < 0)
                return -errno;

        /* Host supplementary groups show up as the overflow gid inside;
         * drop them where the kernel allows it (not with a single-id map,
         * where setgroups is denied). */
        if (sandbox_ids_have_range(ids) && setgroups(0, NULL) < 0)
                return -errno;
        return 0;
}
