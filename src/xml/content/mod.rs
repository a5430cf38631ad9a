//! XSD content-model matching: compiles a particle tree into a Glushkov position automaton with counters
//! and runs it over a complex type's child elements.
//!
//! Sits between the schema compiler (which builds [`Particle`] trees whose leaves are element declarations
//! or wildcards, identified by opaque [`LeafId`]s) and the streaming validator (which feeds child elements
//! one at a time through [`ContentModel::step`]). The matcher never looks at names: the caller says which
//! leaf an element matches and which leaves overlap.
//!
//! # How it works
//! Every leaf occurrence is a *position*. Every particle whose occurrence range needs remembering gets a
//! *counter*, so `maxOccurs="5000"` costs one counter, not 5000 copies of the body. A transition between two
//! positions carries *actions* on the counters it crosses: it exits the counted nodes between the source and
//! the node where the transition is made (each exit needs `count >= minOccurs` unless the body can match the
//! empty sequence), optionally loops a repeated node (needs `count < maxOccurs`, then increments), and enters
//! the counted nodes down to the target (each set to 1).
//!
//! At run time a [`MatchState`] holds the live *configurations* (a position plus its counters). In a model
//! that passed the Unique Particle Attribution check there is normally exactly one, kept inline without heap
//! allocation. Unchecked models may have several; the set is capped at [`MAX_LIVE_CONFIGURATIONS`], beyond
//! which configurations are dropped and matching may reject content that a perfect matcher would accept.
//!
//! `xs:all` groups in the XSD 1.0 shape (the whole model, `maxOccurs="1"`, element children with
//! `maxOccurs <= 1`) are matched exactly with a seen-bitset. Other `all` groups (nested, repeated, or with
//! group children — the schema compiler rejects these earlier) are approximated as "children in any order,
//! possibly repeated", which never panics but over-accepts.
//!
//! Particles with `maxOccurs="0"` are absent, as XSD says ("corresponds to no component"): they are dropped
//! from their group. A `choice` with no particles matches nothing, not even the empty sequence (as the W3C
//! suite's particlesZ016 and addB054 expect).
//!
//! Compilation recurses over the particle tree, so its stack depth follows the nesting depth of the tree;
//! the schema compiler is expected to bound nesting (as it must when building the tree).

use std::collections::HashMap;
use std::fmt;

/// Identifier of one leaf (element declaration or wildcard occurrence), chosen by the caller.
pub type LeafId = usize;

/// Most configurations one [`MatchState`] keeps live; more are dropped (only unchecked models get there).
pub const MAX_LIVE_CONFIGURATIONS: usize = 1024;

/// A term with an occurrence range, as in XSD's particle component.
#[derive(Clone, Debug)]
pub struct Particle {
    /// `minOccurs`.
    pub min: u32,
    /// `maxOccurs`; `None` is `unbounded`.
    pub max: Option<u32>,
    /// What is repeated.
    pub term: Term,
}

/// The term of a [`Particle`].
#[derive(Clone, Debug)]
pub enum Term {
    /// An element declaration or wildcard, identified by the caller.
    Leaf(LeafId),
    /// `xs:sequence`.
    Sequence(Vec<Particle>),
    /// `xs:choice`.
    Choice(Vec<Particle>),
    /// `xs:all`.
    All(Vec<Particle>),
}

impl Particle {
    /// A particle with the given occurrence range.
    pub fn new(min: u32, max: Option<u32>, term: Term) -> Particle {
        Particle { min, max, term }
    }

    /// A leaf occurring exactly once.
    pub fn leaf(id: LeafId) -> Particle {
        Particle::new(1, Some(1), Term::Leaf(id))
    }

    /// The same term with another occurrence range.
    pub fn occurs(self, min: u32, max: Option<u32>) -> Particle {
        Particle { min, max, ..self }
    }
}

/// Two leaves that violate Unique Particle Attribution (XSD 1.0 Structures §3.8.6, "cos-nonambig"): one
/// element could be attributed to either. `first` precedes `second` in document order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpaViolation {
    /// The leaf earlier in document order.
    pub first: LeafId,
    /// The leaf later in document order.
    pub second: LeafId,
}

impl fmt::Display for UpaViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "content model is not deterministic: leaves {} and {} can both match the same element",
            self.first, self.second
        )
    }
}

impl std::error::Error for UpaViolation {}

/// A compiled content model. Immutable, `Send + Sync`; share it between validations.
#[derive(Clone, Debug)]
pub struct ContentModel {
    counters: Vec<Counter>,
    positions: Vec<Position>,
    /// Interned follow lists: positions with identical outgoing edges share one.
    follows: Vec<Follow>,
    /// Index into `follows` of the edges taken by the first child element.
    start_follow: usize,
    leaves: Vec<LeafId>,
    nullable: bool,
    /// Set when the model is an XSD 1.0 `all` group matched exactly with a seen-bitset.
    all: Option<AllGroup>,
}

/// Runtime matching state for one element's children. Cheap to create and clone; no heap allocation while
/// at most two configurations are live with at most eight counters between them.
#[derive(Clone, Debug)]
pub struct MatchState {
    cfgs: InlineVec<Config, 2>,
    /// Counter values of all configurations; each configuration owns a slice starting at `Config::off`.
    ctrs: InlineVec<u32, 8>,
    /// `all` groups only: which children have been seen.
    seen: InlineVec<u64, 2>,
}

impl MatchState {
    /// How many configurations are live (1 for any UPA-checked model not using overlapping repetitions).
    pub fn live_configurations(&self) -> usize {
        self.cfgs.len()
    }
}

/// A counted particle: one whose occurrence count must be remembered.
#[derive(Clone, Copy, Debug)]
struct Counter {
    min: u32,
    max: Option<u32>,
    /// When the body matches the empty sequence, missing iterations can be empty, so exits need no check.
    nullable_term: bool,
}

impl Counter {
    /// Whether leaving the node never depends on its count (counts start at 1).
    fn exit_free(&self) -> bool {
        self.nullable_term || self.min <= 1
    }

    fn exit_ok(&self, value: u32) -> bool {
        self.exit_free() || value >= self.min
    }

    fn loop_ok(&self, value: u32) -> bool {
        self.max.is_none_or(|max| value < max)
    }

    fn bumped(&self, value: u32) -> u32 {
        match self.max {
            Some(_) => value.saturating_add(1),
            // Unbounded: only `count >= min` matters, so saturating keeps configurations finite.
            None => value.saturating_add(1).min(self.min.max(1)),
        }
    }
}

#[derive(Clone, Debug)]
struct Position {
    leaf: LeafId,
    /// Counters of the counted ancestors-or-self of this position, outermost first. A configuration at this
    /// position holds one value per entry.
    counters: Vec<u32>,
    /// Whether the content may end after this position (subject to exit checks on all counters).
    finish: bool,
    follow: usize,
}

/// The outgoing transitions of a position, flat so that quadratic Glushkov follow sets stay compact.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct Follow {
    /// In target (document) order.
    edges: Vec<Edge>,
    actions: Vec<Action>,
}

impl Follow {
    /// Alternative ways to make one step (e.g. within one iteration, or by starting the next one).
    fn actions(&self, edge: &Edge) -> &[Action] {
        self.actions
            .get(edge.start as usize..edge.end as usize)
            .unwrap_or(&[])
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Edge {
    target: u32,
    /// Range of this edge's actions in `Follow::actions`.
    start: u32,
    end: u32,
}

/// Counter actions of one transition, relative to the source position's counter list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Action {
    /// Counters `[..keep]` belong to nodes enclosing the transition and are carried over; counters
    /// `[keep..]` of the source are exited (with min checks); the target's counters `[keep..]` are entered.
    keep: u32,
    /// Index (< keep) of the counter of the node this transition loops, if that node is counted.
    bump: Option<u32>,
}

#[derive(Clone, Debug)]
struct AllGroup {
    /// Per position (= per child, in order): whether the child is required.
    required: Vec<bool>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Config {
    pos: u32,
    off: u32,
}

static EMPTY_FOLLOW: Follow = Follow {
    edges: Vec::new(),
    actions: Vec::new(),
};

/// Pseudo-position of the configuration before the first child element.
const START: u32 = u32::MAX;

impl ContentModel {
    /// Compile. `overlap(a, b)` says whether leaves `a` and `b` could both match one element. Errors on a
    /// Unique Particle Attribution violation.
    pub fn compile(
        root: &Particle,
        overlap: &dyn Fn(LeafId, LeafId) -> bool,
    ) -> Result<ContentModel, UpaViolation> {
        let model = ContentModel::compile_unchecked(root);
        model.check_upa(overlap)?;
        Ok(model)
    }

    /// Compile without the UPA check (for models that are only compared, never run, or to report other
    /// errors first). Running such a model attributes an element to the first matching leaf in document
    /// order.
    pub fn compile_unchecked(root: &Particle) -> ContentModel {
        let mut b = Builder::default();
        let root_node = b.add(root, None);
        let all = root_node.and_then(|r| b.exact_all(root, r));
        let nullable = root_node.is_none_or(|r| b.nodes[r].nullable);
        let positions_len = b.leaves.len();
        // triples[src]: (target, action) pairs; src == positions_len is the start.
        let mut triples: Vec<Vec<(u32, Action)>> = vec![Vec::new(); positions_len + 1];
        let mut finish = vec![false; positions_len];
        if let Some(r) = root_node {
            b.transitions(&mut triples);
            for &q in &b.nodes[r].first {
                if let Some(t) = triples.get_mut(positions_len) {
                    t.push((
                        q,
                        Action {
                            keep: 0,
                            bump: None,
                        },
                    ));
                }
            }
            for &p in &b.nodes[r].last {
                if let Some(f) = finish.get_mut(p as usize) {
                    *f = true;
                }
            }
        }
        let mut interned: HashMap<Follow, usize> = HashMap::new();
        let mut follow_of: Vec<usize> = Vec::with_capacity(triples.len());
        for mut list in triples {
            list.sort_by_key(|&(q, a)| (q, a.keep, a.bump));
            list.dedup();
            let mut follow = Follow::default();
            for (q, a) in list {
                let end = u32::try_from(follow.actions.len() + 1).unwrap_or(u32::MAX);
                follow.actions.push(a);
                match follow.edges.last_mut() {
                    Some(e) if e.target == q => e.end = end,
                    _ => follow.edges.push(Edge {
                        target: q,
                        start: end.saturating_sub(1),
                        end,
                    }),
                }
            }
            let next = interned.len();
            follow_of.push(*interned.entry(follow).or_insert(next));
        }
        let mut follows = vec![Follow::default(); interned.len().max(1)];
        for (follow, idx) in interned {
            if let Some(slot) = follows.get_mut(idx) {
                *slot = follow;
            }
        }
        let start_follow = follow_of.get(positions_len).copied().unwrap_or(0);
        let positions = b
            .leaf_nodes
            .iter()
            .enumerate()
            .map(|(p, &node)| Position {
                leaf: b.leaves.get(p).copied().unwrap_or_default(),
                counters: b.counter_path(node),
                finish: finish.get(p).copied().unwrap_or(false),
                follow: follow_of.get(p).copied().unwrap_or(start_follow),
            })
            .collect();
        ContentModel {
            counters: b.counters,
            positions,
            follows,
            start_follow,
            leaves: b.leaves,
            nullable,
            all,
        }
    }

    /// A fresh state, before the first child element.
    pub fn start(&self) -> MatchState {
        let mut cfgs = InlineVec::new();
        cfgs.push(Config { pos: START, off: 0 });
        let mut seen = InlineVec::new();
        if self.all.is_some() {
            for _ in 0..self.positions.len().div_ceil(64) {
                seen.push(0);
            }
        }
        MatchState {
            cfgs,
            ctrs: InlineVec::new(),
            seen,
        }
    }

    /// Feed one child element: `matches(leaf)` says whether the element matches that leaf. Returns the leaf
    /// the element is attributed to; on no match returns `Err(())` and leaves `state` unchanged, so
    /// validation can report and continue. If several leaves match (possible only in unchecked models), the
    /// first in document order is returned, while matching goes on along all of them.
    #[allow(clippy::result_unit_err)]
    pub fn step(
        &self,
        state: &mut MatchState,
        matches: &dyn Fn(LeafId) -> bool,
    ) -> Result<LeafId, ()> {
        if self.all.is_some() {
            return self.step_all(state, matches);
        }
        if let Some(leaf) = self.step_one(state, matches) {
            return leaf;
        }
        let mut cfgs: InlineVec<Config, 2> = InlineVec::new();
        let mut ctrs: InlineVec<u32, 8> = InlineVec::new();
        let mut memo: InlineVec<(u32, bool), 8> = InlineVec::new();
        let mut tmp: InlineVec<u32, 8> = InlineVec::new();
        let mut best: Option<u32> = None;
        let several = state.cfgs.len() > 1;
        for cfg in state.cfgs.as_slice() {
            let (nodes, follow) = self.source(cfg.pos);
            let src = config_counters(state.ctrs.as_slice(), cfg.off, nodes.len());
            for edge in &follow.edges {
                let Some(target) = self.positions.get(edge.target as usize) else {
                    continue;
                };
                // With one configuration (the usual case) each target is asked once anyway; the memo only
                // saves repeated questions across configurations.
                let hit = if !several {
                    matches(target.leaf)
                } else if let Some(&(_, hit)) =
                    memo.as_slice().iter().find(|(t, _)| *t == edge.target)
                {
                    hit
                } else {
                    let hit = matches(target.leaf);
                    memo.push((edge.target, hit));
                    hit
                };
                if !hit {
                    continue;
                }
                for &action in follow.actions(edge) {
                    if !self.action_ok(nodes, src, action) {
                        continue;
                    }
                    tmp.clear();
                    self.apply(nodes, src, action, target.counters.len(), &mut tmp);
                    self.insert(&mut cfgs, &mut ctrs, edge.target, tmp.as_slice());
                    best = Some(best.map_or(edge.target, |b| b.min(edge.target)));
                }
            }
        }
        let leaf = best
            .and_then(|b| self.positions.get(b as usize))
            .map(|p| p.leaf)
            .ok_or(())?;
        state.cfgs = cfgs;
        state.ctrs = ctrs;
        Ok(leaf)
    }

    /// The usual step, taken directly: one live configuration, no counters on either side of its
    /// edges, and at most one edge matching (a UPA-checked model never has two). `None` leaves the
    /// step to the general path, which gives the same answer with more bookkeeping.
    fn step_one(
        &self,
        state: &mut MatchState,
        matches: &dyn Fn(LeafId) -> bool,
    ) -> Option<Result<LeafId, ()>> {
        let &[cfg] = state.cfgs.as_slice() else {
            return None;
        };
        let (nodes, follow) = self.source(cfg.pos);
        if !nodes.is_empty() {
            return None;
        }
        let mut hit: Option<(u32, LeafId)> = None;
        for edge in &follow.edges {
            let target = self.positions.get(edge.target as usize)?;
            if !matches(target.leaf) {
                continue;
            }
            if hit.is_some() || !target.counters.is_empty() {
                return None;
            }
            hit = Some((edge.target, target.leaf));
        }
        Some(match hit {
            Some((pos, leaf)) => {
                state.cfgs = InlineVec::new();
                state.cfgs.push(Config { pos, off: 0 });
                state.ctrs = InlineVec::new();
                Ok(leaf)
            }
            None => Err(()),
        })
    }

    /// Whether the content may end here.
    pub fn can_finish(&self, state: &MatchState) -> bool {
        if let Some(all) = &self.all {
            let seen_any = state.seen.as_slice().iter().any(|&w| w != 0);
            if !seen_any {
                return self.nullable;
            }
            return all
                .required
                .iter()
                .enumerate()
                .all(|(i, &req)| !req || bit(state.seen.as_slice(), i));
        }
        state.cfgs.as_slice().iter().any(|cfg| {
            if cfg.pos == START {
                return self.nullable;
            }
            let Some(p) = self.positions.get(cfg.pos as usize) else {
                return false;
            };
            let src = config_counters(state.ctrs.as_slice(), cfg.off, p.counters.len());
            p.finish
                && self.action_ok(
                    &p.counters,
                    src,
                    Action {
                        keep: 0,
                        bump: None,
                    },
                )
        })
    }

    /// Leaves that could come next (for "expected one of ..." messages), deduplicated, in document order.
    pub fn expected(&self, state: &MatchState) -> Vec<LeafId> {
        let mut targets: Vec<u32> = Vec::new();
        if self.all.is_some() {
            targets.extend(
                (0..self.positions.len())
                    .filter(|&i| !bit(state.seen.as_slice(), i))
                    .filter_map(|i| u32::try_from(i).ok()),
            );
        } else {
            for cfg in state.cfgs.as_slice() {
                let (nodes, follow) = self.source(cfg.pos);
                let src = config_counters(state.ctrs.as_slice(), cfg.off, nodes.len());
                for edge in &follow.edges {
                    if follow
                        .actions(edge)
                        .iter()
                        .any(|&a| self.action_ok(nodes, src, a))
                    {
                        targets.push(edge.target);
                    }
                }
            }
            targets.sort_unstable();
            targets.dedup();
        }
        let mut out: Vec<LeafId> = Vec::new();
        for t in targets {
            if let Some(p) = self.positions.get(t as usize)
                && !out.contains(&p.leaf)
            {
                out.push(p.leaf);
            }
        }
        out
    }

    /// Whether the model accepts empty content (XSD "Particle Emptiable").
    pub fn is_emptiable(&self) -> bool {
        self.nullable
    }

    /// All leaves in the model in document order (for "Element Declarations Consistent" checks).
    pub fn leaves(&self) -> &[LeafId] {
        &self.leaves
    }

    fn step_all(
        &self,
        state: &mut MatchState,
        matches: &dyn Fn(LeafId) -> bool,
    ) -> Result<LeafId, ()> {
        for (i, p) in self.positions.iter().enumerate() {
            if bit(state.seen.as_slice(), i) || !matches(p.leaf) {
                continue;
            }
            if let Some(word) = state.seen.as_mut_slice().get_mut(i / 64) {
                *word |= 1u64 << (i % 64);
            }
            return Ok(p.leaf);
        }
        Err(())
    }

    /// Counter list and outgoing edges of a configuration's position.
    fn source(&self, pos: u32) -> (&[u32], &Follow) {
        let (nodes, follow): (&[u32], usize) = if pos == START {
            (&[], self.start_follow)
        } else {
            match self.positions.get(pos as usize) {
                Some(p) => (&p.counters, p.follow),
                None => (&[], usize::MAX),
            }
        };
        match self.follows.get(follow) {
            Some(f) => (nodes, f),
            None => (&[], &EMPTY_FOLLOW),
        }
    }

    fn counter(&self, idx: u32) -> Counter {
        self.counters.get(idx as usize).copied().unwrap_or(Counter {
            min: 0,
            max: None,
            nullable_term: true,
        })
    }

    /// Whether `action` may be taken from a configuration with counters `src` (on counter nodes `nodes`).
    fn action_ok(&self, nodes: &[u32], src: &[u32], action: Action) -> bool {
        let keep = action.keep as usize;
        if let Some(b) = action.bump {
            let (Some(&node), Some(&value)) = (nodes.get(b as usize), src.get(b as usize)) else {
                return false;
            };
            if !self.counter(node).loop_ok(value) {
                return false;
            }
        }
        nodes
            .iter()
            .zip(src)
            .skip(keep)
            .all(|(&node, &value)| self.counter(node).exit_ok(value))
    }

    /// The target's counter values after `action`: carried-over prefix, bumped loop counter, entered ones.
    fn apply(
        &self,
        nodes: &[u32],
        src: &[u32],
        action: Action,
        target_len: usize,
        out: &mut InlineVec<u32, 8>,
    ) {
        let keep = (action.keep as usize).min(target_len);
        for (i, &value) in src.iter().take(keep).enumerate() {
            let value = match (action.bump, nodes.get(i)) {
                (Some(b), Some(&node)) if b as usize == i => self.counter(node).bumped(value),
                _ => value,
            };
            out.push(value);
        }
        while out.len() < target_len {
            out.push(1);
        }
    }

    /// `a` is at least as good as `b` for every future: equal counters, except that a lower count is never
    /// worse where exits are unchecked (nullable body or `minOccurs <= 1`): loops only need headroom.
    fn dominates(&self, nodes: &[u32], a: &[u32], b: &[u32]) -> bool {
        a.len() == b.len()
            && nodes.iter().zip(a.iter().zip(b)).all(|(&node, (&x, &y))| {
                if self.counter(node).exit_free() {
                    x <= y
                } else {
                    x == y
                }
            })
    }

    /// Add a configuration to the next live set, keeping the set free of dominated configurations.
    fn insert(
        &self,
        cfgs: &mut InlineVec<Config, 2>,
        ctrs: &mut InlineVec<u32, 8>,
        pos: u32,
        vals: &[u32],
    ) {
        let nodes = self
            .positions
            .get(pos as usize)
            .map_or(&[][..], |p| &p.counters[..]);
        let mut replaced = false;
        let mut i = 0;
        while let Some(&c) = cfgs.as_slice().get(i) {
            if c.pos == pos {
                let existing = config_counters(ctrs.as_slice(), c.off, vals.len());
                if self.dominates(nodes, existing, vals) {
                    return;
                }
                if self.dominates(nodes, vals, existing) {
                    if replaced {
                        cfgs.swap_remove(i);
                        continue;
                    }
                    let start = c.off as usize;
                    if let Some(slot) = ctrs.as_mut_slice().get_mut(start..start + vals.len()) {
                        slot.copy_from_slice(vals);
                    }
                    replaced = true;
                }
            }
            i += 1;
        }
        if replaced || cfgs.len() >= MAX_LIVE_CONFIGURATIONS {
            return;
        }
        let Ok(off) = u32::try_from(ctrs.len()) else {
            return;
        };
        ctrs.extend_from_slice(vals);
        cfgs.push(Config { pos, off });
    }

    fn check_upa(&self, overlap: &dyn Fn(LeafId, LeafId) -> bool) -> Result<(), UpaViolation> {
        // Positions no input reaches (e.g. after an empty choice) compete for nothing.
        let mut reachable = vec![false; self.positions.len()];
        let mut todo: Vec<usize> = vec![self.start_follow];
        while let Some(follow) = todo.pop() {
            for edge in self.follows.get(follow).map_or(&[][..], |f| &f.edges[..]) {
                if let Some(seen) = reachable.get_mut(edge.target as usize)
                    && !*seen
                {
                    *seen = true;
                    todo.extend(self.positions.get(edge.target as usize).map(|p| p.follow));
                }
            }
        }
        let mut checked: std::collections::HashSet<(&[u32], usize)> = Default::default();
        let sources = std::iter::once((&[][..], self.start_follow)).chain(
            self.positions
                .iter()
                .zip(&reachable)
                .filter(|(_, r)| **r)
                .map(|(p, _)| (&p.counters[..], p.follow)),
        );
        for (nodes, follow) in sources {
            if !checked.insert((nodes, follow)) {
                continue;
            }
            let Some(f) = self.follows.get(follow) else {
                continue;
            };
            for (i, e1) in f.edges.iter().enumerate() {
                let Some(l1) = self.positions.get(e1.target as usize).map(|p| p.leaf) else {
                    continue;
                };
                for e2 in f.edges.iter().skip(i + 1) {
                    let Some(l2) = self.positions.get(e2.target as usize).map(|p| p.leaf) else {
                        continue;
                    };
                    if l1 == l2 || !(overlap(l1, l2) || overlap(l2, l1)) {
                        continue;
                    }
                    let compatible = f.actions(e1).iter().any(|&a1| {
                        f.actions(e2)
                            .iter()
                            .any(|&a2| !self.exclusive(nodes, a1, a2))
                    });
                    if compatible {
                        return Err(UpaViolation {
                            first: l1,
                            second: l2,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether no counter values let both actions be taken from the same configuration.
    fn exclusive(&self, nodes: &[u32], a1: Action, a2: Action) -> bool {
        nodes.iter().enumerate().any(|(i, &node)| {
            let (lo1, hi1) = self.condition(node, i, a1);
            let (lo2, hi2) = self.condition(node, i, a2);
            lo1.max(lo2) > hi1.min(hi2)
        })
    }

    /// The range of counter `i` (on `node`) under which `action` may be taken.
    fn condition(&self, node: u32, i: usize, action: Action) -> (u32, u32) {
        let c = self.counter(node);
        let mut range = (1, u32::MAX);
        if action.bump.is_some_and(|b| b as usize == i)
            && let Some(max) = c.max
        {
            range.1 = max.saturating_sub(1);
        }
        if i >= action.keep as usize && !c.exit_free() {
            range.0 = range.0.max(c.min);
        }
        range
    }
}

fn config_counters(ctrs: &[u32], off: u32, len: usize) -> &[u32] {
    let start = off as usize;
    ctrs.get(start..start.saturating_add(len)).unwrap_or(&[])
}

fn bit(words: &[u64], i: usize) -> bool {
    words
        .get(i / 64)
        .is_some_and(|w| w & (1u64 << (i % 64)) != 0)
}

/// Compile-time tree of particles with Glushkov sets.
#[derive(Default)]
struct Builder {
    nodes: Vec<Node>,
    counters: Vec<Counter>,
    leaves: Vec<LeafId>,
    /// Node of each position.
    leaf_nodes: Vec<usize>,
}

struct Node {
    max: Option<u32>,
    kind: Kind,
    parent: Option<usize>,
    nullable: bool,
    first: Vec<u32>,
    last: Vec<u32>,
    counter: Option<u32>,
    /// Number of counted nodes among this node and its ancestors.
    counted_depth: u32,
}

enum Kind {
    Leaf,
    Sequence(Vec<usize>),
    /// Choices add no transitions of their own: their children's first and last sets suffice.
    Choice,
    All(Vec<usize>),
}

impl Builder {
    /// Add a particle and its descendants; `None` when it is absent (`maxOccurs="0"`).
    fn add(&mut self, p: &Particle, parent: Option<usize>) -> Option<usize> {
        if p.max == Some(0) {
            return None;
        }
        let id = self.nodes.len();
        let parent_depth = parent
            .and_then(|q| self.nodes.get(q))
            .map_or(0, |n| n.counted_depth);
        self.nodes.push(Node {
            max: p.max,
            kind: Kind::Leaf,
            parent,
            nullable: false,
            first: Vec::new(),
            last: Vec::new(),
            counter: None,
            counted_depth: parent_depth,
        });
        // Counted nodes must be known before children, whose counter paths include them.
        let (kind, term_nullable, first, last) = match &p.term {
            Term::Leaf(leaf) => {
                let pos = u32::try_from(self.leaves.len()).unwrap_or(u32::MAX);
                self.leaves.push(*leaf);
                self.leaf_nodes.push(id);
                self.set_counter(id, p, false);
                (Kind::Leaf, false, vec![pos], vec![pos])
            }
            Term::Sequence(items) | Term::Choice(items) | Term::All(items) => {
                // Whether the body is nullable decides countedness, so compute it before the children.
                let term_nullable = term_nullable(&p.term);
                self.set_counter(id, p, term_nullable);
                let children: Vec<usize> =
                    items.iter().filter_map(|c| self.add(c, Some(id))).collect();
                let (first, last) = self.first_last(&p.term, &children);
                let kind = match &p.term {
                    Term::Sequence(_) => Kind::Sequence(children),
                    Term::Choice(_) => Kind::Choice,
                    _ => Kind::All(children),
                };
                (kind, term_nullable, first, last)
            }
        };
        if let Some(node) = self.nodes.get_mut(id) {
            node.kind = kind;
            node.nullable = p.min == 0 || term_nullable;
            node.first = first;
            node.last = last;
        }
        Some(id)
    }

    fn set_counter(&mut self, id: usize, p: &Particle, nullable_term: bool) {
        // Nodes whose count can never matter get no counter: at most one occurrence with min <= 1, or
        // unbounded with nothing to check on exit.
        let needless = match p.max {
            Some(max) => max <= 1 && p.min <= 1,
            None => p.min <= 1 || nullable_term,
        };
        if needless {
            return;
        }
        let idx = u32::try_from(self.counters.len()).unwrap_or(u32::MAX);
        self.counters.push(Counter {
            min: p.min,
            max: p.max,
            nullable_term,
        });
        if let Some(node) = self.nodes.get_mut(id) {
            node.counter = Some(idx);
            node.counted_depth += 1;
        }
    }

    fn nullable(&self, id: usize) -> bool {
        self.nodes.get(id).is_some_and(|n| n.nullable)
    }

    fn first_last(&self, term: &Term, children: &[usize]) -> (Vec<u32>, Vec<u32>) {
        let mut first = Vec::new();
        let mut last = Vec::new();
        let get = |c: usize| self.nodes.get(c);
        match term {
            Term::Sequence(_) => {
                for &c in children {
                    first.extend(get(c).map_or(&[][..], |n| &n.first[..]));
                    if !self.nullable(c) {
                        break;
                    }
                }
                for &c in children.iter().rev() {
                    last.extend(get(c).map_or(&[][..], |n| &n.last[..]));
                    if !self.nullable(c) {
                        break;
                    }
                }
            }
            _ => {
                for &c in children {
                    if let Some(n) = get(c) {
                        first.extend(&n.first);
                        last.extend(&n.last);
                    }
                }
            }
        }
        first.sort_unstable();
        first.dedup();
        last.sort_unstable();
        last.dedup();
        (first, last)
    }

    /// Counter indices on the path from the root down to `node`, outermost first.
    fn counter_path(&self, node: usize) -> Vec<u32> {
        let mut path = Vec::new();
        let mut cur = Some(node);
        while let Some(n) = cur.and_then(|c| self.nodes.get(c)) {
            if let Some(c) = n.counter {
                path.push(c);
            }
            cur = n.parent;
        }
        path.reverse();
        path
    }

    /// Record every position-to-position transition, grouped by source position.
    fn transitions(&self, out: &mut [Vec<(u32, Action)>]) {
        let mut push = |p: u32, q: u32, a: Action| {
            if let Some(list) = out.get_mut(p as usize) {
                list.push((q, a));
            }
        };
        for node in &self.nodes {
            let within = Action {
                keep: node.counted_depth,
                bump: None,
            };
            let set = |c: usize, first: bool| {
                self.nodes
                    .get(c)
                    .map_or(&[][..], |n| if first { &n.first[..] } else { &n.last[..] })
            };
            match &node.kind {
                Kind::Leaf => {}
                Kind::Sequence(children) => {
                    for (i, &ci) in children.iter().enumerate() {
                        for &cj in children.iter().skip(i + 1) {
                            for &p in set(ci, false) {
                                for &q in set(cj, true) {
                                    push(p, q, within);
                                }
                            }
                            if !self.nullable(cj) {
                                break;
                            }
                        }
                    }
                }
                Kind::Choice => {}
                Kind::All(children) => {
                    // Approximation for `all` groups not matched by the seen-bitset: any other child next.
                    for (i, &ci) in children.iter().enumerate() {
                        for (j, &cj) in children.iter().enumerate() {
                            if i == j {
                                continue;
                            }
                            for &p in set(ci, false) {
                                for &q in set(cj, true) {
                                    push(p, q, within);
                                }
                            }
                        }
                    }
                }
            }
            if node.max.is_none_or(|m| m > 1) {
                let looping = Action {
                    keep: node.counted_depth,
                    bump: node.counter.map(|_| node.counted_depth.saturating_sub(1)),
                };
                for &p in &node.last {
                    for &q in &node.first {
                        push(p, q, looping);
                    }
                }
            }
        }
    }

    /// The exact `all` matcher applies to an XSD 1.0 `all`: the whole model, at most once, over element
    /// children occurring at most once.
    fn exact_all(&self, root: &Particle, root_node: usize) -> Option<AllGroup> {
        let Term::All(items) = &root.term else {
            return None;
        };
        if root.max != Some(1) {
            return None;
        }
        let present: Vec<&Particle> = items.iter().filter(|c| c.max != Some(0)).collect();
        let simple = present
            .iter()
            .all(|c| matches!(c.term, Term::Leaf(_)) && c.max == Some(1));
        if !simple || present.len() != self.leaves.len() || root_node != 0 {
            return None;
        }
        Some(AllGroup {
            required: present.iter().map(|c| c.min >= 1).collect(),
        })
    }
}

/// Whether a term matches the empty sequence (ignoring its own occurrence range).
fn term_nullable(term: &Term) -> bool {
    let nullable = |p: &Particle| p.min == 0 || term_nullable(&p.term);
    match term {
        Term::Leaf(_) => false,
        Term::Sequence(items) | Term::All(items) => {
            items.iter().filter(|p| p.max != Some(0)).all(nullable)
        }
        Term::Choice(items) => items.iter().filter(|p| p.max != Some(0)).any(nullable),
    }
}

/// A vector that stores up to `N` items inline and moves to the heap beyond that.
#[derive(Clone, Debug)]
enum InlineVec<T: Copy + Default, const N: usize> {
    Inline { len: usize, buf: [T; N] },
    Heap(Vec<T>),
}

impl<T: Copy + Default, const N: usize> InlineVec<T, N> {
    fn new() -> Self {
        InlineVec::Inline {
            len: 0,
            buf: [T::default(); N],
        }
    }

    fn as_slice(&self) -> &[T] {
        match self {
            InlineVec::Inline { len, buf } => buf.get(..*len).unwrap_or(&[]),
            InlineVec::Heap(v) => v,
        }
    }

    fn as_mut_slice(&mut self) -> &mut [T] {
        match self {
            InlineVec::Inline { len, buf } => buf.get_mut(..*len).unwrap_or(&mut []),
            InlineVec::Heap(v) => v,
        }
    }

    fn len(&self) -> usize {
        self.as_slice().len()
    }

    fn clear(&mut self) {
        match self {
            InlineVec::Inline { len, .. } => *len = 0,
            InlineVec::Heap(v) => v.clear(),
        }
    }

    fn push(&mut self, x: T) {
        match self {
            InlineVec::Inline { len, buf } => {
                if let Some(slot) = buf.get_mut(*len) {
                    *slot = x;
                    *len += 1;
                } else {
                    let mut v = Vec::with_capacity(2 * N.max(1));
                    v.extend_from_slice(buf);
                    v.push(x);
                    *self = InlineVec::Heap(v);
                }
            }
            InlineVec::Heap(v) => v.push(x),
        }
    }

    fn extend_from_slice(&mut self, xs: &[T]) {
        for &x in xs {
            self.push(x);
        }
    }

    fn swap_remove(&mut self, i: usize) {
        match self {
            InlineVec::Inline { len, buf } => {
                if i < *len {
                    buf.swap(i, *len - 1);
                    *len -= 1;
                }
            }
            InlineVec::Heap(v) => {
                if i < v.len() {
                    v.swap_remove(i);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
