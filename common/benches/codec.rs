//! Decoding speed of the frame codec: the `login` vector and a full 64 KiB
//! `data` packet. Figures go in BENCHMARKS.md (target: 5 million `login`
//! decodes per second on one core).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use papertrader_common::{Decoder, Frame, MAX_DATA, MessageType, frame};

const LOGIN: &str = "010100030000004c0000000000000000616c69636520616638363763306434613162396464363266656439663161363261303461383933363963356439346562356334303934643336623438666563313563393762622066616c7365";

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

fn bench_decode(c: &mut Criterion) {
    let login = unhex(LOGIN);
    let mut data = Frame::new(MessageType::Return, 42, 0, vec![b'7'; MAX_DATA]);
    data.data_message_number = 1;
    data.data_message_max = 1;
    let data = data.to_bytes();

    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(1));
    group.bench_function("login", |b| b.iter(|| frame::decode(black_box(&login))));
    group.bench_function("login_stream", |b| {
        let mut decoder = Decoder::new();
        b.iter(|| {
            decoder.push(black_box(&login));
            decoder.next_frame()
        })
    });
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.bench_function("data_64k", |b| b.iter(|| frame::decode(black_box(&data))));
    group.finish();
}

criterion_group!(benches, bench_decode);
criterion_main!(benches);
