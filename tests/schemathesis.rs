//! The API against its own OpenAPI document (issue 16, "proof in CI"): `reggate serve` — the binary,
//! on embedded defaults in a temporary directory (in-process mock registries, a new development
//! PKI, the development API key in `data/dev-api-key`, made a reviewer so the decision endpoint is
//! reachable) — is driven by schemathesis (PyPI) from the `/openapi.json` it serves: every operation,
//! its examples, generated valid and invalid inputs, and the stateful sequences the document's links
//! describe (submit → read, receipt, documents, clarification, appeal, decision). Checks: no 5xx
//! (`not_a_server_error`), every answer's status, content type and body as the document says
//! (`status_code_conformance`, `content_type_conformance`, `response_schema_conformance`).
//!
//! Bounded: `REGGATE_SCHEMATHESIS_EXAMPLES` examples per operation (default 30), one worker, a fixed seed
//! (`REGGATE_SCHEMATHESIS_SEED`, default 2024, so a failure repeats), each request at most 30 s, the
//! whole run at most [`RUN_BOUND`]. It needs the `schemathesis` command (`pip install
//! schemathesis==4.32.5`, what `.ci/run` installs; `REGGATE_SCHEMATHESIS` names another path);
//! without it the test says so and passes, unless `REGGATE_REQUIRE_SCHEMATHESIS=1`.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The most one schemathesis run may take before it is stopped and the test fails.
const RUN_BOUND: Duration = Duration::from_secs(300);

/// The most the gateway may take to start.
const START_BOUND: Duration = Duration::from_secs(60);

/// The schemathesis command, if installed.
fn schemathesis() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("REGGATE_SCHEMATHESIS") {
        return Some(PathBuf::from(path));
    }
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("schemathesis"))
            .find(|candidate| candidate.is_file())
    });
    // pip installs beside its interpreter; a version manager's shim for it may not exist yet.
    on_path.or_else(|| {
        let out = Command::new("python3")
            .args([
                "-c",
                "import sysconfig; print(sysconfig.get_path('scripts'))",
            ])
            .output()
            .ok()?;
        let scripts = String::from_utf8(out.stdout).ok()?;
        Some(Path::new(scripts.trim()).join("schemathesis")).filter(|p| p.is_file())
    })
}

/// `reggate serve`, stopped (SIGINT, as Ctrl-C) when dropped.
struct Served {
    child: Child,
    base: String,
}

impl Served {
    /// Start the binary in `dir` on a free loopback port; returns once it has said where it
    /// listens.
    fn start(dir: &Path) -> Served {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut command = Command::new(env!("CARGO_BIN_EXE_reggate"));
        // The gateway under test is the embedded defaults and what is set here, whatever the
        // environment says (this test's own REGGATE_* variables included).
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("REGGATE_") {
                command.env_remove(name);
            }
        }
        let mut child = command
            .arg("serve")
            .current_dir(dir)
            .env("REGGATE_SCHEMAS", repo.join("schemas"))
            .env("REGGATE_WSDL", repo.join("wsdl"))
            .env("REGGATE_API_LISTEN", "127.0.0.1:0")
            .env("REGGATE_API_REVIEWERS", "key:dev")
            .env("REGGATE_MOCK_PEOPLE", "1000")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("reggate serve starts");
        // Its first lines say where the API is; the rest is read and echoed on a thread so the pipe
        // never fills.
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("serve: {line}");
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + START_BOUND;
        let base = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix("reggate API on ") {
                        let url = rest.split_whitespace().next().expect("URL");
                        break url.trim_end_matches("/v1").to_string();
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!("reggate serve did not start within {START_BOUND:?}");
                }
            }
        };
        Served { child, base }
    }

    /// Whether it is still running (it must be, after the run).
    fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Stop it as Ctrl-C does; its exit status (`None`: it had to be killed).
    fn stop(&mut self) -> Option<std::process::ExitStatus> {
        let _ = Command::new("kill")
            .arg("-INT")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if self.running() {
            self.stop();
        }
    }
}

/// How a schemathesis run ended.
#[derive(Debug, PartialEq, Eq)]
enum Ended {
    /// Exit 0: every check passed.
    Passed,
    /// It reported failures or errors.
    Failed,
    /// Stopped at [`RUN_BOUND`].
    TooSlow,
}

/// Run `command` to its end or [`RUN_BOUND`]: how it ended, and everything it printed.
fn run_bounded(mut command: Command) -> (Ended, String) {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("schemathesis starts");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = out.read_to_string(&mut text);
        let mut rest = String::new();
        let _ = err.read_to_string(&mut rest);
        text + &rest
    });
    let deadline = Instant::now() + RUN_BOUND;
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let text = reader.join().unwrap_or_default();
    match status {
        Some(status) if status.success() => (Ended::Passed, text),
        Some(_) => (Ended::Failed, text),
        None => (Ended::TooSlow, text),
    }
}

#[test]
fn the_api_answers_as_its_openapi_document_says() {
    let Some(schemathesis) = schemathesis() else {
        let required = std::env::var("REGGATE_REQUIRE_SCHEMATHESIS").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "schemathesis is not installed (pip install schemathesis==4.32.5) and REGGATE_REQUIRE_SCHEMATHESIS=1"
        );
        eprintln!(
            "SKIPPED: schemathesis is not installed; `pip install schemathesis==4.32.5` runs this test"
        );
        return;
    };
    let dir = std::env::temp_dir().join(format!("reggate-schemathesis-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let started = Instant::now();
    let mut served = Served::start(&dir);
    let key = std::fs::read_to_string(dir.join("data/dev-api-key")).expect("the dev API key");
    let ca = dir.join("certs/internal-ca.pem");
    let examples = std::env::var("REGGATE_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "30".into());
    let seed = std::env::var("REGGATE_SCHEMATHESIS_SEED").unwrap_or_else(|_| "2024".into());

    let attempt = || {
        let mut command = Command::new(&schemathesis);
        command
            .current_dir(&dir)
            .arg("run")
            .arg(format!("{}/openapi.json", served.base))
            .args(["--url", &served.base])
            .arg("--tls-verify")
            .arg(&ca)
            .args(["--header", &format!("Authorization: Bearer {}", key.trim())])
            .args([
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            ])
            .args(["--max-examples", &examples, "--seed", &seed])
            // One worker: the machine has two cores, and Python 3.11 before 3.11.8 can fail
            // parsing its own source from worker threads (CPython gh-106905).
            .args(["--workers", "1", "--request-timeout", "30"])
            .args(["--no-color"])
            .env("NO_COLOR", "1");
        run_bounded(command)
    };
    let (mut ended, mut output) = attempt();
    if ended == Ended::Failed && output.contains("AST constructor recursion depth mismatch") {
        // The interpreter's bug above, not a finding: once more.
        eprintln!("schemathesis hit CPython gh-106905; running it once more");
        (ended, output) = attempt();
    }
    eprintln!("{output}");
    eprintln!(
        "schemathesis: {} examples per operation, seed {seed}, {:.1} s with the gateway's start",
        examples,
        started.elapsed().as_secs_f64()
    );
    assert!(
        served.running(),
        "the gateway stopped during the run (see its log above)"
    );
    assert_ne!(
        ended,
        Ended::TooSlow,
        "schemathesis did not finish within {RUN_BOUND:?}"
    );
    assert_eq!(
        ended,
        Ended::Passed,
        "schemathesis found failures (its report is above)"
    );
    let stopped = served.stop();
    assert!(
        stopped.is_some_and(|s| s.success()),
        "the gateway did not stop cleanly: {stopped:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
