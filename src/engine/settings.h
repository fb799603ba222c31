/* settings.h - the table of settings that `set` and `show` know: name,
 * type, range, and whether a change takes effect at once or rebuilds the
 * model.  Shared by the command parser (to check a value before posting
 * it) and the engine (to apply it), so both read the same rules. */
#ifndef SETTINGS_H
#define SETTINGS_H
#include <stddef.h>
#include "decode/config.h"
#include "train/trainer.h"

typedef enum { SETTING_FLOAT, SETTING_INT, SETTING_U64, SETTING_CHOICE } setting_type;

typedef enum {
    SETTING_LIVE,         /* takes effect at once, training goes on */
    SETTING_OPTIM,        /* restarts the optimizer's state, keeps weights */
    SETTING_RESET,        /* rebuilds the model: training starts over */
    SETTING_MOVE          /* moves weights and optimizer state to a device */
} setting_effect;

typedef struct setting {
    const char *name;
    setting_type type;
    double lo, hi;        /* inclusive unless lo_open / hi_open */
    int lo_open, hi_open;
    const char *choices;  /* SETTING_CHOICE: space-separated names */
    setting_effect effect;
    const char *summary;
} setting;

/* The settings a front end may change, in display order. */
typedef struct setting_values {
    train_config train;
    sample_config sample;
    char device[16];
} setting_values;

/* The table and its length. */
const setting *setting_table(size_t *n);
/* Index of name, or -1 when there is no such setting. */
int setting_find(const char *name);
/* Checks text as a value of setting i and applies it to v.  Returns 0, or
 * -1 with a one-line message naming the setting and the problem (v is
 * unchanged then). */
int setting_apply(int i, const char *text, setting_values *v, char *err,
                  size_t errlen);
/* Writes the value of setting i in v as `set` would accept it. */
void setting_format(int i, const setting_values *v, char *buf, size_t len);
/* Writes the range or choices of setting i: "0 < x", "sgd|adam|...". */
void setting_range(int i, char *buf, size_t len);

#endif
