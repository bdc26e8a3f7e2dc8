//! The logging macros of every PaperTrader crate: `error!`, `warn!`,
//! `info!`, `debug!` and `trace!`, exported at the crate root
//! (`papertrader_common::info!`). They take exactly what the `log` crate's
//! macros of the same names take and log through them, and in addition
//! record the function they are called from (seed 3.1.4), which the `log`
//! crate has no field for: it travels as the record's target, and the
//! [`Logger`](crate::log::Logger) of [`crate::log`] turns it back into
//! [`Entry::function`](crate::log::Entry::function). Calls that give a
//! `target:` of their own keep it, and record no function. Any thread may
//! use them; they run no code of their own unless the level is enabled.

/// The path of the function the macro is expanded in, as the record
/// target: the type name of an item nested in that function, which
/// [`crate::log::function_path`] strips back to the function's path.
#[doc(hidden)]
#[macro_export]
macro_rules! __function {
    () => {{
        fn __papertrader_log_fn() {}
        ::core::any::type_name_of_val(&__papertrader_log_fn)
    }};
}

/// One level's macro: `log`'s own forms, with the function as the target
/// wherever the caller did not give a target.
#[doc(hidden)]
#[macro_export]
macro_rules! __log_at {
    ($level:ident, logger: $logger:expr, target: $target:expr, $($arg:tt)+) => {
        $crate::__log_crate::log!(
            logger: $logger,
            target: $target,
            $crate::__log_crate::Level::$level,
            $($arg)+
        )
    };
    ($level:ident, logger: $logger:expr, $($arg:tt)+) => {
        $crate::__log_at!($level, logger: $logger, target: $crate::__function!(), $($arg)+)
    };
    ($level:ident, target: $target:expr, $($arg:tt)+) => {
        $crate::__log_crate::log!(
            target: $target,
            $crate::__log_crate::Level::$level,
            $($arg)+
        )
    };
    ($level:ident, $($arg:tt)+) => {
        $crate::__log_at!($level, target: $crate::__function!(), $($arg)+)
    };
}

/// `log::error!` that also records the calling function: we failed.
#[macro_export]
#[clippy::format_args]
macro_rules! error {
    ($($arg:tt)+) => { $crate::__log_at!(Error, $($arg)+) };
}

/// `log::warn!` that also records the calling function: a peer
/// misbehaved (name its address).
#[macro_export]
#[clippy::format_args]
macro_rules! warn {
    ($($arg:tt)+) => { $crate::__log_at!(Warn, $($arg)+) };
}

/// `log::info!` that also records the calling function: start, stop,
/// config, connect, disconnect.
///
/// ```
/// let (local, workers) = ("127.0.0.1:2048", 2);
/// papertrader_common::info!("listening on {local}");
/// papertrader_common::info!("{} of {workers} workers linked", 1,);
/// // A target of its own is kept, and no function recorded.
/// papertrader_common::info!(target: "audit", "{local}");
/// ```
#[macro_export]
#[clippy::format_args]
macro_rules! info {
    ($($arg:tt)+) => { $crate::__log_at!(Info, $($arg)+) };
}

/// `log::debug!` that also records the calling function: one line per
/// message.
#[macro_export]
#[clippy::format_args]
macro_rules! debug {
    ($($arg:tt)+) => { $crate::__log_at!(Debug, $($arg)+) };
}

/// `log::trace!` that also records the calling function: hex dumps.
#[macro_export]
#[clippy::format_args]
macro_rules! trace {
    ($($arg:tt)+) => { $crate::__log_at!(Trace, $($arg)+) };
}

/// Implements mio's `Source` for a type that sits on another source: each
/// call goes to what `$inner` (a method of the type) returns.
/// `delegate_source!(ClientIo, source)`.
#[macro_export]
macro_rules! delegate_source {
    ($ty:ty, $inner:ident) => {
        impl mio::event::Source for $ty {
            fn register(
                &mut self,
                registry: &mio::Registry,
                token: mio::Token,
                interest: mio::Interest,
            ) -> std::io::Result<()> {
                mio::event::Source::register(self.$inner(), registry, token, interest)
            }

            fn reregister(
                &mut self,
                registry: &mio::Registry,
                token: mio::Token,
                interest: mio::Interest,
            ) -> std::io::Result<()> {
                mio::event::Source::reregister(self.$inner(), registry, token, interest)
            }

            fn deregister(&mut self, registry: &mio::Registry) -> std::io::Result<()> {
                mio::event::Source::deregister(self.$inner(), registry)
            }
        }
    };
}
