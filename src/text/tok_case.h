/* tok_case.h - lowercasing UTF-8 text for the word tokenizer's lowercase
 * option and for matching pretrained vectors ignoring case.
 *
 * Two maps:
 *   TOK_LOWER_ASCII    A-Z to a-z only (what sessions saved before the
 *                      Unicode map used, so they encode as they did);
 *   TOK_LOWER_UNICODE  the simple (one code point to one code point)
 *                      lowercase mappings of Unicode for the scripts of
 *                      tok_case.c's table: Basic Latin, Latin-1, Latin
 *                      Extended-A, -B, -C and Additional, fullwidth Latin,
 *                      Greek and Coptic, Greek Extended, Cyrillic and its
 *                      Supplement and Extended-B, Armenian, and the
 *                      letterlike Ohm, Kelvin and Angstrom signs.  Other
 *                      code points stay as they are.
 * Invalid UTF-8 passes through byte by byte.  A lowercased text may be
 * longer than the original (U+023A, 2 bytes, becomes U+2C65, 3 bytes) or
 * shorter (U+212A, the Kelvin sign, becomes 'k'), never more than 3/2 of
 * it: TOK_LOWER_ROOM(n) bytes always hold the result of n. */
#ifndef TEXT_TOK_CASE_H
#define TEXT_TOK_CASE_H
#include <stddef.h>
#include <stdint.h>

typedef enum tok_lower_map {
    TOK_LOWER_OFF = 0,
    TOK_LOWER_ASCII = 1,
    TOK_LOWER_UNICODE = 2,
} tok_lower_map;

#define TOK_LOWER_ROOM(n) ((n) + (n) / 2 + 4)

/* The lowercase of code point c under TOK_LOWER_UNICODE (c itself when it
 * has none in the table). */
uint32_t tok_lower_cp(uint32_t c);

/* Writes s[0..n) lowercased by map to out, which holds TOK_LOWER_ROOM(n)
 * bytes (out may not overlap s); returns the bytes written.  TOK_LOWER_OFF
 * copies. */
size_t tok_lower(tok_lower_map map, const uint8_t *s, size_t n, uint8_t *out);

#endif
