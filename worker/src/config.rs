//! ptworkerd.conf(5): every key, its default, and the typed configuration
//! the worker runs on. Read once on the main thread before anything starts.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use papertrader_common::conf::{Collector, Conf, ConfError, ConfErrors};
use papertrader_common::gpg::normalize_fingerprint;
use papertrader_common::log::LogConfig;
use papertrader_common::providers::{self, ProviderConfig};

/// Every key ptworkerd.conf may hold, in the order of the man page.
pub const KEYS: &[&str] = &[
    "listen",
    "advertise",
    "master",
    "uuid",
    "name",
    "state_dir",
    "pid_file",
    "gnupg_home",
    "worker_key",
    "master_key",
    "client_tls",
    "tls_cert",
    "tls_key",
    "web_listen",
    "web_allowed_origins",
    "web_providers_file",
    "max_clients",
    "idle_timeout",
    "frame_timeout",
    "max_output",
    "max_in_flight",
    "max_clients_per_address",
    "ping_interval",
    "link_timeout",
    "handshake_timeout",
    "reconnect_max",
    "session_cache_ttl",
    "history_cache_ttl",
    "history_cache_bytes",
    "api_rate_limit",
    "log_file",
    "log_level",
    "log_memory_entries",
    "log_max_message",
    "log_max_bytes",
];

/// Default config file, used when it exists and `-c` is not given.
pub const DEFAULT_FILE: &str = "/etc/papertrader/ptworkerd.conf";

/// The whole configuration of a running worker.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the config came from.
    pub source: String,
    /// Client port.
    pub listen: SocketAddr,
    /// Address given to clients in worker lists; `None`: the bound address.
    pub advertise: Option<String>,
    /// The master's address.
    pub master: SocketAddr,
    /// This worker's UUID as registered in the master's workers.list.
    pub uuid: Option<String>,
    /// This worker's name.
    pub name: String,
    /// State directory (GnuPG home by default).
    pub state_dir: PathBuf,
    /// Pid file written when detaching.
    pub pid_file: PathBuf,
    /// GnuPG home with the worker's secret key and the master's public key.
    pub gnupg_home: PathBuf,
    /// Fingerprint of the worker's signing key.
    pub worker_key: Option<String>,
    /// Fingerprint the master's challenge signature must come from.
    pub master_key: Option<String>,
    /// Whether clients may, or must, use TLS.
    pub client_tls: ClientTls,
    /// The client port's certificate chain (PEM, like certbot's fullchain.pem).
    pub tls_cert: Option<PathBuf>,
    /// Its private key (PEM, like certbot's privkey.pem).
    pub tls_key: Option<PathBuf>,
    /// The web port (HTTP and WebSocket, section 12); `None`: off.
    pub web_listen: Option<SocketAddr>,
    /// Origins besides the web port's own whose pages may open `/ws`,
    /// as `scheme://host[:port]`, lower case.
    pub web_allowed_origins: Vec<String>,
    /// Sign-in providers offered by the web app, from `web_providers_file`
    /// (read at start only).
    pub web_providers: Vec<ProviderConfig>,
    /// Most client connections at once.
    pub max_clients: usize,
    /// A client silent this long, with nothing in flight, is closed.
    pub idle_timeout: Duration,
    /// Time a peer may sit in the middle of a frame.
    pub frame_timeout: Duration,
    /// Unsent bytes a client may leave queued before it is dropped.
    pub max_output: usize,
    /// Requests one client may have unanswered before its socket is no
    /// longer read (back-pressure).
    pub max_in_flight: usize,
    /// Connections from one address (IPv6: one /64) at once.
    pub max_clients_per_address: usize,
    /// Silence on the master link after which the worker pings.
    pub ping_interval: Duration,
    /// Silence on the master link after which it is dropped.
    pub link_timeout: Duration,
    /// Time the master link handshake may take.
    pub handshake_timeout: Duration,
    /// Longest wait between reconnection attempts.
    pub reconnect_max: Duration,
    /// How long a session the master vouched for is trusted locally.
    pub session_cache_ttl: Duration,
    /// How long a history answer is reused.
    pub history_cache_ttl: Duration,
    /// Bytes of history answers kept.
    pub history_cache_bytes: usize,
    /// HTTP API requests one key may make a minute on this worker, and
    /// requests with a key not yet checked one address may make (0: no
    /// limit).
    pub api_rate_limit: u32,
    /// The log system's settings (`log_*` keys).
    pub log: LogConfig,
}

impl Config {
    /// Reads `path`, or the built-in defaults (plus `DEFAULT_FILE` if it
    /// exists) when `path` is `None`. Reports every bad key at once.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfErrors> {
        Config::from_conf(&Conf::load(path, DEFAULT_FILE, KEYS)?)
    }

    /// Typed configuration from parsed keys.
    pub fn from_conf(conf: &Conf) -> Result<Config, ConfErrors> {
        let mut c = Collector::new();
        let state_dir = c.take(conf.path("state_dir", "/var/lib/papertrader-worker"));
        let gnupg_default = state_dir.join("gnupg").to_string_lossy().into_owned();
        let config = Config {
            source: conf.file().to_string(),
            listen: c.take_or(conf.socket_addr("listen", "127.0.0.1:2049"), addr(2049)),
            advertise: conf.raw("advertise").map(str::to_string),
            master: c.take_or(conf.socket_addr("master", "127.0.0.1:2048"), addr(2048)),
            uuid: c.take(uuid(conf)),
            name: c.take(conf.string("name", "worker")),
            pid_file: c.take(conf.path("pid_file", "/run/ptworkerd.pid")),
            gnupg_home: c.take(conf.path("gnupg_home", &gnupg_default)),
            worker_key: c.take(fingerprint(conf, "worker_key")),
            master_key: c.take(fingerprint(conf, "master_key")),
            client_tls: c.take(client_tls(conf)),
            tls_cert: c.take(optional_path(conf, "tls_cert")),
            tls_key: c.take(optional_path(conf, "tls_key")),
            web_listen: c.take(web_listen(conf)),
            web_allowed_origins: c.take(allowed_origins(conf)),
            web_providers: web_providers(conf, &mut c),
            max_clients: c.take(conf.u64("max_clients", 4096, 1..=1_000_000)) as usize,
            idle_timeout: c.take(conf.duration("idle_timeout", secs(300))),
            frame_timeout: c.take(conf.duration("frame_timeout", secs(30))),
            max_output: c.take(conf.u64("max_output", 1 << 20, 65_552..=1 << 30)) as usize,
            max_in_flight: c.take(conf.u64("max_in_flight", 64, 1..=4096)) as usize,
            max_clients_per_address: c.take(conf.u64("max_clients_per_address", 256, 1..=1_000_000))
                as usize,
            ping_interval: c.take(conf.duration("ping_interval", secs(10))),
            link_timeout: c.take(conf.duration("link_timeout", secs(30))),
            handshake_timeout: c.take(conf.duration("handshake_timeout", secs(10))),
            reconnect_max: c.take(conf.duration("reconnect_max", secs(30))),
            session_cache_ttl: c.take(conf.duration("session_cache_ttl", secs(60))),
            history_cache_ttl: c.take(conf.duration("history_cache_ttl", secs(60))),
            history_cache_bytes: c.take(conf.u64("history_cache_bytes", 16 << 20, 0..=1 << 34))
                as usize,
            api_rate_limit: c.take(conf.u64("api_rate_limit", 200, 0..=1_000_000)) as u32,
            log: conf.log(&mut c),
            state_dir,
        };
        check_rules(&config, conf, &mut c);
        c.finish()?;
        Ok(config)
    }

    /// Whether the keys needed for a master link are all set.
    pub fn can_link(&self) -> bool {
        self.uuid.is_some() && self.worker_key.is_some() && self.master_key.is_some()
    }
}

/// `client_tls`: whether the client port takes TLS, and whether it must.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClientTls {
    /// Plain frames only (the default).
    #[default]
    Off,
    /// TLS or plain, as the client's first byte says.
    Optional,
    /// TLS only: plain clients get `protocolError forbidden tls required`.
    Required,
}

impl ClientTls {
    /// The word in the config file.
    pub fn name(self) -> &'static str {
        match self {
            ClientTls::Off => "off",
            ClientTls::Optional => "optional",
            ClientTls::Required => "required",
        }
    }
}

fn client_tls(conf: &Conf) -> Result<ClientTls, ConfError> {
    let text = conf.string("client_tls", "off")?;
    let all = [ClientTls::Off, ClientTls::Optional, ClientTls::Required];
    all.into_iter().find(|t| t.name() == text).ok_or_else(|| {
        let message = format!("client_tls = {text:?}: expected off, optional or required");
        conf.error("client_tls", message)
    })
}

/// `web_listen`: `off` (the default) or an address.
fn web_listen(conf: &Conf) -> Result<Option<SocketAddr>, ConfError> {
    if conf.string("web_listen", "off")? == "off" {
        return Ok(None);
    }
    conf.socket_addr("web_listen", "127.0.0.1:8080").map(Some)
}

/// `web_allowed_origins`: origins separated by blanks or commas, each
/// `http://` or `https://` and a host, with no path.
fn allowed_origins(conf: &Conf) -> Result<Vec<String>, ConfError> {
    let text = conf.string("web_allowed_origins", "")?;
    let mut origins = Vec::new();
    for word in text.split([' ', '\t', ',']).filter(|w| !w.is_empty()) {
        let host = word
            .strip_prefix("https://")
            .or_else(|| word.strip_prefix("http://"));
        let ok = host.is_some_and(|h| {
            !h.is_empty() && !h.contains('/') && h.bytes().all(|b| b.is_ascii_graphic())
        });
        if !ok {
            let message = format!(
                "web_allowed_origins: {word:?} is not an origin, expected scheme://host[:port] \
                 such as https://trade.example.org"
            );
            return Err(conf.error("web_allowed_origins", message));
        }
        origins.push(word.to_ascii_lowercase());
    }
    Ok(origins)
}

/// `web_providers_file`: the providers the app's sign-in buttons offer,
/// in the master's `oidc_providers_file` format; every bad line reported.
fn web_providers(conf: &Conf, c: &mut Collector) -> Vec<ProviderConfig> {
    let Some(path) = c.take(optional_path(conf, "web_providers_file")) else {
        return Vec::new();
    };
    providers::load(&path).unwrap_or_else(|errors| {
        for err in errors.0 {
            c.push(err);
        }
        Vec::new()
    })
}

fn optional_path(conf: &Conf, key: &str) -> Result<Option<PathBuf>, ConfError> {
    conf.raw(key).map(|_| conf.path(key, "")).transpose()
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn uuid(conf: &Conf) -> Result<Option<String>, ConfError> {
    let Some(text) = conf.raw("uuid") else {
        return Ok(None);
    };
    let ok = text.split('-').map(str::len).eq([8, 4, 4, 4, 12])
        && text.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit());
    if !ok {
        let message = format!("uuid = {text:?}: expected 8-4-4-4-12 hex digits");
        return Err(conf.error("uuid", message));
    }
    Ok(Some(text.to_ascii_lowercase()))
}

fn fingerprint(conf: &Conf, key: &str) -> Result<Option<String>, ConfError> {
    let Some(text) = conf.raw(key) else {
        return Ok(None);
    };
    normalize_fingerprint(text).map(Some).ok_or_else(|| {
        let message = format!("{key} = {text:?}: expected a 40 or 64 hex digit key fingerprint");
        conf.error(key, message)
    })
}

/// The rules that tie keys together (a name, an address, TLS files, the
/// link's timers).
fn check_rules(config: &Config, conf: &Conf, c: &mut Collector) {
    let mut check = |ok: bool, key: &str, message: String| {
        if !ok {
            c.push(conf.error(key, message));
        }
    };
    let name_ok = !config.name.is_empty() && !config.name.contains(char::is_whitespace);
    check(
        name_ok,
        "name",
        format!("name = {:?}: expected one word", config.name),
    );
    if let Some(advertise) = &config.advertise {
        let ok = advertise.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && port.parse::<u16>().is_ok() && !advertise.contains(' ')
        });
        check(
            ok,
            "advertise",
            format!("advertise = {advertise:?}: expected host:port"),
        );
    }
    let files = config.tls_cert.is_some() && config.tls_key.is_some();
    check(
        config.client_tls == ClientTls::Off || files,
        "client_tls",
        format!(
            "client_tls = {}: needs tls_cert and tls_key",
            config.client_tls.name()
        ),
    );
    check(
        config.tls_cert.is_some() == config.tls_key.is_some(),
        if config.tls_cert.is_some() {
            "tls_cert"
        } else {
            "tls_key"
        },
        "tls_cert and tls_key go together: set both or neither".into(),
    );
    let pings = config.ping_interval < config.link_timeout;
    check(
        pings,
        "ping_interval",
        "ping_interval must be shorter than link_timeout".into(),
    );
}

#[cfg(test)]
mod tests {
    /// etc/ptworkerd.conf shows every key, and only keys that exist.
    #[test]
    fn the_example_file_shows_every_key() {
        let text = include_str!("../../etc/ptworkerd.conf");
        let shown = papertrader_common::conf::shown_keys(text);
        let keys: std::collections::BTreeSet<&str> = KEYS.iter().copied().collect();
        assert_eq!(shown, keys, "etc/ptworkerd.conf and the worker's keys");
    }

    use super::*;

    fn parse(text: &str) -> Result<Config, ConfErrors> {
        let conf = Conf::parse_reader(text.as_bytes(), "w.conf", KEYS)?;
        Config::from_conf(&conf)
    }

    #[test]
    fn built_in_defaults() {
        let c = parse("").expect("defaults");
        assert_eq!(c.listen.to_string(), "127.0.0.1:2049");
        assert_eq!(c.master.to_string(), "127.0.0.1:2048");
        assert_eq!(c.max_clients, 4096);
        assert!(!c.can_link());
    }

    #[test]
    fn keys_for_a_link() {
        let c = parse(
            "uuid = 6F9619FF-8B86-D011-B42D-00C04FC964FF\n\
             worker_key = 0123456789abcdef0123456789abcdef01234567\n\
             master_key = 89ABCDEF0123456789ABCDEF0123456789ABCDEF\n",
        )
        .expect("ok");
        assert!(c.can_link());
        assert_eq!(
            c.uuid.as_deref(),
            Some("6f9619ff-8b86-d011-b42d-00c04fc964ff")
        );
        assert_eq!(
            c.worker_key.as_deref(),
            Some("0123456789ABCDEF0123456789ABCDEF01234567")
        );
    }

    #[test]
    fn advertise_and_name_are_checked() {
        let err = parse("name = two words\nadvertise = nowhere\n").expect_err("bad");
        let text = err.to_string();
        assert!(text.contains("w.conf:1: name"), "{text}");
        assert!(
            text.contains("w.conf:2: advertise = \"nowhere\": expected host:port"),
            "{text}"
        );
        assert!(parse("advertise = quotes.example.org:2049\n").is_ok());
    }

    #[test]
    fn client_tls_needs_its_files() {
        let c = parse("").expect("defaults");
        assert_eq!(c.client_tls, ClientTls::Off);
        let err = parse("client_tls = required\n").expect_err("no files");
        assert!(
            err.to_string()
                .contains("w.conf:1: client_tls = required: needs tls_cert and tls_key"),
            "{err}"
        );
        let err = parse("client_tls = maybe\n").expect_err("bad word");
        assert!(
            err.to_string()
                .contains("expected off, optional or required"),
            "{err}"
        );
        let c = parse("client_tls = optional\ntls_cert = /c.pem\ntls_key = /k.pem\n").expect("ok");
        assert_eq!(c.client_tls, ClientTls::Optional);
        assert_eq!(c.tls_key.as_deref(), Some(Path::new("/k.pem")));
        assert!(parse("tls_cert = /c.pem\n").is_err());
    }

    #[test]
    fn the_web_port_is_off_unless_asked_for() {
        let c = parse("").expect("defaults");
        assert_eq!(c.web_listen, None);
        assert!(c.web_allowed_origins.is_empty());
        let c = parse(
            "web_listen = 127.0.0.1:8080\n\
             web_allowed_origins = https://Trade.example.org, http://localhost:3000\n",
        )
        .expect("ok");
        assert_eq!(c.web_listen.map(|a| a.port()), Some(8080));
        assert_eq!(
            c.web_allowed_origins,
            ["https://trade.example.org", "http://localhost:3000"]
        );
        let err = parse("web_allowed_origins = trade.example.org\n").expect_err("no scheme");
        assert!(err.to_string().contains("is not an origin"), "{err}");
        assert!(parse("web_listen = nowhere\n").is_err());
    }

    #[test]
    fn web_providers_come_from_their_file() {
        let dir = std::env::temp_dir().join(format!("pt-worker-providers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let list = dir.join("web.providers");
        let text = format!("web_providers_file = {}\n", list.display());
        std::fs::write(
            &list,
            "# NAME ISSUER CLIENT_ID\nkc https://id.example.org/realms/pt pt\n",
        )
        .expect("write");
        let c = parse(&text).expect("ok");
        assert_eq!(c.web_providers.len(), 1);
        assert_eq!(c.web_providers[0].client_id, "pt");
        assert!(parse("").expect("defaults").web_providers.is_empty());
        for (bad, expect) in [
            (
                &b"Bad.Name https://a.example x\n"[..],
                "providers:1: provider \"Bad.Name\"",
            ),
            (b"kc http://example.org x\n", "providers:1: issuer"),
            (
                b"kc https://a.example\n",
                "expected \"NAME ISSUER CLIENT_ID\"",
            ),
            (
                b"kc https://a.example \xff\xfe\n",
                "providers: not UTF-8 (byte 21)",
            ),
        ] {
            std::fs::write(&list, bad).expect("write");
            let err = parse(&text).expect_err("bad list").to_string();
            assert!(err.contains(expect), "{err}");
        }
        std::fs::write(&list, "#".repeat(300_000)).expect("write");
        let err = parse(&text).expect_err("too long").to_string();
        assert!(err.contains("longer than 262144 bytes"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn every_bad_value_is_reported() {
        let err = parse("uuid = 1234\nmaster_key = nope\nmax_output = 10\n").expect_err("bad");
        let text = err.to_string();
        assert!(
            text.contains("w.conf:1: uuid = \"1234\": expected 8-4-4-4-12"),
            "{text}"
        );
        assert!(text.contains("w.conf:2: master_key"), "{text}");
        assert!(text.contains("w.conf:3: max_output"), "{text}");
    }
}
