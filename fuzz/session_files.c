/* session_files.c - libFuzzer harness for opening a session whose weights or optimizer state are any bytes: the first byte picks model.safetensors (even) or optimizer.safetensors (odd), the rest is the file. */
#include "common.h"
#include "session_base.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    fzs_put(data[0] & 1 ? FZS_OPTIM : FZS_MODEL, data + 1, size - 1);
    fzs_open();
    return 0;
}
