//! Per-event costs on the model guest (guests/, FreeBSD 10.4-shaped) in benchmark mode
//! (bench=1, pace 0: no per-event console lines, so sites fire at full speed): ip:::send taken
//! on sdt_probe_stub by emulated return, entry breakpoints on ip_output, `m` versus shared RAM,
//! and Debian's gdb with a Python breakpoint. TCG, 1 vCPU, unix socket; rows interleaved.
//!
//! `cargo bench -p introspect --bench cycle` (BENCH_ROUNDS, BENCH_SLICE_MS).
#[allow(dead_code)]
mod common;
#[path = "../tests/common/model.rs"]
#[allow(dead_code)]
mod model;

use guests::model::bench::{BenchCounter, TOTALS_SYMBOL};
use guests::model::BootOptions;
use model::{Model, SDT_PROBE_ID};

/// The model kernel's KERNBASE: virtual KERNBASE + x is guest-physical x (= RAM file offset).
const KERNBASE: u64 = 0xffff_ffff_8000_0000;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let m = Model::boot_with(BootOptions {
        pace: Some(0),
        bench: true,
        serial_log: std::env::var_os("BENCH_SERIAL").map(Into::into),
        ..BootOptions::default()
    });
    let g = common::Guest {
        sock: m.addr(),
        dir: m.guest.run_dir().to_path_buf(),
        ram: m.guest.ram_file().to_path_buf(),
        elf: m.guest.kernel_elf().to_path_buf(),
        stub: m.sym("sdt_probe_stub"),
        hook: m.sym("sdt_probe_func"),
        enable: (m.sym("sdt_ip___send") + SDT_PROBE_ID, 1),
        entry: m.sym("ip_output"),
        counters: Some(common::Counters {
            offset: m.sym(TOTALS_SYMBOL) - KERNBASE,
            stub: vec![
                BenchCounter::Ip4Send as usize,
                BenchCounter::Ip6Send as usize,
            ],
            entry: vec![BenchCounter::Ip4Send as usize],
        }),
    };
    common::run(
        &g,
        "introspect benchmark: model guest (bench=1, pace 0), QEMU TCG, 1 vCPU, unix socket",
    );
}
