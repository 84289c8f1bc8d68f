/*
 * Statically defined tracing, with FreeBSD 10.4's structures, object names,
 * linker sets and probe-site shape (sys/sys/sdt.h, KDTRACE_HOOKS defined).
 */
#ifndef _SYS_SDT_H_
#define _SYS_SDT_H_

#include <sys/types.h>

struct linker_file;
struct sdt_probe;

struct sdt_provider {
	char *name;
	TAILQ_ENTRY(sdt_provider) prov_entry;
	uintptr_t id;
	int sdt_refs;
};

struct sdt_argtype {
	int ndx;
	const char *type;
	const char *xtype;
	TAILQ_ENTRY(sdt_argtype) argtype_entry;
	struct sdt_probe *probe;
};

struct sdt_probe {
	int version;
	struct sdt_provider *prov;
	TAILQ_ENTRY(sdt_probe) probe_entry;
	TAILQ_HEAD(argtype_list_head, sdt_argtype) argtype_list;
	const char *mod;
	const char *func;
	const char *name;
	id_t id;
	int n_args;
	struct linker_file *sdtp_lf;
};

typedef void (*sdt_probe_func_t)(uint32_t, uintptr_t arg0, uintptr_t arg1,
    uintptr_t arg2, uintptr_t arg3, uintptr_t arg4);

extern sdt_probe_func_t sdt_probe_func;
void sdt_probe_stub(uint32_t, uintptr_t, uintptr_t, uintptr_t, uintptr_t,
    uintptr_t);

#define SDT_PROVIDER_DEFINE(prov) \
	struct sdt_provider sdt_provider_##prov[1] = { \
		{ #prov, { NULL, NULL }, 0, 0 } \
	}; \
	DATA_SET(sdt_providers_set, sdt_provider_##prov)

#define SDT_PROVIDER_DECLARE(prov) \
	extern struct sdt_provider sdt_provider_##prov[1]

#define SDT_PROBE_DEFINE(prov, mod, func, name) \
	struct sdt_probe sdt_##prov##_##mod##_##func##_##name[1] = { \
		{ sizeof(struct sdt_probe), sdt_provider_##prov, \
		  { NULL, NULL }, { NULL, NULL }, #mod, #func, #name, 0, 0, \
		  NULL } \
	}; \
	DATA_SET(sdt_probes_set, sdt_##prov##_##mod##_##func##_##name)

#define SDT_PROBE_DECLARE(prov, mod, func, name) \
	extern struct sdt_probe sdt_##prov##_##mod##_##func##_##name[1]

#define SDT_PROBE_ARGTYPE(prov, mod, func, name, num, type, xtype) \
	static struct sdt_argtype sdta_##prov##_##mod##_##func##_##name##num[1] = { \
		{ num, type, xtype, { NULL, NULL }, \
		  sdt_##prov##_##mod##_##func##_##name } \
	}; \
	DATA_SET(sdt_argtypes_set, sdta_##prov##_##mod##_##func##_##name##num)

#define SDT_PROBE_DEFINE5_XLATE(prov, mod, func, name, a0, x0, a1, x1, a2, x2, a3, x3, a4, x4) \
	SDT_PROBE_DEFINE(prov, mod, func, name); \
	SDT_PROBE_ARGTYPE(prov, mod, func, name, 0, a0, x0); \
	SDT_PROBE_ARGTYPE(prov, mod, func, name, 1, a1, x1); \
	SDT_PROBE_ARGTYPE(prov, mod, func, name, 2, a2, x2); \
	SDT_PROBE_ARGTYPE(prov, mod, func, name, 3, a3, x3); \
	SDT_PROBE_ARGTYPE(prov, mod, func, name, 4, a4, x4)

#define SDT_PROBE_DEFINE6_XLATE(prov, mod, func, name, a0, x0, a1, x1, a2, x2, a3, x3, a4, x4, a5, x5) \
	SDT_PROBE_DEFINE5_XLATE(prov, mod, func, name, a0, x0, a1, x1, a2, x2, a3, x3, a4, x4); \
	SDT_PROBE_ARGTYPE(prov, mod, func, name, 5, a5, x5)

/* The site: test the id, call through the hook only when it is nonzero. */
#define SDT_PROBE(prov, mod, func, name, a0, a1, a2, a3, a4) do { \
	if (__predict_false(sdt_##prov##_##mod##_##func##_##name->id)) \
		(*sdt_probe_func)(sdt_##prov##_##mod##_##func##_##name->id, \
		    (uintptr_t)(a0), (uintptr_t)(a1), (uintptr_t)(a2), \
		    (uintptr_t)(a3), (uintptr_t)(a4)); \
} while (0)

#define SDT_PROBE5(prov, mod, func, name, a0, a1, a2, a3, a4) \
	SDT_PROBE(prov, mod, func, name, a0, a1, a2, a3, a4)

#define SDT_PROBE6(prov, mod, func, name, a0, a1, a2, a3, a4, a5) do { \
	if (__predict_false(sdt_##prov##_##mod##_##func##_##name->id)) \
		(*(void (*)(uint32_t, uintptr_t, uintptr_t, uintptr_t, \
		    uintptr_t, uintptr_t, uintptr_t))sdt_probe_func)( \
		    sdt_##prov##_##mod##_##func##_##name->id, \
		    (uintptr_t)(a0), (uintptr_t)(a1), (uintptr_t)(a2), \
		    (uintptr_t)(a3), (uintptr_t)(a4), (uintptr_t)(a5)); \
} while (0)

#endif
