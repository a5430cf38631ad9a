//! Fault injection for the mock registries: what to break, for which calls, how often — and the
//! decision, per call or per connection, of what breaks now. The plan is data (TOML at start, JSON
//! through the admin endpoint, the same shape both ways); turning a decision into bytes on the wire is
//! the server's job ([`super::server`]).
//!
//! A registry's rules are tried in order for every call. A rule matches when its operation (if any)
//! is the call's; it fires for its `share` of matching calls (seeded, so a run repeats) and at most
//! `times` times. Latency rules add up and let the next rule be tried; the first other rule that fires
//! decides the call. So "fail twice, then answer" is one rule with `times = 2`, and "a 500, then a
//! reset, then answers" is two rules with `times = 1` each.
//!
//! Two kinds act on connections rather than calls: `tls_handshake` (share and times count
//! connections) and `refuse`, which closes the registry's listener for `duration_ms` from the moment
//! the rule is set. That window is measured by the mock's [`Clock`] (the one its token lifetimes
//! use), so a test ends it by moving the clock instead of sleeping through it.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::clock::Clock;
use crate::contract::{Operation, Registry};

/// What a rule breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Added delay before the answer: `fixed_ms` plus a uniform random part up to `random_ms`.
    Latency,
    /// HTTP 500 with a SOAP Fault `soap:Server`, detail code `INTERNAL_ERROR` (retryable).
    ServerFault,
    /// HTTP 503 with an HTML page, as a front proxy sends it; `Retry-After` when `retry_after_s` is set.
    Unavailable,
    /// HTTP 429 with `Retry-After: retry_after_s` (1 s unless set) and a SOAP Fault `soap:Server`,
    /// detail code `RATE_LIMITED`.
    TooManyRequests,
    /// The status line, headers and part of the body, then a TCP reset.
    ConnectionReset,
    /// `Content-Length` of the whole answer, half of it sent, then the connection closed.
    TruncatedBody,
    /// HTTP 200 whose body is not well-formed XML.
    MalformedXml,
    /// HTTP 200 with a well-formed envelope that the schema rejects.
    SchemaInvalid,
    /// The real answer, dripped out over `duration_ms`.
    SlowBody,
    /// The registry's token-expired fault (`soap:Client`, detail code `TOKEN_EXPIRED`), whatever
    /// the token.
    ExpiredToken,
    /// No answer at all until the client gives up (or the mock stops).
    Hang,
    /// A fatal `handshake_failure` alert in answer to the ClientHello.
    TlsHandshake,
    /// The listener closed for `duration_ms`: connections are refused.
    Refuse,
}

impl FaultKind {
    /// Every kind.
    pub const ALL: [FaultKind; 13] = [
        FaultKind::Latency,
        FaultKind::ServerFault,
        FaultKind::Unavailable,
        FaultKind::TooManyRequests,
        FaultKind::ConnectionReset,
        FaultKind::TruncatedBody,
        FaultKind::MalformedXml,
        FaultKind::SchemaInvalid,
        FaultKind::SlowBody,
        FaultKind::ExpiredToken,
        FaultKind::Hang,
        FaultKind::TlsHandshake,
        FaultKind::Refuse,
    ];

    /// The name used in plans and counters.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Latency => "latency",
            FaultKind::ServerFault => "server_fault",
            FaultKind::Unavailable => "unavailable",
            FaultKind::TooManyRequests => "too_many_requests",
            FaultKind::ConnectionReset => "connection_reset",
            FaultKind::TruncatedBody => "truncated_body",
            FaultKind::MalformedXml => "malformed_xml",
            FaultKind::SchemaInvalid => "schema_invalid",
            FaultKind::SlowBody => "slow_body",
            FaultKind::ExpiredToken => "expired_token",
            FaultKind::Hang => "hang",
            FaultKind::TlsHandshake => "tls_handshake",
            FaultKind::Refuse => "refuse",
        }
    }

    /// Kinds that act on connections, before any call is read.
    pub fn is_connection_level(self) -> bool {
        matches!(self, FaultKind::TlsHandshake | FaultKind::Refuse)
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn all_calls() -> f64 {
    1.0
}

fn is_all_calls(share: &f64) -> bool {
    *share == 1.0
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// One rule of a registry's plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// What it breaks.
    pub kind: FaultKind,
    /// Only calls of this operation (its WSDL name, e.g. `VerifySnils`); every call when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// The share of matching calls (or connections) it fires for, 0 to 1.
    #[serde(default = "all_calls", skip_serializing_if = "is_all_calls")]
    pub share: f64,
    /// Fire at most this many times, then the rule is spent (and dropped from the plan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    /// `latency`: the fixed part, milliseconds.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub fixed_ms: u64,
    /// `latency`: the upper bound of the random part, milliseconds.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub random_ms: u64,
    /// `too_many_requests`, `unavailable`: the `Retry-After` seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<u64>,
    /// `slow_body`: how long the body takes; `refuse`: how long the listener stays closed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub duration_ms: u64,
}

impl Rule {
    /// A rule of `kind` for every call, with no parameters set.
    pub fn new(kind: FaultKind) -> Rule {
        Rule {
            kind,
            operation: None,
            share: 1.0,
            times: None,
            fixed_ms: 0,
            random_ms: 0,
            retry_after_s: None,
            duration_ms: 0,
        }
    }

    /// Limit it to one operation.
    pub fn operation(mut self, operation: Operation) -> Rule {
        self.operation = Some(operation.name().to_string());
        self
    }

    /// Fire for this share of matching calls.
    pub fn share(mut self, share: f64) -> Rule {
        self.share = share;
        self
    }

    /// Fire at most `n` times.
    pub fn times(mut self, n: u64) -> Rule {
        self.times = Some(n);
        self
    }

    /// Set `duration_ms` (slow body, refuse).
    pub fn duration(mut self, d: Duration) -> Rule {
        self.duration_ms = d.as_millis() as u64;
        self
    }

    /// Set the latency parts.
    pub fn latency(mut self, fixed_ms: u64, random_ms: u64) -> Rule {
        self.fixed_ms = fixed_ms;
        self.random_ms = random_ms;
        self
    }

    /// Set `Retry-After`.
    pub fn retry_after(mut self, seconds: u64) -> Rule {
        self.retry_after_s = Some(seconds);
        self
    }

    /// Check the rule for `registry`: the operation is one of its own, the share is a share, and the
    /// kind has the parameters it needs and no others. The error names the field.
    fn check(&self, registry: Registry) -> Result<Option<Operation>, String> {
        let kind = self.kind;
        if !(0.0..=1.0).contains(&self.share) {
            return Err(format!("share: {} is not between 0 and 1", self.share));
        }
        let operation = match &self.operation {
            None => None,
            Some(_) if kind.is_connection_level() => {
                return Err(format!(
                    "operation: {kind} acts on connections, before any operation is known"
                ));
            }
            Some(name) => {
                let op = Operation::ALL
                    .into_iter()
                    .find(|op| op.registry() == registry && op.name() == name);
                match op {
                    Some(op) => Some(op),
                    None => {
                        let offered: Vec<_> = Operation::ALL
                            .into_iter()
                            .filter(|op| op.registry() == registry)
                            .map(Operation::name)
                            .collect();
                        return Err(format!(
                            "operation: '{name}' is not an operation of the {registry} registry ({})",
                            offered.join(", ")
                        ));
                    }
                }
            }
        };
        let latency = kind == FaultKind::Latency;
        if latency && self.fixed_ms == 0 && self.random_ms == 0 {
            return Err("fixed_ms: latency needs fixed_ms or random_ms".to_string());
        }
        if !latency && (self.fixed_ms != 0 || self.random_ms != 0) {
            return Err(format!("fixed_ms: only latency takes it, not {kind}"));
        }
        let timed = matches!(kind, FaultKind::SlowBody | FaultKind::Refuse);
        if timed && self.duration_ms == 0 {
            return Err(format!("duration_ms: {kind} needs a duration"));
        }
        if !timed && self.duration_ms != 0 {
            return Err(format!(
                "duration_ms: only slow_body and refuse take it, not {kind}"
            ));
        }
        let retry = matches!(kind, FaultKind::TooManyRequests | FaultKind::Unavailable);
        if !retry && self.retry_after_s.is_some() {
            return Err(format!(
                "retry_after_s: only too_many_requests and unavailable take it, not {kind}"
            ));
        }
        if kind == FaultKind::Refuse && (self.times.is_some() || self.share != 1.0) {
            return Err("times: refuse closes the listener once, from when it is set".to_string());
        }
        Ok(operation)
    }
}

/// A fault plan for all registries: the `--faults` file and the admin endpoint's document.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Seed of the share draws (0 unless set), so a run with the same plan repeats.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub seed: u64,
    /// SNILS registry rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snils: Vec<Rule>,
    /// INN registry rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inn: Vec<Rule>,
    /// Children's registry rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Rule>,
    /// Ministry of Labour rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labour: Vec<Rule>,
}

impl Plan {
    /// The rules of one registry.
    pub fn rules(&self, registry: Registry) -> &[Rule] {
        match registry {
            Registry::Snils => &self.snils,
            Registry::Inn => &self.inn,
            Registry::Children => &self.children,
            Registry::Labour => &self.labour,
        }
    }

    fn rules_mut(&mut self, registry: Registry) -> &mut Vec<Rule> {
        match registry {
            Registry::Snils => &mut self.snils,
            Registry::Inn => &mut self.inn,
            Registry::Children => &mut self.children,
            Registry::Labour => &mut self.labour,
        }
    }
}

impl FromStr for Plan {
    type Err = String;

    /// A plan from TOML.
    fn from_str(text: &str) -> Result<Plan, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }
}

/// What to do with one call.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallFaults {
    /// Wait this long before answering (the sum of the latency rules that fired).
    pub delay: Duration,
    /// The fault that replaces the answer, if one fired.
    pub fault: Option<Rule>,
}

/// What to do with one new connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionFault {
    /// Serve it.
    None,
    /// Fail its TLS handshake.
    FailHandshake,
}

struct Active {
    rule: Rule,
    operation: Option<Operation>,
    fired: u64,
}

impl Active {
    fn spent(&self) -> bool {
        self.rule.times.is_some_and(|t| self.fired >= t)
    }
}

struct RegistryFaults {
    rules: Vec<Active>,
    rng: ChaCha8Rng,
    /// By the mock's clock.
    closed_until: Option<SystemTime>,
}

impl RegistryFaults {
    /// Whether rule `i` fires now (share drawn, `times` counted).
    fn fires(&mut self, i: usize) -> bool {
        let share = self.rules[i].rule.share;
        let hit = share >= 1.0 || (share > 0.0 && self.rng.random::<f64>() < share);
        if hit {
            self.rules[i].fired += 1;
        }
        hit
    }

    fn drop_spent(&mut self) {
        self.rules.retain(|a| !a.spent());
    }
}

/// The live fault state of all registries.
pub struct Faults {
    seed: Mutex<u64>,
    registries: [Mutex<RegistryFaults>; 4],
    /// Bumped on every change, so closed listeners and accept loops look again.
    changed: watch::Sender<u64>,
    /// Measures `refuse` windows.
    clock: Arc<dyn Clock>,
}

fn index(registry: Registry) -> usize {
    match registry {
        Registry::Snils => 0,
        Registry::Inn => 1,
        Registry::Children => 2,
        Registry::Labour => 3,
    }
}

fn seeded(seed: u64, registry: Registry) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed ^ (index(registry) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

impl Faults {
    /// No faults; `refuse` windows measured by `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Faults {
        let registry = |r| {
            Mutex::new(RegistryFaults {
                rules: Vec::new(),
                rng: seeded(0, r),
                closed_until: None,
            })
        };
        Faults {
            seed: Mutex::new(0),
            registries: Registry::ALL.map(registry),
            changed: watch::channel(0).0,
            clock,
        }
    }

    fn registry(&self, registry: Registry) -> std::sync::MutexGuard<'_, RegistryFaults> {
        self.registries[index(registry)]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Check every rule of `plan`; the error names the rule (`snils[1].share: …`).
    pub fn check(plan: &Plan) -> Result<(), String> {
        for registry in Registry::ALL {
            for (i, rule) in plan.rules(registry).iter().enumerate() {
                rule.check(registry)
                    .map_err(|e| format!("{registry}[{i}].{e}"))?;
            }
        }
        Ok(())
    }

    /// Replace the whole plan (and reseed). Nothing changes if a rule is wrong.
    pub fn set_plan(&self, plan: &Plan) -> Result<(), String> {
        Faults::check(plan)?;
        *self.seed.lock().unwrap_or_else(|p| p.into_inner()) = plan.seed;
        for registry in Registry::ALL {
            self.install(registry, plan.rules(registry), Some(plan.seed));
        }
        self.changed.send_modify(|n| *n += 1);
        Ok(())
    }

    /// Replace one registry's rules. Nothing changes if a rule is wrong.
    pub fn set_rules(&self, registry: Registry, rules: &[Rule]) -> Result<(), String> {
        for (i, rule) in rules.iter().enumerate() {
            rule.check(registry)
                .map_err(|e| format!("{registry}[{i}].{e}"))?;
        }
        self.install(registry, rules, None);
        self.changed.send_modify(|n| *n += 1);
        Ok(())
    }

    /// Install checked rules; a `refuse` rule closes the listener from now on instead of staying.
    fn install(&self, registry: Registry, rules: &[Rule], reseed: Option<u64>) {
        let mut state = self.registry(registry);
        if let Some(seed) = reseed {
            state.rng = seeded(seed, registry);
        }
        state.closed_until = None;
        state.rules.clear();
        for rule in rules {
            if rule.kind == FaultKind::Refuse {
                state.closed_until =
                    Some(self.clock.now() + Duration::from_millis(rule.duration_ms));
                continue;
            }
            let operation = rule.check(registry).ok().flatten();
            state.rules.push(Active {
                rule: rule.clone(),
                operation,
                fired: 0,
            });
        }
    }

    /// The rules still in force: spent ones are gone, `times` counts down, and a listener still
    /// closed shows as a `refuse` rule with the time left.
    pub fn plan(&self) -> Plan {
        let mut plan = Plan {
            seed: *self.seed.lock().unwrap_or_else(|p| p.into_inner()),
            ..Plan::default()
        };
        let now = self.clock.now();
        for registry in Registry::ALL {
            let state = self.registry(registry);
            let out = plan.rules_mut(registry);
            if let Some(until) = state.closed_until {
                let left = until.duration_since(now).unwrap_or_default();
                if !left.is_zero() {
                    out.push(
                        Rule::new(FaultKind::Refuse).duration(left.max(Duration::from_millis(1))),
                    );
                }
            }
            for a in state.rules.iter().filter(|a| !a.spent()) {
                let mut rule = a.rule.clone();
                rule.times = rule.times.map(|t| t - a.fired);
                out.push(rule);
            }
        }
        plan
    }

    /// Decide the faults of one call of `operation` (None when the SOAPAction named none).
    pub fn on_call(&self, registry: Registry, operation: Option<Operation>) -> CallFaults {
        let mut state = self.registry(registry);
        let mut out = CallFaults::default();
        for i in 0..state.rules.len() {
            let active = &state.rules[i];
            if active.spent() || active.rule.kind.is_connection_level() {
                continue;
            }
            if active.operation.is_some() && active.operation != operation {
                continue;
            }
            if !state.fires(i) {
                continue;
            }
            let rule = state.rules[i].rule.clone();
            if rule.kind == FaultKind::Latency {
                let random = if rule.random_ms > 0 {
                    state.rng.random_range(0..=rule.random_ms)
                } else {
                    0
                };
                out.delay += Duration::from_millis(rule.fixed_ms + random);
                continue;
            }
            out.fault = Some(rule);
            break;
        }
        state.drop_spent();
        out
    }

    /// Decide the fault of one new connection.
    pub fn on_connection(&self, registry: Registry) -> ConnectionFault {
        let mut state = self.registry(registry);
        let mut out = ConnectionFault::None;
        for i in 0..state.rules.len() {
            let active = &state.rules[i];
            if active.spent() || active.rule.kind != FaultKind::TlsHandshake {
                continue;
            }
            if state.fires(i) {
                out = ConnectionFault::FailHandshake;
                break;
            }
        }
        state.drop_spent();
        out
    }

    /// How much longer, by the clock, the registry's listener stays closed, if it is closed now.
    pub fn closed_for(&self, registry: Registry) -> Option<Duration> {
        let mut state = self.registry(registry);
        let now = self.clock.now();
        match state.closed_until {
            Some(until) if until > now => until.duration_since(now).ok(),
            Some(_) => {
                state.closed_until = None;
                None
            }
            None => None,
        }
    }

    /// A receiver that sees every change of the plan.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn clock() -> Arc<ManualClock> {
        Arc::new(ManualClock::new(
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_782_900_000),
        ))
    }

    fn faults_with(registry: Registry, rules: &[Rule]) -> Faults {
        let f = Faults::new(clock());
        f.set_rules(registry, rules).expect("valid rules");
        f
    }

    fn kinds(f: &Faults, registry: Registry, op: Operation, n: usize) -> Vec<Option<FaultKind>> {
        (0..n)
            .map(|_| f.on_call(registry, Some(op)).fault.map(|r| r.kind))
            .collect()
    }

    #[test]
    fn a_script_fails_twice_then_answers() {
        let f = faults_with(
            Registry::Snils,
            &[Rule::new(FaultKind::ServerFault).times(2)],
        );
        assert_eq!(
            kinds(&f, Registry::Snils, Operation::VerifySnils, 4),
            [
                Some(FaultKind::ServerFault),
                Some(FaultKind::ServerFault),
                None,
                None
            ]
        );
        // A spent rule leaves the plan.
        assert!(f.plan().snils.is_empty());
    }

    #[test]
    fn rules_in_order_make_a_sequence_of_different_faults() {
        let f = faults_with(
            Registry::Inn,
            &[
                Rule::new(FaultKind::ServerFault).times(1),
                Rule::new(FaultKind::ConnectionReset).times(1),
                Rule::new(FaultKind::Hang)
                    .operation(Operation::FindInn)
                    .times(1),
            ],
        );
        // VerifyInn skips the FindInn-only rule.
        assert_eq!(
            kinds(&f, Registry::Inn, Operation::VerifyInn, 3),
            [
                Some(FaultKind::ServerFault),
                Some(FaultKind::ConnectionReset),
                None
            ]
        );
        assert_eq!(
            kinds(&f, Registry::Inn, Operation::FindInn, 2),
            [Some(FaultKind::Hang), None]
        );
    }

    #[test]
    fn other_registries_are_untouched() {
        let f = faults_with(Registry::Snils, &[Rule::new(FaultKind::Hang)]);
        assert_eq!(
            kinds(&f, Registry::Inn, Operation::VerifyInn, 3),
            [None, None, None]
        );
    }

    #[test]
    fn a_share_fires_for_about_that_share_and_repeats_with_the_seed() {
        let plan = Plan {
            seed: 42,
            labour: vec![Rule::new(FaultKind::Unavailable).share(0.25)],
            ..Plan::default()
        };
        let run = || {
            let f = Faults::new(clock());
            f.set_plan(&plan).expect("plan");
            kinds(&f, Registry::Labour, Operation::GetFamilyStatus, 4000)
        };
        let first = run();
        let hits = first.iter().filter(|k| k.is_some()).count();
        assert!(
            (850..1150).contains(&hits),
            "{hits} of 4000 for a share of 0.25"
        );
        assert_eq!(first, run(), "the same seed gives the same draws");
    }

    #[test]
    fn latency_adds_up_and_lets_the_next_rule_decide() {
        let f = faults_with(
            Registry::Children,
            &[
                Rule::new(FaultKind::Latency).latency(100, 0),
                Rule::new(FaultKind::Latency).latency(20, 10),
                Rule::new(FaultKind::MalformedXml).times(1),
            ],
        );
        let first = f.on_call(Registry::Children, Some(Operation::FindBirthRecord));
        assert!(
            (Duration::from_millis(120)..=Duration::from_millis(130)).contains(&first.delay),
            "{:?}",
            first.delay
        );
        assert_eq!(first.fault.map(|r| r.kind), Some(FaultKind::MalformedXml));
        let second = f.on_call(Registry::Children, Some(Operation::FindBirthRecord));
        assert!(second.fault.is_none());
        assert!(second.delay >= Duration::from_millis(120));
    }

    #[test]
    fn tls_failures_count_connections_not_calls() {
        let f = faults_with(
            Registry::Labour,
            &[Rule::new(FaultKind::TlsHandshake).times(1)],
        );
        assert!(f.on_call(Registry::Labour, None).fault.is_none());
        assert_eq!(
            f.on_connection(Registry::Labour),
            ConnectionFault::FailHandshake
        );
        assert_eq!(f.on_connection(Registry::Labour), ConnectionFault::None);
    }

    #[test]
    fn refuse_closes_the_listener_from_now_and_shows_the_time_left() {
        let clock = clock();
        let f = Faults::new(clock.clone());
        let refuse = [Rule::new(FaultKind::Refuse).duration(Duration::from_secs(60))];
        f.set_rules(Registry::Snils, &refuse).expect("valid rules");
        assert_eq!(f.closed_for(Registry::Snils), Some(Duration::from_secs(60)));
        assert!(f.closed_for(Registry::Inn).is_none());
        clock.advance(Duration::from_secs(20));
        let shown = &f.plan().snils[0];
        assert_eq!(shown.kind, FaultKind::Refuse);
        assert_eq!(shown.duration_ms, 40_000, "the time left by the clock");
        f.set_rules(Registry::Snils, &[]).expect("clear");
        assert!(f.closed_for(Registry::Snils).is_none());
        // The window ends when the clock passes it, however little real time went by.
        f.set_rules(Registry::Snils, &refuse).expect("valid rules");
        clock.advance(Duration::from_secs(60));
        assert!(f.closed_for(Registry::Snils).is_none());
        assert!(f.plan().snils.is_empty());
    }

    #[test]
    fn wrong_rules_are_refused_with_the_field_named_and_change_nothing() {
        let f = faults_with(Registry::Snils, &[Rule::new(FaultKind::Hang)]);
        let cases: [(Rule, &str); 7] = [
            (
                Rule::new(FaultKind::ServerFault).share(1.5),
                "snils[0].share",
            ),
            (
                Rule::new(FaultKind::ServerFault).operation(Operation::FindInn),
                "snils[0].operation: 'FindInn' is not an operation of the snils registry",
            ),
            (Rule::new(FaultKind::Latency), "snils[0].fixed_ms"),
            (Rule::new(FaultKind::SlowBody), "snils[0].duration_ms"),
            (
                Rule::new(FaultKind::Hang).retry_after(3),
                "snils[0].retry_after_s",
            ),
            (
                Rule::new(FaultKind::TlsHandshake).operation(Operation::VerifySnils),
                "snils[0].operation: tls_handshake acts on connections",
            ),
            (
                Rule::new(FaultKind::Refuse)
                    .duration(Duration::from_secs(1))
                    .times(2),
                "snils[0].times",
            ),
        ];
        for (rule, expected) in cases {
            let err = f.set_rules(Registry::Snils, &[rule]).unwrap_err();
            assert!(err.starts_with(expected), "{err} / {expected}");
        }
        assert_eq!(f.plan().snils, [Rule::new(FaultKind::Hang)]);
    }

    #[test]
    fn a_plan_reads_from_toml_and_round_trips_through_json() {
        let plan: Plan = r#"
            seed = 9
            [[snils]]
            kind = "server_fault"
            times = 2
            [[labour]]
            kind = "latency"
            fixed_ms = 50
            random_ms = 100
            [[labour]]
            kind = "too_many_requests"
            operation = "RegisterAssignment"
            share = 0.1
            retry_after_s = 2
        "#
        .parse()
        .expect("plan");
        Faults::check(&plan).expect("valid");
        assert_eq!(plan.snils, [Rule::new(FaultKind::ServerFault).times(2)]);
        assert_eq!(plan.labour.len(), 2);
        let json = serde_json::to_string(&plan).expect("json");
        let back: Plan = serde_json::from_str(&json).expect("back");
        assert_eq!(back, plan);
        let typo = "[[snils]]\nkind = \"hang\"\nshre = 0.5\n".parse::<Plan>();
        assert!(typo.unwrap_err().contains("shre"));
        let unknown = "[[snils]]\nkind = \"explode\"\n".parse::<Plan>();
        assert!(unknown.unwrap_err().contains("explode"));
    }
}
