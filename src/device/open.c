/* open.c - be_open: the choice between the CPU and the CUDA backend. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/open.h"
#include "backend/cuda/cuda_backend.h"

static const char *const device_names[] = {"auto", "cpu", "cuda"};

const char *be_device_name(int d)
{
    return d >= BE_DEVICE_AUTO && d <= BE_DEVICE_CUDA ? device_names[d] : NULL;
}

int be_device_parse(const char *s)
{
    for (int d = BE_DEVICE_AUTO; d <= BE_DEVICE_CUDA; d++)
        if (s && strcmp(s, device_names[d]) == 0)
            return d;
    return -1;
}

int be_device_local_gpu(const char *local_rank, int count)
{
    char *end;
    long r;
    if (!local_rank || !*local_rank || count < 1)
        return 0;
    r = strtol(local_rank, &end, 10);
    return *end == '\0' && r >= 0 ? (int)(r % count) : 0;
}

/* The GPU this process takes among count: its place on the machine as
 * the launcher gives it (Open MPI's, else Slurm's), so that the processes
 * of one machine each take their own, as NCCL needs. */
static int local_gpu(int count)
{
    const char *r = getenv("OMPI_COMM_WORLD_LOCAL_RANK");
    return be_device_local_gpu(r ? r : getenv("SLURM_LOCALID"), count);
}

/* The CPU backend; why (NULL when the CPU was asked for) says why it runs
 * instead of a GPU, for the message when p needs one.  Returns NULL with
 * the reason in err. */
static be_backend *open_cpu(be_precision p, const char *why, char *err, size_t errlen)
{
    char because[340] = "";
    be_backend *be;
    if (p != BE_FP32) {
        if (why)
            snprintf(because, sizeof because, " (%s)", why);
        snprintf(err, errlen, "precision %s needs a CUDA device%s; the CPU does fp32 only",
                 be_precision_name(p), because);
        return NULL;
    }
    if (be_cpu_simd_check(err, errlen) < 0)
        return NULL;
    if ((be = be_cpu_create()) == NULL)
        snprintf(err, errlen, "out of memory creating the CPU backend");
    return be;
}

/* GPU 0 when one answers and starts, else the CPU, with note saying which
 * and why.  Returns NULL with the reason in err. */
static be_backend *open_auto(be_precision p, be_note *note, char *err, size_t errlen)
{
    char msg[256], why[320], desc[320];
    be_backend *be;
    int count = be_cuda_available(msg, sizeof msg), gpu = local_gpu(count);
    if (count == 0) {
        snprintf(why, sizeof why, "no CUDA device: %s", msg);
        if (be_cuda_built())
            snprintf(note->text, sizeof note->text, "device: cpu (%s)", why);
        return open_cpu(p, why, err, errlen);
    }
    if ((be = be_cuda_create(gpu, p, msg, sizeof msg)) == NULL) {
        snprintf(why, sizeof why, "the CUDA device failed: %s", msg);
        snprintf(note->text, sizeof note->text, "device: cpu (%s)", why);
        note->fallback = 1;
        return open_cpu(p, why, err, errlen);
    }
    be_cuda_describe(be, desc, sizeof desc);
    snprintf(note->text, sizeof note->text, "device: cuda %d (%s), precision %s", gpu,
             desc, be_precision_name(p));
    return be;
}

be_backend *be_open(const char *device, be_precision p, be_note *note, char *err,
                    size_t errlen)
{
    be_note unused;
    be_backend *be = NULL;
    char msg[256];
    note = note ? note : &unused;
    memset(note, 0, sizeof *note);
    switch (be_device_parse(device)) {
    case BE_DEVICE_AUTO:
        be = open_auto(p, note, err, errlen);
        break;
    case BE_DEVICE_CPU:
        be = open_cpu(p, NULL, err, errlen);
        break;
    case BE_DEVICE_CUDA:
        be = be_cuda_create(local_gpu(be_cuda_available(msg, sizeof msg)), p, err, errlen);
        break;
    default:
        snprintf(err, errlen, "unknown device '%s' (choose auto, cpu or cuda)",
                 device ? device : "");
    }
    if (!be)
        memset(note, 0, sizeof *note);
    return be;
}
