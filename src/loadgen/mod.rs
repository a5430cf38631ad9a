//! `reggate loadgen` as a library: drive the HTTPS API with a [`Plan`] and get a [`Report`] —
//! accepted/s, decided/s, acceptance and submit→decision percentiles, 429s, errors — and a check
//! that every application answered 202 is in the store and decided exactly once ([`verify`]).
//! Issue 16's crash test, fault matrix and hostile clients drive it through this API.
//!
//! A run, in order:
//! 1. the target: a running gateway ([`Target::Remote`]) or one started here ([`inprocess`]);
//! 2. applicants walked from the gateway's own synthetic population ([`people`]), so every
//!    submission passes every registry check and most are approved;
//! 3. the backlog, if asked: applications that wait for documents forever ([`drive::backlog`]);
//! 4. the events watcher started at the end of the outbox feed ([`decisions`]);
//! 5. the timed run at the plan's pace, a progress line a second ([`drive`]);
//! 6. the drain: waiting (at most [`Plan::drain`]) for the decisions still due;
//! 7. the verification ([`verify`]) and the [`Report`].
//!
//! Layout: [`plan`] (options), [`people`] (who applies), [`requests`] (bodies, documents, invalid
//! variants), [`client`] (HTTPS keep-alive), [`stats`] and [`histogram`] (counting), [`decisions`]
//! (the feed), [`drive`] (scenarios and paces), [`verify`], [`report`], [`inprocess`].

pub mod histogram;
pub mod people;
pub mod plan;
pub mod requests;
pub mod stats;

use std::time::Duration;

pub use plan::{Auth, InProcess, Kind, Mix, Observer, Pace, Plan, Remote, Target};

/// A snapshot of a run, once a second (to the progress line and [`Plan::observer`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    /// `backlog`, `run` or `drain`.
    pub phase: &'static str,
    /// Since the phase began.
    pub elapsed: Duration,
    /// Applications accepted in the phase.
    pub accepted: u64,
    /// Decisions read.
    pub decided: u64,
    /// 429s in the phase.
    pub refused: u64,
    /// Errors in the phase.
    pub errors: u64,
    /// Scenarios in flight.
    pub in_flight: u64,
    /// Accepted applications whose decision has not been read yet.
    pub awaiting_decision: u64,
}

