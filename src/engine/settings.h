/* settings.h - the one table of settings: each row binds a name, the field
 * it sets, its type and range, its default, when a change takes effect,
 * its help line and the command-line option that mirrors it.  `set`,
 * `show`, `help set`, the CLI's mirrored options and their --help ranges,
 * and the check of a session's saved values all read it, so they agree. */
#ifndef SETTINGS_H
#define SETTINGS_H
#include <stddef.h>
#include "decode/config.h"
#include "train/trainer.h"

typedef enum {
    SETTING_FLOAT,        /* float field, a number in [lo, hi] */
    SETTING_INT,          /* int field, a whole number in [lo, hi] */
    SETTING_U64,          /* uint64_t field, 0 to 2^64-1 */
    SETTING_CHOICE,       /* int field: the index of a word of choices */
    SETTING_WORD,         /* char[SETTING_WORD_MAX] field: a word of choices */
    SETTING_CADENCE,      /* sample_cadence field: N steps in [lo, hi], or a
                           * time Ns, Nm or Nh, up to SETTING_MAX_SECONDS
                           * of training; 0 off */
    SETTING_PATH,         /* char[SETTING_PATH_MAX] field: a file's path,
                           * "" for none (set and show say "none") */
    SETTING_RATE,         /* model_rate field: a number in [lo, hi], or
                           * SETTING_UNSET for none of its own */
    SETTING_CUTOFFS       /* model_cutoffs field: up to MODEL_MAX_CUTOFFS
                           * increasing whole numbers in [lo, hi], written
                           * "A,B,..."; "none" for none */
} setting_type;

/* The word a SETTING_RATE row takes and shows for "unset". */
#define SETTING_UNSET "unset"

#define SETTING_WORD_MAX 16
#define SETTING_PATH_MAX TRAIN_PATH_MAX
#define SETTING_MAX_SECONDS (7 * 86400)

typedef enum {
    SETTING_LIVE,         /* takes effect at once, training goes on */
    SETTING_OPTIM,        /* restarts the optimizer's state, keeps weights */
    SETTING_RESET,        /* rebuilds the model: training starts over */
    SETTING_MOVE          /* moves weights and optimizer state to a device */
} setting_effect;

/* Range flags: an open end excludes its bound. */
enum { SETTING_LO_OPEN = 1, SETTING_HI_OPEN = 2 };

/* The settings a front end may change. */
typedef struct setting_values {
    train_config train;
    sample_config sample;
    char device[SETTING_WORD_MAX];
    sample_cadence save_every;    /* periodic saves while training */
} setting_values;

typedef struct setting {
    const char *name;     /* as set and show take it */
    setting_type type;
    size_t field;         /* offsetof(setting_values, ...) */
    double lo, hi;        /* numbers: the range, ends open as flags say */
    int open;             /* SETTING_LO_OPEN | SETTING_HI_OPEN */
    const char *choices;  /* CHOICE, WORD: space-separated, in enum order */
    const char *def;      /* the default, as set takes it */
    setting_effect effect;
    const char *summary;  /* one line of help */
    const char *option;   /* the command-line option mirroring it, e.g.
                           * "train --lr"; NULL: none */
    /* After a new value is stored (optimizer: its default lr etc.). */
    void (*then)(setting_values *v);
} setting;

/* The table and its length. */
const setting *setting_table(size_t *n);
/* Index of name, or -1 when there is no such setting. */
int setting_find(const char *name);
/* The defaults: every row's def on top of the layers' own defaults. */
void setting_defaults(setting_values *v);
/* Checks text as a value of setting i and stores it in v.  Returns 0, or
 * -1 with the problem in err, without the setting's name ("'-1' is out of
 * range (0 to 100)"): set and the CLI put their own name in front, so the
 * two say the same thing.  v is unchanged on error. */
int setting_parse(int i, const char *text, setting_values *v, char *err,
                  size_t errlen);
/* setting_parse with the message "NAME: problem". */
int setting_apply(int i, const char *text, setting_values *v, char *err,
                  size_t errlen);
/* Checks every value in v against the table (values read from a session
 * file, say).  Returns 0, or -1 with "NAME: problem" for the first bad one. */
int setting_check(const setting_values *v, char *err, size_t errlen);
/* setting_check for the settings of a session read from dir (the device
 * is not saved, so not checked): "DIR/session.json: NAME: problem". */
int setting_check_session(const train_config *train, const sample_config *sample,
                          const char *dir, char *err, size_t errlen);
/* Copies the value of setting i from one set of values to another. */
void setting_copy(int i, const setting_values *from, setting_values *to);
/* Writes the value of setting i in v as set would accept it. */
void setting_format(int i, const setting_values *v, char *buf, size_t len);
/* Writes the range or choices of setting i: "> 0", "0 to 100",
 * "sgd|adam|...". */
void setting_range(int i, char *buf, size_t len);
/* The range of the setting called name (for help texts); "" when none. */
const char *setting_range_of(const char *name, char *buf, size_t len);

#endif
