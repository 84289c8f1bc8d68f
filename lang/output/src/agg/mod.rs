//! Aggregations: storage and updates, clear/trunc/normalize, sorting, and every way dtrace
//! prints them.

mod func;
mod join;
mod print;
mod printa;
mod rows;
mod sort;
mod store;

pub use func::{AggFunc, AggParamError};
pub use print::{print_unprinted, print_unprinted_with, printa, printa_with, AggPrintOptions};
pub use printa::printa_format;
pub use rows::{printa_rows, unprinted_rows, AggRow, Bound, Bucket, RowValue};
pub use sort::SortOrder;
pub use store::{AggError, Aggregation};
