/* num.h - numbers written as text: the shortest decimal that reads back as the same float. */
#ifndef UTIL_NUM_H
#define UTIL_NUM_H

/* The shortest decimal (6 to 9 significant digits) that reads back as f,
 * read as a double, so that JSON shows 0.1 rather than
 * 0.10000000149011612.  Tested the way a reader takes it: to double, then
 * to float. */
double num_float_shortest(float f);

#endif
