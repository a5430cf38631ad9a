//! The process log of the long-running commands (`reggate serve`, `reggate mock`): one
//! `tracing-subscriber` subscriber writing to stderr, JSON lines when stderr is not a terminal (a
//! file, a pipe, journald, a container runtime), readable text when it is. The level is the
//! configuration's (`log.level` for `serve`, `--log-level` for `mock`; `REGGATE_LOG_LEVEL` for
//! both); `RUST_LOG`, when set, wins.
//!
//! What every deployment can count on finding, by target:
//! - `reggate::http`: one line per API request — route template (never the raw path with its ids),
//!   status, latency — inside the `request` span that names the request id, method and caller
//!   ([`crate::api::request_id::in_span`]);
//! - `reggate::registry`: one line per registry call — outcome, attempts, latency — inside the
//!   `registry_call` span that names the request id, registry and operation
//!   ([`crate::soap::client::SoapClient::call`]); a worker's calls also sit inside the
//!   `application` span of the application they check, with the request id that submitted it.
//!
//! Span fields are part of every line (in JSON: `span` for the innermost, `spans` for all), so each
//! line logged while a request or an application is handled carries its request id. No field and no
//! message carries personal data: identifiers, names and birth dates stay in the store, and what
//! must point at a person's value goes through [`crate::xml::mask`].

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// The level when none is configured.
pub const DEFAULT_LEVEL: &str = "info";

/// The levels a directive without a target may name.
const LEVELS: &[&str] = &["off", "error", "warn", "info", "debug", "trace"];

/// How lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line, for machines.
    Json,
    /// Readable text (with colours), for a person at a terminal.
    Text,
}

impl Format {
    /// JSON unless stderr is a terminal.
    pub fn for_stderr() -> Format {
        if std::io::stderr().is_terminal() {
            Format::Text
        } else {
            Format::Json
        }
    }
}

/// A configured level as a filter: a level (`info`), optionally followed by `target=level`
/// directives (`info,reggate::http=warn`), as `RUST_LOG` writes them. Stricter than `RUST_LOG` in
/// one way: a bare word must be a level, so a misspelt `inof` is refused instead of meaning "every
/// level of a target named inof, nothing else".
pub fn level_filter(level: &str) -> Result<EnvFilter, String> {
    let directives: Vec<&str> = level
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .collect();
    if directives.is_empty() {
        return Err("empty: expected a level such as info".into());
    }
    for directive in &directives {
        if !directive.contains('=') && !LEVELS.contains(&directive.to_ascii_lowercase().as_str()) {
            return Err(format!(
                "'{directive}' is not a level (off, error, warn, info, debug, trace) nor a target=level directive"
            ));
        }
    }
    // Spaces after the commas are fine here; `EnvFilter` would refuse them.
    EnvFilter::try_new(directives.join(",")).map_err(|e| format!("'{level}': {e}"))
}

/// The filter in force: `rust_log` (the `RUST_LOG` variable) when set and not empty, otherwise the
/// configured `level`. A `RUST_LOG` that does not parse is set aside with a warning to log.
pub fn filter(level: &str, rust_log: Option<&str>) -> Result<(EnvFilter, Option<String>), String> {
    if let Some(directives) = rust_log.map(str::trim).filter(|d| !d.is_empty()) {
        match EnvFilter::try_new(directives) {
            Ok(f) => return Ok((f, None)),
            Err(e) => {
                let warning = format!("RUST_LOG '{directives}' ignored ({e}); level '{level}'");
                return level_filter(level).map(|f| (f, Some(warning)));
            }
        }
    }
    level_filter(level).map(|f| (f, None))
}

/// Install the process's subscriber (once: a second call, or a subscriber already set, is left as
/// it is). `level` is the configured one; `RUST_LOG` is read here.
pub fn init(level: &str) -> Result<(), String> {
    let rust_log = std::env::var("RUST_LOG").ok();
    let (filter, warning) = filter(level, rust_log.as_deref())?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match Format::for_stderr() {
        Format::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
        Format::Text => builder.try_init(),
    };
    if installed.is_ok()
        && let Some(w) = warning
    {
        tracing::warn!("{w}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_directives_are_taken_words_that_are_neither_are_not() {
        for good in [
            "info",
            "DEBUG",
            "warn,reggate::http=off",
            "info, h2=warn",
            "off",
        ] {
            assert!(level_filter(good).is_ok(), "{good}");
        }
        for bad in ["", " ", "inof", "info,reggate", "debug,reggate::http=loud"] {
            assert!(level_filter(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rust_log_wins_when_set_and_usable() {
        let shown = |level: &str, rust_log: Option<&str>| {
            let (f, warning) = filter(level, rust_log).expect("a filter");
            (f.to_string(), warning.is_some())
        };
        assert_eq!(shown("info", None), ("info".into(), false));
        assert_eq!(shown("info", Some("")), ("info".into(), false));
        assert_eq!(shown("info", Some("debug")), ("debug".into(), false));
        assert_eq!(shown("warn", Some("reggate=loud")), ("warn".into(), true));
        assert!(
            filter("inof", Some("debug")).is_ok(),
            "RUST_LOG set: the level is not used"
        );
        assert!(filter("inof", None).is_err());
    }
}
