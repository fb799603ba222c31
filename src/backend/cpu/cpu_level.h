/* cpu_level.h - the SIMD level the CPU backend's own kernels run at: what
 * the CPU has, capped by RNNLAB_SIMD so that the lower levels' code (the
 * AVX2 kernels, the portable loops and OpenBLAS for every product) can be
 * run and tested on a machine that has more. */
#ifndef CPU_LEVEL_H
#define CPU_LEVEL_H

#include <stddef.h>

/* Ordered: each level includes the ones below it. */
typedef enum {
    CPU_LEVEL_PORTABLE,   /* C loops, OpenBLAS for every product */
    CPU_LEVEL_AVX2,       /* + AVX2/FMA few-row products */
    CPU_LEVEL_AVX512,     /* + AVX-512F kernels: sgemm, cells, Adam, fp32/fp16 packs */
    CPU_LEVEL_AVX512VNNI, /* + AVX-512 VNNI (with BW and VL): int8 packed products */
} cpu_level;

/* The environment variable that caps the level. */
#define CPU_LEVEL_ENV "RNNLAB_SIMD"

/* The level in use: the CPU's, or RNNLAB_SIMD's when that is lower.  An
 * unreadable RNNLAB_SIMD leaves the CPU's level (cpu_level_check reports
 * it).  Fixed for the process after the first call. */
cpu_level cpu_level_get(void);

/* The level's name ("avx2"). */
const char *cpu_level_name(cpu_level l);

/* Checks RNNLAB_SIMD: returns 0 when it is unset or names a level, -1 with
 * a one-line message in err otherwise. */
int cpu_level_check(char *err, size_t errlen);

#endif
