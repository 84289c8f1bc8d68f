#!/usr/sbin/dtrace -qs
inline string names[int i] = i == 0 ? "zero" : i == 1 ? "one" : "many";
typedef struct s { int a : 3; unsigned b : 5; char c[4]; long l; } s_t;
int last[uint64_t, string];
self int depth;
this long v;
BEGIN /1 > 0 && !(2 < 1) ^^ 0/ {
    x = (uint8_t)300 + -1 * 7 % 3 << 2 >> 1 | 0x10 & ~0 ^ 'a';
    last[1, "k"] = x; last[1, "k"]++; last[2, "j"] += 3; last[1, "k"] = 0;
    self->depth = sizeof(s_t) + offsetof(s_t, l); this->v = self->depth;
    s = strjoin(substr("hello", 1, 3), lltostr(x)); t = x > 3 ? s : "small";
    printf("%d %s %s %d %d\n", x, names[x % 3], t, strlen(t), index(t, "l"));
    trace(stringof(x)); tracemem(0, 8);
}
tick-1s, profile-97 { exit(1); }
ERROR { printf("%d %d\n", arg1, arg4); }
