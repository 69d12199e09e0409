//! The typed errors of the shard channel. A failed send hands its item back.

use std::error::Error;
use std::fmt;

/// Why [`Sender::try_send`](super::Sender::try_send) did not send: the item comes back.
///
/// ```
/// use corio_runtime::shard::{channel, TrySendError};
/// let (tx, rx) = channel(1);
/// tx.try_send(1).unwrap();
/// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
/// drop(rx);
/// assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The channel is full (or senders are already waiting for room): the item comes back.
    Full(T),
    /// The receiver closed the channel or was dropped: the item comes back.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The item that was not sent.
    ///
    /// ```
    /// use corio_runtime::shard::TrySendError;
    /// assert_eq!(TrySendError::Full(7).into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(item) | TrySendError::Closed(item) => item,
        }
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrySendError::Full(_) => "Full(..)",
            TrySendError::Closed(_) => "Closed(..)",
        })
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrySendError::Full(_) => {
                "channel full: the item is handed back; await `send` to wait for room"
            }
            TrySendError::Closed(_) => {
                "channel closed by its receiver: the item is handed back (stop sending)"
            }
        })
    }
}

impl<T> Error for TrySendError<T> {}

/// Why [`Receiver::try_recv`](super::Receiver::try_recv) returned no item.
///
/// `Closed` means nothing will ever arrive again: the channel is drained *and* either every
/// [`Sender`](super::Sender) is gone or the receiver [closed](super::Receiver::close) it
/// (tokio calls this `Disconnected`).
///
/// ```
/// use corio_runtime::shard::{unbounded, TryRecvError};
/// let (tx, mut rx) = unbounded::<u8>();
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// drop(tx);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing to receive right now; senders remain.
    Empty,
    /// Drained, and no item can come any more.
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryRecvError::Empty => "channel empty right now; await `recv` to wait for an item",
            TryRecvError::Closed => {
                "channel closed and drained: every sender is gone (or the receiver closed it)"
            }
        })
    }
}

impl Error for TryRecvError {}
