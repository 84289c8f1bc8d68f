//! Per-event costs on the small test kernel (guests/test-kernel), whose loop calls the traced
//! functions with almost no guest work in between, so the client's and QEMU's own costs show.
//! TCG, 1 vCPU, unix socket; rows interleaved (see benches/common).
//!
//! `cargo bench -p introspect --bench micro` (BENCH_ROUNDS, BENCH_SLICE_MS).
#[allow(dead_code)]
mod common;
#[path = "../tests/common/qemu.rs"]
#[allow(dead_code)]
mod qemu;

use qemu::{kernel, Boot, Vm};

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let vm = Vm::boot(Boot { smp: 1, tcp: false });
    let g = common::Guest {
        sock: vm.addr.clone(),
        dir: vm.dir.clone(),
        ram: vm.ram.clone(),
        elf: kernel().elf().to_path_buf(),
        stub: vm.sym("probe_stub"),
        hook: vm.sym("probe_func"),
        enable: (vm.sym("probe_enabled"), 1),
        entry: vm.sym("traced_func"),
        counters: None,
    };
    common::run(
        &g,
        "introspect micro benchmark: test kernel, QEMU TCG, 1 vCPU, unix socket",
    );
}
