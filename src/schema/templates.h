/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

#include "basic/error.h"
#include "schema/manifest.h"

/*
 * Built-in manifests: the templates of "karapace new" and the presets the
 * D-Bus service lists. Both are stored as TOML text and parsed on use.
 */

/* "minimal", "dev", "gui-dev", "rust-dev", "ubuntu-dev", NULL. */
const char *const *manifest_template_names(void);

/* Parse the template NAME. Unknown names fail with
 * "unknown template '<name>' (expected: minimal, dev, gui-dev, rust-dev, ubuntu-dev)". */
int manifest_template_load(const char *name, Manifest **ret, KpError *err);

typedef struct Preset {
        const char *name;
        const char *description;
        const char *toml;
} Preset;

size_t preset_count(void);

/* The preset at INDEX, NULL past the end. */
const Preset *preset_get(size_t index);

/* The preset called NAME, or NULL. */
const Preset *preset_find(const char *name);

int preset_load(const Preset *preset, Manifest **ret, KpError *err);
