/* SPDX-License-Identifier: MIT */
/*
 * The sandbox's share of `karapace exec`: join a running sandbox, run
 * /bin/true in it and leave, through the API of src/runtime/sandbox.h, with
 * no CLI start-up and no engine bookkeeping. bench/exec-latency builds and
 * runs it.
 *
 * Usage: exec-latency-sandbox ENV_DIR ROOTFS RUNS
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "runtime/sandbox.h"

static double now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int compare_doubles(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;

        return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
        char *command[] = { (char *) "/bin/true", NULL };
        char *env[] = { (char *) "PATH=/bin:/usr/bin", NULL };
        SandboxCommand cmd = { .argv = command, .envp = env, .cwd = "/", .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1 };
        NormalizedManifest manifest = {};
        KpError err = KP_ERROR_INIT;
        SandboxConfig config;
        double *samples;
        int runs;

        if (argc != 4 || (runs = atoi(argv[3])) <= 0) {
                fprintf(stderr, "usage: %s ENV_DIR ROOTFS RUNS\n", argv[0]);
                return 2;
        }
        samples = calloc((size_t) runs, sizeof(double));
        if (!samples || sandbox_config_init(&config, argv[1], argv[2], "exec-latency", &manifest, true, &err) < 0) {
                fprintf(stderr, "cannot set up: %s\n", err.message ? err.message : "out of memory");
                return 1;
        }

        for (int i = 0; i < runs; i++) {
                double start = now_ms();
                Sandbox *s = NULL;
                int code = 0;

                if (sandbox_open(&config, &s, &err) < 0 || sandbox_run(s, &cmd, &code, &err) < 0 || code != 0) {
                        fprintf(stderr, "run failed: %s\n", err.message ? err.message : "non-zero exit");
                        return 1;
                }
                sandbox_close(s, /* shutdown= */ i == runs - 1);
                samples[i] = now_ms() - start;
        }

        qsort(samples, (size_t) runs, sizeof(double), compare_doubles);
        printf("%.3f\n", samples[runs / 2]);
        sandbox_config_done(&config);
        free(samples);
        return 0;
}
