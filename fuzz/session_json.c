/* session_json.c - libFuzzer harness for opening a session: any bytes as session.json beside a valid model and optimizer state. */
#include "common.h"
#include "session_base.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fzs_put(FZS_JSON, data, size);
    fzs_open();
    return 0;
}
