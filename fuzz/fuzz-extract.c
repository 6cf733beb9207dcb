/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for image extraction: each input is extracted as an
 * archive into <base>/root, and afterwards <base> must hold nothing but
 * root and the empty directory "outside" (a target for ".." and absolute
 * names). Anything else there means extraction escaped the root.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/fs-util.h"
#include "basic/log.h"
#include "runtime/extract.h"

/* Small limits keep every run fast; the limit checks are exercised too. */
#define FUZZ_MAX_FILE_SIZE (1024 * 1024)
#define FUZZ_MAX_TOTAL_SIZE (8 * 1024 * 1024)
#define FUZZ_MAX_ENTRIES 10000

static char *base_dir;
static char *root_dir;
static char *outside_dir;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        static char template[] = "/tmp/fuzz-extract-XXXXXX";

        kp_log_set_level(KP_LOG_ERROR);
        base_dir = mkdtemp(template);
        if (!base_dir)
                abort();
        root_dir = kp_path_join(base_dir, "root");
        outside_dir = kp_path_join(base_dir, "outside");
        if (!root_dir || !outside_dir || mkdir(outside_dir, 0755) < 0)
                abort();
        return 0;
}

static void check_contained(void) {
        char **names = NULL;
        size_t n = 0;

        if (kp_dir_list_at(AT_FDCWD, base_dir, false, false, &names, &n) < 0)
                abort();
        for (size_t i = 0; i < n; i++)
                if (strcmp(names[i], "root") != 0 && strcmp(names[i], "outside") != 0) {
                        fprintf(stderr, "extraction created '%s' outside the root\n", names[i]);
                        abort();
                }
        kp_strv_free(names);

        if (kp_dir_list_at(AT_FDCWD, outside_dir, false, false, &names, &n) < 0)
                abort();
        if (n != 0) {
                fprintf(stderr, "extraction wrote '%s' into the directory next to the root\n", names[0]);
                abort();
        }
        kp_strv_free(names);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        ExtractOptions opts = {
                .max_file_size = FUZZ_MAX_FILE_SIZE,
                .max_total_size = FUZZ_MAX_TOTAL_SIZE,
                .max_entries = FUZZ_MAX_ENTRIES,
        };
        KpError err = KP_ERROR_INIT;
        int input_fd, root_fd;

        input_fd = memfd_create("fuzz-input", MFD_CLOEXEC);
        if (input_fd < 0 || kp_write_all(input_fd, data, size) < 0)
                abort();
        if (mkdir(root_dir, 0755) < 0)
                abort();
        root_fd = open(root_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                abort();

        (void) extract_archive_fd(input_fd, root_fd, &opts, NULL, &err);
        kp_error_clear(&err);
        (void) close(root_fd);
        (void) close(input_fd);

        check_contained();
        if (kp_rm_rf(root_dir) < 0)
                abort();
        return 0;
}
