//! fbt: kernel functions by name or glob, with their parameters' and return types from DWARF.

use symbols::{KernelImage, TypeRef};

use crate::error::Error;

/// A kernel function fbt can probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FbtFunction {
    /// Its name.
    pub name: String,
    /// Entry address.
    pub addr: u64,
    /// Size of its code (for return offsets).
    pub size: u64,
    /// C types of its parameters (args[0..]).
    pub params: Vec<String>,
    /// C type of its return value (args[1] at return); None for void.
    pub ret: Option<String>,
}

/// The functions matching `glob`, at most `limit` of them (more is an error that says so).
pub(crate) fn functions(
    image: &KernelImage,
    glob: &str,
    limit: usize,
) -> Result<Vec<FbtFunction>, Error> {
    let names = if glob.contains(['*', '?', '[', '\\']) {
        image
            .functions_matching(glob)
            .map_err(|e| kernel_err(image, e))?
    } else {
        vec![glob.to_string()]
    };
    if names.len() > limit {
        return Err(Error::Unsupported(format!(
            "fbt function pattern \"{glob}\" matches {} kernel functions; guestrace plants at \
             most {limit} fbt breakpoints per run (each hit stops the guest), so narrow the pattern",
            names.len()
        )));
    }
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        if let Ok(f) = image.function(&name) {
            let c = |t: TypeRef| image.c_name(t).unwrap_or_else(|_| "uint64_t".into());
            out.push(FbtFunction {
                addr: f.address,
                size: f.size,
                params: f.params.iter().map(|p| c(p.ty)).collect(),
                ret: (!f.ret.is_void()).then(|| c(f.ret)),
                name,
            });
        } else if let Ok(s) = image.elf_symbol(&name) {
            // Code without DWARF (assembly): untyped, like fbt on a kernel without CTF.
            if s.kind == symbols::SymbolKind::Function {
                out.push(FbtFunction {
                    addr: s.address,
                    size: s.size,
                    params: Vec::new(),
                    ret: None,
                    name,
                });
            }
        }
    }
    Ok(out)
}

fn kernel_err(image: &KernelImage, source: symbols::Error) -> Error {
    Error::Kernel {
        path: image.path().display().to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> KernelImage {
        let path =
            guests::model::kernel_elf(guests::model::DwarfVersion::V2).expect("model kernel");
        KernelImage::open(path).expect("open the model kernel")
    }

    #[test]
    fn a_glob_past_the_limit_is_refused_with_a_clear_message() {
        let image = model();
        let e = functions(&image, "tcp_*", 2).expect_err("more than 2 tcp_ functions");
        let msg = e.to_string();
        assert!(
            msg.contains("\"tcp_*\" matches") && msg.contains("narrow the pattern"),
            "{msg}"
        );
    }

    #[test]
    fn parameters_and_return_types_come_from_dwarf() {
        let image = model();
        let f =
            functions(&image, "sosend_generic", crate::catalog::FBT_LIMIT).expect("sosend_generic");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].params.len(), 7, "{:?}", f[0].params);
        assert_eq!(f[0].params[0], "struct socket *");
        assert_eq!(f[0].params[6], "struct thread *");
        assert_eq!(f[0].ret.as_deref(), Some("int"));
        assert_eq!(
            f[0].addr,
            image.elf_symbol("sosend_generic").expect("symbol").address
        );
    }
}
