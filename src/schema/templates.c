/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "schema/templates.h"

#define WORKSPACE_MOUNT "[mounts]\nworkspace = \"~/projects:/workspace\"\n\n"
#define NAMESPACE_BACKEND "[runtime]\nbackend = \"namespace\"\n"

typedef struct ManifestTemplate {
        const char *name;
        const char *toml;
} ManifestTemplate;

/* Package lists are in the order the written file shows. Normalization
 * sorts them later. */
static const ManifestTemplate templates[] = {
        { "minimal",
          "manifest_version = 1\n\n"
          "[base]\nimage = \"rolling\"\n\n" NAMESPACE_BACKEND },
        { "dev",
          "manifest_version = 1\n\n"
          "[base]\nimage = \"rolling\"\n\n"
          "[system]\npackages = [\"git\", \"curl\", \"vim\", \"neovim\", \"tmux\", \"htop\", \"make\", \"cmake\", "
          "\"gcc\", \"clang\"]\n\n" WORKSPACE_MOUNT NAMESPACE_BACKEND },
        { "gui-dev",
          "manifest_version = 1\n\n"
          "[base]\nimage = \"rolling\"\n\n"
          "[system]\npackages = [\"git\", \"curl\", \"cmake\", \"gcc\", \"clang\", \"gdb\", \"mesa-dri-devel\"]\n\n"
          "[gui]\napps = [\"firefox\"]\n\n"
          "[hardware]\ngpu = true\naudio = true\n\n" WORKSPACE_MOUNT NAMESPACE_BACKEND },
        { "rust-dev",
          "manifest_version = 1\n\n"
          "[base]\nimage = \"rolling\"\n\n"
          "[system]\npackages = [\"git\", \"curl\", \"gcc\", \"make\", \"cmake\", \"pkg-config\", \"openssl-devel\", "
          "\"gdb\"]\n\n" WORKSPACE_MOUNT NAMESPACE_BACKEND },
        { "ubuntu-dev",
          "manifest_version = 1\n\n"
          "[base]\nimage = \"ubuntu/24.04\"\n\n"
          "[system]\npackages = [\"git\", \"curl\", \"build-essential\", \"cmake\", \"python3\", \"python3-pip\", "
          "\"nodejs\", \"npm\"]\n\n" WORKSPACE_MOUNT NAMESPACE_BACKEND },
};

static const char *const template_names[] = { "minimal", "dev", "gui-dev", "rust-dev", "ubuntu-dev", NULL };

const char *const *manifest_template_names(void) {
        return template_names;
}

int manifest_template_load(const char *name, Manifest **ret, KpError *err) {
        for (size_t i = 0; i < ELEMENTSOF(templates); i++) {
                if (!streq(templates[i].name, name))
                        continue;

                return manifest_parse(templates[i].toml, strlen(templates[i].toml), name, ret, err);
        }

        return kp_error_set(err, -ENOENT,
                                 "unknown template '%s' (expected: minimal, dev, gui-dev, rust-dev, ubuntu-dev)", name);
}

#define PRESET_HEAD "manifest_version = 1\n\n[base]\nimage = \"rolling\"\n\n"

/* The descriptions are the original tool's exact strings, which the D-Bus
 * ListPresets reply carries. */
static const Preset presets[] = {
        { "dev", "Development environment with common build tools",
          PRESET_HEAD "[system]\npackages = [\"git\", \"curl\", \"wget\", \"vim\", \"gcc\", \"make\", \"cmake\"]\n\n"
          NAMESPACE_BACKEND },
        { "dev-rust", "Rust development environment",
          PRESET_HEAD "[system]\npackages = [\"git\", \"curl\", \"gcc\", \"make\", \"rustup\"]\n\n" NAMESPACE_BACKEND },
        { "dev-python", "Python development environment",
          PRESET_HEAD "[system]\npackages = [\"git\", \"curl\", \"python3\", \"python3-pip\", \"python3-venv\"]\n\n"
          NAMESPACE_BACKEND },
        { "gui-app", "GUI application environment with GPU and audio passthrough",
          PRESET_HEAD "[hardware]\ngpu = true\naudio = true\n\n" NAMESPACE_BACKEND },
        { "gaming", "Gaming environment with GPU, audio, and Vulkan support",
          PRESET_HEAD "[system]\npackages = [\"mesa-dri\", \"vulkan-loader\", \"libvulkan1\", \"alsa-plugins\"]\n\n"
          "[hardware]\ngpu = true\naudio = true\n\n" NAMESPACE_BACKEND },
        { "minimal", "Minimal environment with no extra packages", PRESET_HEAD NAMESPACE_BACKEND },
};

size_t preset_count(void) {
        return ELEMENTSOF(presets);
}

const Preset *preset_get(size_t index) {
        return index < ELEMENTSOF(presets) ? &presets[index] : NULL;
}

const Preset *preset_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(presets); i++)
                if (streq(presets[i].name, name))
                        return &presets[i];
        return NULL;
}

int preset_load(const Preset *preset, Manifest **ret, KpError *err) {
        return manifest_parse(preset->toml, strlen(preset->toml), preset->name, ret, err);
}
