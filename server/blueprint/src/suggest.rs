//! "Did you mean …?" for unknown keys and tags.

/// Optimal-string-alignment distance between `a` and `b` (insertions, deletions,
/// substitutions and transpositions of neighbours each cost 1), counted in characters.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.is_empty() {
        return b.len();
    }
    if b.is_empty() {
        return a.len();
    }
    let width = b.len() + 1;
    // Three rows: the one before the previous (for transpositions), the previous, the current.
    let mut before: Vec<usize> = vec![0; width];
    let mut previous: Vec<usize> = (0..width).collect();
    let mut current: Vec<usize> = vec![0; width];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            current[j] = best;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// The candidate closest to `word` if it is within an edit distance of 2, or 3 for words of
/// five characters or more (`entry` → `entries`); ties go to the earlier candidate. `None` when nothing is close, or when `word` is a candidate itself.
pub(crate) fn closest<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    let limit = if word.chars().count() >= 5 { 3 } else { 2 };
    let mut best: Option<(usize, &'c str)> = None;
    for &candidate in candidates {
        let distance = edit_distance(word, candidate);
        if distance == 0 {
            return None;
        }
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// `" (did you mean `x`?)"`, or nothing.
pub(crate) fn did_you_mean(word: &str, candidates: &[&str]) -> String {
    match closest(word, candidates) {
        Some(candidate) => format!(" (did you mean `{candidate}`?)"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("abc", "abc"), 0);
        assert_eq!(edit_distance("identifer", "identifiers"), 2);
        assert_eq!(edit_distance("atrs", "attrs"), 1);
        assert_eq!(edit_distance("modle", "model"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggestions() {
        let keys = ["model", "state", "id", "identifiers", "attrs"];
        assert_eq!(closest("identifer", &keys), Some("identifiers"));
        assert_eq!(closest("Model", &keys), Some("model"));
        assert_eq!(closest("completely-different", &keys), None);
        assert_eq!(closest("model", &keys), None);
        assert_eq!(did_you_mean("atrs", &keys), " (did you mean `attrs`?)");
    }
}
