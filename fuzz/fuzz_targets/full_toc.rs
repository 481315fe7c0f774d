#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| discrecorder::fuzzing::full_toc(data));
