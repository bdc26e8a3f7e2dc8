//! A client order id (protocol 1.2): the trading program's own name for
//! an order, kept with it and shown by `getOrders` (`client=ID`), unique
//! among the account's orders.

use std::fmt;

use super::ValueError;

text_value!(
    /// 1-128 printable ASCII characters without spaces.
    ClientOrderId,
    "clientOrderID",
    "1-128 printable ASCII characters without spaces",
    |s| (1..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic())
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_printable_words() {
        for good in [
            "mine-1",
            "ccxt_0123456789abcdef",
            "a",
            &"x".repeat(128),
            "a=b",
        ] {
            assert!(ClientOrderId::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "two words", &"x".repeat(129), "é", "tab\there"] {
            assert!(ClientOrderId::parse(bad).is_err(), "{bad}");
        }
    }
}
