//! Config file parser (being written).
