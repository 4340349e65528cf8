/* The machine the figures belong to, printed with them. */
#ifndef NATIVE_BENCH_ENV_H
#define NATIVE_BENCH_ENV_H

#include <stdio.h>

/* Writes the "env" JSON object (without a trailing comma) describing the machine and the
 * file system of dir. */
void print_env_json(FILE *out, const char *dir);

/* Writes s as a JSON string literal. */
void print_json_string(FILE *out, const char *s);

#endif
