/* device.c - where a command runs: --device, $RNNLAB_DEVICE and
 * --precision turned into a backend, with the note of what auto chose. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_int.h"
#include "backend/backend.h"
#include "backend/cuda/cuda_backend.h"

int cli_device_parse(const char *s)
{
    static const char *names[] = {"auto", "cpu", "cuda"};
    for (int i = 0; i < 3; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

/* The device asked for: --device, else $RNNLAB_DEVICE, else auto.
 * Returns -1 after a message when the variable holds no device name. */
static int device_wanted(const cli_device *d)
{
    const char *env = getenv("RNNLAB_DEVICE");
    int dev;
    if (d->given || !env || !*env)
        return d->device;
    if ((dev = cli_device_parse(env)) < 0)
        cli_fail("RNNLAB_DEVICE: unknown value '%s' (choose auto, cpu or cuda)", env);
    return dev;
}

static be_backend *open_cpu(const cli_device *d, const char *why)
{
    be_backend *be;
    if (d->precision != BE_FP32) {
        cli_fail("--precision %s needs a CUDA device (%s); the CPU does fp32 only",
             be_precision_name((be_precision)d->precision), why);
        return NULL;
    }
    if ((be = be_cpu_create()) == NULL)
        cli_fail("out of memory creating the CPU backend");
    return be;
}

/* Prints the device note of open_backend, once. */
void cli_say_device(cli_device *d)
{
    if (d->note[0])
        cli_warn("%s", d->note);
    d->note[0] = '\0';
}

/* The backend for d: cuda takes GPU 0 or fails; auto takes GPU 0 when one
 * answers, else the CPU, and leaves in d->note which it took (with human
 * set, in a build with CUDA) or why the GPU failed.  Returns NULL after a
 * one-line message. */
be_backend *cli_open_backend(cli_device *d, int human)
{
    char msg[256], desc[320];
    be_backend *be;
    int dev = device_wanted(d);
    if (dev < 0)
        return NULL;
    if (dev == CLI_DEV_CPU)
        return open_cpu(d, "--device is cpu");
    if (dev == CLI_DEV_AUTO && be_cuda_available(msg, sizeof msg) == 0) {
        snprintf(desc, sizeof desc, "no CUDA device: %s", msg);
        if (human && be_cuda_built())
            snprintf(d->note, sizeof d->note, "device: cpu (%s)", desc);
        return open_cpu(d, desc);
    }
    be = be_cuda_create(0, (be_precision)d->precision, msg, sizeof msg);
    if (!be && dev == CLI_DEV_CUDA) {
        cli_fail("--device cuda: %s", msg);
        return NULL;
    }
    if (!be) {
        snprintf(d->note, sizeof d->note, "device: cpu (the CUDA device failed: %s)",
                 msg);
        return open_cpu(d, msg);
    }
    if (human && dev == CLI_DEV_AUTO) {
        be_cuda_describe(be, desc, sizeof desc);
        snprintf(d->note, sizeof d->note, "device: cuda 0 (%s), precision %s", desc,
                 be_precision_name((be_precision)d->precision));
    }
    return be;
}
