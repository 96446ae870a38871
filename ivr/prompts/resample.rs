//! Resampling to the telephone rate, 8 kHz, without aliasing.
//!
//! Studio recordings arrive at 44.1 or 48 kHz. Dropping samples would fold everything above
//! 4 kHz (sibilants, breath, room noise) back into the speech band as whistles and hiss, so
//! the signal is low-passed and resampled in one step with a windowed-sinc filter.

use super::audio::SAMPLE_RATE;

/// Low-pass edge as a fraction of the lower sample rate: 3.6 kHz at 8 kHz, above the
/// 3.4 kHz a phone line carries and below the 4 kHz where aliasing would start.
const CUTOFF: f64 = 0.45;
/// Length of the resampling filter on each side, in zero crossings of its sinc.
const ZERO_CROSSINGS: f64 = 16.0;

/// `input` at `from_rate`, at 8 kHz: each output sample is the input weighed by a
/// Blackman-windowed sinc low-pass. The rates' ratio repeats every `phases` outputs, so one
/// filter per phase is built once.
pub(super) fn to_telephone_rate(input: &[f32], from_rate: u32) -> Vec<f32> {
    if from_rate == SAMPLE_RATE {
        return input.to_vec();
    }
    let common = greatest_common_divisor(from_rate, SAMPLE_RATE);
    let (advance, phases) = ((from_rate / common) as usize, (SAMPLE_RATE / common) as usize);
    let cutoff = CUTOFF * f64::from(from_rate.min(SAMPLE_RATE)) / f64::from(from_rate);
    let reach = (ZERO_CROSSINGS / (2.0 * cutoff)).ceil() as usize;
    let filters: Vec<Vec<f32>> = (0..phases).map(|p| lowpass(p as f64 / phases as f64, cutoff, reach)).collect();
    (0..input.len() * phases / advance)
        .map(|n| {
            let (whole, phase) = (n * advance / phases, n * advance % phases);
            let taps = (whole + 1).saturating_sub(reach)..(whole + 1 + reach).min(input.len());
            let skipped = (reach - 1).saturating_sub(whole);
            input[taps].iter().zip(&filters[phase][skipped..]).map(|(s, w)| s * w).sum()
        })
        .collect()
}

/// Weights of the input samples `1 - reach ..= reach` places from the one just before an
/// output sample that falls `fraction` of the way to the next; normalised to unity gain.
fn lowpass(fraction: f64, cutoff: f64, reach: usize) -> Vec<f32> {
    let weights: Vec<f64> = (0..2 * reach)
        .map(|j| {
            let distance = fraction + reach as f64 - 1.0 - j as f64;
            sinc(2.0 * cutoff * distance) * blackman(distance / reach as f64)
        })
        .collect();
    let total: f64 = weights.iter().sum();
    weights.iter().map(|w| (w / total) as f32).collect()
}

fn sinc(x: f64) -> f64 {
    if x == 0.0 { 1.0 } else { (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x) }
}

fn blackman(t: f64) -> f64 {
    use std::f64::consts::PI;
    if t.abs() >= 1.0 { 0.0 } else { 0.42 + 0.5 * (PI * t).cos() + 0.08 * (2.0 * PI * t).cos() }
}

fn greatest_common_divisor(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { greatest_common_divisor(b, a % b) }
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

    /// Amplitude of the `frequency` component of an 8 kHz signal (Goertzel over whole periods).
    fn amplitude_at(signal: &[f32], frequency: f64) -> f64 {
        let step = std::f64::consts::TAU * frequency / f64::from(SAMPLE_RATE);
        let (re, im) = signal.iter().enumerate().fold((0.0, 0.0), |(re, im), (n, s)| {
            (re + f64::from(*s) * (step * n as f64).cos(), im - f64::from(*s) * (step * n as f64).sin())
        });
        2.0 * re.hypot(im) / signal.len() as f64
    }

    #[test]
    fn resampling_keeps_a_tone_and_its_level_from_any_rate() {
        for rate in [6000, 8000, 11_025, 16_000, 22_050, 44_100, 48_000, 96_000] {
            let output = to_telephone_rate(&sine(1000.0, 0.5, rate, 1.0), rate);
            assert!(output.len().abs_diff(8000) <= 1, "{rate} Hz: {} samples", output.len());
            let level = amplitude_at(&output, 1000.0);
            assert!((level - 0.5).abs() < 0.01, "{rate} Hz: 1 kHz at {level}");
        }
    }

    #[test]
    fn resampling_filters_out_what_would_alias_into_the_speech_band() {
        let mix: Vec<f32> =
            sine(1000.0, 0.4, 44_100, 1.0).iter().zip(sine(6000.0, 0.4, 44_100, 1.0)).map(|(a, b)| a + b).collect();
        let output = to_telephone_rate(&mix, 44_100);
        let alias = amplitude_at(&output, 2000.0);
        assert!(alias < 0.004, "6 kHz folded back to 2 kHz at {alias}");
        assert!(amplitude_at(&output, 1000.0) > 0.39);
    }
}
