/* dist.c - `rnnlab train` as one process of a data-parallel run under
 * mpirun: joining it, rank 0 speaking for all, the agreed start, the save
 * that gathers every process's streams, and the refusal of the other
 * commands under a launch of several processes. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdio.h>

#include "cli/cli_int.h"
#include "util/status.h"
#include "dist/dist.h"
#include "store/session.h"

int cli_dist_begin(void)
{
    char err[512];
    if (dist_init(err, sizeof err) != 0) {
        if (dist_launched_rank() > 0)       /* rank 0 says it for all */
            return STATUS_FAIL;
        return cli_fail("%s", err);
    }
    if (dist_rank() > 0) {
        cli_hold_messages();
        if (!freopen("/dev/null", "w", stdout))
            return cli_fail("cannot silence rank %d's output", dist_rank());
    }
    return STATUS_OK;
}

int cli_dist_start(trainer *t, int rc)
{
    char msg[512];
    if (dist_size() < 2)
        return rc;
    snprintf(msg, sizeof msg, "%s", rc != STATUS_OK ? cli_held_message() : "");
    if (dist_agree(rc != STATUS_OK, msg, sizeof msg) != 0) {
        if (rc == STATUS_OK)        /* another's failure; held but on rank 0 */
            cli_fail("%s", msg);
        return rc != STATUS_OK ? rc : STATUS_FAIL;
    }
    switch (trainer_share(t, msg, sizeof msg)) {
    case 0:
        return STATUS_OK;
    case -2:                /* the others cannot hear of it: said here, ended */
        cli_release_messages();
        cli_fail("%s", msg);
        cli_dist_abandon(STATUS_FAIL);
        return STATUS_FAIL;
    default:
        return cli_fail("%s", msg);
    }
}

int cli_dist_save(trainer *t, const sample_config *sample, const char *dir,
                  char *err, size_t len)
{
    if (trainer_gather_state(t, err, len) != 0)
        return -1;
    return dist_rank() == 0 ? session_save(t, sample, dir, err, len) : 0;
}

void cli_dist_abandon(int status)
{
    if (dist_size() > 1)
        dist_abort(status);
}

void cli_dist_end(void)
{
    dist_finalize();
}

int cli_dist_refuse(const char *command)
{
    int named = command && command[0] != '-';
    if (dist_launched_rank() > 0)
        return STATUS_FAIL;
    return cli_fail("only 'rnnlab train' runs as several processes (here %d, from "
                    "mpirun); %s%s%s runs as one process", dist_launched(),
                    named ? "'rnnlab " : "the interactive interface", named ? command : "",
                    named ? "'" : "");
}
