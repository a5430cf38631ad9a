//! Fuzz target `application_json`: The JSON body of `POST /v1/applications`: parse, input rules, and what an accepted one leads to.
//! The work is in [`reggate_fuzz::run::application_json`], shared with the regression tests.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = reggate_fuzz::run::application_json(data);
});
