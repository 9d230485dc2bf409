/* compat.h - force-included first in every translation unit (-include core/compat.h):
 * the system headers that banned.h shadows, then banned.h itself. */
#ifndef HR_COMPAT_H
#define HR_COMPAT_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/banned.h"

#endif
