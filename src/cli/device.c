/* device.c - where a command runs: --device, $RNNLAB_DEVICE and
 * --precision handed to be_open, with the note of what auto chose. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_int.h"
#include "backend/backend.h"
#include "device/open.h"

int cli_device_parse(const char *s)
{
    return be_device_parse(s);
}

/* The device asked for: --device, else $RNNLAB_DEVICE, else auto.
 * Returns -1 after a message when the variable holds no device name. */
static int device_wanted(const cli_device *d)
{
    const char *env = getenv("RNNLAB_DEVICE");
    int dev;
    if (d->given || !env || !*env)
        return d->device;
    if ((dev = be_device_parse(env)) < 0)
        cli_fail("RNNLAB_DEVICE: unknown value '%s' (choose auto, cpu or cuda)", env);
    return dev;
}

void cli_say_device(cli_device *d)
{
    if (d->note[0])
        cli_warn("%s", d->note);
    d->note[0] = '\0';
}

be_backend *cli_open_backend(cli_device *d, int human)
{
    char err[512];
    be_note note;
    be_backend *be;
    int dev = device_wanted(d);
    if (dev < 0)
        return NULL;
    be = be_open(be_device_name(dev), (be_precision)d->precision, &note, err,
                 sizeof err);
    if (!be) {
        cli_fail("--device %s: %s", be_device_name(dev), err);
        return NULL;
    }
    /* a GPU that failed is worth a word even in --json and --quiet runs */
    snprintf(d->note, sizeof d->note, "%s", human || note.fallback ? note.text : "");
    return be;
}
