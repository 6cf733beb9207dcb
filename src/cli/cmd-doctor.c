/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/output.h"

static const char *doctor_status_icon(DoctorStatus status) {
        switch (status) {
        case DOCTOR_PASS:
                return "✓";
        case DOCTOR_FAIL:
                return "✗";
        case DOCTOR_WARN:
                return "⚠";
        case DOCTOR_INFO:
                return "ℹ";
        }
        return "?";
}

static json_t *doctor_report_to_json(const DoctorReport *report) {
        json_t *checks = json_array();

        if (!checks)
                return NULL;

        for (size_t i = 0; i < report->n_checks; i++) {
                const DoctorCheck *c = &report->checks[i];
                json_t *item = json_pack("{s:s, s:s, s:s}",
                                         "message", c->message,
                                         "name", c->name,
                                         "status", doctor_status_to_string(c->status));

                if (json_array_append_new(checks, item) < 0) {
                        json_decref(checks);
                        return NULL;
                }
        }

        return json_pack("{s:o, s:b}", "checks", checks, "healthy", report->healthy);
}

static void doctor_report_print(const DoctorReport *report) {
        puts("Karapace Doctor\n");
        for (size_t i = 0; i < report->n_checks; i++)
                printf("  %s %s\n", doctor_status_icon(report->checks[i].status), report->checks[i].message);
        putchar('\n');
        puts(report->healthy ? "All checks passed." : "Some checks failed. See above for details.");
}

int cmd_doctor(CliContext *ctx, const CliInvocation *inv, KpError *err) {
        _cleanup_(doctor_report_done) DoctorReport report = {};
        int r;

        r = engine_doctor(ctx->engine, &report, err);
        if (r < 0)
                return r;

        if (ctx->json) {
                r = cli_print_json(doctor_report_to_json(&report), err);
                if (r < 0)
                        return r;
        } else
                doctor_report_print(&report);

        return report.healthy ? 0 : CLI_EXIT_FAILURE;
}
