/* emb_match.h - pretrained vectors for a vocabulary: streams a vector file
 * (text/emb_file.h) and copies the vector of each token it finds into that
 * token's row, keeping nothing else of the file, so memory stays that of
 * the vocabulary whatever the file's size.
 *
 * Which word a token matches:
 *   - its bytes, exactly (a word, a character, a BPE token's bytes);
 *   - a BPE token that starts with a space also as U+2581 "▁" and the rest
 *     (SentencePiece's and BPEmb's way of writing a word start: a file
 *     cannot hold a word with a space), and <eos> also as "</s>"
 *     (word2vec's end of sentence); these count as exact;
 *   - with fold on, a token that has no exact match takes the vector of
 *     the first word of the file equal to it once both are lowercased
 *     (text/tok_case.h's Unicode map: "École" matches "école").
 * Of several words that match one token, an exact one wins over a folded
 * one, and then the first in the file.  A word met again after its token
 * took its vector is counted as a duplicate and skipped (the first
 * vector stays). */
#ifndef TEXT_EMB_MATCH_H
#define TEXT_EMB_MATCH_H
#include <stddef.h>
#include <stdint.h>
#include "text/emb_file.h"
#include "text/tok.h"

typedef struct emb_report {
    uint32_t tokens;         /* the vocabulary's size */
    uint32_t found;          /* tokens given a vector ... */
    uint32_t folded;         /* ... of them matched ignoring case */
    uint64_t records;        /* records read */
    uint64_t duplicates;     /* words met again after their token was set */
    char first_duplicate[160];  /* the first: "'word' at line 12", or "" */
} emb_report;

/* Reads f to its end and writes the vector of each token of v found in it
 * to rows + id * emb_dim(f) (rows holds tok_size(v) rows; the others are
 * left as they are).  fold: also match ignoring case.  Returns 0 with
 * *rep filled in, or -1 with a one-line message (the file's, or out of
 * memory); rows may then be partly written. */
int emb_fill(emb_file *f, const tok_vocab *v, int fold, float *rows,
             emb_report *rep, char *err, size_t errlen);

#endif
