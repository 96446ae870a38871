//! Single key presses from the terminal, without Enter, as on a phone's keypad.
//!
//! The terminal is put in raw mode for that and must be given back in its normal mode
//! however the simulator ends: [`RawTerminal`] restores it when dropped, and a panic hook
//! restores it before the panic message is printed (a panic would otherwise leave the
//! shell without echo or line editing).

use std::io::{self, IsTerminal, Write};
use std::sync::Once;
use std::time::Duration;

use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use crossterm::terminal;

/// A key the person at the keyboard pressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pressed {
    /// A character key.
    Char(char),
    /// `q`, Esc, Ctrl-C or Ctrl-D: put the phone down.
    HangUp,
}

/// Where key presses come from: the terminal, or a test.
pub trait Keys {
    /// The next key pressed within `within`, if any.
    fn next(&mut self, within: Duration) -> io::Result<Option<Pressed>>;
}

/// The terminal in raw mode, for as long as this value lives.
pub struct RawTerminal(());

impl RawTerminal {
    /// An error when stdin is not a terminal, before anything else is set up.
    pub fn require() -> io::Result<()> {
        if io::stdin().is_terminal() { Ok(()) } else { Err(io::Error::other("standard input is not a terminal")) }
    }

    /// Raw mode on stdin; an error when stdin is not a terminal.
    pub fn enable() -> io::Result<RawTerminal> {
        RawTerminal::require()?;
        restore_on_panic();
        terminal::enable_raw_mode()?;
        Ok(RawTerminal(()))
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        let _ = terminal::disable_raw_mode();
    }
}

fn restore_on_panic() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = terminal::disable_raw_mode();
            previous(info);
        }));
    });
}

impl Keys for RawTerminal {
    fn next(&mut self, within: Duration) -> io::Result<Option<Pressed>> {
        if !event::poll(within)? {
            return Ok(None);
        }
        let Event::Key(key) = event::read()? else {
            return Ok(None);
        };
        if key.kind == KeyEventKind::Release {
            return Ok(None);
        }
        let control = key.modifiers.contains(KeyModifiers::CONTROL);
        Ok(match key.code {
            KeyCode::Esc => Some(Pressed::HangUp),
            KeyCode::Char('c' | 'd') if control => Some(Pressed::HangUp),
            KeyCode::Char('q' | 'Q') => Some(Pressed::HangUp),
            KeyCode::Char(c) => Some(Pressed::Char(c.to_ascii_lowercase())),
            _ => None,
        })
    }
}

/// Lines on a terminal that may be in raw mode, where a line feed alone does not return
/// the cursor to the left.
pub struct Screen<W: Write> {
    out: W,
}

impl<W: Write> Screen<W> {
    /// A screen writing to `out`.
    pub fn new(out: W) -> Screen<W> {
        Screen { out }
    }

    /// Writes `lines`, each ended for a terminal in raw mode.
    pub fn show(&mut self, lines: impl IntoIterator<Item = impl AsRef<str>>) -> io::Result<()> {
        for line in lines {
            write!(self.out, "{}\r\n", line.as_ref())?;
        }
        self.out.flush()
    }

    /// What was written to (for tests).
    pub fn into_inner(self) -> W {
        self.out
    }
}
