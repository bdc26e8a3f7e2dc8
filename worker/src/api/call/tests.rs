//! Tests of the calls.
