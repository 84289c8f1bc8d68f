#define LIMIT 3
#define TWICE(x) ((x) * 2)
#if defined(LIMIT) && LIMIT > 2
#pragma D option quiet
#else
#error no limit
#endif
BEGIN /TWICE(LIMIT) == 6/ { printf("%d\n", TWICE(LIMIT)); exit(0); }
