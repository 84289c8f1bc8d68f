//! From parsed sources to a runnable [`crate::Program`]: declarations and types, probe matching,
//! variables and clauses, all in program order as dtrace compiles them.

mod action;
mod expr;
mod typing;

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use crate::ast::{BaseType, Clause, Expr, Item, Scope, TypeName};
use crate::error::{err_at, CompileError, Pos, Source, SourceKind, SyntaxError};
use crate::ir::Node;
use crate::ir::Place;
use crate::lexer::MacroArgs;
use crate::options::Options;
use crate::probes::{self, Description, ProbeCatalog, ProbeInfo, ProbeKind};
use crate::program::{AggInfo, CClause, DescriptionMatch, EnabledProbe, Program, VarLayout};
use crate::types::{Type, TypeSource};

pub(crate) use action::Action;
pub(crate) use expr::ArgKind;
pub(crate) use typing::eval_bin;

/// What the command line adds to a compilation.
#[derive(Debug, Clone, Default)]
pub struct CompileOptions {
    /// `-x` options and `-q`, applied before the program's own pragmas.
    pub options: Options,
    /// Operands after the options: `$1..$n`.
    pub macro_args: Vec<String>,
    /// `-C` (with `-D`, `-U`, `-I`): run the C preprocessor over scripts and descriptions.
    pub cpp: Option<crate::cpp::CppOptions>,
}

type CResult<T> = Result<T, SyntaxError>;

/// A declared variable.
#[derive(Debug, Clone)]
pub(crate) struct Var {
    /// Slot (scalars, locals) or id (arrays, thread variables).
    pub id: u32,
    /// Value type.
    pub ty: Type,
    /// Key types for associative arrays.
    pub keys: Option<Vec<Type>>,
}

/// An inline definition.
#[derive(Debug, Clone)]
pub(crate) struct Inline {
    pub ty: Type,
    pub params: Vec<(Type, String)>,
    pub body: Expr,
}

/// A translator definition.
#[derive(Debug, Clone)]
pub(crate) struct Translator {
    /// The output record.
    pub out: Type,
    /// The input type.
    pub input: Type,
    /// The input parameter's name.
    pub param: String,
    /// Member expressions by member name.
    pub members: HashMap<String, Expr>,
}

/// The compiler's state over all sources.
pub(crate) struct Compiler<'a> {
    pub catalog: &'a dyn ProbeCatalog,
    pub types: &'a dyn TypeSource,
    pub opts: Options,
    pub typedefs: HashMap<String, Type>,
    pub records: HashMap<String, Type>,
    pub consts: HashMap<String, (u64, Type)>,
    pub inlines: HashMap<String, Rc<Inline>>,
    pub translators: Vec<Rc<Translator>>,
    pub globals: HashMap<String, Var>,
    pub assocs: HashMap<String, Var>,
    pub threads: HashMap<String, Var>,
    pub locals: HashMap<String, Var>,
    pub n_globals: u32,
    pub n_locals: u32,
    pub n_assocs: u32,
    pub n_threads: u32,
    pub aggs: Vec<AggInfo>,
    pub agg_names: HashMap<String, u32>,
    /// Parameter bindings for inline and translator bodies: name, what a use becomes, type.
    pub params: Vec<(String, Node, Type)>,
    /// The probes the clause being compiled matched (for args[] types).
    pub clause_probes: Vec<ProbeInfo>,
    /// Next fault-site number (reported as the DIF offset of runtime errors).
    pub next_pc: u32,
    /// All probes: lang's own plus the catalog's.
    pub probes: Vec<ProbeInfo>,
    pub kinds: HashMap<u32, ProbeKind>,
    /// The first pass over a clause: unknown names read as 0 so that its assignments can
    /// create their variables.
    pub lenient: bool,
    /// Nesting of inline expansion, to stop self-referencing inlines.
    pub inline_depth: u32,
}

/// Compiles D sources (libraries first, in the order given) against a probe catalog and the
/// guest's types into a runnable program.
pub fn compile(
    sources: &[Source],
    catalog: &dyn ProbeCatalog,
    types: &dyn TypeSource,
    options: &CompileOptions,
) -> Result<Program, CompileError> {
    let mut c = Compiler::new(catalog, types, options.options.clone());
    let mut typedef_names: HashSet<String> = HashSet::new();
    let mut clauses = Vec::new();
    let mut matches = Vec::new();
    let mut libraries: Vec<String> = Vec::new();
    let mut macros_used = 0;
    let mut last_program: Option<&Source> = None;
    // Like dtrace, everything is compiled in program order: a name must be declared (or a
    // variable assigned) before a later clause or declaration can use it.
    for src in sources {
        let macros = MacroArgs {
            args: options.macro_args.clone(),
            default_args: c.opts.defaultargs,
        };
        let is_guest_type = |n: &str| types.resolve_type(n).is_some();
        let preprocessed;
        let text = match (&options.cpp, &src.kind) {
            (Some(cpp), SourceKind::Script | SourceKind::Description) => {
                preprocessed = crate::cpp::preprocess(&src.text, &src.name, cpp)
                    .map_err(|e| CompileError::new(src, e))?;
                preprocessed.as_str()
            }
            _ => src.text.as_str(),
        };
        let (items, used) =
            crate::parser::parse_counting_macros(text, &macros, &mut typedef_names, &is_guest_type)
                .map_err(|e| CompileError::new(src, e))?;
        if src.kind != SourceKind::Library {
            macros_used = macros_used.max(used);
            last_program = Some(src);
        }
        if let Some((what, pos)) = c.unmet_dependency(&items, &libraries) {
            // dtrace skips a library whose provider or library is missing; a program fails.
            if src.kind == SourceKind::Library {
                continue;
            }
            return Err(CompileError::new(
                src,
                err_at(
                    pos,
                    format!("program requires {what}, which is not available"),
                ),
            ));
        }
        if src.kind == SourceKind::Library {
            let base = src.name.rsplit('/').next().unwrap_or(&src.name).to_string();
            libraries.push(base);
        }
        for item in &items {
            match item {
                Item::Clause(cl) => {
                    let (cc, m) = c.clause(cl).map_err(|e| CompileError::new(src, e))?;
                    clauses.push(cc);
                    matches.extend(m);
                }
                item => c.declare(item).map_err(|e| CompileError::new(src, e))?,
            }
        }
    }
    // dtrace refuses operands the program never references, unless -xargref.
    if let (Some(src), Some(extra)) = (last_program, options.macro_args.get(macros_used)) {
        if !c.opts.argref {
            let n = macros_used + 1;
            return Err(CompileError::new(
                src,
                err_at(
                    Pos { line: 1, col: 1 },
                    format!("extraneous argument '{extra}' (${n} is not referenced)"),
                ),
            ));
        }
    }
    if clauses.is_empty() && sources.iter().any(|s| s.kind != SourceKind::Library) {
        let src = sources
            .iter()
            .rev()
            .find(|s| s.kind != SourceKind::Library)
            .unwrap_or(&sources[0]);
        return Err(CompileError::new(
            src,
            err_at(Pos { line: 1, col: 1 }, "empty D program translation"),
        ));
    }
    Ok(c.finish(clauses, matches))
}

impl<'a> Compiler<'a> {
    fn new(
        catalog: &'a dyn ProbeCatalog,
        types: &'a dyn TypeSource,
        opts: Options,
    ) -> Compiler<'a> {
        let mut probes = vec![
            dtrace_probe(probes::BEGIN_ID, "BEGIN"),
            dtrace_probe(probes::END_ID, "END"),
            dtrace_probe(probes::ERROR_ID, "ERROR"),
        ];
        let mut kinds = HashMap::new();
        kinds.insert(probes::BEGIN_ID, ProbeKind::Begin);
        kinds.insert(probes::END_ID, ProbeKind::End);
        kinds.insert(probes::ERROR_ID, ProbeKind::Error);
        for p in catalog.probes() {
            if let std::collections::hash_map::Entry::Vacant(e) = kinds.entry(p.id) {
                e.insert(ProbeKind::Catalog);
                probes.push(p.clone());
            }
        }
        let mut consts = HashMap::new();
        consts.insert("NULL".to_string(), (0, Type::int(8, true)));
        Compiler {
            catalog,
            types,
            opts,
            typedefs: HashMap::new(),
            records: HashMap::new(),
            consts,
            inlines: HashMap::new(),
            translators: Vec::new(),
            globals: HashMap::new(),
            assocs: HashMap::new(),
            threads: HashMap::new(),
            locals: HashMap::new(),
            n_globals: 0,
            n_locals: 0,
            n_assocs: 0,
            n_threads: 0,
            aggs: Vec::new(),
            agg_names: HashMap::new(),
            params: Vec::new(),
            clause_probes: Vec::new(),
            next_pc: 0,
            probes,
            kinds,
            inline_depth: 0,
            lenient: false,
        }
    }

    /// The first `#pragma D depends_on provider|library` these items state that is not met.
    fn unmet_dependency(&self, items: &[Item], libraries: &[String]) -> Option<(String, Pos)> {
        items.iter().find_map(|item| {
            let Item::Control(text, pos) = item else {
                return None;
            };
            let words: Vec<&str> = text.split_whitespace().collect();
            match words.as_slice() {
                ["pragma", "D", "depends_on", "provider", p, ..]
                    if !self.probes.iter().any(|x| x.provider == *p) =>
                {
                    Some((format!("provider {p}"), *pos))
                }
                ["pragma", "D", "depends_on", "library", l, ..]
                    if !libraries.iter().any(|x| x == l) =>
                {
                    Some((format!("library {l}"), *pos))
                }
                _ => None,
            }
        })
    }

    /// Applies a top-level declaration or control line.
    fn declare(&mut self, item: &Item) -> CResult<()> {
        match item {
            Item::Clause(_) => Ok(()),
            Item::Control(text, pos) => self.control(text, *pos),
            Item::TypeDecl(t) => {
                if let BaseType::Named(n) = &t.base {
                    if !n.starts_with("struct ")
                        && !n.starts_with("union ")
                        && !n.starts_with("enum ")
                    {
                        return Err(err_at(t.pos, "useless declaration"));
                    }
                }
                self.resolve(t).map(|_| ())
            }
            Item::Typedef { ty, name, pos } => {
                let t = self.resolve(ty)?;
                if self.typedefs.contains_key(name) {
                    return Err(err_at(*pos, format!("type redeclared: {name}")));
                }
                self.typedefs.insert(name.clone(), t);
                Ok(())
            }
            Item::Inline {
                ty,
                name,
                params,
                body,
                pos,
            } => {
                if self.identifier_taken(name) || is_builtin_name(name) {
                    return Err(err_at(*pos, format!("identifier redeclared: {name}")));
                }
                let t = self.resolve(ty)?;
                let mut ps = Vec::new();
                for (pt, pn) in params {
                    ps.push((self.resolve(pt)?, pn.clone()));
                }
                // The body is checked now, as dtrace does: before the name exists (so an inline
                // cannot use itself) and against the declared type.
                let scope = ps
                    .iter()
                    .map(|(pt, pn)| {
                        (
                            pn.clone(),
                            Node::Get(Place::Local(self.temp_slot())),
                            pt.clone(),
                        )
                    })
                    .collect();
                let saved = std::mem::replace(&mut self.params, scope);
                let checked = self
                    .rvalue(body)
                    .and_then(|(n, bt)| self.convert(n, &bt, &t, body.pos));
                self.params = saved;
                checked?;
                self.inlines.insert(
                    name.clone(),
                    Rc::new(Inline {
                        ty: t,
                        params: ps,
                        body: body.clone(),
                    }),
                );
                Ok(())
            }
            Item::Var {
                scope,
                ty,
                name,
                keys,
                pos,
            } => self.declare_var(*scope, ty, name, keys.as_deref(), *pos),
            Item::Translator {
                out,
                input,
                param,
                members,
                pos,
            } => {
                let out_t = self.resolve(out)?;
                let out_rec = match &out_t {
                    Type::Record(_) => out_t.clone(),
                    _ => {
                        return Err(err_at(
                            *pos,
                            format!("translator output type must be a struct: {out_t}"),
                        ))
                    }
                };
                let rec = self.complete(&out_rec, *pos)?;
                let input = self.resolve(input)?;
                let (out_name, in_name) = (out_rec.to_string(), input.to_string());
                if self
                    .translators
                    .iter()
                    .any(|t| t.out.to_string() == out_name && t.input.to_string() == in_name)
                {
                    return Err(err_at(
                        *pos,
                        format!(
                            "translator from {in_name} to {out_name} has already been declared"
                        ),
                    ));
                }
                let mut map = HashMap::new();
                for (m, e, mpos) in members {
                    let Some(mem) = rec.member(m) else {
                        return Err(self.no_member(&out_rec, m, *mpos));
                    };
                    if map.contains_key(m) {
                        return Err(err_at(
                            *mpos,
                            format!("translator member {m} is already defined"),
                        ));
                    }
                    // Each member's expression is checked at declaration, with the input bound.
                    let scope = vec![(
                        param.clone(),
                        Node::Get(Place::Local(self.temp_slot())),
                        input.clone(),
                    )];
                    let saved = std::mem::replace(&mut self.params, scope);
                    let checked = self
                        .rvalue(e)
                        .and_then(|(n, t)| self.convert(n, &t, &mem.ty, e.pos));
                    self.params = saved;
                    checked?;
                    map.insert(m.clone(), e.clone());
                }
                self.translators.push(Rc::new(Translator {
                    out: out_rec,
                    input,
                    param: param.clone(),
                    members: map,
                }));
                Ok(())
            }
        }
    }

    /// A control line: `pragma D option ...`, other `pragma D` forms, `line`, `ident`.
    fn control(&mut self, text: &str, pos: Pos) -> CResult<()> {
        let words: Vec<&str> = text.split_whitespace().collect();
        match words.as_slice() {
            ["pragma", "D", "option", rest @ ..] => {
                let arg = rest.join("");
                if arg.is_empty() {
                    return Err(err_at(pos, "malformed #pragma D option"));
                }
                let name = arg.split('=').next().unwrap_or("").to_string();
                self.opts.set_arg(&arg).map_err(|m| {
                    let value = arg.split_once('=').map_or("", |(_, v)| v);
                    if m == "Invalid option name" {
                        err_at(pos, format!("failed to set option '{name}': {m}"))
                    } else {
                        err_at(
                            pos,
                            format!("failed to set option '{name}' to '{value}': {m}"),
                        )
                    }
                })
            }
            ["pragma", "D", "error", ..] => {
                let msg = text.split_once("error").map_or("", |(_, m)| m.trim());
                Err(err_at(
                    pos,
                    format!("#pragma D error: {}", msg.trim_matches('"')),
                ))
            }
            ["pragma", "D", "attributes", attr, _, ..] if attr.split('/').count() == 3 => Ok(()),
            ["pragma", "D", "attributes", ..] => Err(err_at(pos, "malformed #pragma D attributes")),
            ["pragma", "D", "binding" | "depends_on" | "ident", ..] => Ok(()),
            ["pragma", "D", other, ..] => Err(err_at(
                pos,
                format!("invalid control directive: #pragma D {other}"),
            )),
            ["pragma", "D"] => Err(err_at(pos, "malformed #pragma D")),
            ["pragma", ..] | ["ident", ..] | ["line", ..] | [] => Ok(()),
            [d, ..] if d.chars().all(|c| c.is_ascii_digit()) => Ok(()),
            [d, ..] => Err(err_at(pos, format!("invalid control directive: #{d}"))),
        }
    }

    fn declare_var(
        &mut self,
        scope: Scope,
        ty: &TypeName,
        name: &str,
        keys: Option<&[TypeName]>,
        pos: Pos,
    ) -> CResult<()> {
        let t = self.resolve(ty)?;
        let key_types = match keys {
            Some(ks) => Some(
                ks.iter()
                    .map(|k| self.resolve(k))
                    .collect::<CResult<Vec<_>>>()?,
            ),
            None => None,
        };
        if self.identifier_taken(name) && scope == Scope::Global {
            return Err(err_at(pos, format!("identifier redeclared: {name}")));
        }
        match scope {
            Scope::Global if key_types.is_some() => {
                self.new_var(VarClass::Assoc, name, t, key_types);
            }
            Scope::Global => match t {
                // A fixed-size D array behaves as an array indexed by one integer: unset
                // elements read as zero, as they do in dtrace.
                Type::Array(elem, _) => {
                    self.new_var(
                        VarClass::Assoc,
                        name,
                        (*elem).clone(),
                        Some(vec![Type::int(8, true)]),
                    );
                }
                t => {
                    self.new_var(VarClass::Global, name, t, None);
                }
            },
            Scope::Thread => {
                self.new_var(VarClass::Thread, name, t, key_types);
            }
            Scope::Clause => {
                if key_types.is_some() {
                    return Err(err_at(
                        pos,
                        format!("local variable may not be an associative array: {name}"),
                    ));
                }
                self.new_var(VarClass::Local, name, t, None);
            }
        }
        Ok(())
    }

    fn identifier_taken(&self, name: &str) -> bool {
        self.globals.contains_key(name)
            || self.assocs.contains_key(name)
            || self.inlines.contains_key(name)
            || self.consts.contains_key(name)
    }

    /// Creates a variable of a class and returns it.
    pub(crate) fn new_var(
        &mut self,
        class: VarClass,
        name: &str,
        ty: Type,
        keys: Option<Vec<Type>>,
    ) -> Var {
        let (map, counter) = match class {
            VarClass::Global => (&mut self.globals, &mut self.n_globals),
            VarClass::Assoc => (&mut self.assocs, &mut self.n_assocs),
            VarClass::Thread => (&mut self.threads, &mut self.n_threads),
            VarClass::Local => (&mut self.locals, &mut self.n_locals),
        };
        let v = Var {
            id: *counter,
            ty,
            keys,
        };
        *counter += 1;
        map.insert(name.to_string(), v.clone());
        v
    }

    /// A hidden clause-local slot for an inline or translator parameter.
    pub(crate) fn temp_slot(&mut self) -> u32 {
        self.n_locals += 1;
        self.n_locals - 1
    }

    /// Resolves a written type to the model.
    pub(crate) fn resolve(&mut self, tn: &TypeName) -> CResult<Type> {
        let mut t = match &tn.base {
            BaseType::Named(n) => self.named_type(n, tn.pos)?,
            BaseType::Record {
                is_union,
                tag,
                fields,
            } => {
                let mut fs = Vec::new();
                for f in fields {
                    let mut ft = self.resolve(&f.ty)?;
                    // A member held by value needs its struct's layout (D_DECL_INCOMPLETE).
                    if let Type::Record(r) = &ft {
                        if r.members.is_none() {
                            let full = self.complete(&ft, f.ty.pos).map_err(|_| {
                                err_at(
                                    f.ty.pos,
                                    format!(
                                        "declaration of member {} uses incomplete type {}",
                                        f.name, r.name
                                    ),
                                )
                            })?;
                            ft = Type::Record(full);
                        }
                    }
                    let bits = match &f.bits {
                        Some(e) => {
                            let w = self.const_int(e)?;
                            if w == 0 || w > 64 || !ft.is_integer() {
                                return Err(err_at(
                                    e.pos,
                                    format!("invalid bit-field width for {}", f.name),
                                ));
                            }
                            Some(w as u8)
                        }
                        None => None,
                    };
                    fs.push((f.name.clone(), ft, bits));
                }
                for (i, (n, _, _)) in fs.iter().enumerate() {
                    if !n.is_empty() && fs[..i].iter().any(|(m, _, _)| m == n) {
                        return Err(err_at(tn.pos, format!("duplicate member name: {n}")));
                    }
                }
                let kw = if *is_union { "union" } else { "struct" };
                let name = format!("{kw} {}", tag.as_deref().unwrap_or("<anon>"));
                let rec =
                    crate::types::layout_record(name.clone(), *is_union, fs, self.opts.strsize);
                let t = Type::Record(Rc::new(rec));
                if tag.is_some() {
                    if matches!(self.records.get(&name), Some(Type::Record(r)) if r.members.is_some())
                    {
                        return Err(err_at(tn.pos, format!("{name} redeclared")));
                    }
                    self.records.insert(name, t.clone());
                }
                t
            }
            BaseType::Enum { tag, values } => {
                let mut next: i64 = 0;
                let mut vals = Vec::new();
                for (n, e, pos) in values {
                    if let Some(e) = e {
                        next = self.const_int(e)? as i64;
                    }
                    if self.consts.contains_key(n) || vals.iter().any(|(v, _)| v == n) {
                        return Err(err_at(*pos, format!("identifier redeclared: {n}")));
                    }
                    if next > i64::from(i32::MAX) || next < i64::from(i32::MIN) {
                        return Err(err_at(*pos, format!("enumerator '{n}' overflows int")));
                    }
                    vals.push((n.clone(), next));
                    next = next.wrapping_add(1);
                }
                let name = format!("enum {}", tag.as_deref().unwrap_or("<anon>"));
                let t = Type::Enum(Rc::new(crate::types::EnumDef {
                    name: name.clone(),
                    values: vals.clone(),
                }));
                for (n, v) in vals {
                    self.consts.insert(n, (v as u64, t.clone()));
                }
                if tag.is_some() {
                    self.records.insert(name, t.clone());
                }
                t
            }
        };
        for _ in 0..tn.stars {
            t = t.pointer_to();
        }
        for d in tn.dims.iter().rev() {
            let n = self.const_int(d)?;
            if (n as i64) <= 0 || n > u64::from(u32::MAX) {
                return Err(err_at(
                    d.pos,
                    "array dimension must be a positive integer constant",
                ));
            }
            t = Type::Array(Rc::new(t), n);
        }
        Ok(t)
    }

    fn named_type(&mut self, n: &str, pos: Pos) -> CResult<Type> {
        if let Some(t) = crate::types::builtin_type(n) {
            return Ok(t);
        }
        if let Some(t) = self.typedefs.get(n).or_else(|| self.records.get(n)) {
            return Ok(t.clone());
        }
        if let Some(t) = self.types.resolve_type(n) {
            return Ok(t);
        }
        // A struct/union/enum nobody defines yet is an incomplete type, as in C.
        for kw in ["struct ", "union "] {
            if n.starts_with(kw) {
                let rec = crate::types::Record {
                    name: n.to_string(),
                    is_union: kw == "union ",
                    size: 0,
                    align: 1,
                    members: None,
                };
                return Ok(Type::Record(Rc::new(rec)));
            }
        }
        Err(err_at(pos, format!("failed to resolve type {n}")))
    }

    /// The complete form of a record type (incomplete ones are looked up by name).
    pub(crate) fn complete(&self, t: &Type, pos: Pos) -> CResult<Rc<crate::types::Record>> {
        let Type::Record(r) = t else {
            return Err(err_at(pos, format!("{t} is not a struct or union")));
        };
        if r.members.is_some() {
            return Ok(r.clone());
        }
        let found = self
            .records
            .get(&r.name)
            .cloned()
            .or_else(|| self.types.resolve_type(&r.name));
        match found {
            Some(Type::Record(full)) if full.members.is_some() => Ok(full),
            _ => Err(err_at(pos, format!("{} is an incomplete type", r.name))),
        }
    }

    /// The error for a missing member, naming the type and its near matches.
    pub(crate) fn no_member(&self, t: &Type, m: &str, pos: Pos) -> SyntaxError {
        let names = match self.complete(t, pos) {
            Ok(r) => r.member_names(),
            Err(e) => return e,
        };
        let near = crate::suggest::near_matches(m, &names);
        let hint = if near.is_empty() {
            String::new()
        } else {
            format!("; did you mean {}?", near.join(" or "))
        };
        err_at(pos, format!("{m} is not a member of {t}{hint}"))
    }

    /// Matches a clause's descriptions against the probes.
    fn match_probes(&mut self, clause: &Clause) -> CResult<(Vec<u32>, Vec<DescriptionMatch>)> {
        let mut ids: Vec<u32> = Vec::new();
        let mut seen: HashSet<u32> = HashSet::new();
        let mut counts = Vec::new();
        for (text, pos) in &clause.descs {
            let desc = Description::parse(text).map_err(|m| err_at(*pos, m))?;
            self.add_profile_probe(&desc);
            let mut n = 0;
            for p in &self.probes {
                if desc.matches(&p.provider, &p.module, &p.function, &p.name) {
                    n += 1;
                    if seen.insert(p.id) {
                        ids.push(p.id);
                    }
                }
            }
            if n == 0 && !self.opts.zdefs {
                return Err(err_at(
                    *pos,
                    format!(
                        "probe description {} does not match any probes",
                        full_desc(&desc)
                    ),
                ));
            }
            counts.push(DescriptionMatch {
                description: text.clone(),
                matched: n,
            });
        }
        Ok((ids, counts))
    }

    /// `profile:::tick-N` and `profile-N` come into being when a description names them.
    fn add_profile_probe(&mut self, d: &Description) {
        if !probes::glob(&d.provider, "profile") || !d.module.is_empty() || !d.function.is_empty() {
            return;
        }
        let (is_tick, spec) = if let Some(s) = d.name.strip_prefix("tick-") {
            (true, s)
        } else if let Some(s) = d.name.strip_prefix("profile-") {
            (false, s)
        } else {
            return;
        };
        let Some(period_ns) = probes::profile_period(spec) else {
            return;
        };
        if self
            .probes
            .iter()
            .any(|p| p.provider == "profile" && p.name == d.name)
        {
            return;
        }
        let id = self.probes.iter().map(|p| p.id).max().unwrap_or(3) + 1;
        self.probes.push(ProbeInfo {
            id,
            provider: "profile".into(),
            module: String::new(),
            function: String::new(),
            name: d.name.clone(),
            args: Vec::new(),
        });
        let kind = if is_tick {
            ProbeKind::Tick { period_ns }
        } else {
            ProbeKind::Profile { period_ns }
        };
        self.kinds.insert(id, kind);
    }

    /// Compiles one clause.
    fn clause(&mut self, clause: &Clause) -> CResult<(CClause, Vec<DescriptionMatch>)> {
        let (ids, counts) = self.match_probes(clause)?;
        // args[] typing needs the matched probes: a set lookup keeps fbt-sized matches linear.
        let wanted: HashSet<u32> = ids.iter().copied().collect();
        self.clause_probes = self
            .probes
            .iter()
            .filter(|p| wanted.contains(&p.id))
            .cloned()
            .collect();
        // dtrace parses a whole clause before checking it, so a variable assigned anywhere in
        // the clause (predicate included) is known everywhere in it. A first, lenient pass over
        // the clause creates those variables; the second is the real one.
        self.lenient = true;
        if let Some(e) = &clause.pred {
            let _ = self.predicate(e);
        }
        for stmt in &clause.body {
            let _ = self.statement(stmt);
        }
        self.lenient = false;
        let pred = match &clause.pred {
            Some(e) => Some(self.predicate(e)?),
            None => None,
        };
        let mut actions = Vec::new();
        for stmt in &clause.body {
            actions.push(self.statement(stmt)?);
        }
        // A clause whose every statement aggregates writes no record; any other clause does
        // (with no statements at all, that record is the default action's).
        let records = actions.is_empty()
            || actions
                .iter()
                .any(|a| !matches!(a, Action::Aggregate { .. }));
        Ok((
            CClause {
                probes: ids,
                pred,
                actions,
                records,
                epids: Vec::new(),
            },
            counts,
        ))
    }

    fn predicate(&mut self, e: &Expr) -> CResult<Node> {
        let v = self.rvalue(e)?;
        if !v.1.is_scalar() {
            return Err(err_at(e.pos, "predicate result must be of scalar type"));
        }
        Ok(v.0)
    }

    fn finish(self, mut clauses: Vec<CClause>, matches: Vec<DescriptionMatch>) -> Program {
        let mut epid = 0;
        for c in clauses.iter_mut() {
            for &p in &c.probes {
                epid += 1;
                c.epids.push((p, epid));
            }
        }
        let mut enabled: Vec<EnabledProbe> = Vec::new();
        let by_id: HashMap<u32, &ProbeInfo> = self.probes.iter().map(|p| (p.id, p)).collect();
        let mut seen: HashSet<u32> = HashSet::new();
        for c in &clauses {
            for &id in &c.probes {
                if !seen.insert(id) {
                    continue;
                }
                if let Some(info) = by_id.get(&id) {
                    let kind = self.kinds.get(&id).copied().unwrap_or(ProbeKind::Catalog);
                    enabled.push(EnabledProbe {
                        info: (*info).clone(),
                        kind,
                    });
                }
            }
        }
        let layout = VarLayout {
            assocs: self.n_assocs as usize,
            global_types: {
                let mut v = vec![Type::int(8, true); self.n_globals as usize];
                for var in self.globals.values() {
                    v[var.id as usize] = var.ty.clone();
                }
                v
            },
            local_types: {
                let mut v = vec![Type::int(8, true); self.n_locals as usize];
                for var in self.locals.values() {
                    v[var.id as usize] = var.ty.clone();
                }
                v
            },
        };
        Program::new(
            clauses,
            enabled,
            matches,
            self.aggs,
            layout,
            self.opts,
            self.probes,
        )
    }
}

/// Which table a new variable goes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VarClass {
    /// Global scalar.
    Global,
    /// Global associative array.
    Assoc,
    /// `self->`.
    Thread,
    /// `this->`.
    Local,
}

fn dtrace_probe(id: u32, name: &str) -> ProbeInfo {
    ProbeInfo {
        id,
        provider: "dtrace".into(),
        module: String::new(),
        function: String::new(),
        name: name.into(),
        args: Vec::new(),
    }
}

/// A description as dtrace prints it in D_PDESC_ZERO: all four fields, colon-separated.
fn full_desc(d: &Description) -> String {
    format!("{}:{}:{}:{}", d.provider, d.module, d.function, d.name)
}

/// Types declared in C/D source text (struct, union, enum and typedef definitions), usable as
/// a [`TypeSource`]: for tests, and for providers that describe types without DWARF.
#[derive(Debug, Clone, Default)]
pub struct DeclaredTypes {
    types: HashMap<String, Type>,
    symbols: HashMap<String, (u64, Type)>,
}

impl DeclaredTypes {
    /// Parses declarations such as `struct ip { uint8_t ip_hl:4, ip_v:4; ... }; typedef ...;`.
    pub fn parse(text: &str) -> Result<DeclaredTypes, CompileError> {
        let src = Source::library("<types>", text);
        let mut c = Compiler::new(
            &probes::NoProbes,
            &crate::types::NoTypes,
            Options::default(),
        );
        let mut names = HashSet::new();
        let items = crate::parser::parse(text, &MacroArgs::default(), &mut names, &|_| false)
            .map_err(|e| CompileError::new(&src, e))?;
        for item in &items {
            c.declare(item).map_err(|e| CompileError::new(&src, e))?;
        }
        let mut types = c.records;
        types.extend(c.typedefs);
        Ok(DeclaredTypes {
            types,
            symbols: HashMap::new(),
        })
    }

    /// Adds a kernel global (`` `name ``) at `addr` of the named declared or built-in type.
    pub fn add_symbol(&mut self, name: &str, addr: u64, type_name: &str) -> bool {
        let t =
            crate::types::builtin_type(type_name).or_else(|| self.types.get(type_name).cloned());
        match t {
            Some(t) => {
                self.symbols.insert(name.to_string(), (addr, t));
                true
            }
            None => false,
        }
    }
}

impl TypeSource for DeclaredTypes {
    fn resolve_type(&self, name: &str) -> Option<Type> {
        self.types.get(name).cloned()
    }
    fn kernel_symbol(&self, name: &str) -> Option<(u64, Type)> {
        self.symbols.get(name).cloned()
    }
}

/// Names D itself defines (built-in variables, subroutines, actions): not available to inlines.
fn is_builtin_name(name: &str) -> bool {
    crate::probes::Builtin::from_name(name).is_some()
        || action::is_action(name)
        || action::is_agg_func(name)
        || expr::is_subroutine(name)
        || matches!(
            name,
            "args"
                | "execname"
                | "probeprov"
                | "probemod"
                | "probefunc"
                | "probename"
                | "id"
                | "epid"
                | "zonename"
        )
        || name
            .strip_prefix("arg")
            .is_some_and(|d| d.parse::<u8>().is_ok_and(|i| i < 10))
}
