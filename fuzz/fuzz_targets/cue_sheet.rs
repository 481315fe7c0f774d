#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| discrecorder::fuzzing::cue_sheet(data));
