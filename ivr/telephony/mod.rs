//! Provider dialects: how a telephony provider's webhooks become flow [`Input`]s and how
//! flow [`Instruction`]s become the provider's documents. Only TwiML (Twilio, SignalWire,
//! Telnyx) for now; another dialect is another module rendering the same instructions.
//!
//! [`Input`]: crate::flow::Input
//! [`Instruction`]: crate::flow::Instruction

pub mod signature;
pub mod softphone;
pub mod state_token;
pub mod twiml;
mod webhook;

pub use webhook::router;
