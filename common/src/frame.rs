//! Frame codec (PROTOCOL.md section 2): the 16-byte big-endian header, whole
//! frames, and an incremental decoder for non-blocking sockets.
//!
//! The codec does no I/O, no logging and no threading. Every daemon and tool
//! reads and writes frames through this module only.

use std::fmt;

use byteorder::{BigEndian, ByteOrder};

/// Length of the fixed frame header in bytes.
pub const HEADER_LEN: usize = 16;

/// Largest `data_size` a frame may declare.
pub const MAX_DATA: usize = 65_536;

/// The four message categories of PROTOCOL.md section 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// 1: a command instruction.
    Command = 1,
    /// 2: a data request.
    Data = 2,
    /// 3: a server return.
    Return = 3,
    /// 4: a control message on the master link.
    Control = 4,
}

impl MessageType {
    /// Every type, in byte order.
    const ALL: [MessageType; 4] = [
        MessageType::Command,
        MessageType::Data,
        MessageType::Return,
        MessageType::Control,
    ];

    /// The type for a header byte, or `None` for 0 and 5..=255.
    pub fn from_u8(byte: u8) -> Option<MessageType> {
        let index = usize::from(byte.checked_sub(1)?);
        MessageType::ALL.get(index).copied()
    }

    /// The lowercase word used by `ptwire` and the man pages.
    pub fn name(self) -> &'static str {
        match self {
            MessageType::Command => "command",
            MessageType::Data => "data",
            MessageType::Return => "return",
            MessageType::Control => "control",
        }
    }

    /// Parses the word of [`MessageType::name`] or a decimal byte (`1`..`4`).
    pub fn from_name(word: &str) -> Option<MessageType> {
        MessageType::ALL
            .into_iter()
            .find(|t| t.name() == word)
            .or_else(|| word.parse().ok().and_then(MessageType::from_u8))
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A frame header as it stands on the wire.
///
/// `message_type` stays a raw byte so that tools can build deliberately bad
/// frames; [`Header::parse`] is where validity is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Raw `message_type` byte; 1..=4 in a valid frame.
    pub message_type: u8,
    /// Instruction code (PROTOCOL.md section 4).
    pub instruction: u8,
    /// Number of space-separated arguments in the data.
    pub argument_count: u16,
    /// Length of the data that follows the header.
    pub data_size: u32,
    /// 1-based packet number in a data transfer, else 0.
    pub data_message_number: u32,
    /// Packets in the whole transfer, else 0.
    pub data_message_max: u32,
}

impl Header {
    /// Reads and validates a header from its 16 bytes: the type must be 1..=4
    /// and `data_size` at most [`MAX_DATA`]. Nothing else is judged here.
    pub fn parse(bytes: &[u8; HEADER_LEN]) -> Result<Header, FrameError> {
        let header = Header {
            message_type: bytes[0],
            instruction: bytes[1],
            argument_count: BigEndian::read_u16(&bytes[2..4]),
            data_size: BigEndian::read_u32(&bytes[4..8]),
            data_message_number: BigEndian::read_u32(&bytes[8..12]),
            data_message_max: BigEndian::read_u32(&bytes[12..16]),
        };
        if MessageType::from_u8(header.message_type).is_none() {
            return Err(FrameError::BadType(header.message_type));
        }
        if header.data_size as usize > MAX_DATA {
            return Err(FrameError::TooLarge(header.data_size));
        }
        Ok(header)
    }

    /// Appends the 16 header bytes to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        let mut bytes = [0u8; HEADER_LEN];
        bytes[0] = self.message_type;
        bytes[1] = self.instruction;
        BigEndian::write_u16(&mut bytes[2..4], self.argument_count);
        BigEndian::write_u32(&mut bytes[4..8], self.data_size);
        BigEndian::write_u32(&mut bytes[8..12], self.data_message_number);
        BigEndian::write_u32(&mut bytes[12..16], self.data_message_max);
        out.extend_from_slice(&bytes);
    }
}

/// Why a header is not acceptable. Either error loses framing: the peer gets
/// `protocolError` and the connection is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// `message_type` outside 1..=4.
    #[error("message_type {0} is not one of 1 (command), 2 (data), 3 (return), 4 (control)")]
    BadType(u8),
    /// `data_size` over [`MAX_DATA`].
    #[error("data_size {0} exceeds the {MAX_DATA}-byte limit")]
    TooLarge(u32),
    /// A WebSocket message (section 12) that does not carry exactly one
    /// frame.
    #[error(transparent)]
    Message(#[from] MessageFault),
}

/// How a WebSocket message breaks "one binary message, one whole frame"
/// (section 12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MessageFault {
    /// A text message.
    #[error("a text message: frames travel in binary messages")]
    Text,
    /// `len` bytes where the header announces a frame of `frame` bytes
    /// (0: the message is shorter than a header).
    #[error("{}", length_fault(*.len, *.frame))]
    Length {
        /// Bytes in the message.
        len: u32,
        /// Bytes of the frame its header announces.
        frame: u32,
    },
    /// Over the largest frame, `len` bytes or more.
    #[error("a message of {} bytes or more, over the {}-byte frame limit", .0, HEADER_LEN + MAX_DATA)]
    TooLarge(u64),
    /// Refused by the WebSocket layer (RFC 6455: unmasked, reserved bits,
    /// a bad continuation or control frame).
    #[error("a message that breaks RFC 6455")]
    WebSocket,
}

/// [`MessageFault::Length`] in words.
fn length_fault(len: u32, frame: u32) -> String {
    if frame == 0 {
        format!("a message of {len} bytes, shorter than a frame header")
    } else {
        format!("a message of {len} bytes holding a frame of {frame}: one message, one frame")
    }
}

impl FrameError {
    /// Byte offset of the offending field within its frame.
    pub fn field_offset(&self) -> usize {
        match self {
            FrameError::BadType(_) | FrameError::Message(_) => 0,
            FrameError::TooLarge(_) => 4,
        }
    }
}

/// One whole frame: header fields and its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Raw `message_type` byte.
    pub message_type: u8,
    /// Instruction code.
    pub instruction: u8,
    /// Argument count as carried in the header.
    pub argument_count: u16,
    /// Packet number of a data transfer, else 0.
    pub data_message_number: u32,
    /// Packet total of a data transfer, else 0.
    pub data_message_max: u32,
    /// The data: arguments or a raw chunk.
    pub data: Vec<u8>,
}

impl Frame {
    /// A frame with no packet numbering.
    pub fn new(
        message_type: MessageType,
        instruction: u8,
        argument_count: u16,
        data: Vec<u8>,
    ) -> Frame {
        Frame {
            message_type: message_type as u8,
            instruction,
            argument_count,
            data_message_number: 0,
            data_message_max: 0,
            data,
        }
    }

    /// The header this frame encodes to.
    pub fn header(&self) -> Header {
        Header {
            message_type: self.message_type,
            instruction: self.instruction,
            argument_count: self.argument_count,
            data_size: self.data.len() as u32,
            data_message_number: self.data_message_number,
            data_message_max: self.data_message_max,
        }
    }

    /// The validated message type; `None` only for a frame built by hand with
    /// a bad type byte.
    pub fn kind(&self) -> Option<MessageType> {
        MessageType::from_u8(self.message_type)
    }

    /// Bytes this frame takes on the wire.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.data.len()
    }

    /// Appends the encoded frame to `out`. The caller keeps `data` within
    /// [`MAX_DATA`]; [`crate::transfer`] splits anything larger.
    pub fn encode(&self, out: &mut Vec<u8>) {
        debug_assert!(self.data.len() <= MAX_DATA, "frame data over MAX_DATA");
        out.reserve(self.encoded_len());
        self.header().write(out);
        out.extend_from_slice(&self.data);
    }

    /// The encoded frame as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode(&mut out);
        out
    }
}

/// Decodes one frame from the front of `buf`.
///
/// `Ok(None)` until a whole frame is there; the header alone decides
/// validity, so a bad type or an oversized `data_size` is an error as soon as
/// 16 bytes have arrived. On success returns the frame and the bytes used.
pub fn decode(buf: &[u8]) -> Result<Option<(Frame, usize)>, FrameError> {
    let Some(head) = buf.first_chunk::<HEADER_LEN>() else {
        return Ok(None);
    };
    let header = Header::parse(head)?;
    let end = HEADER_LEN + header.data_size as usize;
    if buf.len() < end {
        return Ok(None);
    }
    let frame = Frame {
        message_type: header.message_type,
        instruction: header.instruction,
        argument_count: header.argument_count,
        data_message_number: header.data_message_number,
        data_message_max: header.data_message_max,
        data: buf[HEADER_LEN..end].to_vec(),
    };
    Ok(Some((frame, end)))
}

/// A header error together with where it sits in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("byte {}: {error}", self.offset())]
pub struct DecodeError {
    /// Stream offset of the first byte of the bad frame.
    pub frame_offset: u64,
    /// What is wrong with its header.
    pub error: FrameError,
}

impl DecodeError {
    /// Stream offset of the offending header field.
    pub fn offset(&self) -> u64 {
        self.frame_offset + self.error.field_offset() as u64
    }
}

/// Below this many spare bytes an idle decoder keeps its buffer.
const IDLE_KEEP: usize = 1024;

/// Incremental decoder for a byte stream read in arbitrary pieces.
///
/// Feed it whatever a non-blocking read returned, then take frames until it
/// answers `Ok(None)`. It holds at most one partial frame plus the last piece
/// fed, never reserves more than a header allows, and gives memory back when
/// it runs empty, so an idle connection costs next to nothing.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
    start: usize,
    consumed: u64,
    failed: Option<DecodeError>,
}

impl Decoder {
    /// An empty decoder.
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Appends bytes read from the peer.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole frame, `Ok(None)` if more bytes are needed. After an
    /// error the stream has lost framing and every later call repeats it.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, DecodeError> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        match decode(&self.buf[self.start..]) {
            Ok(Some((frame, used))) => {
                self.start += used;
                self.consumed += used as u64;
                self.compact();
                Ok(Some(frame))
            }
            Ok(None) => {
                self.compact();
                Ok(None)
            }
            Err(error) => {
                let err = DecodeError {
                    frame_offset: self.consumed,
                    error,
                };
                self.failed = Some(err);
                Err(err)
            }
        }
    }

    /// Bytes of an unfinished frame held right now.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Bytes of the stream taken as whole frames so far.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// Memory held by the buffer, for accounting and tests.
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    fn compact(&mut self) {
        if self.start == 0 {
            return;
        }
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
            if self.buf.capacity() > IDLE_KEEP {
                self.buf = Vec::new();
            }
        } else if self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login_bytes() -> Vec<u8> {
        let data = b"alice secret false".to_vec();
        Frame::new(MessageType::Command, 1, 3, data).to_bytes()
    }

    #[test]
    fn header_round_trip() {
        let header = Header {
            message_type: 3,
            instruction: 42,
            argument_count: 0,
            data_size: 56,
            data_message_number: 1,
            data_message_max: 2,
        };
        let mut out = Vec::new();
        header.write(&mut out);
        assert_eq!(out, [3, 42, 0, 0, 0, 0, 0, 56, 0, 0, 0, 1, 0, 0, 0, 2]);
        let bytes: [u8; HEADER_LEN] = out.try_into().expect("16 bytes");
        assert_eq!(Header::parse(&bytes), Ok(header));
    }

    #[test]
    fn oversized_data_size_rejected_from_header_alone() {
        let mut bytes = vec![1, 1, 0, 3, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(decode(&bytes), Err(FrameError::TooLarge(0x7fff_ffff)));
        let mut decoder = Decoder::new();
        decoder.push(&bytes[..15]);
        assert_eq!(decoder.next_frame(), Ok(None));
        decoder.push(&bytes[15..]);
        let err = decoder.next_frame().expect_err("oversized");
        assert_eq!(err.offset(), 4);
        assert_eq!(
            err.to_string(),
            "byte 4: data_size 2147483647 exceeds the 65536-byte limit"
        );
        assert!(
            decoder.capacity() < 64,
            "no room reserved for the declared data"
        );
        bytes.extend_from_slice(b"more");
        assert!(decoder.next_frame().is_err(), "framing stays lost");
    }

    #[test]
    fn bad_message_types_rejected() {
        for t in [0u8, 5, 9, 255] {
            let bytes = [t, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
            assert_eq!(decode(&bytes), Err(FrameError::BadType(t)), "type {t}");
        }
        let err = decode(&[9, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).expect_err("type 9");
        assert_eq!(
            err.to_string(),
            "message_type 9 is not one of 1 (command), 2 (data), 3 (return), 4 (control)"
        );
    }

    #[test]
    fn data_size_at_the_limit_is_accepted() {
        let frame = Frame::new(MessageType::Return, 42, 0, vec![7; MAX_DATA]);
        let bytes = frame.to_bytes();
        let (back, used) = decode(&bytes).expect("valid").expect("whole");
        assert_eq!(used, bytes.len());
        assert_eq!(back, frame);
    }

    #[test]
    fn decoder_handles_one_byte_at_a_time() {
        let bytes = [login_bytes(), login_bytes()].concat();
        let mut decoder = Decoder::new();
        let mut frames = Vec::new();
        for b in &bytes {
            decoder.push(std::slice::from_ref(b));
            while let Some(frame) = decoder.next_frame().expect("valid stream") {
                frames.push(frame);
            }
        }
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].data, b"alice secret false");
        assert_eq!(decoder.pending(), 0);
        assert_eq!(decoder.consumed(), bytes.len() as u64);
    }

    #[test]
    fn decoder_reports_stream_offset_of_bad_second_frame() {
        let mut bytes = login_bytes();
        let first_len = bytes.len() as u64;
        bytes.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let mut decoder = Decoder::new();
        decoder.push(&bytes);
        assert!(decoder.next_frame().expect("first ok").is_some());
        let err = decoder.next_frame().expect_err("second bad");
        assert_eq!(err.frame_offset, first_len);
        assert_eq!(err.offset(), first_len);
    }

    #[test]
    fn idle_decoder_gives_memory_back() {
        let big = Frame::new(MessageType::Return, 42, 0, vec![1; 60_000]).to_bytes();
        let mut decoder = Decoder::new();
        decoder.push(&big);
        assert!(decoder.next_frame().expect("valid").is_some());
        assert_eq!(decoder.next_frame(), Ok(None));
        assert_eq!(decoder.capacity(), 0);
    }
}
