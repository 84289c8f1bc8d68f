//! "Did you mean" suggestions: names close to a misspelt one.

/// Names from `candidates` within a small edit distance of `name` (or sharing a long prefix),
/// closest first, at most three.
pub fn near_matches(name: &str, candidates: &[String]) -> Vec<String> {
    let limit = (name.len() / 3).clamp(1, 3);
    let mut scored: Vec<(usize, &String)> = candidates
        .iter()
        .filter_map(|c| {
            let d = distance(name, c);
            let prefix = name.len() >= 4 && (c.starts_with(name) || name.starts_with(c.as_str()));
            (d <= limit || prefix).then_some((d, c))
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    // Only the closest names help; farther ones are noise.
    let best = scored.first().map_or(0, |s| s.0);
    scored.retain(|s| s.0 == best);
    scored.into_iter().take(3).map(|(_, c)| c.clone()).collect()
}

/// Levenshtein distance over bytes.
fn distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_close_names_only() {
        let c: Vec<String> = ["tcp_dport", "tcp_sport", "tcp_flags", "tcp_hdr"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(near_matches("tcp_dprt", &c), vec!["tcp_dport".to_string()]);
        assert_eq!(
            near_matches("tcp_port", &c),
            vec!["tcp_dport".to_string(), "tcp_sport".to_string()]
        );
        assert!(near_matches("zzz", &c).is_empty());
    }
}
