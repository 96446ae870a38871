//! Playing prompts: through the sound card with rodio when the `playback` feature is built
//! and a device opens, otherwise in silence for as long as the recording lasts.
//!
//! The silent speaker keeps the call's timing (a prompt "plays" for its duration, and the
//! line's timeout starts after it), so walking the menu text only still shows what a
//! caller would go through, and barge-in works the same way.

use std::time::{Duration, Instant};

use super::line::Heard;

/// Something that plays one prompt at a time and can be interrupted.
pub trait Speaker {
    /// Starts playing `heard`, stopping whatever played.
    fn start(&mut self, heard: &Heard);
    /// Whether something is still playing.
    fn playing(&self) -> bool;
    /// Stops playing at once (a key was pressed).
    fn stop(&mut self);
}

/// Plays nothing, for the length of each recording.
#[derive(Default)]
pub struct Silent {
    until: Option<Instant>,
}

impl Speaker for Silent {
    fn start(&mut self, heard: &Heard) {
        self.until = Some(Instant::now() + heard.duration);
    }

    fn playing(&self) -> bool {
        self.until.is_some_and(|until| Instant::now() < until)
    }

    fn stop(&mut self) {
        self.until = None;
    }
}

/// The speaker to use, and why the prompts will not be heard, if they will not.
pub fn open(no_audio: bool) -> (Box<dyn Speaker>, Option<String>) {
    if no_audio {
        return (Box::new(Silent::default()), Some("audio off (--no-audio): transcripts only".to_owned()));
    }
    sound::open()
}

#[cfg(feature = "playback")]
mod sound {
    use std::io::Cursor;

    use super::{Heard, Silent, Speaker};

    /// The default output device, and the player of the prompt being played.
    pub struct Sound {
        device: rodio::MixerDeviceSink,
        player: Option<rodio::Player>,
        /// Stands in for a recording the decoder cannot read.
        fallback: Silent,
    }

    pub fn open() -> (Box<dyn Speaker>, Option<String>) {
        match rodio::DeviceSinkBuilder::open_default_sink() {
            Ok(mut device) => {
                device.log_on_drop(false);
                (Box::new(Sound { device, player: None, fallback: Silent::default() }), None)
            }
            Err(error) => {
                (Box::new(Silent::default()), Some(format!("audio off: no sound device ({error}); transcripts only")))
            }
        }
    }

    impl Speaker for Sound {
        fn start(&mut self, heard: &Heard) {
            self.stop();
            match rodio::Decoder::try_from(Cursor::new(heard.wav.clone())) {
                Ok(source) => {
                    let player = rodio::Player::connect_new(self.device.mixer());
                    player.append(source);
                    self.player = Some(player);
                }
                Err(_) => self.fallback.start(heard),
            }
        }

        fn playing(&self) -> bool {
            self.player.as_ref().is_some_and(|p| !p.empty()) || self.fallback.playing()
        }

        fn stop(&mut self) {
            if let Some(player) = self.player.take() {
                player.stop();
            }
            self.fallback.stop();
        }
    }
}

#[cfg(not(feature = "playback"))]
mod sound {
    use super::{Silent, Speaker};

    pub fn open() -> (Box<dyn Speaker>, Option<String>) {
        let why = "audio off: built without the `playback` feature \
                   (cargo run --features playback -- simulate); transcripts only";
        (Box::new(Silent::default()), Some(why.to_owned()))
    }
}

/// How long to wait between two looks at the keyboard while a prompt plays.
pub const TICK: Duration = Duration::from_millis(40);
