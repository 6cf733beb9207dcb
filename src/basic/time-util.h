/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <time.h>

/* Large enough for "YYYY-MM-DDTHH:MM:SS.nnnnnnnnn+00:00" and more. */
#define KP_RFC3339_SIZE 64

/* Format TS in UTC as RFC 3339 with a "+00:00" offset and 0, 3, 6 or 9
 * fraction digits: the fewest of those that keep the value exact. */
void kp_rfc3339_format(const struct timespec *ts, char out[KP_RFC3339_SIZE]);
void kp_rfc3339_now(char out[KP_RFC3339_SIZE]);

/* UTC "YYYYMMDDHHMMSS" followed by 3 millisecond digits. */
void kp_timestamp_millis(char out[32]);

/* Milliseconds of CLOCK_MONOTONIC, for measuring durations. */
long long kp_monotonic_ms(void);
