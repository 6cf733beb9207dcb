/* SPDX-License-Identifier: MIT */
/* Engine tests on the mock backend: references, state transitions, diff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "basic/fs-util.h"
#include "engine/engine.h"

typedef struct Fixture {
        char dir[64];
        char *store;
        Engine *engine;
} Fixture;

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(Fixture));

        snprintf(f->dir, sizeof(f->dir), "/tmp/kp-engine-XXXXXX");
        if (!mkdtemp(f->dir))
                return -1;
        f->store = kp_path_join(f->dir, "store");
        if (engine_open(f->store, &f->engine, NULL) < 0)
                return -1;
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        engine_free(f->engine);
        (void) kp_rm_rf(f->dir);
        free(f->store);
        free(f);
        return 0;
}

/* Write a mock manifest with PACKAGES into DIR/NAME/karapace.toml and build it. */
static void build(Fixture *f, const char *name, const char *packages, const char *env_name, BuildResult *ret) {
        _cleanup_free_ char *dir = NULL, *path = NULL, *text = NULL;
        _cleanup_error_ KpError err = KP_ERROR_INIT;

        assert_true(asprintf(&dir, "%s/%s", f->dir, name) > 0);
        assert_int_equal(kp_mkdir_p(dir, 0755), 0);
        path = kp_path_join(dir, "karapace.toml");
        assert_true(asprintf(&text, "manifest_version = 1\n[base]\nimage = \"rolling\"\n"
                                    "[system]\npackages = [%s]\n[runtime]\nbackend = \"mock\"\n", packages) > 0);
        assert_int_equal(kp_write_file_atomic_at(AT_FDCWD, path, text, strlen(text), 0644, 0), 0);

        BuildOptions opts = { .manifest_path = path, .name = env_name };
        if (engine_build(f->engine, &opts, ret, &err) < 0)
                fail_msg("build failed: %s", err.message);
}

static void test_resolve_ref_forms(void **state) {
        Fixture *f = *state;
        BuildResult a = {}, b = {};
        char id[KP_HASH_HEX_SIZE];
        _cleanup_error_ KpError err = KP_ERROR_INIT;

        build(f, "a", "", "alpha", &a);
        build(f, "b", "\"git\"", NULL, &b);

        assert_int_equal(engine_resolve_ref(f->engine, a.env_id, false, id, &err), 0);
        assert_string_equal(id, a.env_id);
        assert_int_equal(engine_resolve_ref(f->engine, a.short_id, false, id, &err), 0);
        assert_string_equal(id, a.env_id);
        assert_int_equal(engine_resolve_ref(f->engine, "alpha", false, id, &err), 0);
        assert_string_equal(id, a.env_id);

        char prefix[8];
        snprintf(prefix, sizeof(prefix), "%.5s", b.env_id);
        assert_int_equal(engine_resolve_ref(f->engine, prefix, false, id, &err), 0);
        assert_string_equal(id, b.env_id);

        /* An empty reference matches nothing. */
        assert_int_equal(engine_resolve_ref(f->engine, "", false, id, &err), -ENOENT);
        assert_int_equal(engine_resolve_ref(f->engine, "zzz", false, id, &err), -ENOENT);
        assert_string_equal(err.message, "no environment matching 'zzz'");

        /* A mistyped full id is reported, not used blindly. */
        char wrong[KP_HASH_HEX_SIZE];
        memcpy(wrong, a.env_id, KP_HASH_HEX_SIZE);
        wrong[63] = wrong[63] == '0' ? '1' : '0';
        assert_int_equal(engine_resolve_ref(f->engine, wrong, false, id, &err), -ENOENT);

        build_result_done(&a);
        build_result_done(&b);
}

static void test_resolve_ref_ambiguous(void **state) {
        Fixture *f = *state;
        BuildResult r[6] = {};
        char names[6][16], id[KP_HASH_HEX_SIZE], prefix[2] = "";
        _cleanup_error_ KpError err = KP_ERROR_INIT;

        /* Among 6 ids two share a first hex digit or none do; find one. */
        for (int i = 0; i < 6; i++) {
                char pkg[32];
                snprintf(names[i], sizeof(names[i]), "m%d", i);
                snprintf(pkg, sizeof(pkg), "\"p%d\"", i);
                build(f, names[i], pkg, NULL, &r[i]);
        }
        for (int i = 0; i < 6 && !prefix[0]; i++)
                for (int j = i + 1; j < 6; j++)
                        if (r[i].env_id[0] == r[j].env_id[0]) {
                                prefix[0] = r[i].env_id[0];
                                break;
                        }
        if (!prefix[0])
                skip();

        assert_int_equal(engine_resolve_ref(f->engine, prefix, true, id, &err), -ENOENT);
        assert_non_null(strstr(err.message, "ambiguous env_id prefix"));
        assert_non_null(strstr(err.message, "Use a longer prefix"));
        for (int i = 0; i < 6; i++)
                build_result_done(&r[i]);
}

static void test_state_transitions(void **state) {
        Fixture *f = *state;
        BuildResult a = {};
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        EnvMetadata *m = NULL;
        char *argv[] = { (char *) "true", NULL };
        int status = -1;

        build(f, "t", "", NULL, &a);
        assert_int_equal(engine_stop(f->engine, a.env_id, &err), -ESRCH);
        assert_non_null(strstr(err.message, "is not running"));

        assert_int_equal(engine_freeze(f->engine, a.env_id, &err), 0);
        assert_int_equal(engine_exec(f->engine, a.env_id, argv, &status, &err), -EPERM);
        assert_string_equal(err.message, "invalid state transition: frozen -> running");
        assert_int_equal(engine_freeze(f->engine, a.env_id, &err), -EPERM);

        assert_int_equal(engine_archive(f->engine, a.env_id, &err), 0);
        assert_int_equal(engine_inspect(f->engine, a.env_id, &m, &err), 0);
        assert_int_equal(m->state, ENV_STATE_ARCHIVED);
        env_metadata_free(m);

        /* Building the same manifest returns it to Built. */
        build_result_done(&a);
        build(f, "t", "", NULL, &a);
        assert_int_equal(engine_inspect(f->engine, a.env_id, &m, &err), 0);
        assert_int_equal(m->state, ENV_STATE_BUILT);
        env_metadata_free(m);

        assert_int_equal(engine_exec(f->engine, a.env_id, argv, &status, &err), 0);
        assert_int_equal(status, 0);
        assert_int_equal(engine_inspect(f->engine, a.env_id, &m, &err), 0);
        assert_int_equal(m->state, ENV_STATE_BUILT);
        env_metadata_free(m);

        assert_int_equal(engine_destroy(f->engine, a.env_id, &err), 0);
        assert_int_equal(engine_inspect(f->engine, a.env_id, &m, &err), -ENOENT);
        build_result_done(&a);
}

static void test_diff_classifies(void **state) {
        Fixture *f = *state;
        BuildResult a = {};
        DiffReport d = {};
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        _cleanup_free_ char *upper = NULL, *lower = NULL;

        build(f, "d", "", NULL, &a);
        assert_true(asprintf(&upper, "%s/env/%s/upper", f->store, a.env_id) > 0);
        assert_true(asprintf(&lower, "%s/env/%s/lower", f->store, a.env_id) > 0);

        /* A lower tree with etc/hosts; the upper changes it, deletes
         * etc/motd and adds a file. */
        assert_int_equal(kp_mkdir_p(lower, 0755), 0);
        assert_int_equal(kp_mkdir_p_at(AT_FDCWD, upper, 0755), 0);
        {
                _cleanup_free_ char *p1 = kp_path_join(lower, "etc"), *p2 = kp_path_join(upper, "etc");
                assert_int_equal(kp_mkdir_p(p1, 0755), 0);
                assert_int_equal(kp_mkdir_p(p2, 0755), 0);
        }
        int lfd = open(lower, O_RDONLY | O_DIRECTORY), ufd = open(upper, O_RDONLY | O_DIRECTORY);
        assert_int_equal(kp_write_file_atomic_at(lfd, "etc/hosts", "a", 1, 0644, 0), 0);
        assert_int_equal(kp_write_file_atomic_at(lfd, "etc/motd", "m", 1, 0644, 0), 0);
        assert_int_equal(kp_write_file_atomic_at(ufd, "etc/hosts", "b", 1, 0644, 0), 0);
        assert_int_equal(kp_write_file_atomic_at(ufd, "etc/.wh.motd", "", 0, 0644, 0), 0);
        assert_int_equal(kp_write_file_atomic_at(ufd, "new.txt", "n", 1, 0644, 0), 0);
        close(lfd);
        close(ufd);

        assert_int_equal(engine_diff(f->engine, a.env_id, &d, &err), 0);
        assert_true(diff_report_has_drift(&d));
        assert_int_equal(d.n_modified, 1);
        assert_string_equal(d.modified[0], "etc/hosts");
        assert_int_equal(d.n_removed, 1);
        assert_string_equal(d.removed[0], "etc/motd");
        /* The mock backend's own files count as added. */
        bool found = false;
        for (size_t i = 0; i < d.n_added; i++)
                found = found || streq(d.added[i], "new.txt");
        assert_true(found);
        diff_report_done(&d);
        build_result_done(&a);
}

static void test_rename_rules(void **state) {
        Fixture *f = *state;
        BuildResult a = {}, b = {};
        _cleanup_error_ KpError err = KP_ERROR_INIT;

        build(f, "r1", "", "first", &a);
        build(f, "r2", "\"git\"", NULL, &b);
        assert_int_equal(engine_rename(f->engine, b.env_id, "first", &err), -EEXIST);
        assert_non_null(strstr(err.message, "already used by environment"));
        assert_true(engine_rename(f->engine, b.env_id, "bad name", &err) < 0);
        assert_int_equal(engine_rename(f->engine, b.env_id, "second", &err), 0);
        assert_int_equal(engine_rename(f->engine, a.env_id, "first", &err), 0);
        build_result_done(&a);
        build_result_done(&b);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_resolve_ref_forms, setup, teardown),
                cmocka_unit_test_setup_teardown(test_resolve_ref_ambiguous, setup, teardown),
                cmocka_unit_test_setup_teardown(test_state_transitions, setup, teardown),
                cmocka_unit_test_setup_teardown(test_diff_classifies, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rename_rules, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
