/* cpu_level.c - detects the CPU's SIMD level once and applies the
 * RNNLAB_SIMD cap (see cpu_level.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_level.h"

static const char *const level_names[] = {
    [CPU_LEVEL_PORTABLE] = "portable",
    [CPU_LEVEL_AVX2] = "avx2",
    [CPU_LEVEL_AVX512] = "avx512",
    [CPU_LEVEL_AVX512VNNI] = "avx512vnni",
};
#define N_LEVELS (sizeof level_names / sizeof level_names[0])

/* The CPU's own level, ignoring RNNLAB_SIMD. */
static cpu_level level_detect(void)
{
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma")) {
        if (__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
            __builtin_cpu_supports("avx512vnni"))
            return CPU_LEVEL_AVX512VNNI;
        return CPU_LEVEL_AVX512;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return CPU_LEVEL_AVX2;
#endif
    return CPU_LEVEL_PORTABLE;
}

const char *cpu_level_name(cpu_level l)
{
    return (size_t)l < N_LEVELS ? level_names[l] : "unknown";
}

/* The level named s into out; returns 0, or -1 when s names none. */
static int level_parse(const char *s, cpu_level *out)
{
    for (size_t i = 0; i < N_LEVELS; i++)
        if (strcmp(s, level_names[i]) == 0) {
            *out = (cpu_level)i;
            return 0;
        }
    return -1;
}

/* The one process-wide value: written once under pthread_once, read-only
 * after, so kernels on any thread may ask without a context pointer (the
 * dispatch sits in leaf functions that have none). */
static cpu_level level_in_use;
static pthread_once_t level_once = PTHREAD_ONCE_INIT;

static void level_init(void)
{
    cpu_level have = level_detect(), cap;
    const char *env = getenv(CPU_LEVEL_ENV);
    if (env && *env && level_parse(env, &cap) == 0 && cap < have)
        have = cap;
    level_in_use = have;
}

cpu_level cpu_level_get(void)
{
    pthread_once(&level_once, level_init);
    return level_in_use;
}

int cpu_level_check(char *err, size_t errlen)
{
    const char *env = getenv(CPU_LEVEL_ENV);
    cpu_level l;
    if (!env || !*env || level_parse(env, &l) == 0)
        return 0;
    snprintf(err, errlen, "%s: '%s' is not a SIMD level (portable, avx2, avx512, avx512vnni)",
             CPU_LEVEL_ENV, env);
    return -1;
}
