/* SPDX-License-Identifier: MIT */
#define KP_ARCHIVE_API_IMPLEMENTATION
#include <pthread.h>

#include "basic/archive-api.h"
#include "basic/dl-util.h"
#include "basic/macro.h"

static KpArchiveApi api;
static pthread_once_t api_once = PTHREAD_ONCE_INIT;

static void archive_api_load(void) {
        static const char *const names[] = {
#define KP_ARCHIVE_NAME(name) #name,
                KP_ARCHIVE_FUNCTIONS(KP_ARCHIVE_NAME)
#undef KP_ARCHIVE_NAME
        };
        void *slots[ELEMENTSOF(names)];
        size_t i = 0;

        kp_dlopen_required("libarchive.so.13", "libarchive13", names, slots, ELEMENTSOF(names));
#define KP_ARCHIVE_ASSIGN(name) api.name = (typeof(api.name)) slots[i++];
        KP_ARCHIVE_FUNCTIONS(KP_ARCHIVE_ASSIGN)
#undef KP_ARCHIVE_ASSIGN
}

const KpArchiveApi *kp_archive_api(void) {
        pthread_once(&api_once, archive_api_load);
        return &api;
}
