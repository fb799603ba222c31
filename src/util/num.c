/* num.c - numbers written as text. */
#include <stdio.h>
#include <stdlib.h>

#include "util/num.h"

double num_float_shortest(float f)
{
    char buf[32];
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
        double d = strtod(buf, NULL);
        if ((float)d == f)
            return d;
    }
    return (double)f;
}
