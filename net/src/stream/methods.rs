//! The reading and writing methods every byte stream and split half has, written once.
//!
//! `TcpStream`, `UnixStream` and the four kinds of split half each expand these macros in
//! their own `impl` block, so each type keeps its own methods and rustdoc page (no trait to
//! import, no alias types), while the code and its docs exist in one place. A type that uses
//! them provides `fn io(&self) -> &Async<_>` (its registered socket).
//!
//! `$setup` is the first lines of every doc example: Rust statements, inside an async block,
//! that bind `s` (the value the method is called on) and `peer` (a whole stream at the other
//! end). Each type passes the setup that makes sense for it (a TCP pair through a listener, a
//! `UnixStream::pair`, a split of one).

/// `read`, `read_exact`, `peek`, `readable`, `poll_read_ready`, `try_read`.
macro_rules! read_methods {
    ($setup:literal) => {
        /// Read some bytes into `buf`; `Ok(0)` means the peer closed its side (EOF). A peer
        /// reset gives `ConnectionReset`. Cancel-safe: if the future is dropped, no byte is
        /// lost.
        ///
        #[doc = concat!("```\n# corio_runtime::run(async {\n", $setup, "\
            peer.write_all(b\"abc\").await.unwrap();\n\
            let mut buf = [0u8; 16];\n\
            let n = s.read(&mut buf).await.unwrap();\n\
            assert!(n > 0 && buf[..n] == b\"abc\"[..n]);\n# });\n```")]
        pub async fn read(&mut self, buf: &mut [u8]) -> ::std::io::Result<usize> {
            $crate::stream::ops::read(self.io(), buf).await
        }

        /// Read exactly `buf.len()` bytes; `UnexpectedEof` if the stream ends first. Not
        /// cancel-safe: bytes already read are lost if the future is dropped.
        ///
        #[doc = concat!("```\n# corio_runtime::run(async {\n", $setup, "\
            peer.write_all(b\"abcd\").await.unwrap();\n\
            let mut buf = [0u8; 4];\n\
            s.read_exact(&mut buf).await.unwrap();\n\
            assert_eq!(&buf, b\"abcd\");\n# });\n```")]
        pub async fn read_exact(&mut self, buf: &mut [u8]) -> ::std::io::Result<()> {
            $crate::stream::ops::read_exact(self.io(), buf).await
        }

        /// Read bytes without taking them off the socket: the next `read` returns them again.
        ///
        #[doc = concat!("```\n# corio_runtime::run(async {\n", $setup, "\
            peer.write_all(b\"x\").await.unwrap();\n\
            let mut buf = [0u8; 1];\n\
            assert_eq!(s.peek(&mut buf).await.unwrap(), 1);\n\
            assert_eq!(s.read(&mut buf).await.unwrap(), 1);\n# });\n```")]
        pub async fn peek(&mut self, buf: &mut [u8]) -> ::std::io::Result<usize> {
            $crate::stream::ops::peek(self.io(), buf).await
        }

        /// Wait until the stream is readable: data, EOF or an error is there. May complete
        /// spuriously; follow it with [`try_read`](Self::try_read) and loop on `WouldBlock`.
        /// An idle connection waiting here holds no buffer.
        ///
        #[doc = concat!("```\n# corio_runtime::run(async {\n", $setup, "\
            peer.write_all(b\"x\").await.unwrap();\n\
            let mut scratch = [0u8; 1024];\n\
            let n = loop {\n\
            \x20   s.readable().await.unwrap();\n\
            \x20   match s.try_read(&mut scratch) {\n\
            \x20       Ok(n) => break n,\n\
            \x20       Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,\n\
            \x20       Err(e) => panic!(\"{e}\"),\n\
            \x20   }\n\
            };\n\
            assert_eq!(&scratch[..n], b\"x\");\n# });\n```")]
        pub async fn readable(&self) -> ::std::io::Result<()> {
            self.io().readable().await
        }

        /// Poll form of [`readable`](Self::readable), for hand-written futures.
        ///
        #[doc = concat!("```\n# corio_runtime::run(async {\n", $setup, "\
            peer.write_all(b\"x\").await.unwrap();\n\
            std::future::poll_fn(|cx| s.poll_read_ready(cx)).await.unwrap();\n# });\n```")]
        pub fn poll_read_ready(
            &self,
            cx: &mut ::std::task::Context<'_>,
        ) -> ::std::task::Poll<::std::io::Result<()>> {
            self.io().poll_readable(cx)
        }

        /// Read now, without waiting: `Err(WouldBlock)` when no data is there (the readiness
        /// is then cleared, so the next [`readable`](Self::readable) waits for new data).
        /// `Ok(0)` is EOF. One `recv` call.
        ///
        #[doc = concat!("```\n# corio_runtime::run(async {\n", $setup, "\
            let err = s.try_read(&mut [0u8; 64]).unwrap_err();\n\
            assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);\n\
            # drop(peer);\n# });\n```")]
        pub fn try_read(&self, buf: &mut [u8]) -> ::std::io::Result<usize> {
            $crate::stream::ops::try_read(self.io(), buf)
        }

        /// [`try_read`](Self::try_read) into memory that need not be initialized (for
        /// hyper's `ReadBufCursor`, `Vec::spare_capacity_mut`): no zero-fill before the
        /// read. Returns `n`: the first `n` bytes of `buf` are initialized now. A short read
        /// or `WouldBlock` clears readiness, exactly as `try_read` does.
        ///
        #[doc = concat!("```\n# corio_runtime::run(async {\n", $setup, "\
            peer.write_all(b\"hi\").await.unwrap();\n\
            s.readable().await.unwrap();\n\
            let mut buf: Vec<u8> = Vec::with_capacity(64);\n\
            let n = s.try_read_buf(buf.spare_capacity_mut()).unwrap();\n\
            // SAFETY: `try_read_buf` initialized the first `n` bytes.\n\
            unsafe { buf.set_len(n) };\n\
            assert_eq!(buf, b\"hi\");\n# });\n```")]
        pub fn try_read_buf(
            &self,
            buf: &mut [::std::mem::MaybeUninit<u8>],
        ) -> ::std::io::Result<usize> {
            $crate::stream::ops::try_read_buf(self.io(), buf)
        }
    };
}

/// `write`, `write_all`, `write_vectored`, `writable`, `poll_write_ready`, `try_write`.
macro_rules! write_methods {
    ($setup:literal) => {
        /// Write some bytes of `buf`, returning how many were taken. Cancel-safe.
        ///
        #[doc = concat!("```\n# corio_runtime::run(async {\n", $setup, "\
            assert_eq!(s.write(b\"hello\").await.unwrap(), 5);\n\
            let mut buf = [0u8; 5];\n\
            peer.read_exact(&mut buf).await.unwrap();\n# });\n```")]
        pub async fn write(&mut self, buf: &[u8]) -> ::std::io::Result<usize> {
            $crate::stream::ops::write(self.io(), buf).await
        }

        /// Write all of `buf`, waiting for room as needed. Not cancel-safe: a dropped future
        /// may have sent a prefix.
        ///
        #[doc = concat!("```\n# corio_runtime::run(async {\n", $setup, "\
            s.write_all(b\"hello\").await.unwrap();\n\
            let mut buf = [0u8; 5];\n\
            peer.read_exact(&mut buf).await.unwrap();\n\
            assert_eq!(&buf, b\"hello\");\n# });\n```")]
        pub async fn write_all(&mut self, buf: &[u8]) -> ::std::io::Result<()> {
            $crate::stream::ops::write_all(self.io(), buf).await
        }

        /// Write from several buffers with one `sendmsg` call; returns the bytes taken.
        ///
        #[doc = concat!("```\n# corio_runtime::run(async {\n", $setup, "\
            use std::io::IoSlice;\n\
            let bufs = [IoSlice::new(b\"head \"), IoSlice::new(b\"body\")];\n\
            assert_eq!(s.write_vectored(&bufs).await.unwrap(), 9);\n\
            # drop(peer);\n# });\n```")]
        pub async fn write_vectored(
            &mut self,
            bufs: &[::std::io::IoSlice<'_>],
        ) -> ::std::io::Result<usize> {
            $crate::stream::ops::write_vectored(self.io(), bufs).await
        }

        /// Wait until the stream is writable (room in the send buffer, or an error).
        ///
        #[doc = concat!("```\n# corio_runtime::run(async {\n", $setup, "\
            s.writable().await.unwrap();\n\
            assert_eq!(s.try_write(b\"x\").unwrap(), 1);\n\
            # drop(peer);\n# });\n```")]
        pub async fn writable(&self) -> ::std::io::Result<()> {
            self.io().writable().await
        }

        /// Poll form of [`writable`](Self::writable).
        ///
        #[doc = concat!("```\n# corio_runtime::run(async {\n", $setup, "\
            std::future::poll_fn(|cx| s.poll_write_ready(cx)).await.unwrap();\n\
            # drop(peer);\n# });\n```")]
        pub fn poll_write_ready(
            &self,
            cx: &mut ::std::task::Context<'_>,
        ) -> ::std::task::Poll<::std::io::Result<()>> {
            self.io().poll_writable(cx)
        }

        /// Write now, without waiting: `Err(WouldBlock)` when the send buffer is full. One
        /// `send` call (with `MSG_NOSIGNAL`).
        ///
        #[doc = concat!("```\n# corio_runtime::run(async {\n", $setup, "\
            assert_eq!(s.try_write(b\"ping\").unwrap(), 4);\n\
            # drop(peer);\n# });\n```")]
        pub fn try_write(&self, buf: &[u8]) -> ::std::io::Result<usize> {
            $crate::stream::ops::try_write(self.io(), buf)
        }
    };
}

/// `futures_io::AsyncRead` for a stream or read half: `impl_async_read!(impl<..> for T)`.
macro_rules! impl_async_read {
    ($($head:tt)*) => {
        $($head)* {
            fn poll_read(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buf: &mut [u8],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                $crate::stream::ops::poll_read(self.io(), cx, buf)
            }
        }
    };
}

/// `futures_io::AsyncWrite` for a stream or write half. `poll_flush` has nothing to do (no
/// user-space buffer); `poll_close` shuts the write direction down (the peer reads EOF).
macro_rules! impl_async_write {
    ($($head:tt)*) => {
        $($head)* {
            fn poll_write(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buf: &[u8],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                $crate::stream::ops::poll_write(self.io(), cx, buf)
            }

            fn poll_write_vectored(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                bufs: &[::std::io::IoSlice<'_>],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                $crate::stream::ops::poll_write_vectored(self.io(), cx, bufs)
            }

            fn poll_flush(
                self: ::std::pin::Pin<&mut Self>,
                _cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                ::std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: ::std::pin::Pin<&mut Self>,
                _cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                ::std::task::Poll::Ready($crate::stream::ops::shutdown(
                    self.io(),
                    ::std::net::Shutdown::Write,
                ))
            }
        }
    };
}
