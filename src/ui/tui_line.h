/* tui_line.h - GNU readline running inside a curses screen.  Curses owns
 * the terminal: keys are read by curses and fed to readline through its
 * callback interface (rl_getc_function, rl_input_available_hook), and
 * readline's redisplay draws the prompt and line into the screen's
 * bottom row.  Completion lists go to a callback instead of the terminal. */
#ifndef TUI_LINE_H
#define TUI_LINE_H
#include <wchar.h>

/* Called with the candidates readline would list (Tab Tab). */
typedef void (*tline_matches_fn)(void *ctx, char **matches, int n);

/* Points readline at curses; call after initscr.  Returns 0, or -1 when
 * /dev/null cannot be opened for readline's output. */
int tline_init(tline_matches_fn matches, void *ctx);
void tline_end(void);

/* Where the line is drawn: a row of the screen and its width. */
void tline_place(int row, int width);
/* Hides the line (while a question replaces it) or shows it again. */
void tline_hide(int hidden);

/* Feeds one key from wget_wch: is_key says whether ch is a KEY_ code.
 * Editing keys (arrows, Home, End, Delete, Backspace) map to readline's
 * functions; other characters go in as UTF-8 bytes. */
void tline_key(int is_key, wint_t ch);

/* Draws the prompt and the line with the cursor (wnoutrefresh only). */
void tline_draw(void);
/* Whether the line being edited is empty (for `?` as help). */
int tline_empty(void);
/* Clears the line being edited. */
void tline_clear(void);

#endif
