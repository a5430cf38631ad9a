//! reggate's fuzz targets share this library: [`run`] holds what each target runs on one input, so
//! that the regression tests of the root package (`tests/fuzz_regressions.rs`) replay kept inputs
//! through exactly the same code without libFuzzer.

#![forbid(unsafe_code)]

pub mod run;
