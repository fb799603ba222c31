/* emb_file.h - a streaming reader of pretrained word-vector files: word2vec
 * binary, word2vec / fastText text (a "COUNT DIM" header line) and GloVe
 * text (no header).  The file is read through one buffer of fixed size, a
 * record at a time, so memory does not grow with the file; a record's
 * values are parsed only when asked for (emb_vector), so words nobody
 * wants cost a scan for the end of their line (text) or a skip (binary).
 *
 * Formats (see emb_detect for how auto tells them apart):
 *   bin    "COUNT DIM\n", then COUNT records: the word (bytes up to a
 *          space; newlines before it are skipped), a space, DIM float32
 *          little-endian
 *   vec    "COUNT DIM\n", then COUNT lines "WORD V1 ... VDIM"
 *   glove  lines "WORD V1 ... VDIM", DIM the first line's values
 * In the text formats the vector is the last DIM fields of a line and the
 * word is everything before them (GloVe's 840B file has words with
 * spaces); fields are separated by spaces or tabs, a line may end in
 * spaces and "\r", and a blank line is skipped.
 *
 * The emb_file owns its buffer and, when opened by name, its FILE.
 * Functions returning int return 0 (emb_next: 1) or -1 with a one-line
 * message in err that names the file and the line (text) or record
 * (binary) and the problem. */
#ifndef TEXT_EMB_FILE_H
#define TEXT_EMB_FILE_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { EMB_AUTO = 0, EMB_BIN, EMB_VEC, EMB_GLOVE } emb_format;

/* The format names in emb_format order, space-separated (the settings
 * table's choices). */
#define EMB_FORMAT_NAMES "auto bin vec glove"

/* Bounds: a vector has 1 to EMB_MAX_DIM values (the model's embedding
 * bound), a word at most EMB_MAX_WORD bytes. */
#define EMB_MAX_DIM 65536
#define EMB_MAX_WORD 4096
/* The default buffer; a text line (or a binary record) must fit in it. */
#define EMB_BUFFER (4u << 20)

typedef struct emb_file emb_file;

/* "auto", "bin", ... -> emb_format, or -1. */
int emb_format_parse(const char *s);
const char *emb_format_name(emb_format f);

/* Opens path (format as given, or detected for EMB_AUTO) and reads its
 * header, or for GloVe its first line, to learn the dimension.  buffer:
 * the buffer's bytes (0: EMB_BUFFER; at least 64).  Returns NULL with a
 * message in err. */
emb_file *emb_open(const char *path, emb_format format, size_t buffer,
                   char *err, size_t errlen);
/* The same on an open stream (not closed by emb_close); name is what
 * messages call it. */
emb_file *emb_open_stream(FILE *fp, const char *name, emb_format format,
                          size_t buffer, char *err, size_t errlen);
void emb_close(emb_file *f);

emb_format emb_format_of(const emb_file *f);
int emb_dim(const emb_file *f);
/* The header's count, or -1 when the file has none (GloVe). */
int64_t emb_declared(const emb_file *f);
/* The name messages use. */
const char *emb_name(const emb_file *f);
/* Bytes consumed so far. */
uint64_t emb_bytes_read(const emb_file *f);

/* Advances to the next record: returns 1 with its word in *word (not
 * NUL-terminated, *len bytes, valid until the next call), 0 at the end of
 * the file, or -1 with a message (a truncated file, a line without DIM
 * values, a word too long, fewer or more records than the header says). */
int emb_next(emb_file *f, const uint8_t **word, size_t *len, char *err,
             size_t errlen);
/* The current record's DIM values into out.  Returns 0, or -1 with a
 * message naming the value (not a number, NaN or infinite). */
int emb_vector(emb_file *f, float *out, char *err, size_t errlen);
/* Where the current record is, for messages: "line 12" or "record 12". */
void emb_where(const emb_file *f, char *buf, size_t len);

/* A word for a message, free of control characters: printable ASCII and
 * well-formed UTF-8 as they are, other bytes as \xHH, at most about 40
 * bytes and "..." (len: 64 is enough).  Returns buf. */
const char *emb_show_word(const uint8_t *w, size_t n, char *buf, size_t len);

/* Reads a decimal number (sign, digits, point, exponent; "nan", "inf",
 * "infinity" in any case) from s[0..n) as a float, whatever the locale.
 * Returns 0, or -1 when the bytes are not one number. */
int emb_parse_float(const char *s, size_t n, float *out);

#endif
