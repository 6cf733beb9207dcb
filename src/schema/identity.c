/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "basic/macro.h"
#include "schema/identity.h"

static void hash_tagged(KpHasher *h, const char *tag, const char *value) {
        kp_hasher_update_str(h, tag);
        kp_hasher_update_str(h, value);
}

static void hash_decimal(KpHasher *h, const char *tag, uint64_t value) {
        char buf[24];

        snprintf(buf, sizeof(buf), "%" PRIu64, value);
        hash_tagged(h, tag, buf);
}

static void hash_mount(KpHasher *h, const MountSpec *mount) {
        hash_tagged(h, "mount:", mount->label);
        hash_tagged(h, ":", mount->host_path);
        hash_tagged(h, ":", mount->container_path);
}

/* The part after the packages, shared by both identities. */
static void hash_common_tail(KpHasher *h, char *const *apps, size_t n_apps, bool gpu, bool audio,
                             const MountSpec *mounts, size_t n_mounts, const char *backend,
                             bool network_isolation, const ResourceLimits *limits) {
        for (size_t i = 0; i < n_apps; i++)
                hash_tagged(h, "app:", apps[i]);
        if (gpu)
                kp_hasher_update_str(h, "hw:gpu");
        if (audio)
                kp_hasher_update_str(h, "hw:audio");
        for (size_t i = 0; i < n_mounts; i++)
                hash_mount(h, &mounts[i]);
        hash_tagged(h, "backend:", backend);
        if (network_isolation)
                kp_hasher_update_str(h, "net:isolated");
        if (limits->has_cpu_shares)
                hash_decimal(h, "cpu:", limits->cpu_shares);
        if (limits->has_memory_limit_mb)
                hash_decimal(h, "mem:", limits->memory_limit_mb);
}

void identity_env_id_compute(const Lock *lock, char ret_id[KP_HASH_HEX_SIZE]) {
        KpHasher h;

        kp_hasher_init(&h);
        hash_tagged(&h, "base_digest:", lock->base_image_digest);
        for (size_t i = 0; i < lock->n_packages; i++) {
                hash_tagged(&h, "pkg:", lock->packages[i].name);
                hash_tagged(&h, "@", lock->packages[i].version);
        }
        hash_common_tail(&h, lock->apps, lock->n_apps, lock->hardware_gpu, lock->hardware_audio, lock->mounts,
                         lock->n_mounts, lock->runtime_backend, lock->network_isolation, &lock->limits);
        kp_hasher_final_hex(&h, ret_id);
}

int identity_preliminary_compute(const NormalizedManifest *m, char ret_id[KP_HASH_HEX_SIZE]) {
        _cleanup_free_ char *json = NULL;
        char image_hash[KP_HASH_HEX_SIZE];
        size_t json_len = 0;
        KpHasher h;
        int r;

        r = normalized_manifest_to_json(m, &json, &json_len);
        if (r < 0)
                return r;

        kp_hash_str_hex(m->base_image, image_hash);

        kp_hasher_init(&h);
        kp_hasher_update(&h, json, json_len);
        kp_hasher_update_str(&h, image_hash);
        for (size_t i = 0; i < m->n_system_packages; i++)
                hash_tagged(&h, "pkg:", m->system_packages[i]);
        hash_common_tail(&h, m->gui_apps, m->n_gui_apps, m->hardware_gpu, m->hardware_audio, m->mounts,
                         m->n_mounts, m->runtime_backend, m->network_isolation, &m->limits);
        kp_hasher_final_hex(&h, ret_id);
        return 0;
}

void identity_short_id(const char *id, char ret[IDENTITY_SHORT_ID_SIZE]) {
        size_t len = strnlen(id, IDENTITY_SHORT_ID_LEN);

        memcpy(ret, id, len);
        ret[len] = '\0';
}
