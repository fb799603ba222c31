/* check_textpane.c - unit tests for the scroll-back text pane (textpane.c):
 * the exact rows and styled runs it lays out. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "ui/textpane.h"

#define MAX_ROWS 32
#define ROW_BYTES 512

/* What textpane_lines showed: each row's text, and its runs written as
 * style[text] one after the other. */
typedef struct shown {
    int calls;
    int nruns[MAX_ROWS];
    char text[MAX_ROWS][ROW_BYTES];
    char runs[MAX_ROWS][ROW_BYTES];
} shown;

static void collect(void *ctx, int row, const textpane_run *runs, int n)
{
    shown *s = ctx;
    ck_assert_int_ge(row, 0);
    ck_assert_int_lt(row, MAX_ROWS);
    ck_assert_int_eq(row, s->calls);   /* rows come in order from the top */
    s->calls++;
    s->nruns[row] = n;
    for (int i = 0; i < n; i++) {
        size_t t = strlen(s->text[row]), r = strlen(s->runs[row]);
        snprintf(s->text[row] + t, ROW_BYTES - t, "%.*s", (int)runs[i].len, runs[i].text);
        snprintf(s->runs[row] + r, ROW_BYTES - r, "%d[%.*s]", runs[i].style,
                 (int)runs[i].len, runs[i].text);
    }
}

/* Lays p out at width x height and checks every row's text against want
 * (height strings). */
static void expect_rows(textpane *p, int width, int height, int utf8,
                        const char *const *want)
{
    shown s;
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(textpane_lines(p, width, height, utf8, collect, &s), 0);
    ck_assert_int_eq(s.calls, height);
    for (int r = 0; r < height; r++)
        ck_assert_msg(strcmp(s.text[r], want[r]) == 0,
                      "row %d: got \"%s\", want \"%s\"", r, s.text[r], want[r]);
}

static shown layout(textpane *p, int width, int height, int utf8)
{
    shown s;
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(textpane_lines(p, width, height, utf8, collect, &s), 0);
    return s;
}

static void append(textpane *p, const char *s, int style)
{
    ck_assert_int_eq(textpane_append(p, s, strlen(s), style), 0);
}

/* Appends lines "line 0" .. "line n-1", each ended by a newline. */
static void append_lines(textpane *p, int from, int n)
{
    char buf[32];
    for (int i = from; i < from + n; i++) {
        snprintf(buf, sizeof buf, "line %d\n", i);
        append(p, buf, 0);
    }
}

/* ---- characters ---- */

START_TEST(test_split_utf8)
{
    textpane *p = textpane_new(100);
    ck_assert_ptr_nonnull(p);
    append(p, "h", 0);
    append(p, "\xc3", 0);                        /* é split in two */
    expect_rows(p, 20, 1, 1, (const char *[]){"h"});   /* not shown yet */
    append(p, "\xa9llo ", 0);
    const char *emoji = "\xf0\x9f\x98\x80";      /* U+1F600, byte by byte */
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(textpane_append(p, emoji + i, 1, 0), 0);
    append(p, "\xe6\x97", 0);                    /* 日 split 2 + 1 */
    append(p, "\xa5", 0);
    expect_rows(p, 20, 1, 1, (const char *[]){"h\xc3\xa9llo \xf0\x9f\x98\x80\xe6\x97\xa5"});
    textpane_free(p);
}
END_TEST

static const struct {
    const char *in, *out;
} bad[] = {
    {"a\xff" "b", "a\xef\xbf\xbd" "b"},                     /* invalid byte */
    {"\x80z", "\xef\xbf\xbdz"},                             /* stray continuation */
    {"\xe2\x82x", "\xef\xbf\xbdx"},                         /* cut short */
    {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},               /* overlong */
    {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* surrogate */
    {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
    {"a\x01" "b\x7f", "a\xef\xbf\xbd" "b\xef\xbf\xbd"},     /* C0 and DEL */
    {"\xc2\x85.", "\xef\xbf\xbd."},                         /* C1 control */
    {"x\r", "x\xef\xbf\xbd"},
    {"\xe2\x82", ""},                                       /* still pending */
};

START_TEST(test_invalid_bytes)
{
    textpane *p = textpane_new(100);
    append(p, bad[_i].in, 0);
    expect_rows(p, 40, 1, 1, (const char *[]){bad[_i].out});
    textpane_free(p);
}
END_TEST

START_TEST(test_pending_then_newline)
{
    /* a character cut short by a newline shows as U+FFFD on its line */
    textpane *p = textpane_new(100);
    append(p, "a\xe2\x82", 0);
    append(p, "\nb", 0);
    expect_rows(p, 10, 2, 1, (const char *[]){"a\xef\xbf\xbd", "b"});
    textpane_free(p);
}
END_TEST

START_TEST(test_ascii_mode)
{
    textpane *p = textpane_new(100);
    append(p, "h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac \xff!", 0);
    expect_rows(p, 40, 1, 0, (const char *[]){"h?llo ?? ?!"});
    /* each character one cell wide in ASCII mode: 11 cells fit exactly */
    ck_assert_int_eq(textpane_lines(p, 11, 1, 0, collect, &(shown){0}), 0);
    ck_assert_uint_eq(textpane_count(p, 11), 1);
    textpane_free(p);
}
END_TEST

START_TEST(test_tabs)
{
    textpane *p = textpane_new(100);
    append(p, "a\tb\n12345678\tx\nab", 0);
    append(p, "\tc", 0);                       /* the stop counts earlier appends */
    expect_rows(p, 40, 3, 1, (const char *[]){
        "a       b", "12345678        x", "ab      c"});
    textpane_free(p);
}
END_TEST

START_TEST(test_wide_chars)
{
    textpane *p = textpane_new(100);
    /* 日本語テキスト: seven characters of two cells each */
    append(p, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x83\x86\xe3\x82\xad"
              "\xe3\x82\xb9\xe3\x83\x88", 0);
    expect_rows(p, 5, 4, 1, (const char *[]){
        "\xe6\x97\xa5\xe6\x9c\xac", "\xe8\xaa\x9e\xe3\x83\x86",
        "\xe3\x82\xad\xe3\x82\xb9", "\xe3\x83\x88"});
    ck_assert_uint_eq(textpane_count(p, 5), 4);
    ck_assert_uint_eq(textpane_count(p, 14), 1);
    ck_assert_uint_eq(textpane_count(p, 13), 2);
    textpane_clear(p);
    /* a wide character never straddles the edge */
    append(p, "ab\xe6\x97\xa5", 0);
    expect_rows(p, 3, 2, 1, (const char *[]){"ab", "\xe6\x97\xa5"});
    textpane_clear(p);
    /* a combining accent takes no cell: e + U+0301 three times fits in 3 */
    append(p, "e\xcc\x81" "e\xcc\x81" "e\xcc\x81", 0);
    ck_assert_uint_eq(textpane_count(p, 3), 1);
    textpane_free(p);
}
END_TEST

/* ---- wrapping ---- */

START_TEST(test_word_wrap)
{
    textpane *p = textpane_new(100);
    append(p, "the quick brown fox jumps", 0);
    expect_rows(p, 10, 3, 1, (const char *[]){"the quick ", "brown fox ", "jumps"});
    ck_assert_uint_eq(textpane_count(p, 10), 3);
    /* a space that does not fit is dropped at the break */
    expect_rows(p, 9, 3, 1, (const char *[]){"the quick", "brown fox", "jumps"});
    /* wide enough: one row */
    ck_assert_uint_eq(textpane_count(p, 25), 1);
    textpane_free(p);
}
END_TEST

START_TEST(test_hard_break)
{
    textpane *p = textpane_new(100);
    append(p, "abcdefghijklmnop\na verylongword", 0);
    expect_rows(p, 5, 8, 1, (const char *[]){
        "abcde", "fghij", "klmno", "p", "a ", "veryl", "ongwo", "rd"});
    ck_assert_uint_eq(textpane_count(p, 5), 8);
    /* leading spaces are no place to break */
    textpane_clear(p);
    append(p, "   abcdefg", 0);
    expect_rows(p, 5, 2, 1, (const char *[]){"   ab", "cdefg"});
    /* width 1 still makes progress (the second space goes at a break) */
    ck_assert_uint_eq(textpane_count(p, 1), 9);
    textpane_free(p);
}
END_TEST

START_TEST(test_lines_and_newlines)
{
    textpane *p = textpane_new(100);
    append(p, "a\n", 0);
    ck_assert_uint_eq(textpane_count(p, 10), 1);   /* no empty row after "a\n" */
    append(p, "\nb", 0);
    ck_assert_uint_eq(textpane_count(p, 10), 3);
    shown s = layout(p, 10, 5, 1);
    ck_assert_str_eq(s.text[0], "a");
    ck_assert_int_eq(s.nruns[1], 0);               /* the empty line */
    ck_assert_str_eq(s.text[2], "b");
    ck_assert_int_eq(s.nruns[3], 0);               /* rows below the text */
    ck_assert_int_eq(s.nruns[4], 0);
    textpane_clear(p);
    ck_assert_uint_eq(textpane_count(p, 10), 0);
    s = layout(p, 10, 2, 1);
    ck_assert_int_eq(s.calls, 2);
    ck_assert_int_eq(s.nruns[0], 0);
    textpane_free(p);
}
END_TEST

/* ---- styles ---- */

START_TEST(test_styles)
{
    textpane *p = textpane_new(100);
    append(p, "hello ", 1);
    append(p, "wor", 2);
    append(p, "ld", 2);
    append(p, "!", 0);
    shown s = layout(p, 20, 1, 1);
    ck_assert_str_eq(s.runs[0], "1[hello ]2[world]0[!]");
    ck_assert_int_eq(s.nruns[0], 3);
    /* runs are split where rows wrap */
    s = layout(p, 8, 2, 1);
    ck_assert_str_eq(s.runs[0], "1[hello ]");
    ck_assert_str_eq(s.runs[1], "2[world]0[!]");
    s = layout(p, 4, 4, 1);
    ck_assert_str_eq(s.runs[0], "1[hell]");
    ck_assert_str_eq(s.runs[1], "1[o ]");
    ck_assert_str_eq(s.runs[2], "2[worl]");
    ck_assert_str_eq(s.runs[3], "2[d]0[!]");
    /* a split character keeps the style its first byte came in; ASCII
     * mode keeps the runs */
    textpane_clear(p);
    append(p, "\xc3", 3);
    append(p, "\xa9x", 4);
    s = layout(p, 20, 1, 1);
    ck_assert_str_eq(s.runs[0], "3[\xc3\xa9]4[x]");
    s = layout(p, 20, 1, 0);
    ck_assert_str_eq(s.runs[0], "3[?]4[x]");
    textpane_free(p);
}
END_TEST

/* ---- scrolling and the line cap ---- */

START_TEST(test_scroll_clamped)
{
    textpane *p = textpane_new(100);
    append_lines(p, 0, 10);
    expect_rows(p, 20, 4, 1, (const char *[]){"line 6", "line 7", "line 8", "line 9"});
    textpane_scroll(p, 2);
    ck_assert_int_eq(textpane_offset(p), 2);
    expect_rows(p, 20, 4, 1, (const char *[]){"line 4", "line 5", "line 6", "line 7"});
    textpane_scroll(p, 100);                 /* clamped to the top */
    ck_assert_int_eq(textpane_offset(p), 6);
    expect_rows(p, 20, 4, 1, (const char *[]){"line 0", "line 1", "line 2", "line 3"});
    textpane_scroll(p, -100);
    ck_assert_int_eq(textpane_offset(p), 0);
    textpane_scroll(p, 3);
    textpane_scroll_to_end(p);
    ck_assert_int_eq(textpane_offset(p), 0);
    /* a taller pane than the text: nothing to scroll */
    textpane_scroll(p, 5);
    expect_rows(p, 20, 12, 1, (const char *[]){
        "line 0", "line 1", "line 2", "line 3", "line 4", "line 5", "line 6",
        "line 7", "line 8", "line 9", "", ""});
    ck_assert_int_eq(textpane_offset(p), 0);
    textpane_free(p);
}
END_TEST

START_TEST(test_scroll_wrapped)
{
    /* offsets count display rows, not lines */
    textpane *p = textpane_new(100);
    append(p, "aaaa bbbb cccc\nshort", 0);
    textpane_scroll(p, 1);
    expect_rows(p, 5, 2, 1, (const char *[]){"bbbb ", "cccc"});
    textpane_scroll(p, 9);
    expect_rows(p, 5, 2, 1, (const char *[]){"aaaa ", "bbbb "});
    ck_assert_int_eq(textpane_offset(p), 2);
    textpane_free(p);
}
END_TEST

START_TEST(test_scroll_anchored)
{
    /* scrolled back, the view stays on the same text while lines arrive */
    textpane *p = textpane_new(100);
    append_lines(p, 0, 10);
    textpane_scroll(p, 2);
    expect_rows(p, 20, 3, 1, (const char *[]){"line 5", "line 6", "line 7"});
    append_lines(p, 10, 3);
    expect_rows(p, 20, 3, 1, (const char *[]){"line 5", "line 6", "line 7"});
    ck_assert_int_eq(textpane_offset(p), 5);
    textpane_scroll_to_end(p);
    expect_rows(p, 20, 3, 1, (const char *[]){"line 10", "line 11", "line 12"});
    append_lines(p, 13, 1);                  /* at the end, it follows */
    expect_rows(p, 20, 3, 1, (const char *[]){"line 11", "line 12", "line 13"});
    textpane_free(p);
}
END_TEST

START_TEST(test_max_lines)
{
    textpane *p = textpane_new(3);
    append_lines(p, 0, 5);
    ck_assert_uint_eq(textpane_count(p, 20), 3);
    expect_rows(p, 20, 4, 1, (const char *[]){"line 2", "line 3", "line 4", ""});
    append(p, "open", 0);                    /* the unfinished line counts */
    ck_assert_uint_eq(textpane_count(p, 20), 3);
    expect_rows(p, 20, 3, 1, (const char *[]){"line 3", "line 4", "open"});
    /* the cap also holds while scrolled back, and the view stays put */
    expect_rows(p, 20, 2, 1, (const char *[]){"line 4", "open"});
    textpane_scroll(p, 1);
    expect_rows(p, 20, 2, 1, (const char *[]){"line 3", "line 4"});
    append(p, "\nnext\n", 0);
    ck_assert_uint_eq(textpane_count(p, 20), 3);
    expect_rows(p, 20, 2, 1, (const char *[]){"line 4", "open"});
    textpane_free(p);
}
END_TEST

START_TEST(test_many_lines)
{
    /* many appends keep the cap and the newest lines in order */
    textpane *p = textpane_new(50);
    append_lines(p, 0, 10000);
    ck_assert_uint_eq(textpane_count(p, 80), 50);
    expect_rows(p, 80, 2, 1, (const char *[]){"line 9998", "line 9999"});
    textpane_scroll(p, 48);
    expect_rows(p, 80, 2, 1, (const char *[]){"line 9950", "line 9951"});
    textpane_free(p);
}
END_TEST

START_TEST(test_bad_sizes)
{
    textpane *p = textpane_new(0);           /* keeps one line */
    ck_assert_ptr_nonnull(p);
    append(p, "a\nb", 0);
    ck_assert_uint_eq(textpane_count(p, 10), 1);
    shown s;
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(textpane_lines(p, 0, 5, 1, collect, &s), 0);
    ck_assert_int_eq(textpane_lines(p, 5, 0, 1, collect, &s), 0);
    ck_assert_int_eq(s.calls, 0);
    ck_assert_uint_eq(textpane_count(p, 0), 0);
    ck_assert_int_eq(textpane_append(p, NULL, 0, 0), 0);
    textpane_free(p);
    textpane_free(NULL);
}
END_TEST

START_TEST(test_random_bytes)
{
    /* random bytes (mostly text, some newlines, tabs, invalid and partial
     * sequences): appended in random pieces they lay out exactly as when
     * appended at once, and no ASCII-mode row is wider than the pane */
    unsigned long long r = 88172645463325252ull;
    for (int round = 0; round < 50; round++) {
        unsigned char buf[600];
        size_t len = 0;
        while (len < sizeof buf - 4) {
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            unsigned k = (unsigned)(r % 16);
            if (k < 8)
                buf[len++] = (unsigned char)('a' + r % 26);
            else if (k < 10)
                buf[len++] = ' ';
            else if (k == 10)
                buf[len++] = (unsigned char)"\n\t"[r >> 8 & 1];
            else if (k < 14) {
                memcpy(buf + len, "\xe6\x97\xa5", 3);   /* wide */
                len += 1 + (r >> 8) % 3;                   /* sometimes cut */
            } else
                buf[len++] = (unsigned char)(r >> 16);     /* any byte */
        }
        int width = 1 + (int)(r >> 24) % 30;
        textpane *whole = textpane_new(1000), *pieces = textpane_new(1000);
        ck_assert_int_eq(textpane_append(whole, (char *)buf, len, 0), 0);
        for (size_t at = 0; at < len;) {
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            size_t n = 1 + r % 7;
            n = n < len - at ? n : len - at;
            ck_assert_int_eq(textpane_append(pieces, (char *)buf + at, n, 0), 0);
            at += n;
        }
        for (int utf8 = 0; utf8 < 2; utf8++) {
            size_t rows = textpane_count(whole, width);
            ck_assert_uint_eq(textpane_count(pieces, width), rows);
            shown a = layout(whole, width, MAX_ROWS, utf8);
            shown b = layout(pieces, width, MAX_ROWS, utf8);
            for (int i = 0; i < MAX_ROWS; i++) {
                ck_assert_str_eq(a.text[i], b.text[i]);
                if (!utf8)
                    ck_assert_uint_le(strlen(a.text[i]), (size_t)width);
            }
        }
        textpane_free(whole);
        textpane_free(pieces);
    }
}
END_TEST

static Suite *textpane_suite(void)
{
    Suite *s = suite_create("textpane");
    TCase *tc = tcase_create("text");
    tcase_add_test(tc, test_split_utf8);
    tcase_add_loop_test(tc, test_invalid_bytes, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(tc, test_pending_then_newline);
    tcase_add_test(tc, test_ascii_mode);
    tcase_add_test(tc, test_tabs);
    tcase_add_test(tc, test_wide_chars);
    tcase_add_test(tc, test_word_wrap);
    tcase_add_test(tc, test_hard_break);
    tcase_add_test(tc, test_lines_and_newlines);
    tcase_add_test(tc, test_styles);
    tcase_add_test(tc, test_random_bytes);
    suite_add_tcase(s, tc);

    TCase *ts = tcase_create("scroll");
    tcase_add_test(ts, test_scroll_clamped);
    tcase_add_test(ts, test_scroll_wrapped);
    tcase_add_test(ts, test_scroll_anchored);
    tcase_add_test(ts, test_max_lines);
    tcase_add_test(ts, test_many_lines);
    tcase_add_test(ts, test_bad_sizes);
    suite_add_tcase(s, ts);
    return s;
}

int main(void)
{
    return fx_run_suite(textpane_suite());
}
