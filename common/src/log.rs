//! Bounded log system (being written).
