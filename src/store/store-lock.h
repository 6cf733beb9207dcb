/* SPDX-License-Identifier: MIT */
#pragma once

#include "basic/error.h"
#include "store/store.h"

/*
 * The store lock: flock(LOCK_EX) on <root>/store/.lock. The lock belongs to
 * the open file description, so it is released when the returned fd is
 * closed, also when the process dies. Two opens in one process exclude
 * each other like two processes do.
 */

/* Wait for the lock. Creates store/ and .lock when missing. Returns the
 * lock fd in *RET_FD. */
int store_lock_acquire(Store *s, int *ret_fd, KpError *err);

/* Take the lock without waiting: returns 1 with the fd in *RET_FD when
 * acquired, 0 (and *RET_FD = -1) when another holder has it. */
int store_lock_try(Store *s, int *ret_fd, KpError *err);

/* Close the lock fd. Accepts -1. Always returns -1. */
int store_lock_release(int fd);
