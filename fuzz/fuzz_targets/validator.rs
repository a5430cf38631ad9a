//! Fuzz target `validator`: Schema + instance (split at a NUL byte), or an instance against the registry schemas.
//! The work is in [`reggate_fuzz::run::validator`], shared with the regression tests.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = reggate_fuzz::run::validator(data);
});
