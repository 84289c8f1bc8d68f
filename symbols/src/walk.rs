//! A lean walker over one unit's DIEs for the index scan: the scan visits every top-level DIE of
//! every unit of a kernel, where gimli's general reader (an allocation per abbreviation, a
//! decoded value per attribute) is most of the cost. Here an abbreviation table is one flat
//! array with each entry's fixed size precomputed, and attributes are skipped by form without
//! being decoded. Lookups keep using gimli.

use gimli::{DwForm, Format};

/// An attribute specification: name, form, and the size of its values when fixed.
#[derive(Clone, Copy)]
pub(crate) struct Spec {
    pub(crate) name: u16,
    pub(crate) form: u16,
    size: u8,
}

/// `Spec::size` of a form whose values vary in size.
const VARIABLE: u8 = u8::MAX;

/// One abbreviation, its specifications being `specs[start..start + len]` of its table.
#[derive(Clone, Copy, Default)]
pub(crate) struct Abbrev {
    pub(crate) tag: u16,
    pub(crate) children: bool,
    start: u32,
    len: u32,
    /// Bytes of all attributes when every form has a fixed size.
    fixed: Option<u32>,
    /// True when one of the attributes is DW_AT_sibling.
    pub(crate) sibling: bool,
}

/// A unit's abbreviations, indexed by code (codes are small and dense in practice).
#[derive(Default)]
pub(crate) struct Abbrevs {
    table: Vec<Option<Abbrev>>,
    specs: Vec<Spec>,
}

/// What the walker needs of the unit's encoding to size forms.
#[derive(Clone, Copy)]
pub(crate) struct Sizes {
    pub(crate) address: u8,
    pub(crate) offset: u8,
    pub(crate) version: u16,
}

impl Sizes {
    /// From a unit header.
    pub(crate) fn of(version: u16, address: u8, format: Format) -> Sizes {
        Sizes {
            address,
            offset: format.word_size(),
            version,
        }
    }

    /// Size of a value of `form`, when it does not depend on the data.
    fn fixed(self, form: u16) -> Option<u32> {
        let f = DwForm(form);
        Some(match f {
            gimli::DW_FORM_flag_present | gimli::DW_FORM_implicit_const => 0,
            gimli::DW_FORM_addr => u32::from(self.address),
            gimli::DW_FORM_data1
            | gimli::DW_FORM_ref1
            | gimli::DW_FORM_flag
            | gimli::DW_FORM_strx1
            | gimli::DW_FORM_addrx1 => 1,
            gimli::DW_FORM_data2
            | gimli::DW_FORM_ref2
            | gimli::DW_FORM_strx2
            | gimli::DW_FORM_addrx2 => 2,
            gimli::DW_FORM_strx3 | gimli::DW_FORM_addrx3 => 3,
            gimli::DW_FORM_data4
            | gimli::DW_FORM_ref4
            | gimli::DW_FORM_strx4
            | gimli::DW_FORM_addrx4
            | gimli::DW_FORM_ref_sup4 => 4,
            gimli::DW_FORM_data8
            | gimli::DW_FORM_ref8
            | gimli::DW_FORM_ref_sig8
            | gimli::DW_FORM_ref_sup8 => 8,
            gimli::DW_FORM_data16 => 16,
            gimli::DW_FORM_strp
            | gimli::DW_FORM_line_strp
            | gimli::DW_FORM_sec_offset
            | gimli::DW_FORM_strp_sup
            | gimli::DW_FORM_GNU_ref_alt
            | gimli::DW_FORM_GNU_strp_alt => u32::from(self.offset),
            // DWARF 2 sized DW_FORM_ref_addr like an address, later versions like an offset.
            gimli::DW_FORM_ref_addr if self.version <= 2 => u32::from(self.address),
            gimli::DW_FORM_ref_addr => u32::from(self.offset),
            _ => return None,
        })
    }
}

/// A position in a unit's bytes.
pub(crate) struct Cursor<'a> {
    data: &'a [u8],
    pub(crate) pos: usize,
}

fn eof() -> gimli::Error {
    gimli::Error::UnexpectedEof(gimli::ReaderOffsetId(0))
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(data: &'a [u8], pos: usize) -> Cursor<'a> {
        Cursor { data, pos }
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn u8(&mut self) -> gimli::Result<u8> {
        let b = *self.data.get(self.pos).ok_or_else(eof)?;
        self.pos += 1;
        Ok(b)
    }

    pub(crate) fn uleb(&mut self) -> gimli::Result<u64> {
        let mut value = 0u64;
        let mut shift = 0;
        loop {
            let b = self.u8()?;
            if shift < 64 {
                value |= u64::from(b & 0x7f) << shift;
            } else if b & 0x7f != 0 {
                return Err(gimli::Error::BadUnsignedLeb128);
            }
            if b & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
        }
    }

    #[inline]
    fn skip(&mut self, n: usize) -> gimli::Result<()> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.data.len())
            .ok_or_else(eof)?;
        self.pos = end;
        Ok(())
    }

    /// A little-endian unsigned value of `n` (1 to 8) bytes.
    fn le(&mut self, n: usize) -> gimli::Result<u64> {
        let bytes = self.data.get(self.pos..self.pos + n).ok_or_else(eof)?;
        self.pos += n;
        Ok(bytes
            .iter()
            .rev()
            .fold(0, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn cstr(&mut self) -> gimli::Result<&'a [u8]> {
        let rest = self.data.get(self.pos..).ok_or_else(eof)?;
        let len = rest.iter().position(|b| *b == 0).ok_or_else(eof)?;
        self.pos += len + 1;
        Ok(&rest[..len])
    }
}

/// A decoded attribute value, as much of it as the index uses.
pub(crate) enum Value<'a> {
    /// A constant, flag, unit-relative reference or section offset (strp, line_strp, strx
    /// index, ref_addr), with the form to tell which.
    Num(u64),
    /// An inline string.
    Str(&'a [u8]),
    /// Anything else (blocks, expressions), skipped.
    Other,
}

impl Abbrevs {
    /// Parses the table at `offset` of `.debug_abbrev`, reusing this table's allocations.
    pub(crate) fn parse(&mut self, data: &[u8], offset: usize, sizes: Sizes) -> gimli::Result<()> {
        let mut c = Cursor::new(data, offset);
        let out = self;
        out.table.clear();
        out.specs.clear();
        loop {
            let code = c.uleb()?;
            if code == 0 {
                return Ok(());
            }
            let tag = u16::try_from(c.uleb()?).map_err(|_| gimli::Error::AbbreviationTagZero)?;
            let children = c.u8()? != 0;
            let start = out.specs.len() as u32;
            let mut fixed = Some(0u32);
            let mut sibling = false;
            loop {
                let name = c.uleb()?;
                let form = c.uleb()?;
                if name == 0 && form == 0 {
                    break;
                }
                let form = u16::try_from(form).map_err(|_| gimli::Error::UnknownForm(DwForm(0)))?;
                if form == gimli::DW_FORM_implicit_const.0 {
                    // The value lives in the abbreviation; the index never needs it.
                    let _ = sleb(&mut c)?;
                }
                let size = sizes.fixed(form);
                fixed = fixed.zip(size).map(|(a, b)| a + b);
                sibling |= name == u64::from(gimli::DW_AT_sibling.0);
                let size = size
                    .and_then(|n| u8::try_from(n).ok())
                    .filter(|n| *n != VARIABLE)
                    .unwrap_or(VARIABLE);
                out.specs.push(Spec {
                    name: u16::try_from(name).unwrap_or(u16::MAX),
                    form,
                    size,
                });
            }
            let len = out.specs.len() as u32 - start;
            let code =
                usize::try_from(code).map_err(|_| gimli::Error::UnknownAbbreviation(code))?;
            if code > 1 << 20 {
                return Err(gimli::Error::UnknownAbbreviation(code as u64));
            }
            if out.table.len() <= code {
                out.table.resize(code + 1, None);
            }
            out.table[code] = Some(Abbrev {
                tag,
                children,
                start,
                len,
                fixed,
                sibling,
            });
        }
    }

    /// The abbreviation for `code`.
    pub(crate) fn get(&self, code: u64) -> gimli::Result<Abbrev> {
        usize::try_from(code)
            .ok()
            .and_then(|c| self.table.get(c).copied().flatten())
            .ok_or(gimli::Error::UnknownAbbreviation(code))
    }

    /// The specifications of `abbrev`.
    pub(crate) fn specs(&self, abbrev: Abbrev) -> &[Spec] {
        &self.specs[abbrev.start as usize..(abbrev.start + abbrev.len) as usize]
    }
}

fn sleb(c: &mut Cursor<'_>) -> gimli::Result<i64> {
    let mut value = 0i64;
    let mut shift = 0;
    loop {
        let b = c.u8()?;
        if shift < 64 {
            value |= i64::from(b & 0x7f) << shift;
        }
        shift += 7;
        if b & 0x80 == 0 {
            if shift < 64 && b & 0x40 != 0 {
                value |= -1 << shift;
            }
            return Ok(value);
        }
    }
}

impl<'a> Cursor<'a> {
    /// Skips every attribute of `abbrev`.
    pub(crate) fn skip_all(
        &mut self,
        abbrevs: &Abbrevs,
        abbrev: Abbrev,
        sizes: Sizes,
    ) -> gimli::Result<()> {
        if let Some(n) = abbrev.fixed {
            return self.skip(n as usize);
        }
        for spec in abbrevs.specs(abbrev) {
            self.skip_spec(*spec, sizes)?;
        }
        Ok(())
    }

    /// Skips the value of one attribute.
    #[inline]
    pub(crate) fn skip_spec(&mut self, spec: Spec, sizes: Sizes) -> gimli::Result<()> {
        if spec.size != VARIABLE {
            return self.skip(usize::from(spec.size));
        }
        self.skip_form(spec.form, sizes)
    }

    /// Skips one value of `form`.
    pub(crate) fn skip_form(&mut self, form: u16, sizes: Sizes) -> gimli::Result<()> {
        if let Some(n) = sizes.fixed(form) {
            return self.skip(n as usize);
        }
        match DwForm(form) {
            gimli::DW_FORM_udata
            | gimli::DW_FORM_sdata
            | gimli::DW_FORM_ref_udata
            | gimli::DW_FORM_strx
            | gimli::DW_FORM_addrx
            | gimli::DW_FORM_loclistx
            | gimli::DW_FORM_rnglistx
            | gimli::DW_FORM_GNU_addr_index
            | gimli::DW_FORM_GNU_str_index => self.uleb().map(drop),
            gimli::DW_FORM_string => self.cstr().map(drop),
            gimli::DW_FORM_block1 => {
                let n = self.u8()?;
                self.skip(usize::from(n))
            }
            gimli::DW_FORM_block2 => {
                let n = self.le(2)?;
                self.skip(n as usize)
            }
            gimli::DW_FORM_block4 => {
                let n = self.le(4)?;
                self.skip(n as usize)
            }
            gimli::DW_FORM_block | gimli::DW_FORM_exprloc => {
                let n = usize::try_from(self.uleb()?).map_err(|_| eof())?;
                self.skip(n)
            }
            gimli::DW_FORM_indirect => {
                let real = u16::try_from(self.uleb()?)
                    .map_err(|_| gimli::Error::UnknownForm(DwForm(form)))?;
                self.skip_form(real, sizes)
            }
            other => Err(gimli::Error::UnknownForm(other)),
        }
    }

    /// Reads one value of `form` (returning the form actually used, for DW_FORM_indirect).
    pub(crate) fn read_form(&mut self, form: u16, sizes: Sizes) -> gimli::Result<(u16, Value<'a>)> {
        let value = match DwForm(form) {
            gimli::DW_FORM_string => Value::Str(self.cstr()?),
            gimli::DW_FORM_flag_present => Value::Num(1),
            gimli::DW_FORM_udata
            | gimli::DW_FORM_ref_udata
            | gimli::DW_FORM_strx
            | gimli::DW_FORM_GNU_str_index => Value::Num(self.uleb()?),
            gimli::DW_FORM_indirect => {
                let real = u16::try_from(self.uleb()?)
                    .map_err(|_| gimli::Error::UnknownForm(DwForm(form)))?;
                return self.read_form(real, sizes);
            }
            _ => match sizes.fixed(form) {
                Some(n @ 1..=8) => Value::Num(self.le(n as usize)?),
                _ => {
                    self.skip_form(form, sizes)?;
                    Value::Other
                }
            },
        };
        Ok((form, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leb128() {
        let data = [0xe5, 0x8e, 0x26, 0x7f, 0x80, 0x7f];
        let mut c = Cursor::new(&data, 0);
        assert_eq!(c.uleb().unwrap(), 624485);
        assert_eq!(sleb(&mut c).unwrap(), -1);
        assert_eq!(sleb(&mut c).unwrap(), -128);
        assert!(c.uleb().is_err());
    }

    #[test]
    fn abbreviation_table() {
        let sizes = Sizes {
            address: 8,
            offset: 4,
            version: 4,
        };
        // 1: DW_TAG_structure_type, children, name strp, byte_size data1, sibling ref4
        // 2: DW_TAG_member, no children, name string, data_member_location data1
        let data = [
            1, 0x13, 1, 0x03, 0x0e, 0x0b, 0x0b, 0x01, 0x13, 0, 0, 2, 0x0d, 0, 0x03, 0x08, 0x38,
            0x0b, 0, 0, 0,
        ];
        let mut t = Abbrevs::default();
        t.parse(&data, 0, sizes).unwrap();
        let s = t.get(1).unwrap();
        assert_eq!((s.tag, s.children, s.fixed), (0x13, true, Some(9)));
        let m = t.get(2).unwrap();
        assert_eq!((m.tag, m.children, m.fixed), (0x0d, false, None));
        assert_eq!(t.specs(m).len(), 2);
        assert!(t.get(3).is_err());
        let die = [b'x', 0, 7, 0xaa];
        let mut c = Cursor::new(&die, 0);
        c.skip_all(&t, m, sizes).unwrap();
        assert_eq!(c.pos, 3);
    }
}
