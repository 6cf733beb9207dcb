/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "basic/fs-util.h"
#include "schema/identity.h"
#include "schema/lock.h"
#include "schema/schema-util.h"

static void locked_packages_free(LockedPackage *packages, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(packages[i].name);
                free(packages[i].version);
        }
        free(packages);
}

int resolution_result_new(const char *base_image_digest, ResolutionResult **ret) {
        ResolutionResult *r;

        r = calloc(1, sizeof(ResolutionResult));
        if (!r)
                return -ENOMEM;

        r->base_image_digest = strdup(base_image_digest);
        if (!r->base_image_digest) {
                free(r);
                return -ENOMEM;
        }

        *ret = r;
        return 0;
}

int resolution_result_add_package(ResolutionResult *r, const char *name, const char *version) {
        _cleanup_free_ char *name_copy = NULL, *version_copy = NULL;
        LockedPackage *grown;

        name_copy = strdup(name);
        version_copy = strdup(version);
        if (!name_copy || !version_copy)
                return -ENOMEM;

        grown = realloc(r->packages, (r->n_packages + 1) * sizeof(LockedPackage));
        if (!grown)
                return -ENOMEM;
        r->packages = grown;

        r->packages[r->n_packages++] = (LockedPackage) {
                .name = TAKE_PTR(name_copy),
                .version = TAKE_PTR(version_copy),
        };
        return 0;
}

ResolutionResult *resolution_result_free(ResolutionResult *r) {
        if (!r)
                return NULL;

        free(r->base_image_digest);
        locked_packages_free(r->packages, r->n_packages);
        free(r);
        return NULL;
}

Lock *lock_free(Lock *lock) {
        if (!lock)
                return NULL;

        free(lock->env_id);
        free(lock->short_id);
        free(lock->base_image);
        free(lock->base_image_digest);
        locked_packages_free(lock->packages, lock->n_packages);
        kp_strv_free(lock->apps);
        free(lock->runtime_backend);
        for (size_t i = 0; i < lock->n_mounts; i++) {
                free(lock->mounts[i].label);
                free(lock->mounts[i].host_path);
                free(lock->mounts[i].container_path);
        }
        free(lock->mounts);
        free(lock);
        return NULL;
}

int lock_path_for_manifest(const char *manifest_path, char **ret) {
        _cleanup_free_ char *dir = NULL;
        const char *slash;
        char *path;

        slash = strrchr(manifest_path, '/');
        if (!slash)
                dir = strdup(".");
        else if (slash == manifest_path)
                dir = strdup("/");
        else
                dir = strndup(manifest_path, (size_t) (slash - manifest_path));
        if (!dir)
                return -ENOMEM;

        path = kp_path_join(dir, LOCK_FILE_NAME);
        if (!path)
                return -ENOMEM;

        *ret = path;
        return 0;
}

static int locked_package_compare(const void *a, const void *b) {
        const LockedPackage *x = a, *y = b;
        int c;

        c = strcmp(x->name, y->name);
        if (c != 0)
                return c;
        return strcmp(x->version, y->version);
}

static int lock_copy_packages(Lock *lock, const ResolutionResult *resolution) {
        if (resolution->n_packages == 0)
                return 0;

        lock->packages = calloc(resolution->n_packages, sizeof(LockedPackage));
        if (!lock->packages)
                return -ENOMEM;

        for (size_t i = 0; i < resolution->n_packages; i++) {
                LockedPackage *p = &lock->packages[lock->n_packages++];

                p->name = strdup(resolution->packages[i].name);
                p->version = strdup(resolution->packages[i].version);
                if (!p->name || !p->version)
                        return -ENOMEM;
        }

        qsort(lock->packages, lock->n_packages, sizeof(LockedPackage), locked_package_compare);
        return 0;
}

static int lock_copy_mounts(Lock *lock, const NormalizedManifest *m) {
        if (m->n_mounts == 0)
                return 0;

        lock->mounts = calloc(m->n_mounts, sizeof(MountSpec));
        if (!lock->mounts)
                return -ENOMEM;

        for (size_t i = 0; i < m->n_mounts; i++) {
                MountSpec *mount = &lock->mounts[lock->n_mounts++];

                mount->label = strdup(m->mounts[i].label);
                mount->host_path = strdup(m->mounts[i].host_path);
                mount->container_path = strdup(m->mounts[i].container_path);
                if (!mount->label || !mount->host_path || !mount->container_path)
                        return -ENOMEM;
        }

        return 0;
}

static int lock_fill(Lock *lock, const NormalizedManifest *m, const ResolutionResult *resolution) {
        char env_id[KP_HASH_HEX_SIZE], short_id[IDENTITY_SHORT_ID_SIZE];
        int r;

        lock->lock_version = LOCK_VERSION;
        lock->base_image = strdup(m->base_image);
        lock->base_image_digest = strdup(resolution->base_image_digest);
        lock->runtime_backend = strdup(m->runtime_backend);
        if (!lock->base_image || !lock->base_image_digest || !lock->runtime_backend)
                return -ENOMEM;

        r = lock_copy_packages(lock, resolution);
        if (r < 0)
                return r;

        r = schema_strv_copy(m->gui_apps, m->n_gui_apps, &lock->apps);
        if (r < 0)
                return r;
        lock->n_apps = m->n_gui_apps;

        lock->hardware_gpu = m->hardware_gpu;
        lock->hardware_audio = m->hardware_audio;
        lock->network_isolation = m->network_isolation;
        lock->limits = m->limits;

        r = lock_copy_mounts(lock, m);
        if (r < 0)
                return r;

        identity_env_id_compute(lock, env_id);
        identity_short_id(env_id, short_id);
        lock->env_id = strdup(env_id);
        lock->short_id = strdup(short_id);
        if (!lock->env_id || !lock->short_id)
                return -ENOMEM;

        return 0;
}

int lock_create(const NormalizedManifest *m, const ResolutionResult *resolution, Lock **ret, KpError *err) {
        _cleanup_lock_free_ Lock *lock = NULL;
        int r;

        lock = calloc(1, sizeof(Lock));
        if (!lock)
                return kp_error_set_kind(err, KP_ERROR_LOCK, -ENOMEM, "failed to create lock: out of memory");

        r = lock_fill(lock, m, resolution);
        if (r < 0)
                return kp_error_set_kind(err, KP_ERROR_LOCK, r, "failed to create lock: %s", strerror(-r));

        *ret = TAKE_PTR(lock);
        return 0;
}

int lock_verify_integrity(const Lock *lock, KpError *err) {
        char computed[KP_HASH_HEX_SIZE];

        identity_env_id_compute(lock, computed);
        if (!streq(computed, lock->env_id))
                return kp_error_set_kind(err, KP_ERROR_LOCK, -EBADMSG,
                                         "lock file env_id mismatch: lock has '%s', recomputed '%s'", lock->env_id,
                                         computed);

        return 0;
}

static bool lock_has_package(const Lock *lock, const char *name) {
        for (size_t i = 0; i < lock->n_packages; i++)
                if (streq(lock->packages[i].name, name))
                        return true;
        return false;
}

int lock_verify_manifest_intent(const Lock *lock, const NormalizedManifest *m, KpError *err) {
        if (!streq(lock->base_image, m->base_image))
                return kp_error_set_kind(err, KP_ERROR_LOCK, -EINVAL,
                                         "lock file manifest drift: base image changed: lock has '%s', manifest has '%s'",
                                         lock->base_image, m->base_image);

        if (!streq(lock->runtime_backend, m->runtime_backend))
                return kp_error_set_kind(err, KP_ERROR_LOCK, -EINVAL,
                                         "lock file manifest drift: runtime backend changed: lock has '%s', manifest has '%s'",
                                         lock->runtime_backend, m->runtime_backend);

        for (size_t i = 0; i < m->n_system_packages; i++)
                if (!lock_has_package(lock, m->system_packages[i]))
                        return kp_error_set_kind(err, KP_ERROR_LOCK, -EINVAL,
                                                 "lock file manifest drift: package '%s' is in manifest but not in lock file. "
                                                 "Run 'karapace build' to re-resolve.",
                                                 m->system_packages[i]);

        if (lock->hardware_gpu != m->hardware_gpu || lock->hardware_audio != m->hardware_audio)
                return kp_error_set_kind(err, KP_ERROR_LOCK, -EINVAL,
                                         "lock file manifest drift: hardware policy changed. "
                                         "Run 'karapace build' to re-resolve.");

        return 0;
}
