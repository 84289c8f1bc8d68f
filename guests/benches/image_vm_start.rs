//! How long `guestrace qemu` keeps a user waiting: `ImageVm::start` (image checked, QEMU
//! spawned, QMP answering) and `ImageVm::stop` (QEMU ended, files removed), for a 1 GiB VM on
//! a sparse raw image with nothing to boot, under TCG. Run with
//! `cargo bench -p guests --bench image_vm_start`; prints medians over several starts.

use std::time::Instant;

use guests::qemu::{Accel, ImageVm, VmOptions};

const RUNS: usize = 7;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let image = std::env::temp_dir().join(format!("image-vm-bench-{}.raw", std::process::id()));
    let file = std::fs::File::create(&image).expect("create image");
    file.set_len(1 << 30).expect("size image");
    let opts = VmOptions {
        accel: Some(Accel::Tcg),
        display: Some(false),
        ..VmOptions::new(&image)
    };
    let (mut start_ms, mut stop_ms) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let t = Instant::now();
        let vm = ImageVm::start(&opts).expect("start");
        start_ms.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        vm.stop().expect("stop");
        stop_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let _ = std::fs::remove_file(&image);
    println!(
        "ImageVm (1 GiB, 2 vCPUs, TCG), {RUNS} runs: start {:.0} ms, stop {:.0} ms (medians)",
        median(start_ms),
        median(stop_ms)
    );
}
