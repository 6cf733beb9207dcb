/* SPDX-License-Identifier: MIT */
#define KP_CURL_API_IMPLEMENTATION
#include <pthread.h>

#include "basic/dl-util.h"
#include "basic/macro.h"
#include "runtime/curl-api.h"

static KpCurlApi api;
static pthread_once_t api_once = PTHREAD_ONCE_INIT;

static void curl_api_load(void) {
        static const char *const names[] = {
#define KP_CURL_NAME(name) #name,
                KP_CURL_FUNCTIONS(KP_CURL_NAME)
#undef KP_CURL_NAME
        };
        void *slots[ELEMENTSOF(names)];
        size_t i = 0;

        kp_dlopen_required("libcurl.so.4", "libcurl4", names, slots, ELEMENTSOF(names));
#define KP_CURL_ASSIGN(name) api.name = (typeof(api.name)) slots[i++];
        KP_CURL_FUNCTIONS(KP_CURL_ASSIGN)
#undef KP_CURL_ASSIGN
}

const KpCurlApi *kp_curl_api(void) {
        pthread_once(&api_once, curl_api_load);
        return &api;
}
