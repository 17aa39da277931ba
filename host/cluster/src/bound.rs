//! A bound on what the host reads from an API server. The kubeconfig that names the server
//! arrives with the request, so the server may be anyone's: kube-rs reads a whole answer into
//! memory before parsing it, and a watch line by line with no bound on a line. An answer (or one
//! line of a watch, where a watch goes on for days) longer than [`MAX_ANSWER_BYTES`] is cut off
//! with [`AnswerTooLarge`].

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::future::BoxFuture;
use http_body::{Body, Frame, SizeHint};
use kube::client::DynBody;
use tower::{BoxError, Layer, Service};

/// The largest answer, or watch event, read from an API server. kube-apiserver keeps objects
/// under 1.5 MiB (etcd's request limit), so this is a list of some thousands of large objects.
pub const MAX_ANSWER_BYTES: usize = 64 << 20;

/// An answer cut off at the bound.
#[derive(Debug, thiserror::Error)]
#[error("the API server's answer passed {limit} bytes{line}, where the host stops reading", line = if *.watch { " in one watch event" } else { "" })]
pub struct AnswerTooLarge {
    pub limit: usize,
    pub watch: bool,
}

/// Wraps a client's service so that every answer's body is bounded.
#[derive(Clone, Copy, Debug)]
pub struct BoundAnswers {
    pub limit: usize,
}

impl<S> Layer<S> for BoundAnswers {
    type Service = Bounded<S>;
    fn layer(&self, inner: S) -> Bounded<S> {
        Bounded {
            inner,
            limit: self.limit,
        }
    }
}

#[derive(Clone)]
pub struct Bounded<S> {
    inner: S,
    limit: usize,
}

type Answer = http::Response<Box<DynBody>>;

impl<S, B> Service<http::Request<B>> for Bounded<S>
where
    S: Service<http::Request<B>, Response = Answer>,
    S::Future: Send + 'static,
{
    type Response = Answer;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Answer, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let watch = is_watch(request.uri());
        let limit = self.limit;
        let answer = self.inner.call(request);
        Box::pin(async move {
            let answer = answer.await?;
            Ok(answer.map(|body| Box::new(BoundedBody::new(body, limit, watch)) as Box<DynBody>))
        })
    }
}

/// The bound an error of kube's came from, if it did (directly, or inside a watch's read error).
pub(crate) fn too_large(e: &kube::Error) -> Option<&AnswerTooLarge> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(t) = err.downcast_ref::<AnswerTooLarge>() {
            return Some(t);
        }
        // An io::Error's source() skips the error it wraps.
        if let Some(inner) = err.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            if let Some(t) = inner.downcast_ref::<AnswerTooLarge>() {
                return Some(t);
            }
        }
        cur = err.source();
    }
    None
}

fn is_watch(uri: &http::Uri) -> bool {
    uri.query()
        .is_some_and(|q| q.split('&').any(|p| matches!(p, "watch=true" | "watch=1")))
}

/// A body that fails once it passes `limit` bytes: in all, or, for a watch, since its last newline.
pub struct BoundedBody<B> {
    inner: B,
    limit: usize,
    watch: bool,
    seen: usize,
}

impl<B> BoundedBody<B> {
    pub fn new(inner: B, limit: usize, watch: bool) -> Self {
        BoundedBody {
            inner,
            limit,
            watch,
            seen: 0,
        }
    }
}

impl<B> Body for BoundedBody<B>
where
    B: Body<Data = Bytes, Error = BoxError> + Unpin,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if this.seen > this.limit {
            // Cut off: nothing more is read.
            return Poll::Ready(None);
        }
        let frame = match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => frame,
            other => return other,
        };
        if let Some(data) = frame.data_ref() {
            if this.watch {
                // The first part continues the current line; each newline starts another.
                for (n, part) in data.split(|b| *b == b'\n').enumerate() {
                    if n > 0 {
                        this.seen = 0;
                    }
                    this.seen += part.len();
                    if this.seen > this.limit {
                        break;
                    }
                }
            } else {
                this.seen += data.len();
            }
            if this.seen > this.limit {
                return Poll::Ready(Some(Err(Box::new(AnswerTooLarge {
                    limit: this.limit,
                    watch: this.watch,
                }))));
            }
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use http_body_util::{BodyExt, StreamBody};

    fn body(chunks: Vec<&'static str>, limit: usize, watch: bool) -> BoundedBody<Box<DynBody>> {
        let stream = futures::stream::iter(chunks).map(|c| Ok::<_, BoxError>(Frame::data(Bytes::from(c))));
        BoundedBody::new(Box::new(StreamBody::new(stream)) as Box<DynBody>, limit, watch)
    }

    async fn read(b: BoundedBody<Box<DynBody>>) -> Result<Bytes, BoxError> {
        b.collect().await.map(|c| c.to_bytes())
    }

    #[tokio::test]
    async fn an_answer_is_cut_off_past_the_limit_in_all() {
        assert_eq!(
            read(body(vec!["12345", "67890"], 10, false)).await.unwrap(),
            "1234567890"
        );
        let e = read(body(vec!["12345", "67890", "1"], 10, false)).await.unwrap_err();
        assert!(e.downcast_ref::<AnswerTooLarge>().is_some(), "{e}");
        // Newlines do not restart the count of an answer that is not a watch.
        assert!(read(body(vec!["1234\n", "5678\n", "9\n"], 10, false)).await.is_err());
    }

    #[tokio::test]
    async fn a_watch_is_cut_off_at_one_long_event_not_at_many_short_ones() {
        let many: Vec<&'static str> = std::iter::repeat_n("{\"e\":1}\n", 100).collect();
        assert!(read(body(many, 10, true)).await.is_ok());
        // A line split over chunks counts as one, across the chunks.
        assert!(
            read(body(vec!["{\"e\":1}\n{\"e\"", ":12345", "6}\n"], 10, true))
                .await
                .is_err()
        );
        assert!(read(body(vec!["{\"e\":1}\n{\"e\"", ":1}\n"], 10, true)).await.is_ok());
        let e = read(body(vec!["0123456789ABCDEF"], 10, true)).await.unwrap_err();
        assert_eq!(
            e.to_string(),
            "the API server's answer passed 10 bytes in one watch event, where the host stops reading"
        );
    }

    #[test]
    fn watches_are_told_by_their_query() {
        for (uri, watch) in [
            ("/api/v1/configmaps?watch=true&resourceVersion=1", true),
            ("/api/v1/namespaces/a/configmaps?labelSelector=x&watch=1", true),
            ("/api/v1/configmaps?watch=false", false),
            ("/api/v1/namespaces/watch=true/configmaps", false),
        ] {
            assert_eq!(is_watch(&uri.parse().unwrap()), watch, "{uri}");
        }
    }
}
