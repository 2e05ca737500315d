//! Copies between owned ends, on the runtime or on a blocking thread.

use std::io::{self, Read, Write};

use tokio::io::{AsyncRead, AsyncWrite};

use crate::Implementation;

/// Copies `reader` to `writer` with `imp` and hands both ends back for checks:
/// on the runtime for an asynchronous implementation, with `std::io::copy`
/// on a blocking thread for [`Implementation::Std`].
pub(super) async fn copy_owned<R, W>(
    imp: Implementation,
    mut reader: R,
    mut writer: W,
) -> io::Result<(u64, R, W)>
where
    R: AsyncRead + Read + Unpin + Send + 'static,
    W: AsyncWrite + Write + Unpin + Send + 'static,
{
    if imp.is_blocking() {
        blocking(move || {
            let n = io::copy(&mut reader, &mut writer)?;
            Ok((n, reader, writer))
        })
        .await
    } else {
        let n = imp.copy(&mut reader, &mut writer).await?;
        Ok((n, reader, writer))
    }
}

/// Runs `work` on tokio's blocking pool.
pub(super) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(io::Error::other)?
}
