"""drgn's side of symbols/bench.sh: load a vmlinux as a standalone file, look a type up and
walk its full layout (every member, nested structs and unions expanded), as ptype does."""
import sys

import drgn


def size_of(t):
    try:
        return drgn.sizeof(t)
    except (TypeError, ValueError):
        return None


def walk(t, depth=0):
    t = t.unqualified()
    while t.kind == drgn.TypeKind.TYPEDEF:
        t = t.type.unqualified()
    if t.kind not in (drgn.TypeKind.STRUCT, drgn.TypeKind.UNION):
        return 0
    count = 0
    for m in t.members:
        _ = (m.name, m.bit_offset, m.bit_field_size, size_of(m.type))
        count += 1 + walk(m.type, depth + 1)
    return count


def main():
    path, name = sys.argv[1], sys.argv[2]
    prog = drgn.Program()
    module = prog.extra_module(path, create=True)
    module.try_file(path, force=True)
    t = prog.type(name)
    print(f"/* size: {t.size}, members: {walk(t)} */")


main()
