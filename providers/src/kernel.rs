//! Adapters that let the guest profile see the kernel's debug file and the guest's memory.

use guests::freebsd10::{Kernel, Memory};
use introspect::Target;
use symbols::KernelImage;

/// The debug file, as the profile's [`Kernel`].
pub(crate) struct ImageKernel<'a>(pub &'a KernelImage);

impl Kernel for ImageKernel<'_> {
    fn symbol(&self, name: &str) -> Option<u64> {
        self.0
            .elf_symbol(name)
            .map(|s| s.address)
            .or_else(|_| self.0.global(name).map(|g| g.address))
            .ok()
    }
    fn member_offset(&self, ty: &str, path: &str) -> Option<u64> {
        let t = self.0.find_type(ty).ok()?;
        self.0.member_path(t, path).ok().map(|m| m.offset)
    }
    fn type_size(&self, ty: &str) -> Option<u64> {
        let t = self.0.find_type(ty).ok()?;
        self.0.size_of(t).ok().flatten()
    }
    fn file_bytes(&self, name: &str) -> Option<Vec<u8>> {
        self.0.global_bytes(name).ok()
    }
}

/// The stopped guest, as the profile's [`Memory`].
pub(crate) struct TargetMemory<'a>(pub &'a mut Target);

impl Memory for TargetMemory<'_> {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), u64> {
        self.0.read_memory(addr, buf).map_err(|_| addr)
    }
}
