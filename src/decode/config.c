/* config.c - the default settings of a sample (config.h). */
#include "backend/backend.h"
#include "decode/config.h"

sample_config sample_defaults(void)
{
    return (sample_config){.temperature = 1.0f, .top_k = 0, .top_p = 1.0f,
                           .beam = 1, .length = 200, .every = {0, 15.0f},
                           .greedy = 0, .repetition_penalty = 1.0f,
                           .repetition_window = 64, .n_best = 1, .weights = BE_WEIGHTS_FP32};
}
