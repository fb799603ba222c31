/* tok_case.c - lowercasing UTF-8 (tok_case.h): a table of the simple
 * lowercase mappings of the scripts it covers, written as runs, and the
 * walk over the text that applies it. */
#include "text/tok_case.h"

#include <string.h>

#include "text/tok_int.h"

/* Code points first, first + step, ... up to last map to themselves plus
 * delta.  Runs are sorted and do not overlap, so a binary search finds
 * the one a code point may fall in.  step 2 covers the alternating
 * capital/small pairs of the Latin and Cyrillic extensions. */
typedef struct case_run {
    uint32_t first, last;
    int32_t delta;
    uint8_t step;
} case_run;

#define ONE(c, to) {.first = (c), .last = (c), .delta = (int32_t)(to) - (int32_t)(c), .step = 1}
#define ALL(a, b, d) {.first = (a), .last = (b), .delta = (d), .step = 1}
#define PAIRS(a, b) {.first = (a), .last = (b), .delta = 1, .step = 2}

static const case_run runs[] = {
    /* Basic Latin, Latin-1 (not U+00D7, the multiplication sign) */
    ALL(0x0041, 0x005A, 32), ALL(0x00C0, 0x00D6, 32), ALL(0x00D8, 0x00DE, 32),
    /* Latin Extended-A; U+0130 (I with a dot) takes the simple mapping 'i' */
    PAIRS(0x0100, 0x012E), ONE(0x0130, 0x0069), PAIRS(0x0132, 0x0136),
    PAIRS(0x0139, 0x0147), PAIRS(0x014A, 0x0176), ONE(0x0178, 0x00FF),
    PAIRS(0x0179, 0x017D),
    /* Latin Extended-B: most capitals lower into the IPA block */
    ONE(0x0181, 0x0253), PAIRS(0x0182, 0x0184), ONE(0x0186, 0x0254),
    ONE(0x0187, 0x0188), ALL(0x0189, 0x018A, 205), ONE(0x018B, 0x018C),
    ONE(0x018E, 0x01DD), ONE(0x018F, 0x0259), ONE(0x0190, 0x025B),
    ONE(0x0191, 0x0192), ONE(0x0193, 0x0260), ONE(0x0194, 0x0263),
    ONE(0x0196, 0x0269), ONE(0x0197, 0x0268), ONE(0x0198, 0x0199),
    ONE(0x019C, 0x026F), ONE(0x019D, 0x0272), ONE(0x019F, 0x0275),
    PAIRS(0x01A0, 0x01A4), ONE(0x01A6, 0x0280), ONE(0x01A7, 0x01A8),
    ONE(0x01A9, 0x0283), ONE(0x01AC, 0x01AD), ONE(0x01AE, 0x0288),
    ONE(0x01AF, 0x01B0), ALL(0x01B1, 0x01B2, 217), ONE(0x01B3, 0x01B4),
    ONE(0x01B5, 0x01B6), ONE(0x01B7, 0x0292), ONE(0x01B8, 0x01B9),
    ONE(0x01BC, 0x01BD),
    /* the digraphs DŽ, Dž (titlecase) both lower to dž; likewise LJ, NJ, DZ */
    ONE(0x01C4, 0x01C6), ONE(0x01C5, 0x01C6), ONE(0x01C7, 0x01C9),
    ONE(0x01C8, 0x01C9), ONE(0x01CA, 0x01CC), PAIRS(0x01CB, 0x01DB),
    PAIRS(0x01DE, 0x01EE), ONE(0x01F1, 0x01F3), ONE(0x01F2, 0x01F3),
    ONE(0x01F4, 0x01F5), ONE(0x01F6, 0x0195), ONE(0x01F7, 0x01BF),
    PAIRS(0x01F8, 0x021E), ONE(0x0220, 0x019E), PAIRS(0x0222, 0x0232),
    ONE(0x023A, 0x2C65), ONE(0x023B, 0x023C), ONE(0x023D, 0x019A),
    ONE(0x023E, 0x2C66), ONE(0x0241, 0x0242), ONE(0x0243, 0x0180),
    ONE(0x0244, 0x0289), ONE(0x0245, 0x028C), PAIRS(0x0246, 0x024E),
    /* Greek and Coptic */
    ONE(0x0370, 0x0371), ONE(0x0372, 0x0373), ONE(0x0376, 0x0377),
    ONE(0x037F, 0x03F3), ONE(0x0386, 0x03AC), ALL(0x0388, 0x038A, 37),
    ONE(0x038C, 0x03CC), ALL(0x038E, 0x038F, 63), ALL(0x0391, 0x03A1, 32),
    ALL(0x03A3, 0x03AB, 32), ONE(0x03CF, 0x03D7), PAIRS(0x03D8, 0x03EE),
    ONE(0x03F4, 0x03B8), ONE(0x03F7, 0x03F8), ONE(0x03F9, 0x03F2),
    ONE(0x03FA, 0x03FB), ALL(0x03FD, 0x03FF, -130),
    /* Cyrillic and Cyrillic Supplement */
    ALL(0x0400, 0x040F, 80), ALL(0x0410, 0x042F, 32), PAIRS(0x0460, 0x0480),
    PAIRS(0x048A, 0x04BE), ONE(0x04C0, 0x04CF), PAIRS(0x04C1, 0x04CD),
    PAIRS(0x04D0, 0x052E),
    /* Armenian */
    ALL(0x0531, 0x0556, 48),
    /* Latin Extended Additional (U+1E9E, capital sharp s, lowers to ß) */
    PAIRS(0x1E00, 0x1E94), ONE(0x1E9E, 0x00DF), PAIRS(0x1EA0, 0x1EFE),
    /* Greek Extended: capitals sit 8 above their small letters, but for
     * the letters with oxia/varia and the prosgegrammeni forms */
    ALL(0x1F08, 0x1F0F, -8), ALL(0x1F18, 0x1F1D, -8), ALL(0x1F28, 0x1F2F, -8),
    ALL(0x1F38, 0x1F3F, -8), ALL(0x1F48, 0x1F4D, -8),
    {.first = 0x1F59, .last = 0x1F5F, .delta = -8, .step = 2},
    ALL(0x1F68, 0x1F6F, -8), ALL(0x1F88, 0x1F8F, -8), ALL(0x1F98, 0x1F9F, -8),
    ALL(0x1FA8, 0x1FAF, -8), ALL(0x1FB8, 0x1FB9, -8), ALL(0x1FBA, 0x1FBB, -74),
    ONE(0x1FBC, 0x1FB3), ALL(0x1FC8, 0x1FCB, -86), ONE(0x1FCC, 0x1FC3),
    ALL(0x1FD8, 0x1FD9, -8), ALL(0x1FDA, 0x1FDB, -100), ALL(0x1FE8, 0x1FE9, -8),
    ALL(0x1FEA, 0x1FEB, -112), ONE(0x1FEC, 0x1FE5), ALL(0x1FF8, 0x1FF9, -128),
    ALL(0x1FFA, 0x1FFB, -126), ONE(0x1FFC, 0x1FF3),
    /* Letterlike: Ohm, Kelvin and Angstrom signs */
    ONE(0x2126, 0x03C9), ONE(0x212A, 0x006B), ONE(0x212B, 0x00E5),
    /* Latin Extended-C */
    ONE(0x2C60, 0x2C61), ONE(0x2C62, 0x026B), ONE(0x2C63, 0x1D7D),
    ONE(0x2C64, 0x027D), PAIRS(0x2C67, 0x2C6B), ONE(0x2C6D, 0x0251),
    ONE(0x2C6E, 0x0271), ONE(0x2C6F, 0x0250), ONE(0x2C70, 0x0252),
    ONE(0x2C72, 0x2C73), ONE(0x2C75, 0x2C76), ALL(0x2C7E, 0x2C7F, -10815),
    /* Cyrillic Extended-B */
    PAIRS(0xA640, 0xA66C), PAIRS(0xA680, 0xA69A),
    /* fullwidth Latin */
    ALL(0xFF21, 0xFF3A, 32),
};

uint32_t tok_lower_cp(uint32_t c)
{
    size_t lo = 0, hi = sizeof runs / sizeof runs[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c < runs[mid].first)
            hi = mid;
        else if (c > runs[mid].last)
            lo = mid + 1;
        else
            return (c - runs[mid].first) % runs[mid].step
                   ? c : (uint32_t)((int32_t)c + runs[mid].delta);
    }
    return c;
}

/* Writes code point c as UTF-8 at out; returns its length. */
static size_t put_utf8(uint32_t c, uint8_t *out)
{
    if (c < 0x80) {
        out[0] = (uint8_t)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (uint8_t)(0xC0 | c >> 6);
        out[1] = (uint8_t)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (uint8_t)(0xE0 | c >> 12);
        out[1] = (uint8_t)(0x80 | (c >> 6 & 0x3F));
        out[2] = (uint8_t)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | c >> 18);
    out[1] = (uint8_t)(0x80 | (c >> 12 & 0x3F));
    out[2] = (uint8_t)(0x80 | (c >> 6 & 0x3F));
    out[3] = (uint8_t)(0x80 | (c & 0x3F));
    return 4;
}

size_t tok_lower(tok_lower_map map, const uint8_t *s, size_t n, uint8_t *out)
{
    size_t o = 0;
    if (map != TOK_LOWER_UNICODE) {
        for (size_t i = 0; i < n; i++)
            out[i] = (uint8_t)(map == TOK_LOWER_ASCII && s[i] >= 'A' && s[i] <= 'Z'
                               ? s[i] | 0x20 : s[i]);
        return n;
    }
    for (size_t i = 0; i < n;) {
        uint32_t c;
        int k = s[i] < 0x80 ? 1 : tok_utf8_decode(s + i, n - i, &c);
        if (k == 1) {            /* ASCII, the common case */
            out[o++] = (uint8_t)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] | 0x20 : s[i]);
            i++;
        } else if (k == 0) {     /* not UTF-8: the byte as it is */
            out[o++] = s[i++];
        } else {
            uint32_t l = tok_lower_cp(c);
            if (l == c) {
                memcpy(out + o, s + i, (size_t)k);
                o += (size_t)k;
            } else {
                o += put_utf8(l, out + o);
            }
            i += (size_t)k;
        }
    }
    return o;
}
