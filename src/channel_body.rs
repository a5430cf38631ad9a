//! A response body fed through a channel: a task produces chunks at its own pace (a slow mock answer,
//! a CSV export page by page) while hyper sends them, and memory holds only what is in flight.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Bytes;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use tokio::sync::mpsc;

/// A body whose chunks arrive on `rx`; it ends when every sender is gone.
pub struct ChannelBody {
    rx: mpsc::Receiver<Bytes>,
    /// Bytes still to come, when the whole length is declared up front.
    left: Option<u64>,
}

impl ChannelBody {
    /// A body reading `rx`; with `length`, hyper sends `Content-Length` instead of chunking.
    pub fn new(rx: mpsc::Receiver<Bytes>, length: Option<u64>) -> ChannelBody {
        ChannelBody { rx, left: length }
    }
}

impl HttpBody for ChannelBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.rx.poll_recv(cx).map(|chunk| {
            chunk.map(|c| {
                if let Some(left) = self.left.as_mut() {
                    *left = left.saturating_sub(c.len() as u64);
                }
                Ok(Frame::data(c))
            })
        })
    }

    fn size_hint(&self) -> SizeHint {
        match self.left {
            Some(n) => SizeHint::with_exact(n),
            None => SizeHint::default(),
        }
    }
}
