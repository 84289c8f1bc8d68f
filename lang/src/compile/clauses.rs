//! Clauses: probe descriptions matched against the probes (lang's own dtrace and profile ones
//! included), predicates and statements, and the finished program with its enabled probe ids.

use std::collections::{HashMap, HashSet};

use super::{Action, CResult, Compiler};
use crate::ast::{Clause, Expr};
use crate::error::err_at;
use crate::ir::Node;
use crate::probes::{self, Description, ProbeInfo, ProbeKind};
use crate::program::{CClause, DescriptionMatch, EnabledProbe, Program, VarLayout};
use crate::types::Type;

impl Compiler<'_> {
    /// Matches a clause's descriptions against the probes.
    pub(crate) fn match_probes(
        &mut self,
        clause: &Clause,
    ) -> CResult<(Vec<u32>, Vec<DescriptionMatch>)> {
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
    pub(crate) fn add_profile_probe(&mut self, d: &Description) {
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
    pub(crate) fn clause(&mut self, clause: &Clause) -> CResult<(CClause, Vec<DescriptionMatch>)> {
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

    pub(crate) fn predicate(&mut self, e: &Expr) -> CResult<Node> {
        let v = self.rvalue(e)?;
        if !v.1.is_scalar() {
            return Err(err_at(e.pos, "predicate result must be of scalar type"));
        }
        Ok(v.0)
    }

    pub(crate) fn finish(
        self,
        mut clauses: Vec<CClause>,
        matches: Vec<DescriptionMatch>,
    ) -> Program {
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

/// A description as dtrace prints it in D_PDESC_ZERO: all four fields, colon-separated.
fn full_desc(d: &Description) -> String {
    format!("{}:{}:{}:{}", d.provider, d.module, d.function, d.name)
}
