//! The operators' desk (`/desk`): where an operator sees and sets their own state with one
//! press (available, away, end of wrap-up) and watches the line now: callers waiting in each
//! queue and the longest wait, and who of the operators is free, on a call, in wrap-up or
//! away, updated live with server-sent events. In Kazakh and Russian, in the admin pages'
//! frame. An administrator may open it too, to watch the line; having no roster entry, they
//! have no state of their own there (they set operators' states on the roster page).
//!
//! Why a module of its own: the desk is the operators' screen, not an administrators' page,
//! and it is the only page that runs live. What it shows is read by one task per instance
//! (`refresh.rs`: one query a second on the queue, with `store.rs`, and the roster snapshot
//! the call path already keeps) into the shared [`crate::operators::LiveLine`]; a page and
//! each live stream (`events.rs`) only read that snapshot, so the database sees one query a
//! second however many desks are open, and a desk never slows a call. Nothing on the desk
//! is about a caller: counts and waits only, never a ticket.
//!
//! The routes are in the access table ([`guarded`]) like every page behind a sign-in, so
//! the gate checks the role and a button's CSRF token before a handler runs; an operator
//! changes only their own state, through the same store and rule as the state API.

mod events;
mod pages;
mod refresh;
mod store;
mod text;
mod view;

use crate::access::{Guarded, Role};

pub use refresh::spawn_refresh;
pub use store::{QueueCount, WaitingStore};
pub use view::{DeskView, Me, MyState, SCRIPT, desk_page, desk_policy};

/// Where the desk lives.
pub mod paths {
    /// The page.
    pub const DESK: &str = "/desk";
    /// Its live stream (`text/event-stream`).
    pub const EVENTS: &str = "/desk/events";
    /// POST `state` (`available` or `away`) here to change one's own state.
    pub const STATE: &str = "/desk/state";
}

/// Operators, and administrators watching the line.
const WHO: [Role; 2] = [Role::Admin, Role::Operator];

/// The desk's page, stream and button, each with the roles it admits.
pub fn guarded() -> Guarded {
    Guarded::new().get(paths::DESK, &WHO, pages::show).get(paths::EVENTS, &WHO, events::events).post(
        paths::STATE,
        &WHO,
        pages::set_state,
    )
}
