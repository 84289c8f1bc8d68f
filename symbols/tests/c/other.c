/* The second compile unit: the only definition of struct hidden. */
#include "kernel_like.h"

struct hidden {
	long h_a;
	char h_b[13];
	struct tcpcb *h_tp;
};

static struct hidden hidden_storage;
struct hidden *hidden_ptr = &hidden_storage;

long hidden_size(void)
{
	return (long)sizeof(struct hidden);
}

long hidden_offset_h_tp(void)
{
	return (long)offsetof(struct hidden, h_tp);
}
