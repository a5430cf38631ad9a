//! Fuzz target `soap_reply`: A registry's SOAP answer: the payload readers, the pipeline's judgement, the typed reply.
//! The work is in [`reggate_fuzz::run::soap_reply`], shared with the regression tests.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = reggate_fuzz::run::soap_reply(data);
});
