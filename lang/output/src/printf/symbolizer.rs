//! Name lookups some conversions need (`%a %A %I %P`), supplied by the caller.

/// Turns addresses, IP address strings and ports into names; every method may decline.
pub trait Symbolizer {
    /// A kernel or user address as dtrace's `dtrace_addr2str` prints it:
    /// ``"module`symbol+0xoff"``, ``"module`symbol"`` or ``"module`0xaddr"``. `None` prints
    /// `0x` and the address in hex.
    fn symbolize(&self, addr: u64) -> Option<String>;

    /// `%I`: the host name for an address string such as `"10.0.0.1"`; `None` prints the
    /// string unchanged (dtrace's fallback when `gethostbyaddr` fails).
    fn host_name(&self, _addr: &[u8]) -> Option<String> {
        None
    }

    /// `%P`: the service name of a port (`getservbyport`); `None` prints the number.
    fn service_name(&self, _port: u16) -> Option<String> {
        None
    }
}

/// A symbolizer that knows no names: addresses print in hex, `%I`/`%P` print raw values.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSymbols;

impl Symbolizer for NoSymbols {
    fn symbolize(&self, _addr: u64) -> Option<String> {
        None
    }
}
