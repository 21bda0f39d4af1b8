//! gochat-proto's integration tests, in one binary: the conformance vectors captured from the
//! Go implementation (`vectors::`) and the property tests (`props::`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod props;
mod vectors;
