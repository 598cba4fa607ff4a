//! What a connection is served over: plain TCP, or TLS over TCP. The connection task polls
//! it by hand ([`crate::connection`]) and keeps nothing of it between polls but the stream.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How much one poll reads at most, into a buffer on the stack: an idle connection holds none.
const READ_CHUNK: usize = 4096;

/// A byte stream polled by hand.
pub trait Transport: Send + Unpin {
    /// Appends what has arrived to `input`, up to one chunk: `Ready(Ok(0))` when the peer closed.
    fn poll_read_into(
        &mut self,
        cx: &mut Context<'_>,
        input: &mut Vec<u8>,
    ) -> Poll<io::Result<usize>>;
    /// Writes some of `bytes`.
    fn poll_write_some(&mut self, cx: &mut Context<'_>, bytes: &[u8]) -> Poll<io::Result<usize>>;
    /// Sends what the transport itself still holds (TLS records).
    fn poll_send_buffered(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

impl<T: AsyncRead + AsyncWrite + Send + Unpin> Transport for T {
    fn poll_read_into(
        &mut self,
        cx: &mut Context<'_>,
        input: &mut Vec<u8>,
    ) -> Poll<io::Result<usize>> {
        let mut chunk = [0u8; READ_CHUNK];
        let mut buf = ReadBuf::new(&mut chunk);
        match Pin::new(self).poll_read(cx, &mut buf) {
            Poll::Ready(Ok(())) => {
                input.extend_from_slice(buf.filled());
                Poll::Ready(Ok(buf.filled().len()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_write_some(&mut self, cx: &mut Context<'_>, bytes: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(self).poll_write(cx, bytes)
    }

    fn poll_send_buffered(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self).poll_flush(cx)
    }
}
