/* SPDX-License-Identifier: MIT */
/* doctor: checks of the host and the store that change nothing on disk. */
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/fs-util.h"
#include "engine/engine-internal.h"
#include "store/store-lock.h"

const char *doctor_status_to_string(DoctorStatus s) {
        static const char *const names[] = {
                [DOCTOR_PASS] = "pass", [DOCTOR_FAIL] = "fail", [DOCTOR_WARN] = "warn", [DOCTOR_INFO] = "info",
        };
        return (unsigned) s < ELEMENTSOF(names) ? names[s] : NULL;
}

void doctor_report_done(DoctorReport *r) {
        for (size_t i = 0; i < r->n_checks; i++) {
                free(r->checks[i].name);
                free(r->checks[i].message);
        }
        free(r->checks);
        memset(r, 0, sizeof(*r));
}

_printf_(4, 5)
static int add_check(DoctorReport *r, const char *name, DoctorStatus status, const char *fmt, ...) {
        DoctorCheck *grown;
        char *message = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&message, fmt, ap) < 0)
                message = NULL;
        va_end(ap);
        grown = realloc(r->checks, (r->n_checks + 1) * sizeof(DoctorCheck));
        if (!message || !grown) {
                free(message);
                if (grown)
                        r->checks = grown;
                return -ENOMEM;
        }
        r->checks = grown;
        r->checks[r->n_checks++] = (DoctorCheck) { .name = strdup(name), .status = status, .message = message };
        if (status == DOCTOR_FAIL)
                r->healthy = false;
        return 0;
}

/* Search PATH for NAME; returns a newly allocated path or NULL. */
static char *find_program(const char *name) {
        const char *path = getenv("PATH");
        _cleanup_free_ char *copy = strdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
        char *save = NULL;

        if (!copy)
                return NULL;
        for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
                char *candidate = kp_path_join(dir, name);
                if (candidate && access(candidate, X_OK) == 0)
                        return candidate;
                free(candidate);
        }
        return NULL;
}

static int read_int_file(const char *path, long *ret) {
        _cleanup_free_ char *text = NULL;

        if (kp_read_file_at(AT_FDCWD, path, 64, &text, NULL) < 0)
                return -ENOENT;
        *ret = strtol(text, NULL, 10);
        return 0;
}

/* Run FUNC in a child process; returns its exit status (0: success). */
static int in_child(int (*func)(void *), void *userdata) {
        pid_t pid = fork();
        int status;

        if (pid < 0)
                return -errno;
        if (pid == 0)
                _exit(func(userdata) == 0 ? 0 : 1);
        if (waitpid(pid, &status, 0) < 0)
                return -errno;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static int try_userns(void *userdata) {
        return unshare(CLONE_NEWUSER) < 0 ? -errno : 0;
}

static int write_string(const char *path, const char *s) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        return fd < 0 ? -errno : kp_write_all(fd, s, strlen(s));
}

/* Mount kernel overlayfs with userxattr inside a new user and mount
 * namespace, on directories below the temporary directory USERDATA. */
static int try_overlay_userxattr(void *userdata) {
        const char *dir = userdata;
        char map[64], options[4096], lower[1024], upper[1024], work[1024], merged[1024];
        uid_t uid = getuid();
        gid_t gid = getgid();

        snprintf(lower, sizeof(lower), "%s/lower", dir);
        snprintf(upper, sizeof(upper), "%s/upper", dir);
        snprintf(work, sizeof(work), "%s/work", dir);
        snprintf(merged, sizeof(merged), "%s/merged", dir);
        if (mkdir(lower, 0755) < 0 || mkdir(upper, 0755) < 0 || mkdir(work, 0755) < 0 || mkdir(merged, 0755) < 0)
                return -errno;
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
                return -errno;
        (void) write_string("/proc/self/setgroups", "deny");
        snprintf(map, sizeof(map), "0 %u 1", (unsigned) uid);
        if (write_string("/proc/self/uid_map", map) < 0)
                return -EPERM;
        snprintf(map, sizeof(map), "0 %u 1", (unsigned) gid);
        if (write_string("/proc/self/gid_map", map) < 0)
                return -EPERM;
        snprintf(options, sizeof(options), "lowerdir=%s,upperdir=%s,workdir=%s,userxattr", lower, upper, work);
        return mount("overlay", merged, "overlay", 0, options) < 0 ? -errno : 0;
}

static void check_user_namespaces(DoctorReport *r) {
        long value;

        if (in_child(try_userns, NULL) == 0) {
                (void) add_check(r, "user_namespaces", DOCTOR_PASS, "Unprivileged user namespaces are allowed");
                return;
        }
        if (read_int_file("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", &value) == 0 && value == 1)
                (void) add_check(r, "user_namespaces", DOCTOR_FAIL,
                                 "User namespaces are restricted by AppArmor; allow them with "
                                 "'sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0' "
                                 "or an AppArmor profile for karapace");
        else if (read_int_file("/proc/sys/kernel/unprivileged_userns_clone", &value) == 0 && value == 0)
                (void) add_check(r, "user_namespaces", DOCTOR_FAIL,
                                 "User namespaces are disabled; enable them with "
                                 "'sudo sysctl kernel.unprivileged_userns_clone=1'");
        else
                (void) add_check(r, "user_namespaces", DOCTOR_FAIL,
                                 "Cannot create a user namespace; the kernel needs CONFIG_USER_NS=y "
                                 "and user.max_user_namespaces above 0");
}

/* Size of the subordinate range of the current user in FILE, 0 if none. */
static unsigned long subid_count(const char *file) {
        _cleanup_free_ char *text = NULL;
        struct passwd *pw = getpwuid(getuid());
        char uid_text[32];
        unsigned long total = 0;

        if (kp_read_file_at(AT_FDCWD, file, 1 << 20, &text, NULL) < 0)
                return 0;
        snprintf(uid_text, sizeof(uid_text), "%u", (unsigned) getuid());
        for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char owner[256];
                unsigned long start, count;

                if (sscanf(line, "%255[^:]:%lu:%lu", owner, &start, &count) != 3)
                        continue;
                if (streq(owner, uid_text) || (pw && streq(owner, pw->pw_name)))
                        total += count;
        }
        return total;
}

static void check_id_mapping(DoctorReport *r) {
        unsigned long uids = subid_count("/etc/subuid"), gids = subid_count("/etc/subgid");
        _cleanup_free_ char *newuidmap = find_program("newuidmap"), *newgidmap = find_program("newgidmap");

        if (getuid() == 0)
                (void) add_check(r, "subordinate_ids", DOCTOR_INFO, "Running as root: the full id range is available");
        else if (uids >= 65536 && gids >= 65536)
                (void) add_check(r, "subordinate_ids", DOCTOR_PASS, "Subordinate ids: %lu uids, %lu gids", uids, gids);
        else
                (void) add_check(r, "subordinate_ids", DOCTOR_WARN,
                                 "Subordinate id range missing or small (%lu uids, %lu gids); package managers that "
                                 "change file owners will fail. Add one with "
                                 "'sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 $USER'",
                                 uids, gids);

        if (newuidmap && newgidmap)
                (void) add_check(r, "newuidmap", DOCTOR_PASS, "newuidmap and newgidmap found");
        else
                (void) add_check(r, "newuidmap", DOCTOR_WARN,
                                 "newuidmap/newgidmap not found; install them with 'sudo apt-get install uidmap'");
}

static void check_overlay(DoctorReport *r) {
        char dir[] = "/tmp/karapace-doctor-XXXXXX";
        _cleanup_free_ char *fuse = find_program("fuse-overlayfs");
        int status;

        if (!mkdtemp(dir)) {
                (void) add_check(r, "overlay", DOCTOR_WARN, "Cannot create a temporary directory to test overlayfs: %m");
                return;
        }
        status = in_child(try_overlay_userxattr, dir);
        (void) kp_rm_rf(dir);

        if (status == 0)
                (void) add_check(r, "overlay", DOCTOR_PASS, "Kernel overlayfs mounts in a user namespace (userxattr)");
        else if (fuse && access("/dev/fuse", R_OK | W_OK) == 0)
                (void) add_check(r, "overlay", DOCTOR_WARN,
                                 "Kernel overlayfs with userxattr is not available; fuse-overlayfs will be used");
        else
                (void) add_check(r, "overlay", DOCTOR_FAIL,
                                 "Neither kernel overlayfs with userxattr (Linux 5.11 or later) nor a usable "
                                 "fuse-overlayfs (/dev/fuse accessible) is available");

        if (fuse)
                (void) add_check(r, "fuse_overlayfs", access("/dev/fuse", R_OK | W_OK) == 0 ? DOCTOR_PASS : DOCTOR_INFO,
                                 access("/dev/fuse", R_OK | W_OK) == 0 ? "fuse-overlayfs found and /dev/fuse usable"
                                                                       : "fuse-overlayfs found but /dev/fuse is not accessible to this user");
        else
                (void) add_check(r, "fuse_overlayfs", DOCTOR_INFO,
                                 "fuse-overlayfs not found (only needed without kernel overlayfs support); "
                                 "install it with 'sudo apt-get install fuse-overlayfs'");
}

static void check_tools(DoctorReport *r) {
        _cleanup_free_ char *mmdebstrap = find_program("mmdebstrap");

        if (mmdebstrap)
                (void) add_check(r, "mmdebstrap", DOCTOR_PASS, "mmdebstrap found (Debian and Ubuntu bases)");
        else
                (void) add_check(r, "mmdebstrap", DOCTOR_INFO,
                                 "mmdebstrap not found; install it with 'sudo apt-get install mmdebstrap' "
                                 "to build Debian and Ubuntu bases without an image server");

        /* Resource limits need a delegated cgroup v2 subtree. */
        if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) != 0)
                (void) add_check(r, "cgroups", DOCTOR_WARN,
                                 "cgroup v2 is not mounted at /sys/fs/cgroup (v1 or hybrid); "
                                 "resource_limits in manifests cannot be enforced");
        else
                (void) add_check(r, "cgroups", DOCTOR_INFO, "cgroup v2 is available");
}

static void check_store(Engine *e, DoctorReport *r) {
        _cleanup_free_ char *store_dir = kp_path_join(e->root, "store");
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        struct statvfs vfs;
        EnvMetadata *list = NULL;
        size_t n = 0;
        int lock_fd = -1, q;

        if (!store_dir || !kp_is_dir_at(AT_FDCWD, store_dir)) {
                (void) add_check(r, "store_exists", DOCTOR_INFO, "Store not initialized (will be created on first build)");
                return;
        }
        (void) add_check(r, "store_exists", DOCTOR_PASS, "Store directory exists");

        if (store_version_check(e->store, &err) < 0)
                (void) add_check(r, "store_version", DOCTOR_FAIL, "Store version check failed: %s", err.message);
        else
                (void) add_check(r, "store_version", DOCTOR_PASS, "Store format version valid");
        kp_error_clear(&err);

        {
                VerifySummary v = {};
                if (engine_verify_store(e, &v, &err) < 0)
                        (void) add_check(r, "store_integrity", DOCTOR_FAIL, "Integrity check failed: %s", err.message);
                else if (v.n_failures > 0)
                        (void) add_check(r, "store_integrity", DOCTOR_FAIL,
                                         "%zu problem(s) in %zu objects, %zu layers and %zu metadata files",
                                         v.n_failures, v.objects_checked, v.layers_checked, v.metadata_checked);
                else
                        (void) add_check(r, "store_integrity", DOCTOR_PASS,
                                         "Store integrity OK (%zu objects, %zu layers, %zu metadata files checked)",
                                         v.objects_checked, v.layers_checked, v.metadata_checked);
                verify_summary_done(&v);
                kp_error_clear(&err);
        }

        {
                WalEntry *entries = NULL;
                size_t n_entries = 0;
                if (store_wal_list_incomplete(e->store, &entries, &n_entries, &err) < 0)
                        (void) add_check(r, "wal_clean", DOCTOR_WARN, "Cannot read WAL: %s", err.message);
                else if (n_entries > 0)
                        (void) add_check(r, "wal_clean", DOCTOR_WARN,
                                         "WAL has %zu incomplete entries (will recover on next start)", n_entries);
                else
                        (void) add_check(r, "wal_clean", DOCTOR_PASS, "WAL is clean (no incomplete entries)");
                wal_entries_free(entries, n_entries);
                kp_error_clear(&err);
        }

        q = store_lock_try(e->store, &lock_fd, &err);
        if (q < 0)
                (void) add_check(r, "store_lock", DOCTOR_FAIL, "Cannot check store lock: %s", err.message);
        else if (q == 0)
                (void) add_check(r, "store_lock", DOCTOR_WARN, "Store lock is held by another process");
        else
                (void) add_check(r, "store_lock", DOCTOR_PASS, "Store lock is free");
        (void) store_lock_release(lock_fd);
        kp_error_clear(&err);

        if (store_metadata_list(e->store, &list, &n, &err) < 0)
                (void) add_check(r, "environments", DOCTOR_WARN, "Cannot list environments: %s", err.message);
        else {
                size_t running = 0;
                for (size_t i = 0; i < n; i++)
                        running += list[i].state == ENV_STATE_RUNNING;
                (void) add_check(r, "environments", DOCTOR_INFO, "%zu environments (%zu running)", n, running);
                env_metadata_array_free(list, n);
        }

        if (statvfs(store_dir, &vfs) == 0) {
                unsigned long long mib = (unsigned long long) vfs.f_bavail * vfs.f_frsize / (1024 * 1024);
                if (mib < 100)
                        (void) add_check(r, "disk_space", DOCTOR_FAIL, "Low disk space: %llu MB available", mib);
                else if (mib < 1024)
                        (void) add_check(r, "disk_space", DOCTOR_WARN,
                                         "Disk space: %llu MB available (consider freeing space)", mib);
                else
                        (void) add_check(r, "disk_space", DOCTOR_PASS, "Disk space: %llu GB available", mib / 1024);
        }
}

int engine_doctor(Engine *e, DoctorReport *ret, KpError *err) {
        DoctorReport r = { .healthy = true };

        check_user_namespaces(&r);
        check_id_mapping(&r);
        check_overlay(&r);
        check_tools(&r);
        check_store(e, &r);
        *ret = r;
        return 0;
}
