//! C's typing rules for integers: literal types, promotions, the usual arithmetic conversions,
//! and constant folding of the resulting operations.

use crate::ir::{BinI, Node};
use crate::types::IntType;

/// The type a C99 integer literal takes: the first of its list that can hold the value.
pub fn literal_type(value: u64, decimal: bool, unsigned: bool, longs: u8) -> IntType {
    let fits_i32 = value <= i32::MAX as u64;
    let fits_u32 = value <= u64::from(u32::MAX);
    let fits_i64 = value <= i64::MAX as u64;
    if unsigned {
        return if longs == 0 && fits_u32 {
            IntType::UINT
        } else {
            IntType::ULONG
        };
    }
    if longs > 0 {
        return if fits_i64 {
            IntType::LONG
        } else {
            IntType::ULONG
        };
    }
    if fits_i32 {
        IntType::INT
    } else if !decimal && fits_u32 {
        IntType::UINT
    } else if fits_i64 {
        IntType::LONG
    } else {
        IntType::ULONG
    }
}

/// The usual arithmetic conversions on two (already promoted) integer types.
pub fn arith(a: IntType, b: IntType) -> IntType {
    let (a, b) = (a.promoted(), b.promoted());
    if a == b {
        return a;
    }
    if a.signed == b.signed {
        return if a.size >= b.size { a } else { b };
    }
    let (s, u) = if a.signed { (a, b) } else { (b, a) };
    if u.size >= s.size {
        u
    } else {
        s
    }
}

/// Builds an integer operation, folding it when both sides are constants. As in DIF, results
/// live in 64-bit registers and are only truncated when cast or stored into another type.
/// Division by a constant zero is refused.
pub fn int_op(op: BinI, a: Node, b: Node) -> Result<Node, &'static str> {
    if let (Some(x), Some(y)) = (a.as_const(), b.as_const()) {
        return match eval_bin(op, x, y) {
            Some(v) => Ok(Node::Const(v)),
            None => Err("expression contains division by zero"),
        };
    }
    if matches!(op, BinI::DivS | BinI::DivU | BinI::ModS | BinI::ModU) && b.as_const() == Some(0) {
        return Err("expression contains division by zero");
    }
    Ok(Node::Bin(op, Box::new(a), Box::new(b)))
}

/// Truncates/extends to `ty`, skipping the no-op 64-bit case and folding constants.
pub fn norm(ty: IntType, n: Node) -> Node {
    match n {
        Node::Const(v) => Node::Const(ty.normalize(v)),
        n if ty.size == 8 => n,
        n => Node::Norm(ty, Box::new(n)),
    }
}

/// Evaluates an integer operation on 64-bit registers; None on division by zero.
pub fn eval_bin(op: BinI, x: u64, y: u64) -> Option<u64> {
    let (sx, sy) = (x as i64, y as i64);
    Some(match op {
        BinI::Add => x.wrapping_add(y),
        BinI::Sub => x.wrapping_sub(y),
        BinI::Mul => x.wrapping_mul(y),
        BinI::DivS => {
            if y == 0 {
                return None;
            }
            sx.wrapping_div(sy) as u64
        }
        BinI::DivU => x.checked_div(y)?,
        BinI::ModS => {
            if y == 0 {
                return None;
            }
            sx.wrapping_rem(sy) as u64
        }
        BinI::ModU => x.checked_rem(y)?,
        BinI::And => x & y,
        BinI::Or => x | y,
        BinI::Xor => x ^ y,
        BinI::Shl => x.wrapping_shl((y & 63) as u32),
        BinI::ShrS => (sx.wrapping_shr((y & 63) as u32)) as u64,
        BinI::ShrU => x.wrapping_shr((y & 63) as u32),
        BinI::Eq => u64::from(x == y),
        BinI::Ne => u64::from(x != y),
        BinI::LtS => u64::from(sx < sy),
        BinI::LtU => u64::from(x < y),
        BinI::LeS => u64::from(sx <= sy),
        BinI::LeU => u64::from(x <= y),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usual_arithmetic_conversions() {
        assert_eq!(arith(IntType::INT, IntType::UINT), IntType::UINT);
        assert_eq!(arith(IntType::UINT, IntType::LONG), IntType::LONG);
        assert_eq!(arith(IntType::LONG, IntType::ULONG), IntType::ULONG);
        assert_eq!(
            arith(
                IntType {
                    size: 1,
                    signed: false
                },
                IntType {
                    size: 2,
                    signed: false
                }
            ),
            IntType::INT
        );
    }

    #[test]
    fn literal_types_follow_c99() {
        assert_eq!(literal_type(5, true, false, 0), IntType::INT);
        assert_eq!(literal_type(0xffff_ffff, false, false, 0), IntType::UINT);
        assert_eq!(literal_type(0xffff_ffff, true, false, 0), IntType::LONG);
        assert_eq!(literal_type(1, true, true, 2), IntType::ULONG);
    }

    #[test]
    fn division_truncates_toward_zero() {
        assert_eq!(
            eval_bin(BinI::DivS, (-7i64) as u64, 2),
            Some((-3i64) as u64)
        );
        assert_eq!(
            eval_bin(BinI::ModS, (-7i64) as u64, 2),
            Some((-1i64) as u64)
        );
        assert_eq!(eval_bin(BinI::DivU, 1, 0), None);
    }
}
