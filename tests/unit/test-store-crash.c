/* SPDX-License-Identifier: MIT */
/* Crash safety: kill a process at every fault point of a sequence of store
 * writes, then check that recovery leaves a consistent store. Needs a build
 * with -Dfault_injection=true; other builds skip. */
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include "config.h"
#include "test-store-helpers.h"
#include "basic/fault.h"
#include "store/store-gc.h"
#include "store/store-layer.h"
#include "store/store-lock.h"
#include "store/store-metadata.h"
#include "store/store-verify.h"
#include "store/store-wal.h"

#define CHECK(expr) do { if ((expr) < 0) _exit(3); } while (0)

static void put_env(Store *s, const char *id, const char *manifest, const char *base, uint32_t ref_count,
                    KpError *err) {
        EnvMetadata m = {
                .env_id = (char *) id,
                .short_id = (char *) id,
                .state = ENV_STATE_BUILT,
                .manifest_hash = (char *) manifest,
                .base_layer = (char *) base,
                .created_at = (char *) "2025-01-01T00:00:00Z",
                .updated_at = (char *) "2025-01-01T00:00:00Z",
                .ref_count = ref_count,
        };

        CHECK(store_metadata_put(s, &m, err));
}

/* The operation sequence the child runs: a build, an enter session, and a
 * GC that removes an orphaned environment. */
static void run_sequence(const char *root) {
        KpError err = KP_ERROR_INIT;
        char manifest[KP_HASH_HEX_SIZE], content[KP_HASH_HEX_SIZE], layer[KP_HASH_HEX_SIZE];
        char env[KP_HASH_HEX_SIZE], orphan[KP_HASH_HEX_SIZE];
        char *refs[] = { content, NULL }, *op = NULL, *env_dir = NULL, *input = NULL;
        GcReport rep = {};
        Store *s = NULL;
        Layer l;
        int fd;

        test_id("env", env);
        test_id("orphan", orphan);
        CHECK(store_open(root, &s, &err));
        CHECK(store_init(s, &err));

        CHECK(store_object_put_bytes(s, "{\"manifest\":1}", 14, manifest, &err));
        input = kp_path_join(root, "input");
        fd = open(input, O_RDONLY | O_CLOEXEC);
        CHECK(fd);
        CHECK(store_object_put_fd(s, fd, content, &err));
        close(fd);

        l = (Layer) { .hash = content, .kind = LAYER_KIND_BASE, .object_refs = refs, .n_object_refs = 1,
                      .read_only = true, .tar_hash = content };

        /* Build. */
        CHECK(asprintf(&env_dir, "%s/env/%s", store_root(s), env));
        CHECK(store_wal_begin(s, WAL_OP_BUILD, env, &op, &err));
        CHECK(store_wal_add_remove_dir(s, op, env_dir, &err));
        CHECK(kp_mkdir_p(env_dir, 0755));
        CHECK(store_layer_put(s, &l, layer, &err));
        put_env(s, env, manifest, layer, 1, &err);
        CHECK(store_wal_commit(s, op, &err));
        free(op);

        /* Enter. */
        CHECK(store_wal_begin(s, WAL_OP_ENTER, env, &op, &err));
        CHECK(store_wal_add_reset_state(s, op, env, ENV_STATE_BUILT, &err));
        CHECK(store_metadata_update_state(s, env, ENV_STATE_RUNNING, &err));
        CHECK(store_metadata_update_state(s, env, ENV_STATE_BUILT, &err));
        CHECK(store_wal_commit(s, op, &err));
        free(op);

        /* GC of an orphan that shares nothing with ENV. */
        put_env(s, orphan, "", "", 0, &err);
        CHECK(store_object_put_bytes(s, "garbage", 7, content, &err));
        CHECK(store_wal_begin(s, WAL_OP_GC, "gc", &op, &err));
        CHECK(store_gc(s, /* dry_run= */ false, NULL, &rep, &err));
        CHECK(store_wal_commit(s, op, &err));
        _exit(0);
}

static int run_child(const char *root, const char *log, long kill_at) {
        int status = 0;
        pid_t pid;

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char n[32];

                snprintf(n, sizeof(n), "%ld", kill_at);
                if (log)
                        setenv("KARAPACE_FAULT_LOG", log, 1);
                if (kill_at > 0)
                        setenv("KARAPACE_FAULT_KILL_AT", n, 1);
                kp_fault_reset();
                run_sequence(root);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        return status;
}

static char *prepare_root(void) {
        char *root = test_mkdtemp(), *input = kp_path_join(root, "input");
        char buf[4096];
        int fd;

        fd = open(input, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        for (int i = 0; i < 64; i++) {
                memset(buf, 'a' + i % 26, sizeof(buf));
                assert_int_equal(kp_write_all(fd, buf, sizeof(buf)), 0);
        }
        close(fd);
        free(input);
        return root;
}

static size_t count_lines(const char *path) {
        _cleanup_free_ char *data = NULL;
        size_t n = 0;

        assert_int_equal(kp_read_file_at(AT_FDCWD, path, 1 << 20, &data, NULL), 0);
        for (const char *p = data; *p; p++)
                n += *p == '\n';
        return n;
}

/* What must hold after any crash once recovery ran. */
static void check_consistent(const char *root, long point) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_(verify_report_done) VerifyReport rep = {};
        EnvMetadata *envs = NULL;
        WalEntry *entries = NULL;
        size_t n = 0;
        Store *s = NULL;
        int lock = -1;

        assert_store_ok(store_open(root, &s, &err));
        assert_int_equal(store_lock_try(s, &lock, &err), 1);
        assert_true(store_wal_recover(s, &err) >= 0);
        assert_store_ok(store_init(s, &err));

        assert_store_ok(store_wal_list_incomplete(s, &entries, &n, &err));
        assert_int_equal(n, 0);
        free(entries);

        assert_store_ok(store_verify(s, &rep, &err));
        for (size_t i = 0; i < rep.n_failures; i++)
                print_message("point %ld: %s: %s\n", point, rep.failures[i].hash, rep.failures[i].reason);
        assert_int_equal(rep.n_failures, 0);

        assert_store_ok(store_metadata_list(s, &envs, &n, &err));
        for (size_t i = 0; i < n; i++)
                assert_int_not_equal(envs[i].state, ENV_STATE_RUNNING);
        env_metadata_array_free(envs, n);

        store_lock_release(lock);
        store_free(s);
}

static void test_kill_at_every_point(void **state) {
        _cleanup_free_ char *count_root = NULL, *log = NULL;
        size_t points;
        int status;

        if (!KP_FAULT_INJECTION)
                skip();

        count_root = prepare_root();
        log = kp_path_join(count_root, "points.log");
        status = run_child(count_root, log, 0);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        points = count_lines(log);
        assert_true(points > 20);
        check_consistent(count_root, 0);
        assert_int_equal(kp_rm_rf(count_root), 0);

        for (long k = 1; k <= (long) points; k++) {
                _cleanup_free_ char *root = prepare_root();

                status = run_child(root, NULL, k);
                assert_true(WIFSIGNALED(status));
                assert_int_equal(WTERMSIG(status), SIGKILL);
                check_consistent(root, k);
                assert_int_equal(kp_rm_rf(root), 0);
        }
        print_message("killed the sequence at each of %zu fault points\n", points);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_kill_at_every_point),
        };

        kp_log_set_level(KP_LOG_ERROR);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
