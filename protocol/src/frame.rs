//! Length-delimited frames over any async byte stream.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest frame a server accepts from a client: 500 user IDs fit many times over, while a
/// hostile length prefix cannot make the server allocate more than this per connection.
pub const MAX_REQUEST_FRAME_LEN: usize = 256 * 1024;

/// Largest frame a client accepts from a server: a login snapshot of every subscription and
/// every friend (thousands of statuses) must fit in one reply.
pub const MAX_SERVER_FRAME_LEN: usize = 8 * 1024 * 1024;

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The peer closed the stream between frames.
    #[error("connection closed")]
    Closed,
    /// The length prefix exceeds the limit the reader was given.
    #[error("frame of {0} bytes exceeds the limit of {1} bytes")]
    TooLarge(usize, usize),
    /// A zero-length frame carries no message.
    #[error("empty frame")]
    Empty,
    /// The stream failed or ended inside a frame.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads one frame. Returns [`FrameError::Closed`] on a clean end of stream between frames.
pub async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
    max_len: usize,
) -> Result<Vec<u8>, FrameError> {
    let mut len_bytes = [0u8; 4];
    match reader.read_exact(&mut len_bytes).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(FrameError::Closed),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_be_bytes(len_bytes) as usize;
    if len > max_len {
        return Err(FrameError::TooLarge(len, max_len));
    }
    if len == 0 {
        return Err(FrameError::Empty);
    }
    let mut payload = vec![0u8; len];
    reader.read_exact(&mut payload).await?;
    Ok(payload)
}

/// Finds the first frame at the front of `buf`, for readers that keep their own buffer: answers
/// the payload's range and the bytes the frame takes, `None` while the frame is incomplete
/// (with the bytes it will take, once its length is known), or why it can never be read. The
/// length is checked before the caller makes room for the payload.
pub fn split_frame(buf: &[u8], max_len: usize) -> Result<Split, FrameError> {
    let Some(len_bytes) = buf.get(..4) else {
        return Ok(Split::Incomplete { needs: 4 });
    };
    let len = u32::from_be_bytes(len_bytes.try_into().expect("four bytes")) as usize;
    if len > max_len {
        return Err(FrameError::TooLarge(len, max_len));
    }
    if len == 0 {
        return Err(FrameError::Empty);
    }
    if buf.len() < 4 + len {
        return Ok(Split::Incomplete { needs: 4 + len });
    }
    Ok(Split::Frame {
        payload: 4..4 + len,
    })
}

/// What [`split_frame`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Split {
    /// A whole frame: its payload is `buf[payload]`, and it ends at `payload.end`.
    Frame { payload: std::ops::Range<usize> },
    /// Not yet: the frame will take `needs` bytes from the front of the buffer.
    Incomplete { needs: usize },
}

/// Writes one frame (without flushing, so several frames can share one write).
pub async fn write_frame<W: AsyncWrite + Unpin>(
    writer: &mut W,
    payload: &[u8],
) -> std::io::Result<()> {
    if payload.len() > MAX_SERVER_FRAME_LEN || payload.len() > u32::MAX as usize {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("frame of {} bytes exceeds the limit", payload.len()),
        ));
    }
    writer
        .write_all(&(payload.len() as u32).to_be_bytes())
        .await?;
    writer.write_all(payload).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_finds_frames_in_a_buffer() {
        let mut buf = Vec::new();
        buf.extend_from_slice(&3u32.to_be_bytes());
        buf.extend_from_slice(b"abcXY");
        assert_eq!(
            split_frame(&buf, 10).unwrap(),
            Split::Frame { payload: 4..7 }
        );
        assert_eq!(
            split_frame(&buf[..5], 10).unwrap(),
            Split::Incomplete { needs: 7 }
        );
        assert_eq!(
            split_frame(&buf[..2], 10).unwrap(),
            Split::Incomplete { needs: 4 }
        );
        // covers: B2 (a hostile length is refused before anything is allocated for it)
        assert!(matches!(
            split_frame(&u32::MAX.to_be_bytes(), 10),
            Err(FrameError::TooLarge(..))
        ));
        assert!(matches!(
            split_frame(&0u32.to_be_bytes(), 10),
            Err(FrameError::Empty)
        ));
    }

    #[tokio::test]
    async fn round_trip_and_limits() {
        let mut buf = Vec::new();
        write_frame(&mut buf, b"{\"a\":1}").await.unwrap();
        write_frame(&mut buf, b"xyz").await.unwrap();
        let mut r = &buf[..];
        assert_eq!(
            read_frame(&mut r, MAX_REQUEST_FRAME_LEN).await.unwrap(),
            b"{\"a\":1}"
        );
        assert_eq!(
            read_frame(&mut r, MAX_REQUEST_FRAME_LEN).await.unwrap(),
            b"xyz"
        );
        assert!(matches!(
            read_frame(&mut r, MAX_REQUEST_FRAME_LEN).await,
            Err(FrameError::Closed)
        ));

        // covers: B2 (a hostile length is refused before allocation)
        let huge = u32::MAX.to_be_bytes();
        let mut r = &huge[..];
        assert!(matches!(
            read_frame(&mut r, MAX_REQUEST_FRAME_LEN).await,
            Err(FrameError::TooLarge(..))
        ));
        let zero = 0u32.to_be_bytes();
        let mut r = &zero[..];
        assert!(matches!(
            read_frame(&mut r, MAX_REQUEST_FRAME_LEN).await,
            Err(FrameError::Empty)
        ));
        let truncated = [0u8, 0, 0, 9, b'a'];
        let mut r = &truncated[..];
        assert!(matches!(
            read_frame(&mut r, MAX_REQUEST_FRAME_LEN).await,
            Err(FrameError::Io(_))
        ));
    }
}
