/* weights.h - copies of the engine's model for readers on other threads:
 * `serve` in the TUI and REPL answers from them while training goes on.
 * The engine thread takes a copy between training steps (engine.h says
 * when) and publishes it; a reader takes a reference to the newest one
 * and releases it when done, so the engine never waits for a reader.  A
 * copy never changes.  Reference counted: the last release frees it, on
 * whichever thread; copies of one trainer share one vocabulary. */
#ifndef ENGINE_WEIGHTS_H
#define ENGINE_WEIGHTS_H
#include <stdatomic.h>
#include <stddef.h>
#include "model/model.h"
#include "decode/config.h"
#include "text/tok.h"
#include "train/trainer.h"

typedef struct eng_vocab_ref eng_vocab_ref;

typedef struct eng_weights {
    atomic_int refs;
    long serial;             /* a later copy has a higher one */
    model_config cfg;
    sample_config sample;    /* the engine's sampling settings then */
    const tok_vocab *vocab;  /* shared with copies of the same trainer */
    float *params;           /* host copy, n_params floats */
    size_t n_params;
    long step;
    double val_loss, best_val_loss;   /* NAN: none */
    eng_vocab_ref *vref;     /* the shared vocabulary's holder */
} eng_weights;

/* A copy of t's weights (downloaded from its backend) with the settings
 * sc, numbered serial.  Its vocabulary is that of same (a copy of the same
 * trainer) when same is not NULL, else a clone of t's.  Engine thread.
 * Returns the copy (one reference), or NULL when out of memory. */
eng_weights *eng_weights_take(const trainer *t, const sample_config *sc, long serial,
                              const eng_weights *same);
eng_weights *eng_weights_ref(eng_weights *w);
void eng_weights_release(eng_weights *w);

#endif
