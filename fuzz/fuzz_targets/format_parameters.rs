#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| discrecorder::fuzzing::format_parameters(data));
