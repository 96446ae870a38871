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

/// Why a recording cannot be played to callers as it is.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum AudioProblem {
    /// Not a WAV file, or a damaged one.
    #[error("not a readable WAV file: {0}")]
    Unreadable(String),
    /// Not 8000 Hz mono 16-bit PCM (the format described).
    #[error("format is {0}; must be 8000 Hz, mono, 16-bit PCM")]
    Format(String),
    /// Shorter than 0.3 s or longer than 180 s (its length in seconds).
    #[error("lasts {0:.2} s; must last between 0.3 s and 180 s")]
    Duration(f64),
    /// Too much silence at one end.
    #[error("{edge} silence of {seconds:.2} s; at most 0.8 s allowed")]
    Silence {
        /// `leading` or `trailing`.
        edge: &'static str,
        /// How long the silence lasts.
        seconds: f64,
    },
    /// This many runs of full-scale samples.
    #[error("clipped: {0} runs of full-scale samples")]
    Clipped(usize),
}

/// Checks a WAV file's bytes against every rule; returns its duration or every problem.
pub fn check_recording(wav: &[u8]) -> Result<Duration, Vec<AudioProblem>> {
    let mut reader =
        hound::WavReader::new(Cursor::new(wav)).map_err(|e| vec![AudioProblem::Unreadable(e.to_string())])?;
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
    let samples: Vec<i16> =
        reader.samples::<i16>().collect::<Result<_, _>>().map_err(|e| vec![AudioProblem::Unreadable(e.to_string())])?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(
        sample_rate: u32,
        channels: u16,
        bits_per_sample: u16,
        sample_format: hound::SampleFormat,
    ) -> hound::WavSpec {
        hound::WavSpec { channels, sample_rate, bits_per_sample, sample_format }
    }

    fn wav<S: hound::Sample + Copy>(spec: hound::WavSpec, samples: &[S]) -> Vec<u8> {
        let mut bytes = Cursor::new(Vec::new());
        let mut writer = hound::WavWriter::new(&mut bytes, spec).expect("WAV header");
        for sample in samples {
            writer.write_sample(*sample).expect("sample");
        }
        writer.finalize().expect("WAV finalised");
        bytes.into_inner()
    }

    /// 8 kHz mono 16-bit: the telephone format.
    fn telephone(samples: &[i16]) -> Vec<u8> {
        wav(spec(SAMPLE_RATE, 1, 16, hound::SampleFormat::Int), samples)
    }

    /// A 440 Hz tone at about -10 dBFS, at 8 kHz, loud from its first sample.
    fn tone(seconds: f64) -> Vec<i16> {
        let length = (seconds * f64::from(SAMPLE_RATE)) as usize;
        (0..length)
            .map(|n| (10_000.0 * (std::f64::consts::TAU * 440.0 * n as f64 / f64::from(SAMPLE_RATE)).cos()) as i16)
            .collect()
    }

    fn quiet(seconds: f64, level: i16) -> Vec<i16> {
        vec![level; (seconds * f64::from(SAMPLE_RATE)) as usize]
    }

    fn joined(parts: &[Vec<i16>]) -> Vec<i16> {
        parts.concat()
    }

    fn problems(bytes: &[u8]) -> Vec<AudioProblem> {
        check_recording(bytes).expect_err("the recording is refused")
    }

    #[test]
    fn a_telephone_format_tone_passes_with_its_duration() {
        assert_eq!(check_recording(&telephone(&tone(1.0))), Ok(Duration::from_secs(1)));
    }

    #[test]
    fn formats_other_than_8_khz_mono_16_bit_pcm_are_refused() {
        let tone = tone(1.0);
        let stereo: Vec<i16> = tone.iter().flat_map(|s| [*s, *s]).collect();
        let eight_bit: Vec<i8> = tone.iter().map(|s| (s / 256) as i8).collect();
        let float: Vec<f32> = tone.iter().map(|s| f32::from(*s) / 32768.0).collect();
        let cases = [
            (wav(spec(16_000, 1, 16, hound::SampleFormat::Int), &tone), "16000 Hz, 1 channel(s), 16-bit Int"),
            (wav(spec(SAMPLE_RATE, 2, 16, hound::SampleFormat::Int), &stereo), "8000 Hz, 2 channel(s), 16-bit Int"),
            (wav(spec(SAMPLE_RATE, 1, 8, hound::SampleFormat::Int), &eight_bit), "8000 Hz, 1 channel(s), 8-bit Int"),
            (wav(spec(SAMPLE_RATE, 1, 32, hound::SampleFormat::Float), &float), "8000 Hz, 1 channel(s), 32-bit Float"),
        ];
        for (bytes, format) in cases {
            assert_eq!(problems(&bytes), vec![AudioProblem::Format(format.to_owned())]);
        }
    }

    #[test]
    fn a_recording_shorter_than_0_3_s_or_longer_than_180_s_is_refused() {
        assert_eq!(problems(&telephone(&tone(0.2))), vec![AudioProblem::Duration(0.2)]);
        assert_eq!(problems(&telephone(&tone(180.5))), vec![AudioProblem::Duration(180.5)]);
        assert!(check_recording(&telephone(&tone(0.3))).is_ok(), "0.3 s is allowed");
        assert!(check_recording(&telephone(&tone(180.0))).is_ok(), "180 s is allowed");
    }

    #[test]
    fn more_than_0_8_s_of_leading_silence_is_refused() {
        let bytes = telephone(&joined(&[quiet(0.9, 0), tone(1.0)]));
        assert_eq!(problems(&bytes), vec![AudioProblem::Silence { edge: "leading", seconds: 0.9 }]);
        assert!(check_recording(&telephone(&joined(&[quiet(0.7, 0), tone(1.0)]))).is_ok(), "0.7 s is allowed");
    }

    #[test]
    fn more_than_0_8_s_of_trailing_silence_is_refused() {
        let bytes = telephone(&joined(&[tone(1.0), quiet(1.0, 0)]));
        assert!(
            matches!(problems(&bytes)[..], [AudioProblem::Silence { edge: "trailing", seconds }] if seconds > 0.99)
        );
        assert!(check_recording(&telephone(&joined(&[tone(1.0), quiet(0.7, 0)]))).is_ok(), "0.7 s is allowed");
    }

    #[test]
    fn hiss_below_minus_40_dbfs_counts_as_silence() {
        let bytes = telephone(&joined(&[quiet(0.9, SILENCE_THRESHOLD - 1), tone(1.0)]));
        assert_eq!(problems(&bytes), vec![AudioProblem::Silence { edge: "leading", seconds: 0.9 }]);
    }

    #[test]
    fn three_full_scale_samples_in_a_row_are_clipping_and_two_are_not() {
        let mut clipped = tone(1.0);
        clipped[1000..1003].fill(i16::MAX);
        clipped[3000..3004].fill(i16::MIN);
        assert_eq!(problems(&telephone(&clipped)), vec![AudioProblem::Clipped(2)]);
        let mut peaks = tone(1.0);
        peaks[1000..1002].fill(i16::MAX);
        assert!(check_recording(&telephone(&peaks)).is_ok(), "two full-scale samples are a peak, not clipping");
    }

    #[test]
    fn every_problem_of_a_recording_is_listed() {
        let mut clipped = tone(1.0);
        clipped[100..110].fill(i16::MAX);
        let bytes = telephone(&joined(&[quiet(1.0, 0), clipped, quiet(1.0, 0)]));
        let found = problems(&bytes);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found.contains(&AudioProblem::Clipped(1)), "{found:?}");
    }

    #[test]
    fn a_file_that_is_not_a_wav_or_is_cut_short_is_unreadable() {
        let whole = telephone(&tone(1.0));
        for bytes in [&b"RIFF, but not really"[..], &whole[..whole.len() / 2], b""] {
            assert!(matches!(problems(bytes)[..], [AudioProblem::Unreadable(_)]), "{:?}", problems(bytes));
        }
    }
}
