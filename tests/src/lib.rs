//! tests

pub mod challenge_parser;
