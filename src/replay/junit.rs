//! The JUnit XML report of a replay, in the form Jenkins (junit and xunit plugins) and GitLab read:
//! `<testsuites>`, one `<testsuite>` per registry, one `<testcase>` per case (`classname`
//! `replay.<registry>.<Operation>`, `time` in seconds), a `<failure>` whose `message` is the one-line
//! reason and whose body holds the details (differences by path, masked) and the case's folder, a
//! `<skipped>` for a case not run. It validates against Jenkins' `junit-10.xsd` (tests/replay.rs).

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use quick_xml::escape::escape;

use super::run::{Outcome, Tally, Verdict};
use crate::contract::Registry;

/// The report of `outcomes` of a run against `target` that started at `started`.
pub fn report(outcomes: &[Outcome], target: &str, started: SystemTime) -> String {
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let all = Tally::of(outcomes);
    let total: Duration = outcomes.iter().map(|o| o.elapsed).sum();
    let _ = writeln!(
        x,
        r#"<testsuites name="reggate replay" tests="{}" failures="{}" errors="0" time="{}">"#,
        outcomes.len(),
        all.failed,
        seconds(total)
    );
    let timestamp = crate::clock::timestamp(started);
    // Ant's form: a date-time without zone ("2026-12-01T13:00:00"), here in UTC.
    let timestamp = timestamp.trim_end_matches('Z');
    let host = hostname();
    for (id, registry) in Registry::ALL.into_iter().enumerate() {
        let suite: Vec<&Outcome> = outcomes
            .iter()
            .filter(|o| o.case.registry == registry)
            .collect();
        if suite.is_empty() {
            continue;
        }
        let t = Tally::of(suite.iter().copied());
        let time: Duration = suite.iter().map(|o| o.elapsed).sum();
        let _ = writeln!(
            x,
            r#"  <testsuite name="{registry}" tests="{}" failures="{}" errors="0" skipped="{}" time="{}" timestamp="{timestamp}" hostname="{}" id="{id}" package="reggate.replay">"#,
            suite.len(),
            t.failed,
            t.skipped,
            seconds(time),
            escape(host.as_str()),
        );
        let _ = writeln!(
            x,
            r#"    <properties><property name="target" value="{}"/></properties>"#,
            escape(target)
        );
        for o in suite {
            testcase(&mut x, o);
        }
        x.push_str("    <system-out/>\n    <system-err/>\n  </testsuite>\n");
    }
    x.push_str("</testsuites>\n");
    x
}

fn testcase(x: &mut String, o: &Outcome) {
    let _ = write!(
        x,
        r#"    <testcase name="{}" classname="replay.{}.{}" time="{}""#,
        escape(o.case.name().as_str()),
        o.case.registry,
        o.case.operation,
        seconds(o.elapsed)
    );
    match &o.verdict {
        Verdict::Passed => x.push_str("/>\n"),
        Verdict::Skipped(why) => {
            let _ = writeln!(
                x,
                ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                escape(why.as_str())
            );
        }
        Verdict::Failed { message, details } => {
            let mut body = format!("{message}\n");
            for d in details {
                let _ = writeln!(body, "{d}");
            }
            let _ = writeln!(body, "case: {}", o.case.dir.display());
            let _ = writeln!(
                x,
                ">\n      <failure type=\"replay\" message=\"{}\">{}</failure>\n    </testcase>",
                escape(message.as_str()),
                escape(body.as_str())
            );
        }
    }
}

/// Seconds with three decimals, as Surefire writes them (`junit-10.xsd`'s `SUREFIRE_TIME`).
fn seconds(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}
