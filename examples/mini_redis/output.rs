//! Replies waiting to be sent on one connection: encoded bytes, plus stored values that are
//! sent from the database's own copy instead of being copied in.
//!
//! A `GET` of a large value (at least [`db::SHARE_MIN`](super::db::SHARE_MIN) bytes) queues
//! an `Rc` of the stored bytes between its `$N` header and its CRLF, so ten clients that
//! never read the reply to a `GET` of a 16 MiB value cost ten reference counts, not 160 MiB
//! of copies. Everything else is encoded into the open tail buffer.
//!
//! Memory: [`Output::len`] is what is queued and unsent (shared values counted in full, as
//! they are what the client is owed); the server stops running a client's commands while it
//! is at or above its bound, so it never exceeds the bound plus one reply. Encoding buffers
//! come from a small loop-wide pool and go back to it once sent, so a connection that is
//! drained holds no buffer, and a buffer grown by a burst (above [`KEEP`]) is freed instead
//! of pooled: memory is given back after the burst.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// A drained buffer up to this capacity goes back to the pool; a larger one is freed.
pub const KEEP: usize = 64 * 1024;
/// Most spare buffers the loop keeps.
const POOL: usize = 16;

thread_local! {
    static SPARE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

fn take_spare() -> Vec<u8> {
    SPARE.with(|s| s.borrow_mut().pop()).unwrap_or_default()
}

fn give_back(mut buf: Vec<u8>) {
    if buf.capacity() == 0 || buf.capacity() > KEEP {
        return;
    }
    buf.clear();
    SPARE.with(|s| {
        let mut spare = s.borrow_mut();
        if spare.len() < POOL {
            spare.push(buf);
        }
    });
}

/// One queued piece, before the open tail.
enum Piece {
    Own(Vec<u8>),
    Shared(Rc<[u8]>),
}

impl Piece {
    fn bytes(&self) -> &[u8] {
        match self {
            Piece::Own(v) => v,
            Piece::Shared(v) => v,
        }
    }
}

/// The unsent replies of one connection (see the module docs).
#[derive(Default)]
pub struct Output {
    /// Sealed pieces, sent before `tail`.
    pieces: VecDeque<Piece>,
    /// Bytes of `pieces.front()` already sent.
    front_sent: usize,
    /// Unsent bytes in `pieces`.
    pieces_len: usize,
    /// The open buffer replies are encoded into.
    tail: Vec<u8>,
    /// Bytes of `tail` already sent (only while `pieces` is empty).
    tail_sent: usize,
}

impl Output {
    /// Queued bytes not sent yet.
    pub fn len(&self) -> usize {
        self.pieces_len + self.tail.len() - self.tail_sent
    }

    /// Whether everything queued has been sent.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer to encode the next reply into (the `resp::write_*` functions take it).
    pub fn buf(&mut self) -> &mut Vec<u8> {
        if self.tail.capacity() == 0 {
            self.tail = take_spare();
        }
        &mut self.tail
    }

    /// Queue `value` itself (no copy) after what is queued.
    pub fn push_shared(&mut self, value: Rc<[u8]>) {
        if !self.tail.is_empty() {
            let tail = std::mem::take(&mut self.tail);
            if self.pieces.is_empty() {
                self.front_sent = self.tail_sent;
            }
            self.pieces_len += tail.len() - self.tail_sent;
            self.tail_sent = 0;
            self.pieces.push_back(Piece::Own(tail));
        }
        self.pieces_len += value.len();
        self.pieces.push_back(Piece::Shared(value));
    }

    /// The first unsent bytes (empty when all is sent). One piece at a time: the pieces
    /// next to a shared value are a header and a CRLF, so this costs at most two extra
    /// `send`s per large value.
    pub fn front(&self) -> &[u8] {
        match self.pieces.front() {
            Some(piece) => &piece.bytes()[self.front_sent..],
            None => &self.tail[self.tail_sent..],
        }
    }

    /// `n` bytes of [`front`](Self::front) were sent.
    pub fn advance(&mut self, n: usize) {
        match self.pieces.front() {
            Some(piece) => {
                let left = piece.bytes().len() - self.front_sent;
                debug_assert!(n <= left);
                self.pieces_len -= n;
                if n < left {
                    self.front_sent += n;
                } else {
                    self.front_sent = 0;
                    if let Some(Piece::Own(buf)) = self.pieces.pop_front() {
                        give_back(buf);
                    }
                }
            }
            None => {
                self.tail_sent += n;
                if self.tail_sent == self.tail.len() {
                    self.tail_sent = 0;
                    give_back(std::mem::take(&mut self.tail));
                }
            }
        }
    }

    /// Heap bytes this queue holds of its own (buffer capacities; shared values are the
    /// database's and not counted).
    pub fn held(&self) -> usize {
        let own = |p: &Piece| match p {
            Piece::Own(v) => v.capacity(),
            Piece::Shared(_) => 0,
        };
        self.tail.capacity()
            + self.pieces.iter().map(own).sum::<usize>()
            + self.pieces.capacity() * std::mem::size_of::<Piece>()
    }

    /// Give back what a drained queue still holds.
    pub fn release(&mut self) {
        if self.is_empty() {
            give_back(std::mem::take(&mut self.tail));
            self.tail_sent = 0;
            if self.pieces.capacity() > 64 {
                self.pieces = VecDeque::new();
            }
        }
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        give_back(std::mem::take(&mut self.tail));
    }
}
