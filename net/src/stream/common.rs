//! Everything a byte-stream type (`TcpStream`, `UnixStream`) has besides its constructors and
//! protocol options, written once: the read and write methods, `shutdown`, `take_error`,
//! `split`/`into_split`, `into_std`, `Debug`, the fd traits, the futures-io traits and the
//! split plumbing.
//!
//! The type must be `struct $ty { io: Async<$mio> }`; `$mio` must convert into `$std` (mio's
//! `From` impls) and answer `local_addr`/`peer_addr`/`take_error`.

/// `stream_common!(TcpStream, mio::net::TcpStream, std::net::TcpStream,
/// std::net::SocketAddr, "setup lines for the doc examples")`.
macro_rules! stream_common {
    ($ty:ident, $mio:ty, $std:ty, $addr:ty, $setup:literal) => {
        impl $ty {
            fn io(&self) -> &::corio_runtime::io::Async<$mio> {
                &self.io
            }

            read_methods!($setup);
            write_methods!($setup);

            /// Shut down the read side, the write side (the peer reads EOF) or both.
            ///
            #[doc = concat!("```\n# corio_runtime::run(async {\n", $setup, "\
                s.shutdown(std::net::Shutdown::Write).unwrap();\n\
                assert_eq!(peer.read(&mut [0u8; 8]).await.unwrap(), 0);\n# });\n```")]
            pub fn shutdown(&self, how: ::std::net::Shutdown) -> ::std::io::Result<()> {
                $crate::stream::ops::shutdown(&self.io, how)
            }

            /// Take the pending socket error (`SO_ERROR`), if any.
            ///
            #[doc = concat!("```\n# corio_runtime::run(async {\n", $setup, "\
                assert!(s.take_error().unwrap().is_none());\n\
                # drop(peer);\n# });\n```")]
            pub fn take_error(&self) -> ::std::io::Result<Option<::std::io::Error>> {
                self.io.get_ref().take_error()
            }

            /// Borrow the stream as a read half and a write half, to read and write from two
            /// places of one task (e.g. two futures joined). No allocation.
            ///
            /// With `futures::io::AsyncReadExt` in scope, `s.split()` resolves to futures'
            /// by-value `split` (a `BiLock` pair) instead of this method, because method
            /// lookup tries the by-value receiver first; call
            #[doc = concat!("`", stringify!($ty), "::split(&mut s)`")]
            /// (or `(&mut s).split()`) to get this one. Generic code can use
            /// [`split::split`](crate::split::split).
            ///
            #[doc = concat!("```\n# corio_runtime::run(async {\n", $setup, "\
                let (mut rd, mut wr) = s.split();\n\
                peer.write_all(b\"hi\").await.unwrap();\n\
                let mut buf = [0u8; 2];\n\
                rd.read_exact(&mut buf).await.unwrap();\n\
                wr.write_all(&buf).await.unwrap();\n\
                peer.read_exact(&mut buf).await.unwrap();\n\
                assert_eq!(&buf, b\"hi\");\n# });\n```")]
            pub fn split(&mut self) -> (
                $crate::split::ReadHalf<'_, $ty>,
                $crate::split::WriteHalf<'_, $ty>,
            ) {
                $crate::split::split(self)
            }

            /// Split into owned halves that can move to different tasks. Dropping the write
            /// half shuts the write direction down (the peer reads EOF); `reunite` undoes the
            /// split.
            ///
            #[doc = concat!("```\n# corio_runtime::run(async {\n", $setup, "\
                let (mut rd, mut wr) = s.into_split();\n\
                let writer = corio_runtime::spawn(async move { wr.write_all(b\"ping\").await });\n\
                let mut buf = [0u8; 4];\n\
                peer.read_exact(&mut buf).await.unwrap();\n\
                peer.write_all(b\"pong\").await.unwrap();\n\
                rd.read_exact(&mut buf).await.unwrap();\n\
                assert_eq!(&buf, b\"pong\");\n\
                writer.await.unwrap().unwrap();\n# });\n```")]
            pub fn into_split(self) -> (
                $crate::split::OwnedReadHalf<$ty>,
                $crate::split::OwnedWriteHalf<$ty>,
            ) {
                $crate::split::into_split(self)
            }

            /// Take the socket off this loop and hand it out as a `std` stream: the fd is
            /// deregistered here (a task waiting on it wakes with an error) and stays
            /// non-blocking (`set_nonblocking(false)` for blocking use). Bytes already
            /// received stay in the kernel's buffer. Pass it to another shard's loop, where
            #[doc = concat!("`", stringify!($ty), "::from_std`")]
            /// registers it there.
            ///
            #[doc = concat!("```\n# corio_runtime::run(async {\n", $setup, "\
                peer.write_all(b\"kept\").await.unwrap();\n\
                let std_stream = s.into_std().unwrap();\n\
                let mut s = ", stringify!($ty), "::from_std(std_stream).unwrap();\n\
                let mut buf = [0u8; 4];\n\
                s.read_exact(&mut buf).await.unwrap();\n\
                assert_eq!(&buf, b\"kept\");\n# });\n```")]
            pub fn into_std(self) -> ::std::io::Result<$std> {
                Ok(self.io.into_inner()?.into())
            }
        }

        socket_traits!($ty, [local_addr, peer_addr], io);

        impl_async_read!(impl ::futures_io::AsyncRead for $ty);
        impl_async_write!(impl ::futures_io::AsyncWrite for $ty);

        impl $crate::split::sealed::Sealed for $ty {
            type Io = $mio;
            fn async_io(&self) -> &::corio_runtime::io::Async<$mio> {
                &self.io
            }
        }

        impl $crate::split::SplitStream for $ty {
            type Addr = $addr;
            fn local_addr(&self) -> ::std::io::Result<$addr> {
                $ty::local_addr(self)
            }
            fn peer_addr(&self) -> ::std::io::Result<$addr> {
                $ty::peer_addr(self)
            }
        }
    };
}
