#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| discrecorder_tcmu::fuzzing::ring(data));
