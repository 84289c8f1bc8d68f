//! printf() and printa() formats: parsed once at compile time, rendered per event.

mod check;
mod conv;
mod escape;
mod format;
mod render;
mod symbolizer;
mod time;

pub use check::{messages, ArgType};
pub use conv::ArgClass;
pub use format::{Amount, Conversion, Flags, Format, FormatError};
pub use render::RenderError;
pub use symbolizer::{NoSymbols, Symbolizer};

pub(crate) use render::{emit, Source};
