//! `corio-bench micro`: micro-benchmarks of the runtime (issue 7; placeholder).

use crate::cli::MicroArgs;

/// Run the micro-benchmarks described by `args`.
pub fn run(_args: &MicroArgs) -> Result<(), String> {
    Err("micro: not implemented yet".to_string())
}
