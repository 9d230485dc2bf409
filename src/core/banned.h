/* banned.h - unsafe libc calls fail the build (git banned.h). Included by every .c file
 * through the compiler's -include flag; use snprintf, hr_buf_* or memcpy with a length. */
#ifndef HR_BANNED_H
#define HR_BANNED_H

#define HR_BANNED_(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) HR_BANNED_(strcpy)
#undef strcat
#define strcat(x, y) HR_BANNED_(strcat)
#undef strncpy
#define strncpy(x, y, n) HR_BANNED_(strncpy)
#undef strncat
#define strncat(x, y, n) HR_BANNED_(strncat)
#undef sprintf
#define sprintf(...) HR_BANNED_(sprintf)
#undef vsprintf
#define vsprintf(...) HR_BANNED_(vsprintf)
#undef gets
#define gets(x) HR_BANNED_(gets)
#undef strtok
#define strtok(x, y) HR_BANNED_(strtok)
#undef asctime
#define asctime(x) HR_BANNED_(asctime)
#undef ctime
#define ctime(x) HR_BANNED_(ctime)
#undef gmtime
#define gmtime(x) HR_BANNED_(gmtime)
#undef localtime
#define localtime(x) HR_BANNED_(localtime)

#endif
