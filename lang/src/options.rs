//! D options (`#pragma D option`, `-x`, `setopt()`): names, value syntax and units.

/// The options a program runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `quiet`: no record prefixes, header or match messages.
    pub quiet: bool,
    /// `strsize`: the size of a string, in bytes.
    pub strsize: u64,
    /// `defaultargs`: undefined macro arguments read as 0 or "".
    pub defaultargs: bool,
    /// `aggsortkey`.
    pub aggsortkey: bool,
    /// `aggsortrev`.
    pub aggsortrev: bool,
    /// `aggsortkeypos`.
    pub aggsortkeypos: u64,
    /// `aggsortpos`.
    pub aggsortpos: u64,
    /// `switchrate`, in nanoseconds.
    pub switchrate_ns: u64,
    /// `aggrate`, in nanoseconds.
    pub aggrate_ns: u64,
    /// `bufsize`, in bytes.
    pub bufsize: u64,
    /// `aggsize`, in bytes.
    pub aggsize: u64,
    /// `dynvarsize`, in bytes.
    pub dynvarsize: u64,
    /// `destructive` (-w).
    pub destructive: bool,
    /// `rawbytes`: tracemem always raw (it is anyway).
    pub rawbytes: bool,
    /// `zdefs` (-Z): descriptions may match nothing.
    pub zdefs: bool,
    /// `stackframes`.
    pub stackframes: u64,
    /// `flowindent` (accepted, no effect).
    pub flowindent: bool,
    /// `argref`: operands the program does not reference are not an error.
    pub argref: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            quiet: false,
            strsize: 256,
            defaultargs: false,
            aggsortkey: false,
            aggsortrev: false,
            aggsortkeypos: 0,
            aggsortpos: 0,
            switchrate_ns: 1_000_000_000,
            aggrate_ns: 1_000_000_000,
            bufsize: 4 << 20,
            aggsize: 4 << 20,
            dynvarsize: 1 << 20,
            destructive: false,
            rawbytes: false,
            zdefs: false,
            stackframes: 20,
            flowindent: false,
            argref: false,
        }
    }
}

/// Options that are accepted and ignored (they tune the kernel's buffers, which a host has not).
const IGNORED: [&str; 18] = [
    "bufpolicy",
    "bufresize",
    "cleanrate",
    "statusrate",
    "nspec",
    "specsize",
    "ustackframes",
    "errtags",
    "cpp",
    "cpphdrs",
    "ctypes",
    "dtypes",
    "linkmode",
    "evaltime",
    "grabanon",
    "jstackframes",
    "jstackstrsize",
    "droptags",
];

impl Options {
    /// Sets one option from `name` and an optional value, as `#pragma D option`, `-x` and
    /// `setopt()` do. The error text is dtrace's.
    pub fn set(&mut self, name: &str, value: Option<&str>) -> Result<(), String> {
        // dtrace's runtime options take yes/no words or numbers; "" unsets.
        let flag = |v: Option<&str>| -> Result<bool, String> {
            let Some(v) = v else { return Ok(true) };
            let l = v.to_ascii_lowercase();
            match l.as_str() {
                "" | "no" | "disable" | "disabled" | "false" | "off" | "unset" => Ok(false),
                "yes" | "enable" | "enabled" | "true" | "on" | "set" => Ok(true),
                _ => count_value(Some(v)).map(|n| n != 0),
            }
        };
        match name {
            "quiet" => self.quiet = flag(value)?,
            "defaultargs" => self.defaultargs = flag(value)?,
            "aggsortkey" => self.aggsortkey = flag(value)?,
            "aggsortrev" => self.aggsortrev = flag(value)?,
            "destructive" => self.destructive = flag(value)?,
            "rawbytes" => self.rawbytes = flag(value)?,
            "zdefs" => self.zdefs = flag(value)?,
            "flowindent" => self.flowindent = flag(value)?,
            "argref" => self.argref = flag(value)?,
            "strsize" => self.strsize = size_value(value)?,
            "bufsize" => self.bufsize = size_value(value)?,
            "aggsize" => self.aggsize = size_value(value)?,
            "dynvarsize" => self.dynvarsize = size_value(value)?,
            "aggsortkeypos" => self.aggsortkeypos = count_value(value)?,
            "aggsortpos" => self.aggsortpos = count_value(value)?,
            "stackframes" => self.stackframes = count_value(value)?,
            "switchrate" => self.switchrate_ns = rate_value(value)?,
            "aggrate" => self.aggrate_ns = rate_value(value)?,
            n if IGNORED.contains(&n) => {}
            _ => return Err("Invalid option name".into()),
        }
        Ok(())
    }

    /// Applies a `#pragma D option name[=value]` / `-x name[=value]` argument.
    pub fn set_arg(&mut self, arg: &str) -> Result<(), String> {
        match arg.split_once('=') {
            Some((n, v)) => self.set(n.trim(), Some(v.trim())),
            None => self.set(arg.trim(), None),
        }
    }
}

fn count_value(v: Option<&str>) -> Result<u64, String> {
    v.and_then(|s| s.parse().ok())
        .ok_or_else(|| "Invalid value for specified option".to_string())
}

/// A size: a number with an optional k/m/g/t suffix (powers of 1024).
pub fn size_value(v: Option<&str>) -> Result<u64, String> {
    let bad = || "Invalid value for specified option".to_string();
    let s = v.ok_or_else(bad)?;
    let digits = s.chars().take_while(|c| c.is_ascii_digit()).count();
    let n: u64 = s[..digits].parse().map_err(|_| bad())?;
    let shift = match &s[digits..] {
        "" => 0,
        "k" | "K" => 10,
        "m" | "M" => 20,
        "g" | "G" => 30,
        "t" | "T" => 40,
        _ => return Err(bad()),
    };
    n.checked_mul(1u64 << shift).ok_or_else(bad)
}

/// A rate or time: a bare number is nanoseconds; `hz` means 1e9/N; time units as in tick-N.
pub fn rate_value(v: Option<&str>) -> Result<u64, String> {
    let bad = || "Invalid value for specified option".to_string();
    let s = v.ok_or_else(bad)?;
    let digits = s.chars().take_while(|c| c.is_ascii_digit()).count();
    let n: u64 = s[..digits].parse().map_err(|_| bad())?;
    let per: u64 = match &s[digits..] {
        "" | "ns" | "nsec" => 1,
        "hz" => return 1_000_000_000u64.checked_div(n).ok_or_else(bad),
        "us" | "usec" => 1_000,
        "ms" | "msec" => 1_000_000,
        "s" | "sec" => 1_000_000_000,
        "m" | "min" => 60_000_000_000,
        "h" | "hour" => 3_600_000_000_000,
        "d" | "day" => 86_400_000_000_000,
        _ => return Err(bad()),
    };
    n.checked_mul(per).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_units() {
        let mut o = Options::default();
        o.set_arg("switchrate=10hz").unwrap();
        assert_eq!(o.switchrate_ns, 100_000_000);
        o.set_arg("switchrate=10").unwrap();
        assert_eq!(o.switchrate_ns, 10);
        o.set_arg("bufsize=4k").unwrap();
        assert_eq!(o.bufsize, 4096);
        o.set_arg("quiet").unwrap();
        assert!(o.quiet);
        assert_eq!(o.set_arg("nosuch"), Err("Invalid option name".into()));
        assert!(o.set_arg("strsize=abc").is_err());
        o.set_arg("bufpolicy=ring").unwrap();
    }
}
