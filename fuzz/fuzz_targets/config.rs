//! Fuzzes `imstatus_server::fuzzing::config`: it must never panic, whatever the bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| imstatus_server::fuzzing::config(data));
