//! `task::Id`.

use std::fmt;

/// A task's id, unique within its runtime. The `block_on` future is id 0.
///
/// ```
/// corio_runtime::run(async {
///     assert_eq!(corio_runtime::task::current().id().as_u64(), 0);
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(pub(crate) u64);

impl Id {
    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
