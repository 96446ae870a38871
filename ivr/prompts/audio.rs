//! What makes a recording fit for the phone line, checked with hound.
//!
//! Telephony plays 8 kHz mono 16-bit PCM; anything else is converted by the provider at
//! call time, or refused. Long silence at either end is dead air that makes callers think
//! the line dropped; clipping is distortion that makes guidance hard to understand.

use std::io::Cursor;
use std::time::Duration;

pub const SAMPLE_RATE: u32 = 8000;
pub const MIN_DURATION: Duration = Duration::from_millis(300);
pub const MAX_DURATION: Duration = Duration::from_secs(180);
pub const MAX_EDGE_SILENCE: Duration = Duration::from_millis(800);
/// Quieter than this (about -40 dBFS) counts as silence.
pub const SILENCE_THRESHOLD: i16 = 328;
/// This many full-scale samples in a row is clipping.
const CLIPPED_RUN: usize = 3;

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum AudioProblem {
    #[error("not a readable WAV file: {0}")]
    Unreadable(String),
    #[error("format is {0}; must be 8000 Hz, mono, 16-bit PCM")]
    Format(String),
    #[error("lasts {0:.2} s; must last between 0.3 s and 180 s")]
    Duration(f64),
    #[error("{edge} silence of {seconds:.2} s; at most 0.8 s allowed")]
    Silence { edge: &'static str, seconds: f64 },
    #[error("clipped: {0} runs of full-scale samples")]
    Clipped(usize),
}

/// Checks a WAV file's bytes against every rule; returns its duration or every problem.
pub fn check_recording(wav: &[u8]) -> Result<Duration, Vec<AudioProblem>> {
    let mut reader = hound::WavReader::new(Cursor::new(wav)).map_err(|e| vec![AudioProblem::Unreadable(e.to_string())])?;
    let spec = reader.spec();
    let canonical = spec.sample_rate == SAMPLE_RATE
        && spec.channels == 1
        && spec.bits_per_sample == 16
        && spec.sample_format == hound::SampleFormat::Int;
    if !canonical {
        let format = format!(
            "{} Hz, {} channel(s), {}-bit {:?}",
            spec.sample_rate, spec.channels, spec.bits_per_sample, spec.sample_format
        );
        return Err(vec![AudioProblem::Format(format)]);
    }
    let samples: Vec<i16> = reader
        .samples::<i16>()
        .collect::<Result<_, _>>()
        .map_err(|e| vec![AudioProblem::Unreadable(e.to_string())])?;
    let problems = sample_problems(&samples);
    if problems.is_empty() { Ok(seconds(samples.len())) } else { Err(problems) }
}

fn sample_problems(samples: &[i16]) -> Vec<AudioProblem> {
    let mut problems = Vec::new();
    let duration = seconds(samples.len());
    if !(MIN_DURATION..=MAX_DURATION).contains(&duration) {
        problems.push(AudioProblem::Duration(duration.as_secs_f64()));
    }
    let loud = |s: &i16| s.unsigned_abs() >= SILENCE_THRESHOLD.unsigned_abs();
    let leading = samples.iter().position(loud).unwrap_or(samples.len());
    let trailing = samples.iter().rev().position(loud).unwrap_or(samples.len());
    for (edge, count) in [("leading", leading), ("trailing", trailing)] {
        if seconds(count) > MAX_EDGE_SILENCE {
            problems.push(AudioProblem::Silence { edge, seconds: seconds(count).as_secs_f64() });
        }
    }
    let clipped_runs = samples
        .chunk_by(|a, b| is_full_scale(*a) == is_full_scale(*b))
        .filter(|run| is_full_scale(run[0]) && run.len() >= CLIPPED_RUN)
        .count();
    if clipped_runs > 0 {
        problems.push(AudioProblem::Clipped(clipped_runs));
    }
    problems
}

fn is_full_scale(sample: i16) -> bool {
    sample == i16::MAX || sample <= -i16::MAX
}

fn seconds(samples: usize) -> Duration {
    Duration::from_secs_f64(samples as f64 / f64::from(SAMPLE_RATE))
}
