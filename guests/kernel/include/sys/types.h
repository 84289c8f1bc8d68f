/*
 * Basic types of the model kernel, spelled the way FreeBSD 10.4 spells them
 * (sys/_types.h, sys/types.h) so that DWARF type names and typedef chains
 * look like FreeBSD's to a debugger.
 */
#ifndef _SYS_TYPES_H_
#define _SYS_TYPES_H_

typedef signed char __int8_t;
typedef unsigned char __uint8_t;
typedef short __int16_t;
typedef unsigned short __uint16_t;
typedef int __int32_t;
typedef unsigned int __uint32_t;
typedef long __int64_t;
typedef unsigned long __uint64_t;

typedef __int8_t int8_t;
typedef __uint8_t uint8_t;
typedef __int16_t int16_t;
typedef __uint16_t uint16_t;
typedef __int32_t int32_t;
typedef __uint32_t uint32_t;
typedef __int64_t int64_t;
typedef __uint64_t uint64_t;

typedef __uint8_t u_int8_t;
typedef __uint16_t u_int16_t;
typedef __uint32_t u_int32_t;
typedef __uint64_t u_int64_t;

typedef unsigned char u_char;
typedef unsigned short u_short;
typedef unsigned int u_int;
typedef unsigned long u_long;

typedef __uint64_t __uintptr_t;
typedef __int64_t __intptr_t;
typedef __uintptr_t uintptr_t;
typedef __intptr_t intptr_t;
typedef __uint64_t __size_t;
typedef __int64_t __ssize_t;
typedef __size_t size_t;
typedef __ssize_t ssize_t;
typedef __int64_t __off_t;
typedef __off_t off_t;
typedef __int64_t __id_t;
typedef __id_t id_t;
typedef __int32_t __lwpid_t;
typedef __lwpid_t lwpid_t;
typedef __int32_t __pid_t;
typedef __pid_t pid_t;
typedef char *caddr_t;
typedef const char *c_caddr_t;
typedef __uint32_t in_addr_t;
typedef __uint16_t in_port_t;
typedef __uint8_t sa_family_t;
typedef __uint32_t socklen_t;
typedef __int64_t sbintime_t;

#define NULL ((void *)0)
#define __unused __attribute__((unused))
#define __used __attribute__((used))
#define __packed __attribute__((packed))
#define __aligned(x) __attribute__((aligned(x)))
#define __section(x) __attribute__((section(x)))
#define __predict_false(e) __builtin_expect((e), 0)
/* Keep named kernel functions out of line and unspecialised, as in a
 * FreeBSD build without LTO, so breakpoints on their symbols see every call. */
#define __noinline __attribute__((noinline, noclone))

#define offsetof(t, m) __builtin_offsetof(t, m)
#define nitems(x) (sizeof(x) / sizeof((x)[0]))
#define min(a, b) ((a) < (b) ? (a) : (b))
#define max(a, b) ((a) > (b) ? (a) : (b))

#define MAXCOMLEN 19
#define IFNAMSIZ 16
#define MAXCPU 64

/* sys/queue.h: only the shapes; the model links lists by hand. */
#define LIST_HEAD(name, type) struct name { struct type *lh_first; }
#define LIST_ENTRY(type) struct { struct type *le_next; struct type **le_prev; }
#define SLIST_HEAD(name, type) struct name { struct type *slh_first; }
#define SLIST_ENTRY(type) struct { struct type *sle_next; }
#define STAILQ_ENTRY(type) struct { struct type *stqe_next; }
#define TAILQ_HEAD(name, type) struct name { struct type *tqh_first; struct type **tqh_last; }
#define TAILQ_ENTRY(type) struct { struct type *tqe_next; struct type **tqe_prev; }

/* The model's own linker sets (sys/linker_set.h). */
#define __MAKE_SET(set, sym) \
	static void const *const __set_##set##_sym_##sym \
	__section("set_" #set) __used = &(sym)
#define DATA_SET(set, sym) __MAKE_SET(set, sym)

static inline uint16_t htons(uint16_t x) { return (uint16_t)((x << 8) | (x >> 8)); }
static inline uint16_t ntohs(uint16_t x) { return htons(x); }
static inline uint32_t htonl(uint32_t x) { return __builtin_bswap32(x); }
static inline uint32_t ntohl(uint32_t x) { return __builtin_bswap32(x); }

void *memcpy(void *, const void *, size_t);
void *memset(void *, int, size_t);
int memcmp(const void *, const void *, size_t);
size_t strlen(const char *);
#define bcopy(s, d, n) memcpy((d), (s), (n))
#define bzero(d, n) memset((d), 0, (n))

#endif
