//! Data transfers (PROTOCOL.md section 5): a payload goes out as packets
//! numbered 1..=N, each carrying `data_message_max` N and at most 65 536
//! bytes; the receiver checks the numbering and concatenates. [`packets`]
//! builds the frames of a whole transfer (`data` answers with or without
//! the master link's REQID, the master's `quotes` feed); [`Reassembler`]
//! takes them apart again.

use crate::MAX_DATA;
use crate::frame::Frame;
use crate::instr::{Arity, Instr};

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

/// The frames of a transfer of `payload` as `instr` (`data` or `quotes`),
/// numbered 1..=N, with the instruction's message type. With a `reqid`
/// (a `data` answer on the master link, PROTOCOL.md section 6) each frame
/// has argument count 1 and data `REQID chunk`; without one, argument
/// count 0 and the bare chunk. Never panics: a payload that needs more
/// than [`MAX_PACKETS`] packets, or a REQID that leaves no room for data,
/// is an error the caller answers as a server-side failure.
pub fn packets(
    instr: Instr,
    payload: &[u8],
    reqid: Option<&str>,
) -> Result<Vec<Frame>, PacketError> {
    if instr.arity() != Arity::Raw {
        return Err(PacketError::NotATransfer(instr));
    }
    let prefix = match reqid {
        None => 0,
        Some(id) if id.is_empty() || id.contains(' ') || id.len() + 2 > MAX_DATA => {
            return Err(PacketError::BadReqid(excerpt(id), id.len()));
        }
        Some(id) => id.len() + 1,
    };
    let room = MAX_DATA - prefix;
    let pieces = chunk(payload, room).ok_or(PacketError::TooLarge {
        bytes: payload.len(),
        room,
    })?;
    let mut frames = Vec::with_capacity(pieces.size_hint().0);
    for p in pieces {
        let mut data = Vec::with_capacity(prefix + p.chunk.len());
        if let Some(id) = reqid {
            data.extend_from_slice(id.as_bytes());
            data.push(b' ');
        }
        data.extend_from_slice(p.chunk);
        let mut f = Frame::new(instr.kind(), instr.code(), u16::from(reqid.is_some()), data);
        f.data_message_number = p.number;
        f.data_message_max = p.max;
        frames.push(f);
    }
    Ok(frames)
}

/// Longest piece of a REQID repeated back in an error.
const SHOWN_REQID: usize = 24;

fn excerpt(text: &str) -> String {
    match text.char_indices().nth(SHOWN_REQID) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_string(),
    }
}

/// Why a payload cannot go out as one transfer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    /// The instruction carries arguments, not a data transfer.
    #[error("{} carries arguments, not a data transfer; expected data or quotes", .0.name())]
    NotATransfer(Instr),
    /// The REQID is empty, holds a space, or leaves no room for data: its
    /// excerpt and its length in bytes.
    #[error("REQID {:?} ({} bytes): expected 1 to {} bytes without a space", .0, .1, MAX_DATA - 2)]
    BadReqid(String, usize),
    /// The payload needs more than [`MAX_PACKETS`] packets.
    #[error("a payload of {bytes} bytes needs more than {MAX_PACKETS} packets of {room} bytes")]
    TooLarge {
        /// Its size.
        bytes: usize,
        /// Payload bytes each packet could carry.
        room: usize,
    },
}

/// Why a packet does not continue the transfer under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransferError {
    /// The packet number is not the one expected next.
    #[error("packet {got} arrived where packet {expected} was expected")]
    OutOfOrder {
        /// What would have been right.
        expected: u32,
        /// What arrived.
        got: u32,
    },
    /// `data_message_max` changed within one transfer.
    #[error("data_message_max changed from {was} to {now} within one transfer")]
    MaxChanged {
        /// The max of the transfer's first packet.
        was: u32,
        /// The max of this packet.
        now: u32,
    },
    /// `data_message_max` 0 or over [`MAX_PACKETS`].
    #[error("data_message_max {0} is outside 1..={MAX_PACKETS}")]
    BadMax(u32),
    /// The number is outside 1..=max.
    #[error("packet number {number} is outside 1..={max}")]
    BeyondMax {
        /// The packet number.
        number: u32,
        /// The transfer's max.
        max: u32,
    },
    /// The payload grew past the receiver's limit.
    #[error("payload of {0} bytes exceeds this receiver's limit")]
    TooLarge(usize),
}

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
            return Ok(Some(self.reset()));
        }
        self.next += 1;
        Ok(None)
    }

    /// Ends the transfer under way, giving back what it gathered.
    fn reset(&mut self) -> Vec<u8> {
        std::mem::replace(self, Reassembler::new(self.limit)).payload
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MessageType;

    impl Reassembler {
        /// Whether a transfer has started and not finished.
        fn in_progress(&self) -> bool {
            self.max != 0
        }
    }

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

    #[test]
    fn packets_with_a_reqid_fit_the_limit() {
        let payload = vec![b'x'; 150_000];
        let frames = packets(Instr::Data, &payload, Some("12345")).expect("fits");
        assert_eq!(frames.len(), 3);
        let mut back = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            assert_eq!(f.message_type, MessageType::Return as u8);
            assert_eq!(f.instruction, Instr::Data.code());
            assert_eq!(f.argument_count, 1);
            assert_eq!(
                (f.data_message_number, f.data_message_max),
                (i as u32 + 1, 3)
            );
            assert!(f.data.len() <= MAX_DATA);
            back.extend_from_slice(f.data.strip_prefix(b"12345 ").expect("REQID first"));
        }
        assert_eq!(back, payload);
        let empty = packets(Instr::Data, b"", Some("7")).expect("empty");
        assert_eq!(empty.len(), 1);
        assert_eq!(empty[0].data, b"7 ");
        assert_eq!(
            (empty[0].data_message_number, empty[0].data_message_max),
            (1, 1)
        );
    }

    #[test]
    fn packets_without_a_reqid_match_the_vectors() {
        let frames = packets(Instr::Data, b"", None).expect("empty");
        let vector = crate::vectors::all()
            .into_iter()
            .find(|(n, _)| *n == "data-empty")
            .expect("data-empty")
            .1;
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].to_bytes(), vector);
        let line = b"1732147200 189.5000 191.2500 188.0000 190.7500 53200000\n";
        let frames = packets(Instr::Data, line, None).expect("one line");
        assert_eq!(frames[0].argument_count, 0);
        assert_eq!(frames[0].data, line);
        let frames = packets(Instr::Data, &vec![1; MAX_DATA + 1], None).expect("two");
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].data.len(), MAX_DATA);
    }

    #[test]
    fn quotes_packets_are_control_frames() {
        let frames = packets(Instr::Quotes, b"AAPL 1 2 3 4 5 6\n", None).expect("quotes");
        assert_eq!(frames[0].message_type, MessageType::Control as u8);
        assert_eq!(frames[0].instruction, Instr::Quotes.code());
        assert_eq!(
            (frames[0].data_message_number, frames[0].data_message_max),
            (1, 1)
        );
        let check = crate::message::check(&frames[0], 0).expect("valid quotes packet");
        assert_eq!(check.instr, Instr::Quotes);
    }

    #[test]
    fn packets_refuse_a_payload_too_large_without_panicking() {
        // A REQID of 65 533 bytes leaves 2 bytes a packet: 131 073 bytes
        // need 65 537 packets.
        let reqid = "1".repeat(MAX_DATA - 3);
        let payload = vec![b'x'; 2 * MAX_PACKETS as usize + 1];
        let err = packets(Instr::Data, &payload, Some(&reqid)).expect_err("too large");
        assert_eq!(
            err,
            PacketError::TooLarge {
                bytes: 131_073,
                room: 2
            }
        );
        assert_eq!(
            err.to_string(),
            "a payload of 131073 bytes needs more than 65536 packets of 2 bytes"
        );
        assert!(packets(Instr::Data, &payload[1..], Some(&reqid)).is_ok());
    }

    #[test]
    fn packets_refuse_bad_reqids_and_instructions() {
        let long = "9".repeat(MAX_DATA - 1);
        let err = packets(Instr::Data, b"x", Some(&long)).expect_err("no room");
        assert_eq!(
            err.to_string(),
            "REQID \"999999999999999999999999...\" (65535 bytes): \
             expected 1 to 65534 bytes without a space"
        );
        assert!(packets(Instr::Data, b"x", Some(&long[1..])).is_ok());
        assert!(packets(Instr::Data, b"x", Some("")).is_err());
        assert!(packets(Instr::Data, b"x", Some("1 2")).is_err());
        let err = packets(Instr::Ping, b"x", None).expect_err("ping");
        assert_eq!(
            err.to_string(),
            "ping carries arguments, not a data transfer; expected data or quotes"
        );
    }
}
