/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "basic/fs-util.h"
#include "runtime/sandbox-packages.h"

static char *const packages[] = { (char *) "curl", (char *) "git", (char *) "missing", NULL };

static void check_versions(PackageManager pm, const char *output, const char *curl, const char *git) {
        _cleanup_strv_free_ char **v = NULL;

        assert_int_equal(package_versions_parse(pm, output, packages, 3, &v), 0);
        assert_string_equal(v[0], curl);
        assert_string_equal(v[1], git);
        assert_string_equal(v[2], "unresolved");
        assert_null(v[3]);
}

static void test_parse_versions(void **state) {
        check_versions(PACKAGE_MANAGER_APT, "curl\t7.88.1-10+deb12u5\ngit\t1:2.39.2-1.1\n", "7.88.1-10+deb12u5",
                       "1:2.39.2-1.1");
        check_versions(PACKAGE_MANAGER_DNF, "package missing is not installed\ngit\t2.45.0-1.fc40\n  curl\t8.6.0-7.fc40  \n",
                       "8.6.0-7.fc40", "2.45.0-1.fc40");
        check_versions(PACKAGE_MANAGER_ZYPPER, "curl\t8.9.1-1.1\r\ngit\t2.46.0-1.1\r\n", "8.9.1-1.1", "2.46.0-1.1");
        check_versions(PACKAGE_MANAGER_PACMAN, "curl 8.9.1-2\ngit 2.46.0-1\nerror: package 'missing' was not found\n",
                       "8.9.1-2", "2.46.0-1");
        /* The first listing of a name wins. */
        check_versions(PACKAGE_MANAGER_APT, "curl\t1\ncurl\t2\ngit\t3\n", "1", "3");
        check_versions(PACKAGE_MANAGER_APT, "", "unresolved", "unresolved");
        check_versions(PACKAGE_MANAGER_APT, "curl\t\ngitonly\n", "unresolved", "unresolved");
}

static void test_install_commands(void **state) {
        char ***cmds = NULL;

        assert_int_equal(package_install_commands(PACKAGE_MANAGER_APT, packages, 2, false, &cmds), 0);
        assert_string_equal(cmds[0][0], "apt-get");
        assert_string_equal(cmds[0][1], "update");
        assert_string_equal(cmds[1][1], "install");
        assert_string_equal(cmds[1][4], "curl");
        assert_string_equal(cmds[1][5], "git");
        assert_null(cmds[1][6]);
        assert_null(cmds[2]);
        package_commands_free(cmds);

        assert_int_equal(package_install_commands(PACKAGE_MANAGER_APT, packages, 1, true, &cmds), 0);
        assert_string_equal(cmds[0][2], "APT::Sandbox::User=root");
        assert_string_equal(cmds[1][2], "APT::Sandbox::User=root");
        package_commands_free(cmds);

        assert_int_equal(package_install_commands(PACKAGE_MANAGER_DNF, packages, 1, false, &cmds), 0);
        assert_string_equal(cmds[0][0], "dnf");
        assert_null(cmds[1]);
        package_commands_free(cmds);

        assert_int_equal(package_install_commands(PACKAGE_MANAGER_PACMAN, packages, 1, false, &cmds), 0);
        assert_string_equal(cmds[0][1], "-Sy");
        package_commands_free(cmds);

        assert_int_equal(package_install_commands(_PACKAGE_MANAGER_MAX, packages, 1, false, &cmds), -EINVAL);
}

static void test_query_commands(void **state) {
        _cleanup_strv_free_ char **apt = NULL, **rpm = NULL, **pacman = NULL;

        assert_int_equal(package_query_command(PACKAGE_MANAGER_APT, packages, 1, &apt), 0);
        assert_string_equal(apt[0], "dpkg-query");
        assert_string_equal(apt[3], "${Package}\\t${Version}\\n");
        assert_string_equal(apt[4], "curl");
        assert_int_equal(package_query_command(PACKAGE_MANAGER_ZYPPER, packages, 2, &rpm), 0);
        assert_string_equal(rpm[3], "%{NAME}\\t%{VERSION}-%{RELEASE}\\n");
        assert_int_equal(package_query_command(PACKAGE_MANAGER_PACMAN, packages, 0, &pacman), 0);
        assert_string_equal(pacman[1], "-Q");
        assert_null(pacman[2]);
}

static int touch_in(const char *root, const char *rel) {
        _cleanup_free_ char *path = kp_path_join(root, rel), *dir = NULL;
        int fd;

        dir = strdup(path);
        *strrchr(dir, '/') = '\0';
        if (kp_mkdir_p(dir, 0755) < 0)
                return -1;
        fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0755);
        if (fd < 0)
                return -1;
        close(fd);
        return 0;
}

static void test_detect(void **state) {
        char dir[] = "/tmp/kp-pm-XXXXXX";
        _cleanup_free_ char *bin = NULL, *link = NULL;
        int fd;

        assert_non_null(mkdtemp(dir));
        fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        assert_int_equal(package_manager_detect(fd), -ENOENT);

        /* An absolute symlink resolves inside the tree, never on the host
         * (which has /usr/bin/apt-get on Debian). */
        assert_non_null(bin = kp_path_join(dir, "usr/bin"));
        assert_int_equal(kp_mkdir_p(bin, 0755), 0);
        assert_non_null(link = kp_path_join(dir, "usr/bin/apt-get"));
        assert_int_equal(symlink("/usr/bin/apt-get", link), 0);
        assert_int_equal(package_manager_detect(fd), -ENOENT);

        assert_int_equal(touch_in(dir, "usr/bin/pacman"), 0);
        assert_int_equal(package_manager_detect(fd), PACKAGE_MANAGER_PACMAN);
        assert_int_equal(touch_in(dir, "usr/bin/dnf5"), 0);
        assert_int_equal(package_manager_detect(fd), PACKAGE_MANAGER_DNF);
        assert_int_equal(touch_in(dir, "usr/bin/apt"), 0);
        assert_int_equal(package_manager_detect(fd), PACKAGE_MANAGER_APT);

        assert_string_equal(package_manager_to_string(PACKAGE_MANAGER_ZYPPER), "zypper");
        assert_null(package_manager_to_string(_PACKAGE_MANAGER_MAX));
        close(fd);
        assert_int_equal(kp_rm_rf(dir), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_versions),
                cmocka_unit_test(test_install_commands),
                cmocka_unit_test(test_query_commands),
                cmocka_unit_test(test_detect),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
