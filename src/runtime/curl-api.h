/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * libcurl, loaded on first use, for the same reason and in the same way as
 * libarchive (see basic/archive-api.h): libcurl pulls in TLS, HTTP/2 and
 * LDAP libraries whose loading is most of karapace's start-up time, and
 * only downloads need it. Include this header instead of <curl/curl.h>.
 */

/* Plain function declarations: the type-checking macros of curl.h would
 * hide the names that are redirected below. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#define KP_CURL_FUNCTIONS(X)            \
        X(curl_easy_cleanup)            \
        X(curl_easy_getinfo)            \
        X(curl_easy_init)               \
        X(curl_easy_perform)            \
        X(curl_easy_setopt)             \
        X(curl_easy_strerror)           \
        X(curl_global_init)

typedef struct KpCurlApi {
#define KP_CURL_MEMBER(name) typeof(&name) name;
        KP_CURL_FUNCTIONS(KP_CURL_MEMBER)
#undef KP_CURL_MEMBER
} KpCurlApi;

/* The loaded functions; exits with a message when libcurl is missing. */
const KpCurlApi *kp_curl_api(void);

#ifndef KP_CURL_API_IMPLEMENTATION
/* curl.h defines these two as argument-counting macros. */
#undef curl_easy_getinfo
#undef curl_easy_setopt
#define curl_easy_cleanup (kp_curl_api()->curl_easy_cleanup)
#define curl_easy_getinfo (kp_curl_api()->curl_easy_getinfo)
#define curl_easy_init (kp_curl_api()->curl_easy_init)
#define curl_easy_perform (kp_curl_api()->curl_easy_perform)
#define curl_easy_setopt (kp_curl_api()->curl_easy_setopt)
#define curl_easy_strerror (kp_curl_api()->curl_easy_strerror)
#define curl_global_init (kp_curl_api()->curl_global_init)
#endif
