//! The request body timeout (`IVR_BODY_TIMEOUT_MS`): a client that stops sending a body
//! midway is cut off instead of holding a connection and a task for ever.
//!
//! tower-http's `RequestBodyTimeoutLayer` does the same, but arms a timer before every read
//! of the body, and a webhook's small body has always arrived with its headers: registering
//! and cancelling that timer cost about 0.8 µs of a jambonz webhook's 17 µs of CPU
//! (`benches/loopback.sh`). Here the timer starts only once the body has to be waited for,
//! and restarts after every frame, so the timeout is the longest silence between frames.

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use http_body::{Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio::time::{Sleep, sleep};
use tower::{Layer, Service};

/// The error a request body ends with when the client fell silent for the timeout.
#[derive(Debug, thiserror::Error)]
#[error("the client sent nothing of the request body for the body timeout")]
pub struct BodyTimedOut;

/// Whether reading a body failed because it timed out: [`BodyTimedOut`] anywhere in the
/// error's sources (each body wrapper on the way adds one).
pub fn timed_out(error: &(dyn std::error::Error + 'static)) -> bool {
    std::iter::successors(Some(error), |error| error.source()).any(|error| error.is::<BodyTimedOut>())
}

/// Gives every request body the timeout.
#[derive(Clone, Copy, Debug)]
pub struct BodyTimeoutLayer {
    timeout: Duration,
}

impl BodyTimeoutLayer {
    /// A body may fall silent for at most `timeout`.
    pub fn new(timeout: Duration) -> BodyTimeoutLayer {
        BodyTimeoutLayer { timeout }
    }
}

impl<S> Layer<S> for BodyTimeoutLayer {
    type Service = BodyTimeout<S>;

    fn layer(&self, inner: S) -> BodyTimeout<S> {
        BodyTimeout { inner, timeout: self.timeout }
    }
}

/// The service [`BodyTimeoutLayer`] makes.
#[derive(Clone, Debug)]
pub struct BodyTimeout<S> {
    inner: S,
    timeout: Duration,
}

impl<S: Service<Request>> Service<Request> for BodyTimeout<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> S::Future {
        let timeout = self.timeout;
        self.inner.call(request.map(|body| Body::new(TimedBody { body, silence: None, timeout })))
    }
}

pin_project! {
    /// A body that fails with [`BodyTimedOut`] after `timeout` without a frame.
    struct TimedBody {
        #[pin]
        body: Body,
        // Running only while the body is being waited for.
        #[pin]
        silence: Option<Sleep>,
        timeout: Duration,
    }
}

impl http_body::Body for TimedBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        if let Poll::Ready(frame) = this.body.poll_frame(cx) {
            this.silence.set(None);
            return Poll::Ready(frame);
        }
        if this.silence.is_none() {
            this.silence.set(Some(sleep(*this.timeout)));
        }
        if let Some(silence) = this.silence.as_pin_mut() {
            ready!(silence.poll(cx));
            return Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::http::StatusCode;
    use axum::routing::post;
    use tower::ServiceExt;

    async fn echo(body: axum::body::Bytes) -> axum::body::Bytes {
        body
    }

    fn app(timeout: Duration) -> Router {
        Router::new().route("/", post(echo)).layer(BodyTimeoutLayer::new(timeout))
    }

    #[tokio::test]
    async fn a_body_that_has_arrived_is_read_whole() {
        let response = app(Duration::from_millis(50)).oneshot(Request::post("/").body(Body::from("Digits=1")).unwrap());
        let response = response.await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
        assert_eq!(&body[..], b"Digits=1");
    }

    #[tokio::test]
    async fn a_body_that_falls_silent_fails_after_the_timeout() {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<axum::body::Bytes, std::io::Error>>(1);
        tx.send(Ok(axum::body::Bytes::from_static(b"Digits="))).await.unwrap();
        let body = Body::from_stream(tokio_stream_from(rx));
        let started = tokio::time::Instant::now();
        let layered =
            BodyTimeoutLayer::new(Duration::from_millis(100)).layer(tower::service_fn(|request: Request| async {
                axum::body::to_bytes(request.into_body(), 1024).await.map(|_| ())
            }));
        let error = layered.oneshot(Request::post("/").body(body).unwrap()).await.unwrap_err();
        assert!(timed_out(&error), "the read ends with the timeout: {error}");
        assert!(started.elapsed() >= Duration::from_millis(100), "not before the timeout");
        assert!(started.elapsed() < Duration::from_secs(2), "soon after it");
        drop(tx);
    }

    fn tokio_stream_from<T>(mut rx: tokio::sync::mpsc::Receiver<T>) -> impl futures_util::Stream<Item = T> {
        futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
    }
}
