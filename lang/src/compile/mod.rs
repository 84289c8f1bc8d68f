//! The compiler: its state over all sources, `compile()` taking declarations and clauses in
//! program order as dtrace does, and [`DeclaredTypes`] (types written in C as a TypeSource).
//! Declarations, clauses, expressions, names, places, calls and actions each have a module.

mod access;
mod action;
mod calls;
mod clauses;
mod decl;
mod expr;
mod names;
mod typing;

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use crate::ast::{Expr, Item};
use crate::error::{err_at, CompileError, Pos, Source, SourceKind, SyntaxError};
use crate::ir::Node;
use crate::lexer::MacroArgs;
use crate::options::Options;
use crate::probes::{self, ProbeCatalog, ProbeInfo, ProbeKind};
use crate::program::{AggInfo, Program};
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
        let program = if src.kind == SourceKind::Script {
            src.name.clone()
        } else {
            String::new()
        };
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
        let (items, used) = crate::parser::parse_counting_macros(
            text,
            &macros,
            &program,
            &mut typedef_names,
            &is_guest_type,
        )
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
        let mut probes = probes::dtrace_probes().to_vec();
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
