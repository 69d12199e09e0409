//! The tool's error type and its exit codes.

use std::fmt;

/// An error that ends the run, with the exit code it maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BenchError {
    /// Bad input or an unreachable `--target`: exit code 2 (like clap's usage errors).
    Input(String),
    /// Something failed while running (a server that would not start, an unwritable
    /// `--out`, failed cells): exit code 1.
    Failed(String),
}

impl BenchError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            BenchError::Input(_) => 2,
            BenchError::Failed(_) => 1,
        }
    }
}

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BenchError::Input(msg) | BenchError::Failed(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for BenchError {}
