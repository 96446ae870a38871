//! Serving HTTP through a process's life: where the listening socket comes from (systemd
//! socket activation, or a bind), the limits a flood from outside meets (a connection cap
//! below the descriptor limit; header, body and idle timeouts), what a caller hears when a
//! handler panics, and a shutdown that keeps answering callers for a drain period instead
//! of closing the port at once.

mod body_timeout;
mod connections;
mod drain;
mod listener;
pub mod panic;

pub use body_timeout::{BodyTimeoutLayer, timed_out};
pub use connections::{Limits, LogThrottle, Serving, is_one_connections, spawn};
pub use drain::{DrainPlan, close_while_draining, shutdown_signals};
pub use listener::listen;
