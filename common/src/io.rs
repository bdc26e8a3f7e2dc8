//! Non-blocking stream helpers shared by the daemons' event loops: read
//! everything a socket has into a [`Decoder`], write as much of a pending
//! buffer as a socket takes. They work on any `Read`/`Write`; opening and
//! polling sockets stays with the daemons.

use std::io::{self, Read, Write};

use crate::Decoder;

/// Below this many spare bytes an emptied output buffer is kept.
const KEEP_CAPACITY: usize = 4096;

/// Reads until the stream would block, feeding `decoder`. Returns the
/// bytes read and whether the peer closed (end of stream); an error other
/// than WouldBlock or Interrupted is returned as is.
pub fn read_available(
    stream: &mut impl Read,
    decoder: &mut Decoder,
    buf: &mut [u8],
) -> io::Result<(usize, bool)> {
    let mut total = 0;
    loop {
        match stream.read(buf) {
            Ok(0) => return Ok((total, true)),
            Ok(n) => {
                total += n;
                decoder.push(&buf[..n]);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok((total, false)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Writes as much of `out` as the stream takes now and removes it from
/// `out`; an emptied large buffer is given back. Ok when everything went
/// or the stream would block; Err when the peer is gone.
pub fn write_pending(stream: &mut impl Write, out: &mut Vec<u8>) -> io::Result<()> {
    let mut written = 0;
    let result = loop {
        if written == out.len() {
            break Ok(());
        }
        match stream.write(&out[written..]) {
            Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => break Err(e),
        }
    };
    out.drain(..written);
    if out.is_empty() && out.capacity() > KEEP_CAPACITY {
        *out = Vec::new();
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Frame, MessageType};

    /// A stream that takes or gives `step` bytes per call, then blocks.
    struct Trickle {
        data: Vec<u8>,
        taken: Vec<u8>,
        step: usize,
        calls_left: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.calls_left == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.calls_left -= 1;
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data.drain(..n);
            Ok(n)
        }
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.calls_left == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.calls_left -= 1;
            let n = self.step.min(buf.len());
            self.taken.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn reads_until_it_would_block_then_until_the_end() {
        let bytes = Frame::new(MessageType::Command, 8, 0, Vec::new()).to_bytes();
        let mut s = Trickle {
            data: bytes.clone(),
            taken: Vec::new(),
            step: 5,
            calls_left: 2,
        };
        let mut decoder = Decoder::new();
        let mut buf = [0u8; 64];
        assert_eq!(
            read_available(&mut s, &mut decoder, &mut buf).expect("ok"),
            (10, false)
        );
        s.calls_left = 10;
        assert_eq!(
            read_available(&mut s, &mut decoder, &mut buf).expect("ok"),
            (6, true)
        );
        assert!(decoder.next_frame().expect("valid").is_some());
    }

    #[test]
    fn writes_what_the_stream_takes_and_keeps_the_rest() {
        let mut s = Trickle {
            data: Vec::new(),
            taken: Vec::new(),
            step: 3,
            calls_left: 2,
        };
        let mut out = b"abcdefghij".to_vec();
        write_pending(&mut s, &mut out).expect("would block is fine");
        assert_eq!(
            (s.taken.as_slice(), out.as_slice()),
            (&b"abcdef"[..], &b"ghij"[..])
        );
        s.calls_left = 5;
        write_pending(&mut s, &mut out).expect("done");
        assert!(out.is_empty());
        assert_eq!(s.taken, b"abcdefghij");
    }
}
