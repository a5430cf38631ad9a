//! Unit and property tests for the content-model matcher.

use super::*;
use proptest::prelude::*;
use std::collections::BTreeSet;

/// Builds particle trees whose leaves carry element names (`'*'` is a wildcard matching anything); each
/// leaf occurrence gets its own id, as the schema compiler does.
#[derive(Default)]
struct Names(Vec<char>);

impl Names {
    fn l(&mut self, name: char) -> Particle {
        self.0.push(name);
        Particle::leaf(self.0.len() - 1)
    }

    fn overlap(&self) -> impl Fn(LeafId, LeafId) -> bool + '_ {
        |a, b| {
            let (x, y) = (self.0[a], self.0[b]);
            x == y || x == '*' || y == '*'
        }
    }

    fn compile(&self, p: &Particle) -> Result<ContentModel, UpaViolation> {
        ContentModel::compile(p, &self.overlap())
    }

    fn matcher(&self, c: char) -> impl Fn(LeafId) -> bool + '_ {
        move |leaf| self.0[leaf] == c || self.0[leaf] == '*'
    }

    /// Whether the whole input is accepted.
    fn accepts(&self, m: &ContentModel, input: &str) -> bool {
        let mut s = m.start();
        for c in input.chars() {
            if m.step(&mut s, &self.matcher(c)).is_err() {
                return false;
            }
        }
        m.can_finish(&s)
    }

    fn expected(&self, m: &ContentModel, prefix: &str) -> String {
        let mut s = m.start();
        for c in prefix.chars() {
            m.step(&mut s, &self.matcher(c)).expect("prefix must match");
        }
        m.expected(&s).iter().map(|&l| self.0[l]).collect()
    }
}

fn seq(items: Vec<Particle>) -> Particle {
    Particle::new(1, Some(1), Term::Sequence(items))
}

fn choice(items: Vec<Particle>) -> Particle {
    Particle::new(1, Some(1), Term::Choice(items))
}

fn all(items: Vec<Particle>) -> Particle {
    Particle::new(1, Some(1), Term::All(items))
}

fn check(n: &Names, m: &ContentModel, yes: &[&str], no: &[&str]) {
    for s in yes {
        assert!(n.accepts(m, s), "should accept {s:?}");
    }
    for s in no {
        assert!(!n.accepts(m, s), "should reject {s:?}");
    }
}

#[test]
fn counts_min_and_max() {
    let mut n = Names::default();
    let p = n.l('a').occurs(2, Some(3));
    let m = n.compile(&p).unwrap();
    check(&n, &m, &["aa", "aaa"], &["", "a", "aaaa"]);
    assert!(!m.is_emptiable());
}

#[test]
fn large_counts_cost_no_states() {
    for (min, max) in [(5000, Some(5000)), (0, Some(5000)), (5000, None)] {
        let mut n = Names::default();
        let p = n.l('a').occurs(min, max);
        let m = n.compile(&p).unwrap();
        let mut small = Names::default();
        let sp = small.l('a').occurs(min.min(5), max.map(|_| 5));
        let ms = small.compile(&sp).unwrap();
        assert_eq!(m.positions.len(), ms.positions.len());
        assert_eq!(m.counters.len(), ms.counters.len());
        assert!(m.counters.len() <= 1);
        let mut s = m.start();
        for i in 1..=5000u32 {
            assert_eq!(m.step(&mut s, &n.matcher('a')), Ok(0), "element {i}");
            assert_eq!(s.live_configurations(), 1);
            assert!(s.ctrs.len() <= 1);
            assert_eq!(m.can_finish(&s), i >= min, "after {i}");
        }
        let next = m.step(&mut s, &n.matcher('a'));
        assert_eq!(next.is_ok(), max.is_none(), "5001st element, max {max:?}");
    }
}

#[test]
fn large_count_of_a_sequence() {
    let mut n = Names::default();
    let p = seq(vec![n.l('a'), n.l('b')]).occurs(5000, Some(5000));
    let m = n.compile(&p).unwrap();
    let ok: String = "ab".repeat(5000);
    assert!(n.accepts(&m, &ok));
    assert!(!n.accepts(&m, &"ab".repeat(4999)));
    assert!(!n.accepts(&m, &"ab".repeat(5001)));
    assert!(!n.accepts(&m, &format!("{ok}a")));
}

#[test]
fn nested_repetitions() {
    let mut n = Names::default();
    let p = seq(vec![
        seq(vec![n.l('a'), n.l('b')]).occurs(2, Some(3)),
        n.l('c').occurs(0, Some(1)),
    ]);
    let m = n.compile(&p).unwrap();
    check(
        &n,
        &m,
        &["abab", "ababc", "ababab", "abababc"],
        &["", "ab", "abc", "aba", "abababab", "ababcc", "ababa", "c"],
    );
}

#[test]
fn counters_inside_counters() {
    let mut n = Names::default();
    let p = seq(vec![n.l('a').occurs(2, Some(2))]).occurs(3, Some(3));
    let m = n.compile(&p).unwrap();
    check(&n, &m, &["aaaaaa"], &["aaaaa", "aaaaaaa", ""]);
    let mut s = m.start();
    for _ in 0..6 {
        m.step(&mut s, &n.matcher('a')).unwrap();
        assert_eq!(s.live_configurations(), 1);
    }
}

#[test]
fn choices_within_sequences() {
    let mut n = Names::default();
    let p = seq(vec![
        n.l('a'),
        choice(vec![n.l('b'), n.l('c')]).occurs(0, None),
        n.l('d'),
    ]);
    let m = n.compile(&p).unwrap();
    check(&n, &m, &["ad", "abd", "acbcd"], &["a", "abc", "bd", "adb"]);

    let mut n = Names::default();
    let p = choice(vec![
        seq(vec![n.l('a'), n.l('b')]),
        seq(vec![n.l('c'), n.l('d')]),
    ])
    .occurs(1, Some(2));
    let m = n.compile(&p).unwrap();
    check(
        &n,
        &m,
        &["ab", "cd", "abcd", "cdcd"],
        &["", "ac", "abcdab", "a"],
    );
}

#[test]
fn nullable_bodies_with_min() {
    let mut n = Names::default();
    let p = seq(vec![n.l('a').occurs(0, Some(1))]).occurs(3, Some(3));
    let m = n.compile(&p).unwrap();
    assert!(m.is_emptiable());
    check(&n, &m, &["", "a", "aa", "aaa"], &["aaaa"]);

    // A body that is nullable keeps one live configuration even though its iterations are ambiguous.
    let mut n = Names::default();
    let p = seq(vec![
        n.l('a').occurs(0, Some(1)),
        n.l('b').occurs(0, Some(1)),
    ])
    .occurs(1, Some(5000));
    let m = n.compile(&p).unwrap();
    let mut s = m.start();
    for _ in 0..2000 {
        m.step(&mut s, &n.matcher('a')).unwrap();
        m.step(&mut s, &n.matcher('b')).unwrap();
        assert!(s.live_configurations() <= 2);
    }
    assert!(m.can_finish(&s));
}

#[test]
fn all_groups() {
    let mut n = Names::default();
    let p = all(vec![n.l('a'), n.l('b').occurs(0, Some(1)), n.l('c')]);
    let m = n.compile(&p).unwrap();
    assert!(m.all.is_some());
    check(
        &n,
        &m,
        &["ac", "ca", "abc", "bca", "cba"],
        &["", "a", "b", "aa", "abca", "acc", "d"],
    );
    assert_eq!(n.expected(&m, "b"), "ac");
    assert!(!m.is_emptiable());

    let mut n = Names::default();
    let p = all(vec![n.l('a'), n.l('b')]).occurs(0, Some(1));
    let m = n.compile(&p).unwrap();
    assert!(m.is_emptiable());
    check(&n, &m, &["", "ab", "ba"], &["a", "b", "aba"]);

    let mut n = Names::default();
    let p = all(vec![
        n.l('a').occurs(0, Some(1)),
        n.l('b').occurs(0, Some(0)),
    ]);
    let m = n.compile(&p).unwrap();
    check(&n, &m, &["", "a"], &["b", "aa"]);

    let mut n = Names::default();
    let p = all(vec![n.l('a'), n.l('a')]);
    assert_eq!(
        n.compile(&p).unwrap_err(),
        UpaViolation {
            first: 0,
            second: 1
        }
    );
}

#[test]
fn nested_all_is_approximated_without_panics() {
    let mut n = Names::default();
    let p = seq(vec![
        n.l('x'),
        all(vec![n.l('a'), seq(vec![n.l('b'), n.l('c')])]),
    ])
    .occurs(1, Some(2));
    let m = ContentModel::compile_unchecked(&p);
    assert!(m.all.is_none());
    check(&n, &m, &["xabc", "xbca", "xabcxbca"], &["", "x", "xcb"]);
}

#[test]
fn expected_lists() {
    let mut n = Names::default();
    let p = seq(vec![
        n.l('a'),
        n.l('b').occurs(0, Some(2)),
        choice(vec![n.l('c'), n.l('d')]),
        n.l('e').occurs(0, Some(1)),
    ]);
    let m = n.compile(&p).unwrap();
    assert_eq!(n.expected(&m, ""), "a");
    assert_eq!(n.expected(&m, "a"), "bcd");
    assert_eq!(n.expected(&m, "ab"), "bcd");
    assert_eq!(n.expected(&m, "abb"), "cd");
    assert_eq!(n.expected(&m, "abbc"), "e");
    assert_eq!(n.expected(&m, "abbce"), "");
}

#[test]
fn failed_step_leaves_state_unchanged() {
    let mut n = Names::default();
    let p = seq(vec![n.l('a').occurs(2, Some(2)), n.l('b')]);
    let m = n.compile(&p).unwrap();
    let mut s = m.start();
    m.step(&mut s, &n.matcher('a')).unwrap();
    assert_eq!(m.step(&mut s, &n.matcher('b')), Err(()));
    assert_eq!(m.step(&mut s, &n.matcher('c')), Err(()));
    assert_eq!(m.step(&mut s, &n.matcher('a')), Ok(0));
    assert_eq!(m.step(&mut s, &n.matcher('b')), Ok(1));
    assert!(m.can_finish(&s));
    assert_eq!(m.step(&mut s, &n.matcher('b')), Err(()));
    assert!(m.can_finish(&s));
}

#[test]
fn returns_attributed_leaf() {
    let mut n = Names::default();
    let p = seq(vec![n.l('a'), choice(vec![n.l('b'), n.l('c')]), n.l('a')]);
    let m = n.compile(&p).unwrap();
    let mut s = m.start();
    assert_eq!(m.step(&mut s, &n.matcher('a')), Ok(0));
    assert_eq!(m.step(&mut s, &n.matcher('c')), Ok(2));
    assert_eq!(m.step(&mut s, &n.matcher('a')), Ok(3));
}

#[test]
fn unchecked_models_pick_first_leaf_and_keep_all_paths() {
    let mut n = Names::default();
    let p = seq(vec![n.l('a').occurs(0, Some(1)), n.l('a'), n.l('b')]);
    assert_eq!(
        n.compile(&p).unwrap_err(),
        UpaViolation {
            first: 0,
            second: 1
        }
    );
    let m = ContentModel::compile_unchecked(&p);
    let mut s = m.start();
    assert_eq!(m.step(&mut s, &n.matcher('a')), Ok(0));
    assert_eq!(s.live_configurations(), 2);
    assert_eq!(m.step(&mut s, &n.matcher('b')), Ok(2));
    assert!(m.can_finish(&s));
    check(&n, &m, &["ab", "aab"], &["b", "aaab"]);
}

#[test]
fn upa_cases() {
    let upa = |build: &dyn Fn(&mut Names) -> Particle| {
        let mut n = Names::default();
        let p = build(&mut n);
        n.compile(&p).err()
    };
    let v = |first, second| Some(UpaViolation { first, second });
    assert_eq!(
        upa(&|n| seq(vec![n.l('a').occurs(0, Some(1)), n.l('a')])),
        v(0, 1)
    );
    assert_eq!(upa(&|n| seq(vec![n.l('a'), n.l('a')])), None);
    assert_eq!(
        upa(&|n| seq(vec![n.l('a').occurs(0, None), n.l('b')])),
        None
    );
    assert_eq!(upa(&|n| choice(vec![n.l('a'), n.l('a')])), v(0, 1));
    assert_eq!(
        upa(&|n| seq(vec![
            seq(vec![n.l('a'), n.l('b')]).occurs(0, None),
            n.l('a')
        ])),
        v(0, 2)
    );
    assert_eq!(
        upa(&|n| seq(vec![
            seq(vec![n.l('a'), n.l('b')]).occurs(1, None),
            n.l('a')
        ])),
        v(0, 2)
    );
    assert_eq!(
        upa(&|n| seq(vec![n.l('a').occurs(2, Some(2)), n.l('a')])),
        None
    );
    assert_eq!(
        upa(&|n| seq(vec![n.l('a').occurs(1, Some(2)), n.l('a')])),
        v(0, 1)
    );
    assert_eq!(
        upa(&|n| seq(vec![n.l('a').occurs(0, None), n.l('a')])),
        v(0, 1)
    );
    assert_eq!(upa(&|n| choice(vec![n.l('*'), n.l('a')])), v(0, 1));
    assert_eq!(
        upa(&|n| choice(vec![n.l('b'), n.l('a'), n.l('*')])),
        v(0, 2)
    );
    assert_eq!(upa(&|n| seq(vec![n.l('*'), n.l('a')])), None);
    // Exclusive counters: the inner a{2} must be complete before the outer group repeats.
    assert_eq!(
        upa(&|n| seq(vec![
            seq(vec![
                n.l('a').occurs(2, Some(2)),
                n.l('b').occurs(0, Some(1))
            ]),
            n.l('a')
        ])),
        None
    );
    assert_eq!(
        upa(&|n| seq(vec![
            seq(vec![n.l('a').occurs(2, Some(2)), n.l('b')]).occurs(1, Some(3)),
            n.l('c')
        ])),
        None
    );
    // Repeated optional group followed by its own first element.
    assert_eq!(
        upa(&|n| seq(vec![
            seq(vec![n.l('a'), n.l('b').occurs(0, Some(1))]).occurs(1, Some(2)),
            n.l('b')
        ])),
        v(1, 2)
    );
    let e = UpaViolation {
        first: 3,
        second: 7,
    };
    assert!(e.to_string().contains("3 and 7"));
}

#[test]
fn absent_and_empty_groups() {
    let mut n = Names::default();
    let p = seq(vec![n.l('a'), n.l('b').occurs(0, Some(0))]);
    let m = n.compile(&p).unwrap();
    check(&n, &m, &["a"], &["", "ab"]);
    assert_eq!(m.leaves(), &[0]);

    // An empty choice matches nothing, so a sequence requiring it matches nothing either.
    let mut n = Names::default();
    let p = seq(vec![n.l('a'), choice(vec![])]);
    let m = n.compile(&p).unwrap();
    check(&n, &m, &[], &["", "a"]);
    let p = choice(vec![n.l('b').occurs(0, Some(0))]);
    let m = n.compile(&p).unwrap();
    check(&n, &m, &[], &["", "b"]);
    let p = choice(vec![]).occurs(0, Some(1));
    let m = n.compile(&p).unwrap();
    check(&n, &m, &[""], &["b"]);

    let m = ContentModel::compile_unchecked(&n.l('z').occurs(0, Some(0)));
    assert!(m.is_emptiable());
    assert!(m.leaves().is_empty());
    check(&n, &m, &[""], &["z"]);
    let empty = ContentModel::compile_unchecked(&seq(vec![]));
    assert!(empty.is_emptiable() && empty.expected(&empty.start()).is_empty());
}

#[test]
fn leaves_in_document_order() {
    let mut n = Names::default();
    let p = seq(vec![
        n.l('a'),
        choice(vec![n.l('b'), seq(vec![n.l('c'), n.l('d')])]),
        n.l('e'),
    ]);
    let m = n.compile(&p).unwrap();
    assert_eq!(m.leaves(), &[0, 1, 2, 3, 4]);
}

#[test]
fn model_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ContentModel>();
    assert_send_sync::<MatchState>();
}

#[test]
fn wide_repeated_choice_compiles_quickly() {
    let mut n = Names::default();
    let items: Vec<Particle> = (0..300).map(|_| n.l('x')).collect();
    let p = choice(items).occurs(0, None);
    // Distinct leaves that never overlap: everything is deterministic.
    let m = ContentModel::compile(&p, &|a, b| a == b).unwrap();
    assert_eq!(m.follows.len(), 1);
    let mut s = m.start();
    assert_eq!(m.step(&mut s, &|l| l == 299), Ok(299));
    assert_eq!(m.step(&mut s, &|l| l == 5), Ok(5));
}

// ---------------------------------------------------------------------------------------------------------
// Reference matcher and property tests.

/// Input positions `j` such that `input[i..j]` matches `p` (backtracking over the tree; tiny inputs only).
fn ref_ends(p: &Particle, names: &[Option<u8>], input: &[u8], i: usize) -> BTreeSet<usize> {
    let mut result = BTreeSet::new();
    if p.max == Some(0) {
        result.insert(i);
        return result;
    }
    let limit = p.max.unwrap_or(p.min + input.len() as u32 + 1);
    let mut cur: BTreeSet<usize> = [i].into();
    if p.min == 0 {
        result.insert(i);
    }
    for k in 1..=limit {
        let mut next = BTreeSet::new();
        for &j in &cur {
            next.extend(ref_term_ends(&p.term, names, input, j));
        }
        if k >= p.min {
            result.extend(next.iter().copied());
        }
        if next.is_empty() || (next == cur && k >= p.min) {
            break;
        }
        cur = next;
    }
    result
}

fn ref_term_ends(t: &Term, names: &[Option<u8>], input: &[u8], i: usize) -> BTreeSet<usize> {
    match t {
        Term::Leaf(id) => match input.get(i) {
            Some(&c) if names[*id].is_none_or(|n| n == c) => [i + 1].into(),
            _ => BTreeSet::new(),
        },
        Term::Sequence(items) => {
            let mut cur: BTreeSet<usize> = [i].into();
            for item in items {
                let mut next = BTreeSet::new();
                for &j in &cur {
                    next.extend(ref_ends(item, names, input, j));
                }
                cur = next;
            }
            cur
        }
        Term::Choice(items) => {
            let present: Vec<&Particle> = items.iter().filter(|p| p.max != Some(0)).collect();
            let mut out = BTreeSet::new();
            for item in present {
                out.extend(ref_ends(item, names, input, i));
            }
            out
        }
        Term::All(items) => {
            let present: Vec<&Particle> = items.iter().filter(|p| p.max != Some(0)).collect();
            let mut out = BTreeSet::new();
            ref_all(&present, 0, names, input, i, &mut out);
            out
        }
    }
}

/// Each child of the `all` once (nullable ones may be skipped), in any order.
fn ref_all(
    items: &[&Particle],
    used: u64,
    names: &[Option<u8>],
    input: &[u8],
    i: usize,
    out: &mut BTreeSet<usize>,
) {
    let done = items
        .iter()
        .enumerate()
        .all(|(k, p)| used & (1 << k) != 0 || p.min == 0 || term_nullable(&p.term));
    if done {
        out.insert(i);
    }
    for (k, p) in items.iter().enumerate() {
        if used & (1 << k) != 0 {
            continue;
        }
        for j in ref_ends(p, names, input, i) {
            if j > i {
                ref_all(items, used | (1 << k), names, input, j, out);
            }
        }
    }
}

fn ref_accepts(p: &Particle, names: &[Option<u8>], input: &[u8]) -> bool {
    ref_ends(p, names, input, 0).contains(&input.len())
}

/// Random particle shape; leaves are numbered in document order afterwards.
#[derive(Clone, Debug)]
enum Shape {
    Leaf(Option<u8>),
    Seq(Vec<(Shape, u32, Option<u32>)>),
    Choice(Vec<(Shape, u32, Option<u32>)>),
}

fn occurs() -> impl Strategy<Value = (u32, Option<u32>)> {
    prop_oneof![
        3 => Just((1, Some(1))),
        1 => (0u32..=3, 0u32..=3, any::<bool>()).prop_map(|(a, b, unbounded)| {
            let (min, max) = (a.min(b), a.max(b).max(1));
            (min, if unbounded { None } else { Some(max) })
        }),
    ]
}

fn shape() -> impl Strategy<Value = Shape> {
    let leaf = prop_oneof![5 => (0u8..3).prop_map(Some), 1 => Just(None)].prop_map(Shape::Leaf);
    leaf.prop_recursive(3, 12, 4, |inner| {
        let child = (inner, occurs())
            .prop_map(|(s, (min, max))| (s, min, max))
            .boxed();
        prop_oneof![
            prop::collection::vec(child.clone(), 0..4).prop_map(Shape::Seq),
            prop::collection::vec(child, 0..4).prop_map(Shape::Choice),
        ]
    })
}

fn build(shape: &Shape, min: u32, max: Option<u32>, names: &mut Vec<Option<u8>>) -> Particle {
    let term = match shape {
        Shape::Leaf(n) => {
            names.push(*n);
            Term::Leaf(names.len() - 1)
        }
        Shape::Seq(items) => Term::Sequence(
            items
                .iter()
                .map(|(s, a, b)| build(s, *a, *b, names))
                .collect(),
        ),
        Shape::Choice(items) => Term::Choice(
            items
                .iter()
                .map(|(s, a, b)| build(s, *a, *b, names))
                .collect(),
        ),
    };
    Particle::new(min, max, term)
}

fn overlap_of(names: &[Option<u8>]) -> impl Fn(LeafId, LeafId) -> bool + '_ {
    |a, b| match (names[a], names[b]) {
        (Some(x), Some(y)) => x == y,
        _ => true,
    }
}

/// Runs the model over `input`, checking prefixes against the reference as it goes.
fn agree_with_reference(
    p: &Particle,
    names: &[Option<u8>],
    input: &[u8],
) -> Result<(), TestCaseError> {
    let (model, checked) = match ContentModel::compile(p, &overlap_of(names)) {
        Ok(m) => (m, true),
        Err(v) => {
            prop_assert!(v.first < v.second);
            (ContentModel::compile_unchecked(p), false)
        }
    };
    prop_assert_eq!(model.is_emptiable(), ref_accepts(p, names, &[]));
    let mut state = model.start();
    for (k, &c) in input.iter().enumerate() {
        let matches = |leaf: LeafId| names[leaf].is_none_or(|n| n == c);
        let expected = model.expected(&state);
        let before = state.clone();
        match model.step(&mut state, &matches) {
            Ok(leaf) => {
                prop_assert!(matches(leaf));
                prop_assert!(expected.contains(&leaf));
                if checked {
                    // UPA holds: every live configuration attributes the element to the same leaf.
                    for cfg in state.cfgs.as_slice() {
                        prop_assert_eq!(model.positions[cfg.pos as usize].leaf, leaf);
                    }
                }
            }
            Err(()) => {
                prop_assert_eq!(before.cfgs.as_slice(), state.cfgs.as_slice());
                // No short continuation of this prefix can be accepted.
                prop_assert!(!ref_ends_any_from_prefix(p, names, &input[..=k]));
                return Ok(());
            }
        }
        prop_assert_eq!(
            model.can_finish(&state),
            ref_accepts(p, names, &input[..=k]),
            "prefix {:?}",
            &input[..=k]
        );
    }
    Ok(())
}

/// Whether some input starting with `prefix` could be accepted (alphabet 0..3, a few extra symbols).
fn ref_ends_any_from_prefix(p: &Particle, names: &[Option<u8>], prefix: &[u8]) -> bool {
    let mut inputs = vec![prefix.to_vec()];
    for _ in 0..4 {
        if inputs.iter().any(|i| ref_accepts(p, names, i)) {
            return true;
        }
        inputs = inputs
            .iter()
            .flat_map(|i| (0u8..3).map(move |c| [i.as_slice(), &[c]].concat()))
            .collect();
    }
    inputs.iter().any(|i| ref_accepts(p, names, i))
}

/// Whether some input reaches a state where one element could be attributed to two distinct leaves (a
/// concrete witness of a UPA violation). Explores the reachable states exhaustively; counters are small.
fn has_competition(model: &ContentModel, names: &[Option<u8>]) -> bool {
    let key = |s: &MatchState| {
        let mut k: Vec<(u32, Vec<u32>)> = s
            .cfgs
            .as_slice()
            .iter()
            .map(|c| {
                let len = model
                    .positions
                    .get(c.pos as usize)
                    .map_or(0, |p| p.counters.len());
                (
                    c.pos,
                    config_counters(s.ctrs.as_slice(), c.off, len).to_vec(),
                )
            })
            .collect();
        k.sort();
        k
    };
    let mut seen = std::collections::HashSet::new();
    let mut todo = vec![model.start()];
    while let Some(state) = todo.pop() {
        if !seen.insert(key(&state)) || seen.len() > 20_000 {
            continue;
        }
        let next = model.expected(&state);
        for c in 0u8..3 {
            let matches = |leaf: LeafId| names[leaf].is_none_or(|n| n == c);
            if next.iter().filter(|&&l| matches(l)).count() >= 2 {
                return true;
            }
            let mut after = state.clone();
            if model.step(&mut after, &matches).is_ok() {
                todo.push(after);
            }
        }
    }
    false
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn matches_reference(
        s in shape(),
        (min, max) in occurs(),
        input in prop::collection::vec(0u8..3, 0..=6),
    ) {
        let mut names = Vec::new();
        let p = build(&s, min, max, &mut names);
        let model = ContentModel::compile_unchecked(&p);
        let mut state = model.start();
        let mut ok = true;
        for &c in &input {
            if model.step(&mut state, &|leaf| names[leaf].is_none_or(|n| n == c)).is_err() {
                ok = false;
                break;
            }
        }
        let accepted = ok && model.can_finish(&state);
        prop_assert_eq!(accepted, ref_accepts(&p, &names, &input), "model {:?}", p);
        agree_with_reference(&p, &names, &input)?;
    }

    #[test]
    fn reported_violations_are_real(s in shape(), (min, max) in occurs()) {
        let mut names = Vec::new();
        let p = build(&s, min, max, &mut names);
        if ContentModel::compile(&p, &overlap_of(&names)).is_ok() {
            return Ok(());
        }
        let model = ContentModel::compile_unchecked(&p);
        prop_assert!(has_competition(&model, &names), "model {:?}", p);
    }

    #[test]
    fn all_groups_match_reference(
        children in prop::collection::vec((0u8..4, 0u32..=1), 0..5),
        min in 0u32..=1,
        input in prop::collection::vec(0u8..4, 0..=6),
    ) {
        let mut names = Vec::new();
        let items = children.iter().map(|&(n, cmin)| {
            names.push(Some(n));
            Particle::new(cmin, Some(1), Term::Leaf(names.len() - 1))
        }).collect();
        let p = Particle::new(min, Some(1), Term::All(items));
        let Ok(model) = ContentModel::compile(&p, &overlap_of(&names)) else {
            // Overlapping children: the reference check is only meaningful for deterministic groups.
            let dup = children.iter().enumerate().any(|(i, a)| children[i + 1..].iter().any(|b| a.0 == b.0));
            prop_assert!(dup);
            return Ok(());
        };
        let mut state = model.start();
        let mut ok = true;
        for &c in &input {
            if model.step(&mut state, &|leaf| names[leaf] == Some(c)).is_err() {
                ok = false;
                break;
            }
        }
        prop_assert_eq!(ok && model.can_finish(&state), ref_accepts(&p, &names, &input));
    }

    #[test]
    fn never_panics(
        s in shape(),
        (min, max) in (0u32..=4, prop::option::of(0u32..=4)),
        wrap_all in any::<bool>(),
        input in prop::collection::vec(0u8..3, 0..=8),
    ) {
        let mut names = Vec::new();
        let mut p = build(&s, min, max, &mut names);
        if wrap_all {
            names.push(Some(0));
            let extra = Particle::leaf(names.len() - 1);
            p = Particle::new(min, max, Term::All(vec![p, extra]));
        }
        let _ = ContentModel::compile(&p, &overlap_of(&names));
        let model = ContentModel::compile_unchecked(&p);
        let mut state = model.start();
        for &c in &input {
            let _ = model.expected(&state);
            let _ = model.can_finish(&state);
            let _ = model.step(&mut state, &|leaf| names.get(leaf).is_some_and(|n| n.is_none_or(|n| n == c)));
        }
        prop_assert!(state.live_configurations() <= MAX_LIVE_CONFIGURATIONS);
    }
}

#[test]
fn ambiguous_counters_keep_several_configurations() {
    // (b{1,3}, c?){0,10} satisfies UPA (one particle per element) yet "bb" is one or two iterations.
    let mut n = Names::default();
    let p = seq(vec![
        n.l('b').occurs(1, Some(3)),
        n.l('c').occurs(0, Some(1)),
    ])
    .occurs(0, Some(10));
    let m = n.compile(&p).unwrap();
    check(
        &n,
        &m,
        &["", "bbb", "bbbb", "bcbcb", &"b".repeat(30)],
        &[&"b".repeat(31), "cb", "bcc"],
    );
}

#[test]
fn common_case_stays_inline() {
    let mut n = Names::default();
    let p = seq(vec![
        n.l('a'),
        seq(vec![n.l('b').occurs(1, Some(3)), n.l('c')]).occurs(0, Some(10)),
        choice(vec![n.l('d'), n.l('e')]).occurs(2, None),
    ]);
    let m = n.compile(&p).unwrap();
    let mut s = m.start();
    for c in "abbcbbbcbcdede".chars() {
        m.step(&mut s, &n.matcher(c)).unwrap();
        assert!(matches!(s.cfgs, InlineVec::Inline { .. }));
        assert!(matches!(s.ctrs, InlineVec::Inline { .. }));
        assert_eq!(s.live_configurations(), 1, "at {c} {s:?}");
    }
    assert!(m.can_finish(&s));
}

#[test]
fn long_optional_sequence() {
    let mut n = Names::default();
    let names: Vec<char> = (0..500)
        .map(|i| char::from_u32(0x100 + i).unwrap())
        .collect();
    let items: Vec<Particle> = names.iter().map(|&c| n.l(c).occurs(0, Some(1))).collect();
    let m = n.compile(&seq(items)).unwrap();
    let input: String = names.iter().step_by(7).collect();
    assert!(n.accepts(&m, &input));
    let backwards: String = names.iter().rev().step_by(7).collect();
    assert!(!n.accepts(&m, &backwards));
}
