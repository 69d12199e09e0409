//! What the datagram sockets ([`UdpSocket`](crate::UdpSocket) and
//! [`UnixDatagram`](crate::UnixDatagram)) share, written once: the connected `send`/`recv`,
//! readiness, the `try_*` forms, `take_error`, `Debug` and the fd traits.
//!
//! `datagram_common!($ty, $mio, "setup")` expands them for `struct $ty { io: Async<$mio> }`.
//! The setup string opens every doc example: statements that bind `s` (the socket the
//! method is called on) and `peer`, connected to each other.

macro_rules! datagram_common {
    ($ty:ident, $mio:ty, $setup:literal) => {
        impl $ty {
            /// Send one datagram to the connected peer; returns the bytes sent.
            ///
            #[doc = concat!("```\n# corio_runtime::run(async {\n", $setup, "\
                assert_eq!(s.send(b\"loop\").await.unwrap(), 4);\n\
                let mut buf = [0u8; 8];\n\
                assert_eq!(peer.recv(&mut buf).await.unwrap(), 4);\n# });\n```")]
            pub async fn send(&self, buf: &[u8]) -> ::std::io::Result<usize> {
                self.io.write_with(|s| s.send(buf)).await
            }

            /// Receive one datagram from the connected peer; one longer than `buf` is
            /// truncated, as with `recv(2)`.
            ///
            #[doc = concat!("```\n# corio_runtime::run(async {\n", $setup, "\
                peer.send(b\"x\").await.unwrap();\n\
                assert_eq!(s.recv(&mut [0u8; 4]).await.unwrap(), 1);\n# });\n```")]
            pub async fn recv(&self, buf: &mut [u8]) -> ::std::io::Result<usize> {
                self.io.read_with(|s| s.recv(buf)).await
            }

            /// Wait until a datagram can be received (may be spurious: `try_recv` can still
            /// say `WouldBlock`).
            ///
            #[doc = concat!("```\n# corio_runtime::run(async {\n", $setup, "\
                peer.send(b\"x\").await.unwrap();\n\
                s.readable().await.unwrap();\n\
                assert_eq!(s.try_recv(&mut [0u8; 4]).unwrap(), 1);\n# });\n```")]
            pub async fn readable(&self) -> ::std::io::Result<()> {
                self.io.readable().await
            }

            /// Wait until a datagram can be sent.
            ///
            #[doc = concat!("```\n# corio_runtime::run(async {\n", $setup, "\
                s.writable().await.unwrap();\n\
                # drop(peer);\n# });\n```")]
            pub async fn writable(&self) -> ::std::io::Result<()> {
                self.io.writable().await
            }

            /// Poll form of [`readable`](Self::readable).
            ///
            #[doc = concat!("```\n# corio_runtime::run(async {\n", $setup, "\
                peer.send(b\"x\").await.unwrap();\n\
                std::future::poll_fn(|cx| s.poll_recv_ready(cx)).await.unwrap();\n# });\n```")]
            pub fn poll_recv_ready(
                &self,
                cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                self.io.poll_readable(cx)
            }

            /// Poll form of [`writable`](Self::writable).
            ///
            #[doc = concat!("```\n# corio_runtime::run(async {\n", $setup, "\
                std::future::poll_fn(|cx| s.poll_send_ready(cx)).await.unwrap();\n\
                # drop(peer);\n# });\n```")]
            pub fn poll_send_ready(
                &self,
                cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                self.io.poll_writable(cx)
            }

            /// Receive a datagram from the connected peer now, or fail with `WouldBlock`
            /// (read readiness is then cleared until the next edge).
            ///
            #[doc = concat!("```\n# corio_runtime::run(async {\n", $setup, "\
                let err = s.try_recv(&mut [0u8; 8]).unwrap_err();\n\
                assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);\n\
                # drop(peer);\n# });\n```")]
            pub fn try_recv(&self, buf: &mut [u8]) -> ::std::io::Result<usize> {
                self.io.try_read_with(|s| s.recv(buf))
            }

            /// Send a datagram to the connected peer now, or fail with `WouldBlock`.
            ///
            #[doc = concat!("```\n# corio_runtime::run(async {\n", $setup, "\
                assert_eq!(s.try_send(b\"x\").unwrap(), 1);\n\
                # drop(peer);\n# });\n```")]
            pub fn try_send(&self, buf: &[u8]) -> ::std::io::Result<usize> {
                self.io.try_write_with(|s| s.send(buf))
            }

            /// Take the pending socket error (`SO_ERROR`), e.g. a UDP "port unreachable".
            ///
            #[doc = concat!("```\n# corio_runtime::run(async {\n", $setup, "\
                assert!(s.take_error().unwrap().is_none());\n\
                # drop(peer);\n# });\n```")]
            pub fn take_error(&self) -> ::std::io::Result<Option<::std::io::Error>> {
                self.io.get_ref().take_error()
            }
        }

        socket_traits!($ty, [local_addr, peer_addr], io);
    };
}
