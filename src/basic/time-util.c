/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "basic/time-util.h"

void kp_rfc3339_format(const struct timespec *ts, char out[KP_RFC3339_SIZE]) {
        struct tm tm;
        char date[40];
        long ns = ts->tv_nsec;

        gmtime_r(&ts->tv_sec, &tm);
        strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);

        if (ns == 0)
                snprintf(out, KP_RFC3339_SIZE, "%s+00:00", date);
        else if (ns % 1000000 == 0)
                snprintf(out, KP_RFC3339_SIZE, "%s.%03ld+00:00", date, ns / 1000000);
        else if (ns % 1000 == 0)
                snprintf(out, KP_RFC3339_SIZE, "%s.%06ld+00:00", date, ns / 1000);
        else
                snprintf(out, KP_RFC3339_SIZE, "%s.%09ld+00:00", date, ns);
}

void kp_rfc3339_now(char out[KP_RFC3339_SIZE]) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        kp_rfc3339_format(&ts, out);
}

void kp_timestamp_millis(char out[32]) {
        struct timespec ts;
        struct tm tm;
        char date[24];

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        strftime(date, sizeof(date), "%Y%m%d%H%M%S", &tm);
        snprintf(out, 32, "%.14s%03d", date, (int) (ts.tv_nsec / 1000000));
}

long long kp_monotonic_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
