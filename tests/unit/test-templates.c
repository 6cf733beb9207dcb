/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "schema/normalize.h"
#include "schema/templates.h"

static Manifest *template_ok(const char *name) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        Manifest *m = NULL;

        if (manifest_template_load(name, &m, &err) < 0)
                fail_msg("template '%s' failed: %s", name, err.message);
        return m;
}

static void assert_strv(char *const *v, size_t n, const char *const *expected) {
        size_t i = 0;

        for (; expected[i]; i++) {
                assert_true(i < n);
                assert_string_equal(v[i], expected[i]);
        }
        assert_int_equal(n, i);
}

static char *written(const Manifest *m) {
        char *text = NULL;
        size_t len = 0;

        assert_int_equal(manifest_to_toml(m, &text, &len), 0);
        return text;
}

static void test_template_names(void **state) {
        static const char *const expected[] = { "minimal", "dev", "gui-dev", "rust-dev", "ubuntu-dev", NULL };
        const char *const *names = manifest_template_names();

        for (size_t i = 0; expected[i]; i++)
                assert_string_equal(names[i], expected[i]);
        assert_null(names[5]);
}

static void test_minimal_written_exactly(void **state) {
        _cleanup_manifest_free_ Manifest *m = template_ok("minimal");
        _cleanup_free_ char *text = written(m);

        assert_string_equal(text,
                            "manifest_version = 1\n"
                            "\n"
                            "[base]\n"
                            "image = \"rolling\"\n"
                            "\n"
                            "[system]\n"
                            "packages = []\n"
                            "\n"
                            "[gui]\n"
                            "apps = []\n"
                            "\n"
                            "[hardware]\n"
                            "gpu = false\n"
                            "audio = false\n"
                            "\n"
                            "[mounts]\n"
                            "\n"
                            "[runtime]\n"
                            "backend = \"namespace\"\n"
                            "network_isolation = false\n"
                            "\n"
                            "[runtime.resource_limits]\n");
}

static void test_dev_written_exactly(void **state) {
        _cleanup_manifest_free_ Manifest *m = template_ok("dev");
        _cleanup_free_ char *text = written(m);

        assert_string_equal(text,
                            "manifest_version = 1\n"
                            "\n"
                            "[base]\n"
                            "image = \"rolling\"\n"
                            "\n"
                            "[system]\n"
                            "packages = [\n"
                            "    \"git\",\n"
                            "    \"curl\",\n"
                            "    \"vim\",\n"
                            "    \"neovim\",\n"
                            "    \"tmux\",\n"
                            "    \"htop\",\n"
                            "    \"make\",\n"
                            "    \"cmake\",\n"
                            "    \"gcc\",\n"
                            "    \"clang\",\n"
                            "]\n"
                            "\n"
                            "[gui]\n"
                            "apps = []\n"
                            "\n"
                            "[hardware]\n"
                            "gpu = false\n"
                            "audio = false\n"
                            "\n"
                            "[mounts]\n"
                            "workspace = \"~/projects:/workspace\"\n"
                            "\n"
                            "[runtime]\n"
                            "backend = \"namespace\"\n"
                            "network_isolation = false\n"
                            "\n"
                            "[runtime.resource_limits]\n");
}

static void test_template_contents(void **state) {
        static const char *const gui_packages[] = { "git", "curl", "cmake", "gcc", "clang", "gdb", "mesa-dri-devel",
                                                    NULL };
        static const char *const rust_packages[] = { "git", "curl", "gcc", "make", "cmake", "pkg-config",
                                                     "openssl-devel", "gdb", NULL };
        static const char *const ubuntu_packages[] = { "git", "curl", "build-essential", "cmake", "python3",
                                                       "python3-pip", "nodejs", "npm", NULL };
        static const char *const firefox[] = { "firefox", NULL };
        _cleanup_manifest_free_ Manifest *gui = template_ok("gui-dev"), *rust = template_ok("rust-dev"),
                                         *ubuntu = template_ok("ubuntu-dev"), *minimal = template_ok("minimal");

        assert_strv(gui->system_packages, gui->n_system_packages, gui_packages);
        assert_strv(gui->gui_apps, gui->n_gui_apps, firefox);
        assert_true(gui->hardware_gpu);
        assert_true(gui->hardware_audio);
        assert_int_equal(gui->n_mounts, 1);
        assert_string_equal(gui->mounts[0].label, "workspace");
        assert_string_equal(gui->mounts[0].spec, "~/projects:/workspace");

        assert_strv(rust->system_packages, rust->n_system_packages, rust_packages);
        assert_false(rust->hardware_gpu);
        assert_int_equal(rust->n_mounts, 1);

        assert_string_equal(ubuntu->base_image, "ubuntu/24.04");
        assert_strv(ubuntu->system_packages, ubuntu->n_system_packages, ubuntu_packages);
        assert_int_equal(ubuntu->n_mounts, 1);

        assert_int_equal(minimal->n_system_packages, 0);
        assert_int_equal(minimal->n_mounts, 0);
        assert_string_equal(minimal->runtime_backend, "namespace");
}

static void test_templates_normalize(void **state) {
        for (const char *const *name = manifest_template_names(); *name; name++) {
                _cleanup_error_ KpError err = KP_ERROR_INIT;
                _cleanup_manifest_free_ Manifest *m = template_ok(*name);
                _cleanup_normalized_manifest_free_ NormalizedManifest *n = NULL;

                if (manifest_normalize(m, &n, &err) < 0)
                        fail_msg("template '%s' does not normalize: %s", *name, err.message);
        }
}

static void test_unknown_template(void **state) {
        _cleanup_error_ KpError err = KP_ERROR_INIT;
        Manifest *m = NULL;

        assert_int_equal(manifest_template_load("python", &m, &err), -ENOENT);
        assert_null(m);
        assert_string_equal(err.message,
                            "unknown template 'python' (expected: minimal, dev, gui-dev, rust-dev, ubuntu-dev)");
}

static void test_presets_parse_and_unique(void **state) {
        static const struct {
                const char *name, *description;
        } expected[] = {
                { "dev", "Development environment with common build tools" },
                { "dev-rust", "Rust development environment" },
                { "dev-python", "Python development environment" },
                { "gui-app", "GUI application environment with GPU and audio passthrough" },
                { "gaming", "Gaming environment with GPU, audio, and Vulkan support" },
                { "minimal", "Minimal environment with no extra packages" },
        };

        assert_int_equal(preset_count(), sizeof(expected) / sizeof(expected[0]));
        assert_null(preset_get(preset_count()));

        for (size_t i = 0; i < preset_count(); i++) {
                _cleanup_error_ KpError err = KP_ERROR_INIT;
                _cleanup_manifest_free_ Manifest *m = NULL;
                const Preset *p = preset_get(i);

                assert_string_equal(p->name, expected[i].name);
                assert_string_equal(p->description, expected[i].description);
                assert_ptr_equal(preset_find(p->name), p);
                for (size_t j = 0; j < i; j++)
                        assert_string_not_equal(preset_get(j)->name, p->name);

                if (preset_load(p, &m, &err) < 0)
                        fail_msg("preset '%s' failed: %s", p->name, err.message);
                assert_int_equal(m->manifest_version, 1);
                assert_string_equal(m->base_image, "rolling");
                assert_string_equal(m->runtime_backend, "namespace");
        }

        assert_null(preset_find("nope"));
}

static void test_preset_contents(void **state) {
        static const char *const dev[] = { "git", "curl", "wget", "vim", "gcc", "make", "cmake", NULL };
        static const char *const rust[] = { "git", "curl", "gcc", "make", "rustup", NULL };
        static const char *const python[] = { "git", "curl", "python3", "python3-pip", "python3-venv", NULL };
        static const char *const gaming[] = { "mesa-dri", "vulkan-loader", "libvulkan1", "alsa-plugins", NULL };
        static const char *const none[] = { NULL };
        static const struct {
                const char *name;
                const char *const *packages;
                bool hardware;
        } cases[] = {
                { "dev", dev, false },         { "dev-rust", rust, false }, { "dev-python", python, false },
                { "gui-app", none, true },     { "gaming", gaming, true },  { "minimal", none, false },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                _cleanup_error_ KpError err = KP_ERROR_INIT;
                _cleanup_manifest_free_ Manifest *m = NULL;

                assert_int_equal(preset_load(preset_find(cases[i].name), &m, &err), 0);
                assert_strv(m->system_packages, m->n_system_packages, cases[i].packages);
                assert_int_equal(m->hardware_gpu, cases[i].hardware);
                assert_int_equal(m->hardware_audio, cases[i].hardware);
                assert_int_equal(m->n_gui_apps, 0);
                assert_int_equal(m->n_mounts, 0);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_template_names),
                cmocka_unit_test(test_minimal_written_exactly),
                cmocka_unit_test(test_dev_written_exactly),
                cmocka_unit_test(test_template_contents),
                cmocka_unit_test(test_templates_normalize),
                cmocka_unit_test(test_unknown_template),
                cmocka_unit_test(test_presets_parse_and_unique),
                cmocka_unit_test(test_preset_contents),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
