/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "basic/error.h"

/*
 * User and group id mappings of the sandbox's user namespace.
 *
 * Inside, id 0 is the caller's own uid/gid and ids 1..count are the caller's
 * subordinate range from /etc/subuid and /etc/subgid. newuidmap and
 * newgidmap (setuid helpers from the uidmap package) write such maps. Without
 * a range only id 0 is mapped; the caller may then write the map itself, after
 * denying setgroups(2) as the kernel requires for unprivileged gid maps.
 */

/* The largest map string we build: two lines of three 10-digit numbers. */
#define SANDBOX_ID_MAP_MAX 128

typedef struct SubidRange {
        uint32_t start;
        uint32_t count;         /* 0 when the caller has no range */
} SubidRange;

typedef struct SandboxIds {
        uid_t uid;              /* the caller's ids on the host */
        gid_t gid;
        SubidRange subuid;
        SubidRange subgid;
} SandboxIds;

/* Find the first entry for USER (a login name) or UID in the contents of
 * /etc/subuid or /etc/subgid (lines "name-or-id:start:count"). Returns 0 and
 * fills RET, or -ENOENT when no valid entry matches. */
int sandbox_subid_parse(const char *contents, const char *user, uint32_t id, SubidRange *ret);

/* Load the caller's ids and subordinate ranges. Missing files mean no range. */
int sandbox_ids_load(SandboxIds *ret);

/* True when both a uid and a gid range exist. */
bool sandbox_ids_have_range(const SandboxIds *ids);

/* Argument string for newuidmap/newgidmap: "0 <id> 1 1 <start> <count>", or
 * "0 <id> 1" without a range. */
int sandbox_id_map_args(uint32_t id, const SubidRange *range, char buf[static SANDBOX_ID_MAP_MAX]);

/* Contents of /proc/PID/uid_map for a single-id map: "0 <id> 1\n". */
int sandbox_id_map_single(uint32_t id, char buf[static SANDBOX_ID_MAP_MAX]);

/* Write the maps of the user namespace of process PID, which must be a
 * child waiting for them. With a range both helpers run at the same time;
 * without one the single-id maps are written directly (and a warning with
 * the usermod command that adds a range is logged once per process). */
int sandbox_ids_map_pid(const SandboxIds *ids, pid_t pid, KpError *err);

/* Become root of the just-mapped namespace (uid/gid 0, no supplementary
 * groups when setgroups is allowed). Runs in the child. */
int sandbox_ids_become_root(const SandboxIds *ids);
