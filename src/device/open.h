/* open.h - the one place a backend is chosen and created: auto, cpu or
 * cuda.  It sits above backend/cpu/ and backend/cuda/, which it picks
 * between, in a folder of its own. */
#ifndef DEVICE_OPEN_H
#define DEVICE_OPEN_H
#include <stddef.h>
#include "backend/backend.h"

/* The devices a backend can be asked for. */
typedef enum { BE_DEVICE_AUTO = 0, BE_DEVICE_CPU = 1, BE_DEVICE_CUDA = 2 } be_device;

/* "auto", "cpu", "cuda"; NULL for anything else. */
const char *be_device_name(int d);
/* The device named s, or -1 when s names none. */
int be_device_parse(const char *s);

/* What auto chose, for the caller to tell: text is one line ("device:
 * cpu (no CUDA device: ...)", "device: cuda N (NAME, MEMORY), precision
 * P"), "" when there is nothing to say (another device, or auto in a build
 * without CUDA).  fallback is 1 when a GPU answered but failed to start and
 * the CPU runs instead: worth saying even where notes are not shown. */
typedef struct be_note {
    char text[400];
    int fallback;
} be_note;

/* Creates the backend for device ("auto", "cpu" or "cuda") whose matrix
 * products run at precision p.  cpu is the CPU backend, which does fp32
 * only; cuda is this process's GPU or nothing; auto is this process's GPU
 * when it starts, else the CPU.  This process's GPU is 0, or under a
 * launcher (mpirun, srun) its place on the machine modulo the GPUs seen
 * (be_device_local_gpu), so that each process of a machine takes its own
 * (NCCL refuses two on one GPU).  Returns the backend (the caller destroys it) with note filled in
 * (note may be NULL), or NULL with a one-line reason in err and note
 * emptied: an unknown name, no usable GPU for cuda (the reason names the
 * CUDA device), a precision other than fp32 on the CPU, out of memory.
 * Reads only the launcher's environment (OMPI_COMM_WORLD_LOCAL_RANK, else
 * SLURM_LOCALID) and prints nothing. */
/* The GPU a process takes among count: local_rank (its place on the
 * machine, as the launcher's environment gives it, or NULL) modulo count;
 * 0 when there is no place, it is not a number, or count < 1. */
int be_device_local_gpu(const char *local_rank, int count);

be_backend *be_open(const char *device, be_precision p, be_note *note, char *err,
                    size_t errlen);

#endif
