//! Aggregations: storage and updates, clear/trunc/normalize, sorting, and every way dtrace
//! prints them.

mod func;
mod join;
mod print;
mod printa;
mod sort;
mod store;

pub use func::{AggFunc, AggParamError};
pub use print::{print_unprinted, print_unprinted_with, printa, printa_with, AggPrintOptions};
pub use printa::printa_format;
pub use sort::SortOrder;
pub use store::{AggError, Aggregation};
