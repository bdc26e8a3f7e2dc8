//! Fuzzes the incremental frame decoder and the request checker: arbitrary
//! bytes, fed in pieces whose sizes come from the input itself, must never
//! panic, and every frame that comes out must check or be refused cleanly.
//!
//! Run with `make fuzz` (libFuzzer on the stable toolchain, FUZZ_SECONDS=60),
//! or `cargo fuzz run decoder` from common/ with a nightly toolchain.
#![no_main]

use libfuzzer_sys::fuzz_target;
use papertrader_common::{Decoder, HEADER_LEN, MAX_DATA, message};

fuzz_target!(|input: &[u8]| {
    let Some((&step, bytes)) = input.split_first() else {
        return;
    };
    let step = usize::from(step).max(1);
    let mut decoder = Decoder::new();
    for piece in bytes.chunks(step) {
        decoder.push(piece);
        loop {
            match decoder.next_frame() {
                Ok(Some(frame)) => {
                    assert!(frame.data.len() <= MAX_DATA);
                    for prefix in [0, 1, 4] {
                        let _ = message::check(&frame, prefix);
                    }
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
        assert!(decoder.pending() < HEADER_LEN + MAX_DATA + step);
    }
});
