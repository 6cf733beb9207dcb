/* SPDX-License-Identifier: MIT */
/*
 * The mock backend: records what a build would produce without running
 * anything, so the store, the engine and the front ends can be tested
 * without namespaces or network.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "basic/fs-util.h"
#include "basic/hash.h"
#include "runtime/backend.h"

#define MOCK_VERSION "0.0.0-mock"

static const char *mock_unavailable_reason(void) {
        return NULL;
}

static int mock_resolve(const BackendSpec *spec, ResolutionResult **ret, KpError *err) {
        _cleanup_(resolution_result_freep) ResolutionResult *result = NULL;
        _cleanup_free_ char *input = NULL;
        char digest[KP_HASH_HEX_SIZE];
        const NormalizedManifest *m = spec->manifest;
        int r;

        if (asprintf(&input, "mock-image:%s", m->base_image) < 0)
                return kp_error_set(err, -ENOMEM, "out of memory");
        kp_hash_str_hex(input, digest);

        r = resolution_result_new(digest, &result);
        if (r < 0)
                return kp_error_set(err, r, "out of memory");
        for (size_t i = 0; i < m->n_system_packages; i++) {
                r = resolution_result_add_package(result, m->system_packages[i], MOCK_VERSION);
                if (r < 0)
                        return kp_error_set(err, r, "out of memory");
        }
        *ret = TAKE_PTR(result);
        return 0;
}

static int write_upper_file(int upperfd, const char *name, const char *content, KpError *err) {
        int r;

        r = kp_write_file_atomic_at(upperfd, name, content, strlen(content), 0644, 0);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, r, "write '%s' in upper directory: %s",
                                         name, strerror(-r));
        return 0;
}

static int mock_build(const BackendSpec *spec, KpError *err) {
        _cleanup_free_ char *upper = kp_path_join(spec->env_dir, "upper");
        _cleanup_free_ char *marker = NULL;
        _cleanup_close_ int upperfd = -1;
        const NormalizedManifest *m = spec->manifest;
        int r;

        if (!upper)
                return kp_error_set(err, -ENOMEM, "out of memory");
        r = kp_mkdir_p(upper, 0755);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, r, "create '%s': %s", upper, strerror(-r));
        upperfd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (upperfd < 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, -errno, "open '%s': %m", upper);

        if (asprintf(&marker, "mock-env:%s", spec->env_id) < 0)
                return kp_error_set(err, -ENOMEM, "out of memory");
        r = write_upper_file(upperfd, ".karapace-mock", marker, err);
        if (r < 0)
                return r;

        for (size_t i = 0; i < m->n_system_packages; i++) {
                _cleanup_free_ char *name = NULL, *content = NULL;

                if (asprintf(&name, ".pkg-%s", m->system_packages[i]) < 0 ||
                    asprintf(&content, "%s@" MOCK_VERSION, m->system_packages[i]) < 0)
                        return kp_error_set(err, -ENOMEM, "out of memory");
                /* A package name is one path component; anything else would
                 * write outside the upper directory. */
                if (strchr(m->system_packages[i], '/'))
                        return kp_error_set_kind(err, KP_ERROR_RUNTIME, -EINVAL,
                                                 "invalid package name '%s'", m->system_packages[i]);
                r = write_upper_file(upperfd, name, content, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int mock_run(const BackendSpec *spec, char *const *argv, bool interactive, int *ret_status,
                    KpError *err) {
        /* Nothing runs: exec prints what it would have run, enter returns. */
        if (argv && argv[0]) {
                fputs("mock-exec:", stdout);
                for (size_t i = 0; argv[i]; i++) {
                        fputc(' ', stdout);
                        fputs(argv[i], stdout);
                }
                fputc('\n', stdout);
                if (fflush(stdout) == EOF)
                        return kp_error_set_kind(err, KP_ERROR_IO, -errno, "write to stdout: %m");
        }
        *ret_status = 0;
        return 0;
}

static int mock_destroy(const BackendSpec *spec, KpError *err) {
        int r = kp_rm_rf(spec->env_dir);

        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_RUNTIME, r, "remove '%s': %s", spec->env_dir,
                                         strerror(-r));
        return 0;
}

const Backend backend_mock = {
        .name = "mock",
        .unavailable_reason = mock_unavailable_reason,
        .resolve = mock_resolve,
        .build = mock_build,
        .run = mock_run,
        .destroy = mock_destroy,
};
