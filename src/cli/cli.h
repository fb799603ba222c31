/* cli.h - the rnnlab command line: parses the arguments, runs the chosen
 * command (train, sample, eval) and reports errors on stderr. */
#ifndef CLI_H
#define CLI_H

/* Exit statuses. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* Runs the command line argv[0..argc-1] and returns the exit status:
 * CLI_OK, CLI_FAIL (runtime error, one line "rnnlab: ..." on stderr) or
 * CLI_USAGE (bad command line, with a hint to --help). */
int cli_main(int argc, char **argv);

/* The bundled corpus (./data/ first, then the installed data directory),
 * or NULL when it is in neither place. */
const char *cli_default_corpus(void);

#endif
