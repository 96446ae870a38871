//! `ivr prompts import`: turns a studio recording into a prompt callers can hear.
//!
//! Voice artists deliver what their studio exports: WAV, MP3, FLAC or Ogg Vorbis, at 44.1 or
//! 48 kHz, in stereo, with room tone around the words. The line plays 8 kHz mono 16-bit PCM
//! and the library refuses dead air and clipping. Import converts every recording the same
//! way (mix down, low-pass and resample, normalise the peak, trim the silence) and installs
//! the result only if it passes the start-up checks, so a bad file never replaces a good
//! prompt: the new WAV is written beside the old one and renamed over it.

use std::fmt;
use std::io::{Cursor, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rodio::Source;

use super::audio::{self, AudioProblem, SAMPLE_RATE, SILENCE_THRESHOLD};
use super::resample;
use super::{PromptError, read_manifest, wav_path};
use crate::flow::{Language, PromptKey};

/// Peak level of an imported prompt, -1 dBFS (10^(-1/20) of full scale): loud, and clear of
/// clipping.
const TARGET_PEAK: f32 = 0.891;
/// Silence kept before the first sound and after the last, so no word is cut.
const EDGE_PADDING_SAMPLES: usize = SAMPLE_RATE as usize * 150 / 1000;
/// Longest input decoded: bounds the memory a file that is no prompt at all can take.
const MAX_INPUT: Duration = Duration::from_secs(600);
/// A header may promise a little more than decodes (encoder padding); more is a cut file.
const TRUNCATION_TOLERANCE: Duration = Duration::from_millis(100);

/// What `ivr prompts` does to the library.
#[derive(Debug, clap::Subcommand)]
pub enum PromptsCommand {
    /// Convert a recording (WAV, MP3, FLAC or Ogg Vorbis, any rate and channels) to 8 kHz mono
    /// 16-bit PCM, trim and level it, validate it and install it as `<lang>/<key>.wav`.
    Import {
        /// Language of the recording: kk or ru.
        #[arg(long)]
        lang: String,
        /// Prompt key, as listed in manifest.toml.
        #[arg(long)]
        key: String,
        /// The recording to import.
        file: PathBuf,
    },
}

/// Why `ivr prompts import` changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Neither `kk` nor `ru`.
    #[error("unknown language `{0}`: use kk (Kazakh) or ru (Russian)")]
    UnknownLanguage(String),
    /// A key the manifest does not list.
    #[error("unknown prompt key `{key}`: {manifest} does not list it (check the spelling, or add it there first)")]
    UnknownKey {
        /// The key asked for.
        key: String,
        /// The manifest's path.
        manifest: String,
    },
    /// The manifest could not be read.
    #[error("cannot read the prompt manifest: {0}")]
    Manifest(PromptError),
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// The recording cannot become a prompt.
    #[error("{path}: {problem}; the prompt was not changed")]
    Input {
        /// The recording.
        path: String,
        /// What is wrong with it.
        problem: InputProblem,
    },
    /// A file could not be written.
    #[error("cannot write {path}: {source}; the prompt was not changed")]
    Write {
        /// The file.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
}

/// Why a recording cannot become a prompt.
#[derive(Debug, thiserror::Error)]
pub enum InputProblem {
    /// No bytes at all.
    #[error("the file is empty")]
    Empty,
    /// No decoder recognises it (what the decoder said).
    #[error("not a recording import can read (WAV, MP3, FLAC or Ogg Vorbis): {0}")]
    NotAudio(String),
    /// Less audio decodes than the header promises.
    #[error("truncated: its header promises {declared:.2} s of audio but only {decoded:.2} s decode")]
    Truncated {
        /// Seconds the header promises.
        declared: f64,
        /// Seconds that decode.
        decoded: f64,
    },
    /// The sample rate or channel count changes partway through.
    #[error("changes sample rate or channel count partway through; export it again as one stream")]
    FormatChanges,
    /// Longer than import reads.
    #[error("lasts over {} s; a prompt may last at most {} s", MAX_INPUT.as_secs(), audio::MAX_DURATION.as_secs())]
    TooLong,
    /// Nothing louder than -40 dBFS.
    #[error("silent or empty: nothing in it is louder than -40 dBFS at telephone bandwidth")]
    Silent,
    /// Converted, it still fails the prompt checks.
    #[error("after conversion it fails the prompt checks: {}", list(.0))]
    Rejected(Vec<AudioProblem>),
}

/// What an import read and wrote, for the operator who ran it.
#[derive(Clone, Debug)]
pub struct Imported {
    /// The file read.
    pub source: PathBuf,
    /// What it was.
    pub input: InputAudio,
    /// The prompt file written.
    pub wav: PathBuf,
    /// How long the prompt lasts.
    pub duration: Duration,
    /// Gain applied to bring the peak to -1 dBFS.
    pub gain_db: f32,
    /// Silence cut from the ends.
    pub trimmed: Duration,
    /// The manifest in which the recording is now marked `studio`.
    pub manifest: PathBuf,
    /// The prompt's script (`.txt`) beside it.
    pub transcript: PathBuf,
    /// Whether that script exists (if not, the import asks for one).
    pub transcript_exists: bool,
}

/// The recording as delivered.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InputAudio {
    /// WAV, MP3, FLAC or Ogg, as its first bytes say.
    pub container: &'static str,
    /// Samples per second.
    pub sample_rate: u32,
    /// Channels (1 mono, 2 stereo).
    pub channels: u16,
    /// How long it lasts.
    pub duration: Duration,
}

/// Converts `file` and installs it as `<dir>/<language>/<key>.wav`. On an error before the
/// WAV is written, the prompt already there is left exactly as it was; if only marking the
/// manifest fails after it, the new recording is in place and the manifest still says what
/// it said (the error names the manifest). The transcript beside it is never touched.
pub fn import(dir: &Path, language: &str, key: &str, file: &Path) -> Result<Imported, ImportError> {
    let language = Language::from_code(language).ok_or_else(|| ImportError::UnknownLanguage(language.to_owned()))?;
    let key = listed_key(dir, key)?;
    let path = file.display().to_string();
    let bytes = std::fs::read(file).map_err(|source| ImportError::Read { path: path.clone(), source })?;
    let hint = file.extension().and_then(|e| e.to_str());
    let input_error = |problem| ImportError::Input { path: path.clone(), problem };
    let (input, mono) = decode(bytes, hint).map_err(input_error)?;
    let converted = convert(&mono, input.sample_rate).map_err(input_error)?;
    let target = wav_path(dir, language, &key);
    let write_error = |source| ImportError::Write { path: target.display().to_string(), source };
    let wav = encode_wav(&converted.samples).map_err(|e| write_error(std::io::Error::other(e)))?;
    let duration = audio::check_recording(&wav).map_err(|problems| input_error(InputProblem::Rejected(problems)))?;
    replace_file(&target, &wav).map_err(write_error)?;
    let manifest = mark_studio(dir, language, &key)?;
    let transcript = target.with_extension("txt");
    Ok(Imported {
        source: file.to_owned(),
        input,
        wav: target,
        duration,
        gain_db: 20.0 * converted.gain.log10(),
        trimmed: input.duration.saturating_sub(duration),
        manifest,
        transcript_exists: transcript.is_file(),
        transcript,
    })
}

impl fmt::Display for Imported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let InputAudio { container, sample_rate, channels, duration } = self.input;
        let (source, wav, transcript) = (self.source.display(), self.wav.display(), self.transcript.display());
        writeln!(
            f,
            "read {source}: {container}, {sample_rate} Hz, {channels} channel(s), {:.2} s",
            duration.as_secs_f64()
        )?;
        write!(f, "wrote {wav}: 8000 Hz mono 16-bit PCM, {:.2} s, ", self.duration.as_secs_f64())?;
        writeln!(
            f,
            "peak -1 dBFS (gain {:+.1} dB), {:.2} s of silence trimmed",
            self.gain_db,
            self.trimmed.as_secs_f64()
        )?;
        let manifest = self.manifest.display();
        writeln!(f, "marked it a studio recording in {manifest}: synthesize.sh will not overwrite it")?;
        if self.transcript_exists {
            write!(f, "left {transcript} as it is: update it if the recording's wording differs")
        } else {
            write!(f, "warning: {transcript} is missing: write down what the recording says there")
        }
    }
}

/// Records in `manifest.toml` that the key's recording in `language` is now a studio take,
/// so `synthesize.sh` never overwrites it. Only that value changes; comments stay. Returns
/// the manifest's path.
fn mark_studio(dir: &Path, language: Language, key: &PromptKey) -> Result<PathBuf, ImportError> {
    let path = dir.join("manifest.toml");
    let write_error = |source| ImportError::Write { path: path.display().to_string(), source };
    let text = std::fs::read_to_string(&path).map_err(write_error)?;
    let mut manifest: toml_edit::DocumentMut =
        text.parse().map_err(|e: toml_edit::TomlError| write_error(std::io::Error::other(e.to_string())))?;
    let entry = &mut manifest["prompts"][key.as_str()];
    if !entry["recording"].is_inline_table() && !entry["recording"].is_table() {
        entry["recording"] = toml_edit::value(toml_edit::InlineTable::new());
    }
    entry["recording"][language.code()] = toml_edit::value("studio");
    replace_file(&path, manifest.to_string().as_bytes()).map_err(write_error)?;
    Ok(path)
}

fn listed_key(dir: &Path, key: &str) -> Result<PromptKey, ImportError> {
    let manifest = read_manifest(dir).map_err(ImportError::Manifest)?;
    PromptKey::parse(key).filter(|k| manifest.prompts.contains_key(k.as_str())).ok_or_else(|| ImportError::UnknownKey {
        key: key.to_owned(),
        manifest: dir.join("manifest.toml").display().to_string(),
    })
}

/// Decodes any format rodio reads and mixes it down to one channel at its own rate.
fn decode(bytes: Vec<u8>, hint: Option<&str>) -> Result<(InputAudio, Vec<f32>), InputProblem> {
    if bytes.is_empty() {
        return Err(InputProblem::Empty);
    }
    let container = container_name(&bytes);
    let length = bytes.len() as u64;
    let mut builder = rodio::Decoder::builder().with_data(Cursor::new(bytes)).with_byte_len(length).with_seekable(true);
    if let Some(hint) = hint {
        builder = builder.with_hint(hint);
    }
    let reason = |e: rodio::decoder::DecoderError| e.to_string().trim_end_matches('.').to_lowercase();
    let mut decoder = builder.build().map_err(|e| InputProblem::NotAudio(reason(e)))?;
    let (channels, rate) = (decoder.channels(), decoder.sample_rate());
    let declared = decoder.total_duration();
    let mono = mix_down(decoder.by_ref(), channels.get(), rate.get())?;
    if (decoder.channels(), decoder.sample_rate()) != (channels, rate) {
        return Err(InputProblem::FormatChanges);
    }
    let duration = samples_duration(mono.len(), rate.get());
    check_complete(declared, duration)?;
    let input = InputAudio { container, sample_rate: rate.get(), channels: channels.get(), duration };
    Ok((input, mono))
}

/// rodio stops quietly where a file ends early; a header that promised more gives it away.
fn check_complete(declared: Option<Duration>, decoded: Duration) -> Result<(), InputProblem> {
    match declared {
        Some(declared) if declared > decoded + TRUNCATION_TOLERANCE => {
            Err(InputProblem::Truncated { declared: declared.as_secs_f64(), decoded: decoded.as_secs_f64() })
        }
        _ => Ok(()),
    }
}

/// Averages each frame's channels into one sample.
fn mix_down(samples: impl Iterator<Item = f32>, channels: u16, rate: u32) -> Result<Vec<f32>, InputProblem> {
    let limit = MAX_INPUT.as_secs() as usize * rate as usize;
    let mut mono = Vec::new();
    let (mut sum, mut count) = (0.0, 0);
    for sample in samples {
        sum += sample;
        count += 1;
        if count == channels {
            mono.push(sum / f32::from(channels));
            (sum, count) = (0.0, 0);
            if mono.len() > limit {
                return Err(InputProblem::TooLong);
            }
        }
    }
    Ok(mono)
}

fn container_name(bytes: &[u8]) -> &'static str {
    match bytes {
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'A', b'V', b'E', ..] => "WAV",
        [b'f', b'L', b'a', b'C', ..] => "FLAC",
        [b'O', b'g', b'g', b'S', ..] => "Ogg",
        [b'I', b'D', b'3', ..] | [0xFF, 0xE0..=0xFF, ..] => "MP3",
        _ => "audio",
    }
}

/// The telephone-format samples of a recording, and the gain that brought them to -1 dBFS.
struct Converted {
    samples: Vec<i16>,
    gain: f32,
}

fn convert(mono: &[f32], rate: u32) -> Result<Converted, InputProblem> {
    let signal = resample::to_telephone_rate(mono, rate);
    let peak = signal.iter().fold(0.0_f32, |peak, s| peak.max(s.abs()));
    if peak * f32::from(i16::MAX) < f32::from(SILENCE_THRESHOLD) {
        return Err(InputProblem::Silent);
    }
    let gain = TARGET_PEAK / peak;
    let pcm: Vec<i16> = signal.iter().map(|s| (s * gain * f32::from(i16::MAX)).round() as i16).collect();
    let samples = pcm[audible_span(&pcm)].to_vec();
    Ok(Converted { samples, gain })
}

/// From just before the first sound to just after the last, by the rule `check_recording`
/// applies to silence.
fn audible_span(pcm: &[i16]) -> Range<usize> {
    let sound = |s: &i16| s.unsigned_abs() >= SILENCE_THRESHOLD.unsigned_abs();
    match (pcm.iter().position(sound), pcm.iter().rposition(sound)) {
        (Some(first), Some(last)) => {
            first.saturating_sub(EDGE_PADDING_SAMPLES)..(last + 1 + EDGE_PADDING_SAMPLES).min(pcm.len())
        }
        _ => 0..0,
    }
}

fn samples_duration(samples: usize, rate: u32) -> Duration {
    Duration::from_secs_f64(samples as f64 / f64::from(rate))
}

fn encode_wav(samples: &[i16]) -> Result<Vec<u8>, hound::Error> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut wav = Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut wav, spec)?;
    samples.iter().try_for_each(|s| writer.write_sample(*s))?;
    writer.finalize()?;
    Ok(wav.into_inner())
}

/// Writes `bytes` beside `target` and renames them over it: whoever reads the prompt sees
/// the old recording or the new one, never half of one.
fn replace_file(target: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = target.file_name().and_then(|n| n.to_str()).unwrap_or("prompt.wav");
    let temporary = target.with_file_name(format!(".{name}.import-{}.tmp", std::process::id()));
    let written = std::fs::File::create(&temporary)
        .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()))
        .and_then(|()| std::fs::rename(&temporary, target));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

fn list(problems: &[AudioProblem]) -> String {
    problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(frequency: f64, amplitude: f32, rate: u32, seconds: f64) -> Vec<f32> {
        let length = (seconds * f64::from(rate)) as usize;
        (0..length)
            .map(|n| amplitude * (std::f64::consts::TAU * frequency * n as f64 / f64::from(rate)).sin() as f32)
            .collect()
    }

    #[test]
    fn channels_are_averaged_into_one_and_input_past_ten_minutes_is_refused() {
        let mono = mix_down([0.2, 0.4, -0.2, 0.0, 0.5].into_iter(), 2, 8000).expect("mixed");
        assert!(mono.len() == 2 && (mono[0] - 0.3).abs() < 1e-6 && (mono[1] + 0.1).abs() < 1e-6, "{mono:?}");
        assert!(matches!(mix_down(std::iter::repeat_n(0.0, 601), 1, 1), Err(InputProblem::TooLong)));
    }

    #[test]
    fn conversion_levels_the_peak_to_minus_1_dbfs_and_trims_to_150_ms_of_silence() {
        let silence = vec![0.0; 8000];
        let recording = [silence.clone(), sine(440.0, 0.05, 8000, 1.0), silence].concat();
        let converted = convert(&recording, 8000).expect("converted");
        let peak = converted.samples.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
        assert!((29_190..=29_210).contains(&peak), "peak {peak}");
        assert!((20.0 * converted.gain.log10() - 25.0).abs() < 0.1, "gain {}", converted.gain);
        assert!(converted.samples.len().abs_diff(8000 + 2 * EDGE_PADDING_SAMPLES) <= 2, "{}", converted.samples.len());
    }

    #[test]
    fn a_recording_with_nothing_audible_is_silent() {
        let hiss = sine(440.0, 0.005, 8000, 1.0);
        assert!(matches!(convert(&hiss, 8000), Err(InputProblem::Silent)));
        let faded = |n: usize, s: f32| s * (std::f32::consts::PI * n as f32 / 48_000.0).sin().powi(2);
        let ultrasound: Vec<f32> =
            sine(6000.0, 0.9, 48_000, 1.0).into_iter().enumerate().map(|(n, s)| faded(n, s)).collect();
        assert!(matches!(convert(&ultrasound, 48_000), Err(InputProblem::Silent)), "nothing below 4 kHz");
    }
}
