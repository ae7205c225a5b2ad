//! "Did you mean" hints for misspelt names.

/// `" (did you mean `best`?)"` for the candidate closest to `name`, or `""` when none is
/// close enough to be a likely typo.
pub fn did_you_mean<'a, I, S>(name: &str, candidates: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str> + 'a,
{
    closest(name, candidates)
        .map(|best| format!(" (did you mean `{best}`?)"))
        .unwrap_or_default()
}

/// The candidate closest to `name`, if it is within a third of the name's length in edits
/// (at least one edit), or differs only in case.
pub fn closest<I, S>(name: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let budget = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter_map(|c| {
            let c = c.as_ref();
            if c == name {
                return None;
            }
            let distance = if c.eq_ignore_ascii_case(name) {
                0
            } else {
                edit_distance(name, c)
            };
            (distance <= budget).then(|| (distance, c.to_string()))
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

/// Levenshtein distance, with an adjacent swap counted as one edit.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            closest("Clsed", ["Closed", "Open"]).as_deref(),
            Some("Closed")
        );
        assert_eq!(
            closest("Lcoked", ["Locked", "Closed"]).as_deref(),
            Some("Locked")
        );
        assert_eq!(closest("closed", ["Closed"]).as_deref(), Some("Closed"));
        assert_eq!(closest("Broken", ["Closed", "Open"]), None);
        assert_eq!(
            did_you_mean("intial", ["initial", "final"]),
            " (did you mean `initial`?)"
        );
        assert_eq!(did_you_mean("xyz", ["initial"]), "");
    }
}
