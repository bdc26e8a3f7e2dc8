//! Data transfers (PROTOCOL.md section 5): a payload goes out as packets
//! numbered 1..=N, each carrying `data_message_max` N and at most 65 536
//! bytes; the receiver checks the numbering and concatenates.

use std::fmt;

use crate::MAX_DATA;

/// Most packets one payload may take.
pub const MAX_PACKETS: u32 = 65_536;

/// One packet of a transfer, borrowing its chunk from the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// 1-based packet number.
    pub number: u32,
    /// Packets in the whole transfer.
    pub max: u32,
    /// This packet's share of the payload.
    pub chunk: &'a [u8],
}

/// Splits `payload` into packets of at most `chunk_size` bytes (clamped to
/// 1..=[`MAX_DATA`]). An empty payload is one empty packet, `1/1`.
/// `None` if the payload would need more than [`MAX_PACKETS`] packets.
pub fn chunk(payload: &[u8], chunk_size: usize) -> Option<impl Iterator<Item = Packet<'_>>> {
    let size = chunk_size.clamp(1, MAX_DATA);
    let count = payload.len().div_ceil(size).max(1);
    let max = u32::try_from(count).ok().filter(|&m| m <= MAX_PACKETS)?;
    let mut pieces = payload.chunks(size);
    Some((1..=max).map(move |number| Packet {
        number,
        max,
        chunk: pieces.next().unwrap_or(&[]),
    }))
}

/// Why a packet does not continue the transfer under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferError {
    /// The packet number is not the one expected next.
    OutOfOrder {
        /// What would have been right.
        expected: u32,
        /// What arrived.
        got: u32,
    },
    /// `data_message_max` changed within one transfer.
    MaxChanged {
        /// The max of the transfer's first packet.
        was: u32,
        /// The max of this packet.
        now: u32,
    },
    /// `data_message_max` 0 or over [`MAX_PACKETS`].
    BadMax(u32),
    /// The number is outside 1..=max.
    BeyondMax {
        /// The packet number.
        number: u32,
        /// The transfer's max.
        max: u32,
    },
    /// The payload grew past the receiver's limit.
    TooLarge(usize),
}

impl fmt::Display for TransferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransferError::OutOfOrder { expected, got } => {
                write!(
                    f,
                    "packet {got} arrived where packet {expected} was expected"
                )
            }
            TransferError::MaxChanged { was, now } => {
                write!(
                    f,
                    "data_message_max changed from {was} to {now} within one transfer"
                )
            }
            TransferError::BadMax(max) => {
                write!(f, "data_message_max {max} is outside 1..={MAX_PACKETS}")
            }
            TransferError::BeyondMax { number, max } => {
                write!(f, "packet number {number} is outside 1..={max}")
            }
            TransferError::TooLarge(n) => {
                write!(f, "payload of {n} bytes exceeds this receiver's limit")
            }
        }
    }
}

impl std::error::Error for TransferError {}

/// Reassembles one payload at a time from numbered packets.
#[derive(Debug)]
pub struct Reassembler {
    payload: Vec<u8>,
    next: u32,
    max: u32,
    limit: usize,
}

impl Reassembler {
    /// A reassembler refusing payloads over `limit` bytes.
    pub fn new(limit: usize) -> Reassembler {
        Reassembler {
            payload: Vec::new(),
            next: 1,
            max: 0,
            limit,
        }
    }

    /// Whether a transfer has started and not finished.
    pub fn in_progress(&self) -> bool {
        self.max != 0
    }

    /// Takes one packet; returns the whole payload after the last one. On
    /// error the transfer under way is dropped.
    pub fn push(
        &mut self,
        number: u32,
        max: u32,
        chunk: &[u8],
    ) -> Result<Option<Vec<u8>>, TransferError> {
        let result = self.accept(number, max, chunk);
        if result.is_err() {
            self.reset();
        }
        result
    }

    fn accept(
        &mut self,
        number: u32,
        max: u32,
        chunk: &[u8],
    ) -> Result<Option<Vec<u8>>, TransferError> {
        if max == 0 || max > MAX_PACKETS {
            return Err(TransferError::BadMax(max));
        }
        if self.max != 0 && max != self.max {
            return Err(TransferError::MaxChanged {
                was: self.max,
                now: max,
            });
        }
        if number != self.next {
            return Err(TransferError::OutOfOrder {
                expected: self.next,
                got: number,
            });
        }
        if number > max {
            return Err(TransferError::BeyondMax { number, max });
        }
        if self.payload.len() + chunk.len() > self.limit {
            return Err(TransferError::TooLarge(self.payload.len() + chunk.len()));
        }
        self.max = max;
        self.payload.extend_from_slice(chunk);
        if number == max {
            let payload = std::mem::take(&mut self.payload);
            self.reset();
            return Ok(Some(payload));
        }
        self.next += 1;
        Ok(None)
    }

    fn reset(&mut self) {
        self.payload = Vec::new();
        self.next = 1;
        self.max = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_and_reassembles() {
        let payload: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let packets: Vec<_> = chunk(&payload, MAX_DATA).expect("fits").collect();
        assert_eq!(packets.len(), 4);
        assert!(
            packets
                .iter()
                .all(|p| p.max == 4 && p.chunk.len() <= MAX_DATA)
        );
        let mut r = Reassembler::new(1 << 20);
        let mut out = None;
        for p in &packets {
            out = r.push(p.number, p.max, p.chunk).expect("in order");
        }
        assert_eq!(out.expect("complete"), payload);
        assert!(!r.in_progress());
    }

    #[test]
    fn empty_payload_is_one_empty_packet() {
        let packets: Vec<_> = chunk(b"", MAX_DATA).expect("fits").collect();
        assert_eq!(
            packets,
            [Packet {
                number: 1,
                max: 1,
                chunk: b""
            }]
        );
        assert_eq!(Reassembler::new(10).push(1, 1, b""), Ok(Some(Vec::new())));
    }

    #[test]
    fn refuses_packet_3_after_1() {
        let mut r = Reassembler::new(1 << 20);
        assert_eq!(r.push(1, 3, b"a"), Ok(None));
        assert_eq!(
            r.push(3, 3, b"c"),
            Err(TransferError::OutOfOrder {
                expected: 2,
                got: 3
            })
        );
        assert!(!r.in_progress(), "a broken transfer is dropped");
        assert_eq!(
            TransferError::OutOfOrder {
                expected: 2,
                got: 3
            }
            .to_string(),
            "packet 3 arrived where packet 2 was expected"
        );
    }

    #[test]
    fn refuses_a_changing_max_and_bad_numbers() {
        let mut r = Reassembler::new(1 << 20);
        assert_eq!(r.push(1, 3, b"a"), Ok(None));
        assert_eq!(
            r.push(2, 4, b"b"),
            Err(TransferError::MaxChanged { was: 3, now: 4 })
        );
        assert_eq!(
            r.push(0, 1, b""),
            Err(TransferError::OutOfOrder {
                expected: 1,
                got: 0
            })
        );
        assert_eq!(r.push(1, 0, b""), Err(TransferError::BadMax(0)));
        assert_eq!(
            r.push(1, MAX_PACKETS + 1, b""),
            Err(TransferError::BadMax(MAX_PACKETS + 1))
        );
        assert_eq!(
            r.push(2, 1, b""),
            Err(TransferError::OutOfOrder {
                expected: 1,
                got: 2
            })
        );
    }

    #[test]
    fn refuses_payload_over_limit() {
        let mut r = Reassembler::new(3);
        assert_eq!(r.push(1, 2, b"ab"), Ok(None));
        assert_eq!(r.push(2, 2, b"cd"), Err(TransferError::TooLarge(4)));
    }

    #[test]
    fn refuses_payload_needing_too_many_packets() {
        let payload = vec![0u8; MAX_PACKETS as usize + 1];
        assert!(chunk(&payload, 1).is_none());
        assert!(chunk(&payload, 2).is_some());
    }
}
