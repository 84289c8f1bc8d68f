//! ELF and DWARF index of a guest kernel: types, struct layouts, functions with their
//! parameters, globals, and address-to-symbol lookup.
//!
//! Owns: reading ELF files (memory-mapped), following `.gnu_debuglink`, decompressing debug
//! sections, and a lazy, parallel DWARF index built on `object`, `gimli` and `rayon`.
//!
//! Must not depend on: D, probes, QEMU or a live guest. It reads files only.
