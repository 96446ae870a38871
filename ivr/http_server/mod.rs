//! Serving HTTP through a process's life: where the listening socket comes from (systemd
//! socket activation, or a bind), the limits a flood from outside meets (a connection cap
//! below the descriptor limit; header, body and idle timeouts), what a caller hears when a
//! handler panics, and its part of a shutdown that keeps answering callers for a drain
//! period instead of closing the port at once (`crate::tasks` runs the drain).

mod body_timeout;
mod connections;
mod drain;
mod listener;
pub mod panic;

pub use body_timeout::{BodyTimeoutLayer, timed_out};
pub use connections::{Limits, LogThrottle, Serving, is_one_connections, spawn};
pub use drain::close_while_draining;
pub use listener::listen;
