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
 * cpu (no CUDA device: ...)", "device: cuda 0 (NAME, MEMORY), precision
 * P"), "" when there is nothing to say (another device, or auto in a build
 * without CUDA).  fallback is 1 when a GPU answered but failed to start and
 * the CPU runs instead: worth saying even where notes are not shown. */
typedef struct be_note {
    char text[400];
    int fallback;
} be_note;

/* Creates the backend for device ("auto", "cpu" or "cuda") whose matrix
 * products run at precision p.  cpu is the CPU backend, which does fp32
 * only; cuda is GPU 0 or nothing; auto is GPU 0 when it starts, else the
 * CPU.  Returns the backend (the caller destroys it) with note filled in
 * (note may be NULL), or NULL with a one-line reason in err and note
 * emptied: an unknown name, no usable GPU for cuda (the reason names the
 * CUDA device), a precision other than fp32 on the CPU, out of memory.
 * Reads no environment and prints nothing. */
be_backend *be_open(const char *device, be_precision p, be_note *note, char *err,
                    size_t errlen);

#endif
