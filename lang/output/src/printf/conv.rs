//! The conversion table of FreeBSD 10.4's libdtrace: names, the argument each one needs, and the
//! prototype text its type errors quote.

/// What kind of argument a conversion consumes; the checker maps D types onto these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgClass {
    /// Any integer type (`char, short, int, long, or long long`): `%d %i %u %o %x %X`.
    Int,
    /// An integer no wider than `int` (`char, short, or int`): `%c %C`.
    SmallInt,
    /// A floating-point type: `%e %E %f %g %G`. D has no floating-point values, so every use is
    /// a compile-time D_PRINTF_ARG_TYPE error, exactly as in dtrace.
    Float,
    /// A pointer or an integer: `%p`.
    Pointer,
    /// A kernel address (pointer, integer or symbol address): `%a`, printed symbolically.
    KernelAddr,
    /// A user address: `%A`.
    UserAddr,
    /// A string or `char []`: `%s %S %I`.
    String,
    /// A 64-bit integer holding nanoseconds since the epoch: `%Y %T`.
    Time,
    /// A stack (`stack()`): `%k`.
    Stack,
    /// A `wchar_t []`: `%ls %ws`.
    WideString,
    /// Exactly the named C type (`%hd` needs `short`, `%lld` `long long`, `%P` `uint16_t`).
    Exact(&'static str),
    /// `%hx %hX`: a `short` of either signedness.
    AnyShort,
    /// `%lx %lX`: a `long` of either signedness.
    AnyLong,
    /// `%llx %llX`: a `long long`, or an `int64_t`/`uint64_t` typedef.
    AnyLongLong,
    /// `%%`: consumes nothing.
    None,
}

/// How a conversion prints its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Printer {
    /// Signed when the argument type is signed, else unsigned (`%d`).
    Dint,
    /// Always signed, sign-extended from the record size (`%i`, `%hd`, `%c`).
    Sint,
    /// Always unsigned, zero-extended from the record size (`%u %o %x %X %p`).
    Uint,
    /// Floating point: unreachable from D.
    Float,
    /// Kernel symbol of an address.
    Addr,
    /// User symbol of an address.
    Uaddr,
    /// A string.
    Cstr,
    /// A C-escaped string.
    Estr,
    /// A C-escaped character.
    Echr,
    /// `%Y`: "YYYY Mon DD HH:MM:SS".
    Time,
    /// `%T`: RFC 822 time.
    Time822,
    /// `%I`: host name of an address string, else the string.
    InetAddr,
    /// `%P`: service name of a port, else its number.
    Port,
    /// `%k`.
    Stack,
    /// Wide strings and characters.
    Wide,
    /// `%%`.
    Percent,
}

/// The C conversion character libdtrace ends up passing to printf(3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Out {
    Dec,
    Oct,
    Hex,
    HexUpper,
    Char,
    Str,
    Float(u8),
    Percent,
}

#[derive(Debug)]
pub(crate) struct Entry {
    pub name: &'static str,
    pub out: Out,
    pub proto: &'static str,
    pub class: ArgClass,
    pub printer: Printer,
}

const XINT: &str = "char, short, int, long, or long long";
const CSI: &str = "char, short, or int";
const FP: &str = "float, double, or long double";
const ADDR: &str = "pointer or integer";
const UADDR: &str = "pointer or integer (with -p/-c) or _usymaddr (without -p/-c)";
const CSTR: &str = "char [] or string (or use stringof)";
const WSTR: &str = "wchar_t []";

const fn e(
    name: &'static str,
    out: Out,
    proto: &'static str,
    class: ArgClass,
    printer: Printer,
) -> Entry {
    Entry {
        name,
        out,
        proto,
        class,
        printer,
    }
}

use ArgClass as A;
use Printer as P;

/// FreeBSD 10.4's `_dtrace_conversions` (non-illumos branch), in its order.
pub(crate) static TABLE: &[Entry] = &[
    e("a", Out::Str, ADDR, A::KernelAddr, P::Addr),
    e("A", Out::Str, UADDR, A::UserAddr, P::Uaddr),
    e("c", Out::Char, CSI, A::SmallInt, P::Sint),
    e("C", Out::Str, CSI, A::SmallInt, P::Echr),
    e("d", Out::Dec, XINT, A::Int, P::Dint),
    e("e", Out::Float(b'e'), FP, A::Float, P::Float),
    e("E", Out::Float(b'E'), FP, A::Float, P::Float),
    e("f", Out::Float(b'f'), FP, A::Float, P::Float),
    e("g", Out::Float(b'g'), FP, A::Float, P::Float),
    e("G", Out::Float(b'G'), FP, A::Float, P::Float),
    e("hd", Out::Dec, "short", A::Exact("short"), P::Sint),
    e("hi", Out::Dec, "short", A::Exact("short"), P::Sint),
    e(
        "ho",
        Out::Oct,
        "unsigned short",
        A::Exact("unsigned short"),
        P::Uint,
    ),
    e(
        "hu",
        Out::Dec,
        "unsigned short",
        A::Exact("unsigned short"),
        P::Uint,
    ),
    e("hx", Out::Hex, "short", A::AnyShort, P::Uint),
    e("hX", Out::HexUpper, "short", A::AnyShort, P::Uint),
    e("i", Out::Dec, XINT, A::Int, P::Sint),
    e("I", Out::Str, CSTR, A::String, P::InetAddr),
    e("k", Out::Str, "stack", A::Stack, P::Stack),
    e("lc", Out::Char, "int", A::Exact("int"), P::Wide),
    e("ld", Out::Dec, "long", A::Exact("long"), P::Sint),
    e("li", Out::Dec, "long", A::Exact("long"), P::Sint),
    e(
        "lo",
        Out::Oct,
        "unsigned long",
        A::Exact("unsigned long"),
        P::Uint,
    ),
    e(
        "lu",
        Out::Dec,
        "unsigned long",
        A::Exact("unsigned long"),
        P::Uint,
    ),
    e("ls", Out::Str, WSTR, A::WideString, P::Wide),
    e("lx", Out::Hex, "long", A::AnyLong, P::Uint),
    e("lX", Out::HexUpper, "long", A::AnyLong, P::Uint),
    e("lld", Out::Dec, "long long", A::Exact("long long"), P::Sint),
    e("lli", Out::Dec, "long long", A::Exact("long long"), P::Sint),
    e(
        "llo",
        Out::Oct,
        "unsigned long long",
        A::Exact("unsigned long long"),
        P::Uint,
    ),
    e(
        "llu",
        Out::Dec,
        "unsigned long long",
        A::Exact("unsigned long long"),
        P::Uint,
    ),
    e("llx", Out::Hex, "long long", A::AnyLongLong, P::Uint),
    e("llX", Out::HexUpper, "long long", A::AnyLongLong, P::Uint),
    e("Le", Out::Float(b'e'), "long double", A::Float, P::Float),
    e("LE", Out::Float(b'E'), "long double", A::Float, P::Float),
    e("Lf", Out::Float(b'f'), "long double", A::Float, P::Float),
    e("Lg", Out::Float(b'g'), "long double", A::Float, P::Float),
    e("LG", Out::Float(b'G'), "long double", A::Float, P::Float),
    e("o", Out::Oct, XINT, A::Int, P::Uint),
    e("p", Out::Hex, ADDR, A::Pointer, P::Uint),
    e("P", Out::Str, "uint16_t", A::Exact("uint16_t"), P::Port),
    e("s", Out::Str, CSTR, A::String, P::Cstr),
    e("S", Out::Str, CSTR, A::String, P::Estr),
    e("T", Out::Str, "int64_t", A::Time, P::Time822),
    e("u", Out::Dec, XINT, A::Int, P::Uint),
    e("wc", Out::Char, "int", A::Exact("int"), P::Wide),
    e("ws", Out::Str, WSTR, A::WideString, P::Wide),
    e("x", Out::Hex, XINT, A::Int, P::Uint),
    e("X", Out::HexUpper, XINT, A::Int, P::Uint),
    e("Y", Out::Str, "int64_t", A::Time, P::Time),
    e("%", Out::Percent, "void", A::None, P::Percent),
];

/// Looks a conversion name (size prefix included) up in the table.
pub(crate) fn lookup(name: &[u8]) -> Option<&'static Entry> {
    TABLE.iter().find(|e| e.name.as_bytes() == name)
}
