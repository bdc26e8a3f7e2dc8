//! The registry of workers, `workers.list`: who may open a master link,
//! with which OpenPGP key, from which addresses (`papertrader-protocol(7)`,
//! section 7, step 2).
//!
//! `main.rs` loads it once at start (and `-n` checks it); the event loop
//! looks a `workerHello` UUID up in it, checks the peer address, and hands
//! the fingerprint to the gpg thread. A line is
//!
//! ```text
//! NAME UUID FINGERPRINT ADDRESS[,ADDRESS...]
//! ```
//!
//! separated by whitespace; `#` starts a comment when it begins a line or
//! follows whitespace, and blank lines are ignored. NAME is 1 to 32 of
//! `A-Za-z0-9_.-`, UUID is 8-4-4-4-12 hex digits (kept lowercase),
//! FINGERPRINT 40 or 64 hex digits (kept uppercase), each ADDRESS an IPv4
//! or IPv6 address or CIDR range. Names and UUIDs are unique.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use papertrader_common::conf::{ConfError, ConfErrors, quote};
use papertrader_common::gpg::normalize_fingerprint;

/// Longest worker name.
const MAX_NAME: usize = 32;

/// An address range: one address or a CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddrRange {
    /// The first address of the block (host bits cleared).
    net: IpAddr,
    /// Leading bits that must match: 0..=32 for IPv4, 0..=128 for IPv6.
    prefix: u8,
}

impl AddrRange {
    /// `10.0.0.0/8`, `::1/128`, or a bare address (`127.0.0.1`, a /32 or
    /// /128). Host bits are cleared: `10.1.2.3/8` is `10.0.0.0/8`. `None`
    /// for anything else, zone ids and brackets included.
    pub fn parse(text: &str) -> Option<AddrRange> {
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr: IpAddr = addr.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().ok().filter(|&p| p <= max)?
            }
            Some(_) => return None,
        };
        let net = match addr {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask_v4(prefix))),
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask_v6(prefix))),
        };
        Some(AddrRange { net, prefix })
    }

    /// Whether `ip` is in the range. IPv4 ranges also match IPv4-mapped
    /// IPv6 peers (`::ffff:127.0.0.1`, as a dual-stack socket reports
    /// them), and IPv6 ranges see an IPv4 peer as its mapped address, so
    /// `::/0` matches every peer and `0.0.0.0/0` every IPv4 one.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => self.contains_v4(net, ip),
            (IpAddr::V4(net), IpAddr::V6(ip)) => ip
                .to_ipv4_mapped()
                .is_some_and(|ip| self.contains_v4(net, ip)),
            (IpAddr::V6(net), IpAddr::V6(ip)) => self.contains_v6(net, ip),
            (IpAddr::V6(net), IpAddr::V4(ip)) => self.contains_v6(net, ip.to_ipv6_mapped()),
        }
    }

    fn contains_v4(&self, net: Ipv4Addr, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask_v4(self.prefix) == u32::from(net)
    }

    fn contains_v6(&self, net: Ipv6Addr, ip: Ipv6Addr) -> bool {
        u128::from(ip) & mask_v6(self.prefix) == u128::from(net)
    }
}

impl fmt::Display for AddrRange {
    /// `10.0.0.0/8`; a single address without its /32 or /128.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let single = if self.net.is_ipv4() { 32 } else { 128 };
        if self.prefix == single {
            write!(f, "{}", self.net)
        } else {
            write!(f, "{}/{}", self.net, self.prefix)
        }
    }
}

fn mask_v4(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask_v6(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

/// One line of workers.list: a worker allowed to link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerEntry {
    /// Name for logs and ptctl.
    pub name: String,
    /// The UUID the worker sends in `workerHello`, lowercase.
    pub uuid: String,
    /// Its OpenPGP key, uppercase hex.
    pub fingerprint: String,
    /// Peer addresses it may connect from.
    pub allowed: Vec<AddrRange>,
}

impl WorkerEntry {
    /// Whether a link from `ip` may claim this entry.
    pub fn allows(&self, ip: IpAddr) -> bool {
        self.allowed.iter().any(|range| range.contains(ip))
    }
}

/// Every worker of workers.list, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registry {
    entries: Vec<WorkerEntry>,
}

impl Registry {
    /// No workers: every link is refused.
    pub fn empty() -> Registry {
        Registry::default()
    }

    /// Reads and parses the file at `path`; a missing file is an error.
    pub fn load(path: &Path) -> Result<Registry, ConfErrors> {
        let name = path.display().to_string();
        let file =
            File::open(path).map_err(|err| error(&name, 0, format!("cannot read: {err}")))?;
        Registry::parse_reader(file, &name)
    }

    /// Parses a workers.list from `reader`; `file` names it in errors.
    /// Reports every bad line.
    pub fn parse_reader(mut reader: impl Read, file: &str) -> Result<Registry, ConfErrors> {
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .map_err(|err| error(file, 0, format!("cannot read: {err}")))?;
        let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
        let mut registry = Registry::empty();
        // Line of each entry, for duplicate messages.
        let mut lines = Vec::new();
        let mut errors = Vec::new();
        for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
            let line = i + 1;
            match parse_line(raw) {
                Ok(None) => {}
                Ok(Some(entry)) => match registry.duplicate(&entry, &lines) {
                    Some(message) => errors.push(error(file, line, message)),
                    None => {
                        registry.entries.push(entry);
                        lines.push(line);
                    }
                },
                Err(messages) => {
                    errors.extend(messages.into_iter().map(|m| error(file, line, m)));
                }
            }
        }
        if errors.is_empty() {
            Ok(registry)
        } else {
            Err(ConfErrors(errors))
        }
    }

    /// Why `entry` cannot join the registry, if it repeats a name or UUID.
    fn duplicate(&self, entry: &WorkerEntry, lines: &[usize]) -> Option<String> {
        for (old, line) in self.entries.iter().zip(lines) {
            if old.name == entry.name {
                return Some(format!(
                    "duplicate name {}, first on line {line}",
                    quote(&entry.name)
                ));
            }
            if old.uuid == entry.uuid {
                return Some(format!(
                    "duplicate UUID {}, first on line {line}",
                    quote(&entry.uuid)
                ));
            }
        }
        None
    }

    /// The worker with `uuid`, in any case.
    pub fn by_uuid(&self, uuid: &str) -> Option<&WorkerEntry> {
        self.entries
            .iter()
            .find(|e| e.uuid.eq_ignore_ascii_case(uuid))
    }

    /// The worker named `name` (names are case-sensitive).
    pub fn by_name(&self, name: &str) -> Option<&WorkerEntry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// Every worker, in file order.
    pub fn entries(&self) -> &[WorkerEntry] {
        &self.entries
    }
}

fn error(file: &str, line: usize, message: String) -> ConfError {
    ConfError {
        file: file.to_string(),
        line,
        message,
    }
}

/// One line: `Ok(None)` when blank or a comment, Err with every problem
/// of the line.
fn parse_line(raw: &[u8]) -> Result<Option<WorkerEntry>, Vec<String>> {
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    let text = std::str::from_utf8(raw).map_err(|_| vec!["line is not valid UTF-8".to_string()])?;
    let fields: Vec<&str> = strip_comment(text).split_whitespace().collect();
    let [name, uuid, fingerprint, addresses] = fields[..] else {
        if fields.is_empty() {
            return Ok(None);
        }
        let hint = if fields.len() > 4 {
            "; a fingerprint or an address list has no spaces"
        } else {
            ""
        };
        return Err(vec![format!(
            "expected 4 fields \"NAME UUID FINGERPRINT ADDRESS[,ADDRESS...]\", found {}{hint}",
            fields.len()
        )]);
    };
    let mut errors = Vec::new();
    if !valid_name(name) {
        errors.push(format!(
            "bad name {}: expected 1 to {MAX_NAME} letters, digits, \"_\", \".\" or \"-\"",
            quote(name)
        ));
    }
    if !valid_uuid(uuid) {
        errors.push(format!(
            "bad UUID {}: expected 8-4-4-4-12 hex digits",
            quote(uuid)
        ));
    }
    let fingerprint = normalize_fingerprint(fingerprint).unwrap_or_else(|| {
        errors.push(format!(
            "bad fingerprint {}: expected 40 or 64 hex digits",
            quote(fingerprint)
        ));
        String::new()
    });
    let allowed = parse_addresses(addresses, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Some(WorkerEntry {
        name: name.to_string(),
        uuid: uuid.to_ascii_lowercase(),
        fingerprint,
        allowed,
    }))
}

/// The comma-separated ADDRESS field; problems go to `errors`.
fn parse_addresses(field: &str, errors: &mut Vec<String>) -> Vec<AddrRange> {
    let mut allowed = Vec::new();
    for item in field.split(',') {
        if item.is_empty() {
            errors.push(format!("empty address in {}", quote(field)));
        } else if let Some(range) = AddrRange::parse(item) {
            allowed.push(range);
        } else {
            errors.push(format!(
                "bad address {}: expected an IPv4 or IPv6 address or a CIDR range \
                 such as 10.0.0.0/8",
                quote(item)
            ));
        }
    }
    allowed
}

fn valid_name(name: &str) -> bool {
    (1..=MAX_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn valid_uuid(uuid: &str) -> bool {
    let groups: Vec<&str> = uuid.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `text` up to a `#` that begins it or follows whitespace.
fn strip_comment(text: &str) -> &str {
    let mut after_space = true;
    for (i, c) in text.char_indices() {
        if c == '#' && after_space {
            return &text[..i];
        }
        after_space = c.is_whitespace();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use papertrader_common::conf::SHOWN_INPUT;

    const FILE: &str = "etc/workers.list";
    const UUID_A: &str = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
    const UUID_B: &str = "11111111-2222-3333-4444-555555555555";
    const FPR_A: &str = "0123456789ABCDEF0123456789ABCDEF01234567";
    const FPR_B: &str = "89ABCDEF0123456789ABCDEF0123456789ABCDEF";

    fn parse(text: &str) -> Result<Registry, ConfErrors> {
        Registry::parse_reader(text.as_bytes(), FILE)
    }

    /// The error lines of a bad file.
    fn errors(text: &str) -> Vec<String> {
        parse(text)
            .expect_err("bad file")
            .0
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("test address")
    }

    fn range(text: &str) -> AddrRange {
        AddrRange::parse(text).unwrap_or_else(|| panic!("range {text}"))
    }

    #[test]
    fn parses_entries_comments_and_blank_lines() {
        let text = format!(
            "\u{feff}# workers of the test exchange\n\
             \n\
             alpha {} {} 127.0.0.1,10.0.0.0/8   # the first one\n\
             \t beta.2_x-y\t{UUID_B}  {}  ::1/128\r\n\
             #gamma {UUID_A} {FPR_A} 127.0.0.1\n",
            UUID_A.to_uppercase(),
            FPR_A.to_lowercase(),
            FPR_B
        );
        let reg = parse(&text).expect("valid");
        assert_eq!(reg.entries().len(), 2);
        let alpha = &reg.entries()[0];
        assert_eq!(alpha.name, "alpha");
        assert_eq!(alpha.uuid, UUID_A, "stored lowercase");
        assert_eq!(alpha.fingerprint, FPR_A, "stored uppercase");
        assert_eq!(alpha.allowed, [range("127.0.0.1/32"), range("10.0.0.0/8")]);
        let beta = reg.by_name("beta.2_x-y").expect("beta");
        assert_eq!(beta.uuid, UUID_B);
        assert_eq!(beta.allowed[0].to_string(), "::1");
    }

    #[test]
    fn empty_file_is_an_empty_registry() {
        assert_eq!(parse("").expect("empty"), Registry::empty());
        assert!(
            parse("# nobody yet\n\n")
                .expect("comments")
                .entries()
                .is_empty()
        );
    }

    #[test]
    fn lookup_by_uuid_ignores_case() {
        let reg = parse(&format!("alpha {UUID_A} {FPR_A} 127.0.0.1\n")).expect("valid");
        let upper = UUID_A.to_uppercase();
        assert_eq!(reg.by_uuid(&upper).expect("upper").name, "alpha");
        assert_eq!(reg.by_uuid(UUID_A).expect("lower").name, "alpha");
        assert!(reg.by_uuid(UUID_B).is_none());
        assert!(reg.by_name("alpha").is_some());
        assert!(reg.by_name("ALPHA").is_none(), "names are case-sensitive");
        assert!(Registry::empty().by_uuid(UUID_A).is_none());
    }

    #[test]
    fn bad_field_count() {
        assert_eq!(
            errors(&format!("alpha {UUID_A}\n")),
            [format!(
                "{FILE}:1: expected 4 fields \"NAME UUID FINGERPRINT ADDRESS[,ADDRESS...]\", \
                 found 2"
            )]
        );
        let spaced = "0123 4567 89AB CDEF 0123 4567 89AB CDEF 0123 4567";
        let errs = errors(&format!("alpha {UUID_A} {spaced} 127.0.0.1\n"));
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0].ends_with("found 13; a fingerprint or an address list has no spaces"),
            "{errs:?}"
        );
        let errs = errors(&format!("alpha {UUID_A} {FPR_A} 127.0.0.1, ::1\n"));
        assert!(errs[0].ends_with("found 5; a fingerprint or an address list has no spaces"));
    }

    #[test]
    fn bad_name() {
        let long = "n".repeat(33);
        for name in ["bad/name", "caf\u{e9}", long.as_str()] {
            assert_eq!(
                errors(&format!("{name} {UUID_A} {FPR_A} 127.0.0.1\n")),
                [format!(
                    "{FILE}:1: bad name \"{name}\": expected 1 to 32 letters, digits, \"_\", \
                     \".\" or \"-\""
                )]
            );
        }
        assert!(parse(&format!("{} {UUID_A} {FPR_A} ::1\n", "n".repeat(32))).is_ok());
    }

    #[test]
    fn bad_uuid() {
        let bad = [
            "1234",
            "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f",
            "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f00",
            "0f1e2d3c4b5a-6978-8796-a5b4c3d2e1f0-",
            "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1fg",
            "0f1e2d3c-4b5a-6978-8796a5b4c3d2e1f0",
        ];
        for uuid in bad {
            assert_eq!(
                errors(&format!("alpha {uuid} {FPR_A} 127.0.0.1\n")),
                [format!(
                    "{FILE}:1: bad UUID \"{uuid}\": expected 8-4-4-4-12 hex digits"
                )]
            );
        }
    }

    #[test]
    fn bad_fingerprint() {
        let long = format!("{FPR_A}0");
        for fpr in [
            "ABCD",
            &FPR_A[..39],
            long.as_str(),
            "G123456789ABCDEF0123456789ABCDEF01234567",
        ] {
            assert_eq!(
                errors(&format!("alpha {UUID_A} {fpr} 127.0.0.1\n")),
                [format!(
                    "{FILE}:1: bad fingerprint \"{fpr}\": expected 40 or 64 hex digits"
                )]
            );
        }
        let v5 = "ab".repeat(32);
        let reg = parse(&format!("alpha {UUID_A} {v5} 127.0.0.1\n")).expect("64 hex digits");
        assert_eq!(reg.entries()[0].fingerprint, v5.to_uppercase());
    }

    #[test]
    fn bad_addresses() {
        let want = |item: &str| {
            format!(
                "{FILE}:1: bad address \"{item}\": expected an IPv4 or IPv6 address or a CIDR \
                 range such as 10.0.0.0/8"
            )
        };
        for item in [
            "localhost",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "10.0.0/8",
            "[::1]",
            "fe80::1%eth0",
            "10.0.0.0/8/8",
        ] {
            assert_eq!(
                errors(&format!("alpha {UUID_A} {FPR_A} {item}\n")),
                [want(item)]
            );
        }
        assert_eq!(
            errors(&format!("alpha {UUID_A} {FPR_A} 127.0.0.1,,::1\n")),
            [format!("{FILE}:1: empty address in \"127.0.0.1,,::1\"")]
        );
        assert_eq!(
            errors(&format!("alpha {UUID_A} {FPR_A} 127.0.0.1,nope\n")),
            [want("nope")]
        );
    }

    #[test]
    fn every_problem_of_every_line_is_reported() {
        let text = format!(
            "ok {UUID_A} {FPR_A} 127.0.0.1\n\
             bad! 1234 ABC 999.0.0.1\n\
             \n\
             \u{1}\n\
             ok {UUID_B} {FPR_B} ::1\n\
             other {} {FPR_B} ::1\n",
            UUID_A.to_uppercase()
        );
        let errs = errors(&text);
        assert_eq!(
            errs,
            [
                format!(
                    "{FILE}:2: bad name \"bad!\": expected 1 to 32 letters, digits, \"_\", \".\" \
                     or \"-\""
                ),
                format!("{FILE}:2: bad UUID \"1234\": expected 8-4-4-4-12 hex digits"),
                format!("{FILE}:2: bad fingerprint \"ABC\": expected 40 or 64 hex digits"),
                format!(
                    "{FILE}:2: bad address \"999.0.0.1\": expected an IPv4 or IPv6 address or a \
                     CIDR range such as 10.0.0.0/8"
                ),
                format!(
                    "{FILE}:4: expected 4 fields \"NAME UUID FINGERPRINT ADDRESS[,ADDRESS...]\", \
                     found 1"
                ),
                format!("{FILE}:5: duplicate name \"ok\", first on line 1"),
                format!("{FILE}:6: duplicate UUID \"{UUID_A}\", first on line 1"),
            ]
        );
    }

    #[test]
    fn not_utf8() {
        let err = Registry::parse_reader(&b"caf\xe9 x y z\n"[..], FILE).expect_err("latin-1");
        assert_eq!(
            err.to_string(),
            format!("{FILE}:1: line is not valid UTF-8")
        );
    }

    #[test]
    fn long_input_is_shortened() {
        let name = "x".repeat(100);
        let errs = errors(&format!("{name} {UUID_A} {FPR_A} ::1\n"));
        assert!(
            errs[0].contains(&format!("\"{}...\"", "x".repeat(SHOWN_INPUT))),
            "{errs:?}"
        );
    }

    #[test]
    fn missing_file_is_an_error() {
        let path = Path::new("/nonexistent/papertrader/workers.list");
        let err = Registry::load(path).expect_err("missing");
        assert_eq!(err.0.len(), 1);
        assert_eq!(err.0[0].line, 0);
        assert!(
            err.to_string()
                .starts_with("/nonexistent/papertrader/workers.list: cannot read: "),
            "{err}"
        );
    }

    #[test]
    fn load_reads_a_file() {
        let path = std::env::temp_dir().join(format!("pt-registry-{}.list", std::process::id()));
        std::fs::write(&path, format!("alpha {UUID_A} {FPR_A} 127.0.0.1\n")).expect("write");
        let reg = Registry::load(&path);
        std::fs::remove_file(&path).expect("remove");
        assert_eq!(reg.expect("valid").entries()[0].name, "alpha");
    }

    #[test]
    fn cidr_v4() {
        let r = range("10.0.0.0/8");
        assert!(r.contains(ip("10.0.0.0")));
        assert!(r.contains(ip("10.255.255.255")));
        assert!(!r.contains(ip("11.0.0.0")));
        assert!(!r.contains(ip("9.255.255.255")));
        let r = range("192.168.1.0/24");
        assert!(r.contains(ip("192.168.1.77")));
        assert!(!r.contains(ip("192.168.2.1")));
        let r = range("10.1.2.3/8");
        assert_eq!(r.to_string(), "10.0.0.0/8", "host bits cleared");
        assert!(r.contains(ip("10.9.9.9")));
    }

    #[test]
    fn cidr_single_addresses() {
        let r = range("127.0.0.1");
        assert_eq!(r, range("127.0.0.1/32"));
        assert!(r.contains(ip("127.0.0.1")));
        assert!(!r.contains(ip("127.0.0.2")));
        assert!(!r.contains(ip("::1")));
        let r = range("::1");
        assert_eq!(r, range("::1/128"));
        assert!(r.contains(ip("::1")));
        assert!(!r.contains(ip("::2")));
        assert!(!r.contains(ip("127.0.0.1")));
        assert_eq!(range("127.0.0.1/32").to_string(), "127.0.0.1");
    }

    #[test]
    fn cidr_zero_prefix() {
        let any4 = range("0.0.0.0/0");
        assert_eq!(any4.to_string(), "0.0.0.0/0");
        assert!(any4.contains(ip("255.255.255.255")));
        assert!(any4.contains(ip("0.0.0.0")));
        assert!(any4.contains(ip("::ffff:8.8.8.8")));
        assert!(!any4.contains(ip("2001:db8::1")));
        let any6 = range("::/0");
        assert!(any6.contains(ip("2001:db8::1")));
        assert!(any6.contains(ip("::")));
        assert!(any6.contains(ip("8.8.8.8")), "as ::ffff:8.8.8.8");
    }

    #[test]
    fn cidr_v6() {
        let r = range("2001:db8::/32");
        assert_eq!(r.to_string(), "2001:db8::/32");
        assert!(r.contains(ip("2001:db8:ffff::1")));
        assert!(!r.contains(ip("2001:db9::1")));
        let r = range("fe80::/10");
        assert!(r.contains(ip("febf::1")));
        assert!(!r.contains(ip("fec0::1")));
        let r = range("2001:db8::1:2/127");
        assert!(r.contains(ip("2001:db8::1:3")));
        assert!(!r.contains(ip("2001:db8::1:4")));
    }

    #[test]
    fn cidr_mapped_addresses() {
        let r = range("127.0.0.0/8");
        assert!(r.contains(ip("::ffff:127.0.0.1")));
        assert!(r.contains(ip("::ffff:127.9.9.9")));
        assert!(!r.contains(ip("::ffff:128.0.0.1")));
        assert!(
            !r.contains(ip("::127.0.0.1")),
            "IPv4-compatible is not mapped"
        );
        let r = range("127.0.0.1");
        assert!(r.contains(ip("::ffff:127.0.0.1")));
        let mapped = range("::ffff:10.0.0.0/104");
        assert!(mapped.contains(ip("10.1.2.3")));
        assert!(mapped.contains(ip("::ffff:10.1.2.3")));
        assert!(!mapped.contains(ip("11.0.0.1")));
    }

    #[test]
    fn entry_allows_any_of_its_ranges() {
        let reg = parse(&format!(
            "alpha {UUID_A} {FPR_A} 127.0.0.1,10.0.0.0/8,::1\n"
        ))
        .expect("valid");
        let alpha = reg.by_uuid(UUID_A).expect("alpha");
        for ok in ["127.0.0.1", "::ffff:127.0.0.1", "10.20.30.40", "::1"] {
            assert!(alpha.allows(ip(ok)), "{ok}");
        }
        for refused in ["127.0.0.2", "192.168.0.1", "::2", "::ffff:192.168.0.1"] {
            assert!(!alpha.allows(ip(refused)), "{refused}");
        }
    }
}
