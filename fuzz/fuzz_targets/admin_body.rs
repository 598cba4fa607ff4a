//! Fuzzes `imstatus_server::fuzzing::admin_body`: it must never panic, whatever the bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| imstatus_server::fuzzing::admin_body(data));
