//! Property tests of the frame codec: round trips for any valid frame, and
//! an incremental decoder that never panics and never holds more memory
//! than the headers it has seen allow, whatever bytes arrive in whatever
//! pieces.

use papertrader_common::transfer::{Reassembler, chunk};
use papertrader_common::{Decoder, Frame, HEADER_LEN, MAX_DATA, args, frame};
use proptest::prelude::*;

fn any_frame() -> impl Strategy<Value = Frame> {
    (
        1u8..=4,
        any::<u8>(),
        any::<u16>(),
        any::<u32>(),
        any::<u32>(),
        prop::collection::vec(any::<u8>(), 0..2048),
    )
        .prop_map(|(t, i, a, n, m, data)| Frame {
            message_type: t,
            instruction: i,
            argument_count: a,
            data_message_number: n,
            data_message_max: m,
            data,
        })
}

/// Cuts `bytes` into pieces at the given fractions.
fn split_at_points(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.sort_unstable();
    let mut pieces = Vec::new();
    let mut last = 0;
    for p in points.into_iter().chain([bytes.len()]) {
        pieces.push(bytes[last..p].to_vec());
        last = p;
    }
    pieces
}

proptest! {
    #[test]
    fn any_valid_frame_round_trips(frames in prop::collection::vec(any_frame(), 1..8),
                                   cuts in prop::collection::vec(any::<usize>(), 0..20)) {
        let stream: Vec<u8> = frames.iter().flat_map(Frame::to_bytes).collect();
        let mut decoder = Decoder::new();
        let mut out = Vec::new();
        for piece in split_at_points(&stream, &cuts) {
            decoder.push(&piece);
            while let Some(f) = decoder.next_frame().expect("valid stream") {
                out.push(f);
            }
        }
        prop_assert_eq!(out, frames);
        prop_assert_eq!(decoder.pending(), 0);
    }

    #[test]
    fn decoder_never_panics_and_stays_bounded(bytes in prop::collection::vec(any::<u8>(), 0..200_000),
                                              cuts in prop::collection::vec(any::<usize>(), 0..64)) {
        let mut decoder = Decoder::new();
        let mut largest_piece = 0;
        'feed: for piece in split_at_points(&bytes, &cuts) {
            largest_piece = largest_piece.max(piece.len());
            decoder.push(&piece);
            loop {
                match decoder.next_frame() {
                    Ok(Some(f)) => prop_assert!(f.data.len() <= MAX_DATA),
                    Ok(None) => break,
                    Err(_) => break 'feed,
                }
            }
            // Whatever is left is less than one frame the header allowed,
            // and the buffer never grew past that plus the piece just fed.
            prop_assert!(decoder.pending() < HEADER_LEN + MAX_DATA + largest_piece);
            prop_assert!(decoder.capacity() <= 2 * (HEADER_LEN + MAX_DATA + largest_piece));
        }
    }

    #[test]
    fn slice_decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..70_000)) {
        if let Ok(Some((f, used))) = frame::decode(&bytes) {
            prop_assert_eq!(used, HEADER_LEN + f.data.len());
        }
    }

    #[test]
    fn arguments_round_trip(words in prop::collection::vec("[!-~]{1,12}", 1..6), tail in "[ -~]{1,40}") {
        let mut all = words.clone();
        if !tail.trim().is_empty() && !tail.starts_with(' ') {
            all.push(tail);
        }
        let (count, data) = args::join(&all).expect("well-formed");
        let back = args::split(&data, count).expect("splits");
        prop_assert_eq!(back, all);
    }

    #[test]
    fn transfers_round_trip(payload in prop::collection::vec(any::<u8>(), 0..300_000), size in 1usize..70_000) {
        let mut r = Reassembler::new(1 << 20);
        let mut whole = None;
        for p in chunk(&payload, size).expect("fits") {
            prop_assert!(p.chunk.len() <= MAX_DATA);
            whole = r.push(p.number, p.max, p.chunk).expect("in order");
        }
        prop_assert_eq!(whole.expect("complete"), payload);
    }
}

#[test]
fn header_declaring_full_size_reserves_nothing_yet() {
    let mut header = vec![3, 42, 0, 0];
    header.extend_from_slice(&(MAX_DATA as u32).to_be_bytes());
    header.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1]);
    let mut decoder = Decoder::new();
    decoder.push(&header);
    assert_eq!(decoder.next_frame(), Ok(None));
    assert!(decoder.capacity() < 1024, "capacity {}", decoder.capacity());
}
