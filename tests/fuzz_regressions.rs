//! Fuzz crashes kept as plain tests: every file under `fuzz/regressions/<target>/` goes through the
//! code its fuzz target runs, without libFuzzer, so `cargo test` keeps a fixed crash fixed. The code is
//! the target's own (`fuzz/src/run.rs`, included below): it calls the library as production does and
//! panics when an invariant breaks. A file whose name holds `_err_` must also be refused, with a
//! reason. `fuzz/regressions/README.md` says where each file came from.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[path = "../fuzz/src/run.rs"]
mod run;

use run::Outcome;

/// Longer than any input here should take by far (the fuzzers' own `-timeout` is 10 s): an input
/// that needs more has found something quadratic or worse.
const TIME_BOUND: Duration = Duration::from_secs(10);

fn files(target: &str) -> Vec<PathBuf> {
    let dir = run::repo_root().join("fuzz/regressions").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Run every file through `target`; what went wrong, one line per file at fault.
fn replay(files: &[PathBuf], target: impl Fn(&[u8]) -> Outcome) -> Vec<String> {
    let mut wrong = Vec::new();
    for file in files {
        let name = file
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let started = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| target(&bytes)));
        let took = started.elapsed();
        match outcome {
            Err(panic) => {
                let said = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("(no message)");
                wrong.push(format!("{name}: panicked: {said}"));
            }
            Ok(Outcome::Accepted) if name.contains("_err_") => {
                wrong.push(format!("{name}: accepted, but it must be refused"));
            }
            Ok(Outcome::Refused(reason)) if reason.trim().is_empty() => {
                wrong.push(format!("{name}: refused without a reason"));
            }
            Ok(_) => {}
        }
        if took > TIME_BOUND {
            wrong.push(format!("{name}: took {took:?}"));
        }
    }
    wrong
}

fn check(target: &str, run: impl Fn(&[u8]) -> Outcome) {
    let files = files(target);
    assert!(
        !files.is_empty(),
        "fuzz/regressions/{target}/ holds no inputs"
    );
    let wrong = replay(&files, run);
    assert!(
        wrong.is_empty(),
        "{} of {} inputs under fuzz/regressions/{target}/ fail:\n{}",
        wrong.len(),
        files.len(),
        wrong.join("\n")
    );
}

#[test]
fn validator() {
    check("validator", run::validator);
}

#[test]
fn application_json() {
    check("application_json", run::application_json);
}

#[test]
fn soap_reply() {
    check("soap_reply", run::soap_reply);
}

#[test]
fn a_registry_error_is_an_error_not_an_empty_answer() {
    // Found by `soap_reply`: a schema-valid answer carrying the registry's `Error` instead of its
    // result was unreadable (VerifySnils) or, worse, read as "nothing found" (FindInn,
    // FindBirthRecord). These inputs pass the schema, so the refusal must be the registry's error.
    for name in [
        "registry_error_instead_of_result_err_.xml",
        "find_inn_error_read_as_not_found_err_.xml",
        "birth_record_error_read_as_not_found_err_.xml",
    ] {
        let path = run::repo_root()
            .join("fuzz/regressions/soap_reply")
            .join(name);
        let outcome = run::soap_reply(&std::fs::read(&path).expect("input"));
        let Outcome::Refused(reason) = outcome else {
            panic!("{name}: accepted");
        };
        assert!(
            reason.ends_with("with error REGISTRY_UNAVAILABLE"),
            "{name}: {reason}"
        );
    }
}

#[test]
fn the_seeds_are_what_they_say() {
    // The valid seed applications must get past the input rules, or the fuzzer never reaches the
    // checks on accepted applications (the registry requests they make).
    let seeds = run::repo_root().join("fuzz/seeds/application_json");
    let mut valid = 0;
    for file in std::fs::read_dir(&seeds).expect("seeds").flatten() {
        let path = file.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let outcome = run::application_json(&std::fs::read(&path).expect("seed"));
        if name.as_deref().is_some_and(|n| n.starts_with("valid-")) {
            assert_eq!(outcome, Outcome::Accepted, "{}", path.display());
            valid += 1;
        } else {
            assert!(matches!(outcome, Outcome::Refused(_)), "{}", path.display());
        }
    }
    assert!(valid >= 3, "too few valid seed applications");
    // The validator's schema + instance seeds compile and get past the schema.
    for file in std::fs::read_dir(run::repo_root().join("fuzz/seeds/validator"))
        .expect("seeds")
        .flatten()
    {
        let bytes = std::fs::read(file.path()).expect("seed");
        assert_eq!(
            run::validator(&bytes),
            Outcome::Accepted,
            "{}",
            file.path().display()
        );
    }
}

#[test]
fn the_replay_fails_when_the_code_panics_or_accepts_what_it_must_refuse() {
    let files = files("soap_reply");
    let wrong = replay(&files, |_| panic!("a planted panic"));
    assert_eq!(wrong.len(), files.len(), "{wrong:?}");
    assert!(wrong.iter().all(|w| w.contains("a planted panic")));
    let errs = files
        .iter()
        .filter(|f| f.to_string_lossy().contains("_err_"))
        .count();
    assert!(errs > 0);
    assert_eq!(replay(&files, |_| Outcome::Accepted).len(), errs);
    assert_eq!(
        replay(&files, |_| Outcome::Refused(" ".into())).len(),
        files.len()
    );
}

#[test]
fn an_echoed_snils_is_seen() {
    // The application_json invariant itself: an 11-digit run of the input repeated in an answer.
    assert_eq!(
        run::echoed_digits(
            b"{\"x\": \"112-233-44595\", \"y\": 11223344595}",
            "at 11223344595!"
        ),
        Some("11223344595".into())
    );
    assert_eq!(
        run::echoed_digits(b"11223344595", "at 1122334459 and 5"),
        None
    );
    assert_eq!(run::echoed_digits(b"1122334459", "1122334459"), None);
    // Any 11 digits of a longer run (an INN) count.
    assert_eq!(
        run::echoed_digits(b"771234567890", "x71234567890x"),
        Some("71234567890".into())
    );
}
