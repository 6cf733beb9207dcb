/* SPDX-License-Identifier: MIT */
/*
 * Session markers: <env dir>/.sessions/<pid>-<start time>, one per running
 * exec or enter. An environment is Running exactly while it has a live
 * marker. The state stored in its metadata stays Built, so a session costs
 * no metadata write and no fsync. A marker that outlives its process (after
 * a crash) is stale and ignored. The start time (field 22 of /proc/<pid>/stat, in clock
 * ticks since boot) distinguishes a live session from a reused pid. The store lock is
 * not held while a session runs, so state Running is derived from markers:
 * an environment is Running while at least one marker is live.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "basic/fs-util.h"
#include "basic/log.h"
#include "engine/engine-internal.h"

#define SESSIONS_DIR ".sessions"

/* Start time of PID in clock ticks, or 0 when the process does not exist. */
static unsigned long long process_start_time(pid_t pid) {
        _cleanup_free_ char *stat = NULL;
        char path[64];
        unsigned long long start = 0;
        const char *p;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        if (kp_read_file_at(AT_FDCWD, path, 4096, &stat, NULL) < 0)
                return 0;

        /* The command name (field 2) may contain spaces and parentheses, so
         * count fields from the last ')'. */
        p = strrchr(stat, ')');
        if (!p)
                return 0;
        p++;
        for (int field = 2; field < 21 && p; field++)
                p = strchr(p + 1, ' ');
        if (!p || sscanf(p, " %llu", &start) != 1)
                return 0;
        return start;
}

static int marker_parse(const char *name, pid_t *ret_pid, unsigned long long *ret_start) {
        int pid;
        unsigned long long start;
        char extra;

        if (sscanf(name, "%d-%llu%c", &pid, &start, &extra) != 2 || pid <= 0)
                return -EINVAL;
        *ret_pid = pid;
        *ret_start = start;
        return 0;
}

static bool marker_is_live(const char *name) {
        unsigned long long start;
        pid_t pid;

        if (marker_parse(name, &pid, &start) < 0)
                return false;
        return process_start_time(pid) == start;
}

int engine_session_begin(Engine *e, const char *env_id, char **ret_marker, KpError *err) {
        _cleanup_free_ char *dir = NULL, *env_dir = engine_env_dir(e, env_id), *marker = NULL;
        _cleanup_close_ int dfd = -1;
        pid_t pid = getpid();
        int r;

        if (!env_dir)
                return kp_error_set(err, -ENOMEM, "out of memory");
        dir = kp_path_join(env_dir, SESSIONS_DIR);
        if (!dir || asprintf(&marker, "%d-%llu", (int) pid, process_start_time(pid)) < 0)
                return kp_error_set(err, -ENOMEM, "out of memory");

        /* A session that ends removes the directory when it is empty, so a
         * marker created right after that finds no directory: try again. No
         * fsync: after a crash the marker would be stale anyway. */
        for (int attempt = 0; attempt < 8; attempt++) {
                r = kp_mkdir_p(dir, 0755);
                if (r < 0)
                        return kp_error_set_kind(err, KP_ERROR_RUNTIME, r, "create '%s': %s", dir, strerror(-r));
                dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0) {
                        if (errno == ENOENT)
                                continue;
                        return kp_error_set_kind(err, KP_ERROR_RUNTIME, -errno, "open '%s': %m", dir);
                }
                int fd = openat(dfd, marker, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd < 0)
                        r = -errno;
                else {
                        (void) close(fd);
                        *ret_marker = TAKE_PTR(marker);
                        return 0;
                }
                (void) close_and_reset(&dfd);
                if (r != -ENOENT)
                        break;
        }
        return kp_error_set_kind(err, KP_ERROR_RUNTIME, r, "write session marker in '%s': %s", dir, strerror(-r));
}

void engine_session_end(Engine *e, const char *env_id, const char *marker) {
        _cleanup_free_ char *env_dir = engine_env_dir(e, env_id), *dir = NULL;
        _cleanup_close_ int dfd = -1;

        if (!env_dir || !(dir = kp_path_join(env_dir, SESSIONS_DIR)))
                return;
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || (unlinkat(dfd, marker, 0) < 0 && errno != ENOENT))
                log_warn("cannot remove session marker '%s/%s': %m", dir, marker);
        /* The last session removes the directory; another session that
         * still runs keeps it (ENOTEMPTY). */
        if (rmdir(dir) < 0 && errno != ENOTEMPTY && errno != EEXIST && errno != ENOENT)
                log_warn("cannot remove '%s': %m", dir);
}

/* Visit the live markers of ENV_ID, deleting stale ones. */
static int sessions_foreach(Engine *e, const char *env_id, int sig) {
        _cleanup_free_ char *env_dir = engine_env_dir(e, env_id), *dir = NULL;
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_close_ int dfd = -1;
        size_t n = 0;
        int live = 0;

        if (!env_dir || !(dir = kp_path_join(env_dir, SESSIONS_DIR)))
                return -ENOMEM;
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return 0;
        if (kp_dir_list_at(dfd, ".", true, true, &names, &n) < 0)
                return 0;

        for (size_t i = 0; i < n; i++) {
                unsigned long long start;
                pid_t pid;

                if (!marker_is_live(names[i])) {
                        (void) unlinkat(dfd, names[i], 0);
                        continue;
                }
                live++;
                if (sig == 0 || marker_parse(names[i], &pid, &start) < 0)
                        continue;

                /* A pidfd pins the process: check the start time again after
                 * opening it, then signal through it, so a pid reused in
                 * between is never signalled. */
                int pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
                if (pidfd < 0)
                        continue;
                if (process_start_time(pid) == start &&
                    syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 && errno != ESRCH)
                        log_warn("cannot send signal %d to session %d: %m", sig, (int) pid);
                (void) close(pidfd);
        }
        return live;
}

int engine_sessions_count(Engine *e, const char *env_id) {
        return sessions_foreach(e, env_id, 0);
}

int engine_sessions_signal(Engine *e, const char *env_id, int sig) {
        return sessions_foreach(e, env_id, sig);
}

/* Returns true when ENV_DIR has a sessions directory, which exists while a
 * session runs (and after a crashed one). */
static bool has_sessions_dir(const char *env_dir) {
        _cleanup_free_ char *dir = kp_path_join(env_dir, SESSIONS_DIR);

        return dir && kp_is_dir_at(AT_FDCWD, dir);
}

/* Remove the scratch directories of builds and resolutions that ended
 * without cleaning up (a crash, or a build that failed after resolving).
 * Builds hold the store lock, and so does the caller, so none is in use. */
static void remove_stale_build_dirs(Engine *e) {
        _cleanup_strv_free_ char **names = NULL;
        size_t n = 0;

        if (kp_dir_list_at(AT_FDCWD, e->env_root, false, true, &names, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *path = NULL;
                _cleanup_error_ KpError err = KP_ERROR_INIT;

                if (!strneq(names[i], ".build-", 7) && !strneq(names[i], ".resolve-", 9))
                        continue;
                path = kp_path_join(e->env_root, names[i]);
                if (path && engine_remove_tree(e, path, &err) < 0)
                        log_warn("cannot remove leftover '%s': %s", path, err.message);
        }
}

void engine_sessions_cleanup(Engine *e) {
        _cleanup_strv_free_ char **ids = NULL;
        size_t n = 0;

        remove_stale_build_dirs(e);
        if (kp_dir_list_at(AT_FDCWD, e->env_root, true, true, &ids, &n) < 0)
                return;

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *env_dir = engine_env_dir(e, ids[i]), *legacy = NULL;
                _cleanup_env_metadata_free_ EnvMetadata *m = NULL;
                _cleanup_error_ KpError err = KP_ERROR_INIT;

                if (!env_dir || !env_id_is_valid(ids[i]))
                        continue;

                /* A directory without metadata is what an interrupted destroy
                 * leaves; builds never leave one behind while holding the
                 * lock, which the caller holds now. */
                if (!store_metadata_exists(e->store, ids[i])) {
                        if (engine_remove_tree(e, env_dir, &err) < 0)
                                log_warn("cannot remove leftover '%s': %s", env_dir, err.message);
                        continue;
                }

                /* The original tool's single-pid marker is never trusted. */
                if ((legacy = kp_path_join(env_dir, ".running")))
                        (void) unlink(legacy);

                /* Only environments with markers can be stuck in Running:
                 * a session writes its marker before the state changes. */
                if (!has_sessions_dir(env_dir) || engine_sessions_count(e, ids[i]) > 0)
                        continue;
                if (store_metadata_get(e->store, ids[i], &m, &err) < 0)
                        continue;
                if (m->state == ENV_STATE_RUNNING &&
                    store_metadata_update_state(e->store, ids[i], ENV_STATE_BUILT, &err) < 0) {
                        log_warn("cannot reset environment %s to built: %s", m->short_id, err.message);
                        continue;
                }
                if (m->state != ENV_STATE_RUNNING || err.code == 0) {
                        _cleanup_free_ char *dir = kp_path_join(env_dir, SESSIONS_DIR);
                        if (dir)
                                (void) rmdir(dir);
                }
        }
}

EnvState engine_effective_state(Engine *e, const EnvMetadata *m) {
        _cleanup_free_ char *env_dir = engine_env_dir(e, m->env_id);

        if (env_dir && has_sessions_dir(env_dir) && engine_sessions_count(e, m->env_id) > 0)
                return ENV_STATE_RUNNING;
        /* Stores written by the original tool may record Running with no
         * session left. Start-up cleanup resets them, and until then they
         * count as Built. */
        if (m->state == ENV_STATE_RUNNING)
                return ENV_STATE_BUILT;
        return m->state;
}
