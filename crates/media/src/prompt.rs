//! Prompts: audio crossbar plays to callers (menus, announcements, ringback), held as 8 kHz
//! mono samples and encoded once into both G.711 laws (RFC 3551 §4.5.14: PCMU is payload type
//! 0, PCMA 8), so playing one costs a copy per 20 ms frame.
//!
//! Where prompts come from:
//! - [`Prompt::from_wav`] reads a RIFF/WAVE file: linear PCM 16-bit at any sample rate, mono
//!   or more channels (mixed down to mono, resampled to 8 kHz with `rubato`'s FFT resampler),
//!   or G.711 µ-law/A-law (`fmt ` format 7/6, as telephony systems store their prompts);
//! - [`Prompt::tone`] and [`Prompt::cadence`] synthesise call-progress tones (ringback);
//! - [`Prompt::silence`] is a pause between prompts.
//!
//! Encoding is ITU-T G.711 (`audio-codec-algorithms`), done once at load time.

use std::path::{Path, PathBuf};

use audio_codec_algorithms::{decode_alaw, decode_ulaw, encode_alaw, encode_ulaw};
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

/// Samples per 20 ms frame at 8 kHz.
pub const FRAME_SAMPLES: usize = 160;

/// The sample rate of every prompt (G.711's, RFC 3551 §4.5.14).
pub const SAMPLE_RATE: u32 = 8000;

/// µ-law code of a zero sample (G.711 Table 2a).
pub const ULAW_SILENCE: u8 = 0xff;
/// A-law code of a zero sample (G.711 Table 1a, even bits inverted).
pub const ALAW_SILENCE: u8 = 0xd5;

/// A prompt ready to play.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// What it is called in logs (`en/greeting`).
    pub name: String,
    /// µ-law bytes, one per sample, padded with silence to whole 20 ms frames.
    pub ulaw: Vec<u8>,
    /// A-law bytes, the same samples.
    pub alaw: Vec<u8>,
}

/// Why a WAV file could not be made into a prompt: the file and the problem.
#[derive(Debug, thiserror::Error)]
#[error("{}: {problem}", path.display())]
pub struct PromptError {
    pub path: PathBuf,
    #[source]
    pub problem: WavError,
}

/// `fmt ` format tags (RFC 2361 appendix A).
const WAVE_FORMAT_PCM: u16 = 0x0001;
const WAVE_FORMAT_ALAW: u16 = 0x0006;
const WAVE_FORMAT_MULAW: u16 = 0x0007;
const WAVE_FORMAT_EXTENSIBLE: u16 = 0xfffe;

/// Peak amplitude of a synthesised tone, all its frequencies together: about −6 dBFS, a
/// comfortable ringback level that cannot clip.
const TONE_PEAK: f32 = 0.5 * i16::MAX as f32;

/// Samples of the linear ramp at each start and end of a tone burst, so it does not click.
const TONE_RAMP: usize = 40;

impl Prompt {
    /// The encoded audio for `payload_type` (0 PCMU, 8 PCMA; anything else: PCMU).
    pub fn encoded(&self, payload_type: u8) -> &[u8] {
        if payload_type == 8 {
            &self.alaw
        } else {
            &self.ulaw
        }
    }

    /// How many 20 ms frames it lasts.
    pub fn frames(&self) -> usize {
        self.ulaw.len() / FRAME_SAMPLES
    }

    /// A prompt from 8 kHz linear samples, padded with silence to whole frames.
    pub fn from_samples(name: impl Into<String>, samples: &[i16]) -> Prompt {
        let padded = samples.len().div_ceil(FRAME_SAMPLES) * FRAME_SAMPLES;
        let mut ulaw = Vec::with_capacity(padded);
        let mut alaw = Vec::with_capacity(padded);
        for &sample in samples {
            ulaw.push(encode_ulaw(sample));
            alaw.push(encode_alaw(sample));
        }
        ulaw.resize(padded, ULAW_SILENCE);
        alaw.resize(padded, ALAW_SILENCE);
        Prompt {
            name: name.into(),
            ulaw,
            alaw,
        }
    }

    /// The prompt's samples, decoded from its µ-law encoding.
    pub fn samples(&self) -> Vec<i16> {
        self.ulaw.iter().map(|&code| decode_ulaw(code)).collect()
    }

    /// `ms` milliseconds of silence (rounded up to whole 20 ms frames), named `silence/<ms>`.
    pub fn silence(ms: u32) -> Prompt {
        let samples = frames_for_ms(ms) * FRAME_SAMPLES;
        Prompt {
            name: format!("silence/{ms}"),
            ulaw: vec![ULAW_SILENCE; samples],
            alaw: vec![ALAW_SILENCE; samples],
        }
    }

    /// A tone of the sum of `freqs` (Hz), on for `on_ms` and off for `off_ms`, repeated until
    /// `total_ms` (rounded up to whole frames). `off_ms == 0` is a steady tone. Example: the
    /// North American ringback, `tone("ringback/us", &[440.0, 480.0], 2000, 4000, 6000)`.
    pub fn tone(name: &str, freqs: &[f32], on_ms: u32, off_ms: u32, total_ms: u32) -> Prompt {
        let mut cadence = Vec::new();
        let mut at = 0u32;
        while at < total_ms && on_ms.saturating_add(off_ms) > 0 {
            let on = on_ms.min(total_ms - at);
            cadence.push(on);
            at += on;
            let off = off_ms.min(total_ms - at);
            cadence.push(off);
            at += off;
        }
        let mut prompt = Prompt::cadence(name, freqs, &cadence);
        // All off (or nothing asked): silence for the whole length.
        let frames = frames_for_ms(total_ms);
        prompt.ulaw.resize(frames * FRAME_SAMPLES, ULAW_SILENCE);
        prompt.alaw.resize(frames * FRAME_SAMPLES, ALAW_SILENCE);
        prompt
    }

    /// A tone of the sum of `freqs` (Hz) following `cadence`: milliseconds on, off, on, off…
    /// (an odd-length cadence ends on). The whole prompt is one cycle, meant to be played
    /// with `repeat`; it is padded with silence to whole frames.
    pub fn cadence(name: &str, freqs: &[f32], cadence: &[u32]) -> Prompt {
        let per_freq = if freqs.is_empty() {
            0.0
        } else {
            TONE_PEAK / freqs.len() as f32
        };
        let mut samples: Vec<i16> = Vec::new();
        for (index, &ms) in cadence.iter().enumerate() {
            let len = ms as usize * SAMPLE_RATE as usize / 1000;
            if index % 2 == 1 {
                samples.resize(samples.len() + len, 0);
                continue;
            }
            // The phase runs on from the prompt's first sample, so a tone cut by a cadence
            // restarts where it would have been.
            let start = samples.len();
            samples.extend((0..len).map(|i| {
                let t = (start + i) as f32 / SAMPLE_RATE as f32;
                let ramp = (i.min(len - 1 - i) as f32 / TONE_RAMP as f32).min(1.0);
                let value: f32 = freqs
                    .iter()
                    .map(|f| (std::f32::consts::TAU * f * t).sin())
                    .sum();
                (value * per_freq * ramp) as i16
            }));
        }
        Prompt::from_samples(name, &samples)
    }

    /// UK ringback (BT SIN 350 / Ofcom): 400 Hz + 450 Hz, on 400 ms, off 200 ms, on 400 ms,
    /// off 2000 ms — one 3-second cycle, to be played with `repeat`.
    pub fn ringback_gb() -> Prompt {
        Prompt::cadence("ringback/gb", &[400.0, 450.0], &[400, 200, 400, 2000])
    }

    /// North American ringback (ANSI T1.401): 440 Hz + 480 Hz, on 2 s, off 4 s.
    pub fn ringback_nanp() -> Prompt {
        Prompt::cadence("ringback/nanp", &[440.0, 480.0], &[2000, 4000])
    }

    /// The ringback most of Europe uses (ETSI ES 201 970): 425 Hz, on 1 s, off 4 s.
    pub fn ringback_etsi() -> Prompt {
        Prompt::cadence("ringback/etsi", &[425.0], &[1000, 4000])
    }

    /// The ringback callers of `country` (ISO 3166-1 alpha-2) expect: the UK's, North
    /// America's, else the European one.
    pub fn ringback_for(country: Option<&str>) -> Prompt {
        match country {
            Some("GB" | "IE" | "GG" | "JE" | "IM") => Prompt::ringback_gb(),
            Some("US" | "CA" | "PR") => Prompt::ringback_nanp(),
            _ => Prompt::ringback_etsi(),
        }
    }

    /// Reads a WAV file: RIFF/WAVE with 16-bit linear PCM (any sample rate, any number of
    /// channels: mixed to mono and resampled to 8 kHz), or 8-bit G.711 µ-law (format 7) or
    /// A-law (format 6). The prompt is named after the file (without its extension).
    pub fn from_wav(path: impl AsRef<Path>) -> Result<Prompt, PromptError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|error| PromptError {
            path: path.to_owned(),
            problem: WavError::Read(error),
        })?;
        let name = path.with_extension("").display().to_string();
        Prompt::from_wav_bytes(name, &bytes).map_err(|problem| PromptError {
            path: path.to_owned(),
            problem,
        })
    }

    /// [`Prompt::from_wav`] on the bytes of a file.
    pub fn from_wav_bytes(name: impl Into<String>, bytes: &[u8]) -> Result<Prompt, WavError> {
        let name = name.into();
        let wav = Wav::parse(bytes)?;
        if wav.channels == 0 || wav.sample_rate == 0 {
            return Err(WavError::BadLayout {
                channels: wav.channels,
                sample_rate: wav.sample_rate,
            });
        }
        let channels = usize::from(wav.channels);
        let sample_width = if wav.encoding == Encoding::Pcm16 {
            2
        } else {
            1
        };
        let frames = wav.data.len() / (sample_width * channels);
        if frames == 0 {
            return Err(WavError::Empty);
        }
        // G.711 at 8 kHz mono is kept as it is for its own law, transcoded for the other.
        if channels == 1 && wav.sample_rate == SAMPLE_RATE && wav.encoding != Encoding::Pcm16 {
            let (ulaw, alaw): (Vec<u8>, Vec<u8>) = if wav.encoding == Encoding::Ulaw {
                let alaw = wav.data.iter().map(|&c| encode_alaw(decode_ulaw(c)));
                (wav.data.to_vec(), alaw.collect())
            } else {
                let ulaw = wav.data.iter().map(|&c| encode_ulaw(decode_alaw(c)));
                (ulaw.collect(), wav.data.to_vec())
            };
            let mut prompt = Prompt { name, ulaw, alaw };
            let padded = frames.div_ceil(FRAME_SAMPLES) * FRAME_SAMPLES;
            prompt.ulaw.resize(padded, ULAW_SILENCE);
            prompt.alaw.resize(padded, ALAW_SILENCE);
            return Ok(prompt);
        }
        let sample = |index: usize| -> i16 {
            match wav.encoding {
                Encoding::Pcm16 => {
                    i16::from_le_bytes([wav.data[2 * index], wav.data[2 * index + 1]])
                }
                Encoding::Ulaw => decode_ulaw(wav.data[index]),
                Encoding::Alaw => decode_alaw(wav.data[index]),
            }
        };
        if wav.sample_rate == SAMPLE_RATE && channels == 1 {
            let samples: Vec<i16> = (0..frames).map(sample).collect();
            return Ok(Prompt::from_samples(name, &samples));
        }
        // Mix down (the mean of the channels), then resample.
        let mono: Vec<f32> = (0..frames)
            .map(|frame| {
                let sum: f32 = (0..channels)
                    .map(|c| f32::from(sample(frame * channels + c)))
                    .sum();
                sum / channels as f32 / 32768.0
            })
            .collect();
        let resampled = if wav.sample_rate == SAMPLE_RATE {
            mono
        } else {
            resample(&mono, wav.sample_rate)?
        };
        let samples: Vec<i16> = resampled
            .iter()
            .map(|&s| (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
            .collect();
        Ok(Prompt::from_samples(name, &samples))
    }
}

/// Whole 20 ms frames covering `ms`.
fn frames_for_ms(ms: u32) -> usize {
    (ms as usize).div_ceil(20)
}

/// Resamples a whole mono clip to 8 kHz with rubato's synchronous FFT resampler (the one its
/// documentation recommends for a fixed ratio and a clip held in memory; band-limited, so a
/// 16 or 44.1 kHz recording does not alias into the telephone band).
fn resample(mono: &[f32], sample_rate: u32) -> Result<Vec<f32>, WavError> {
    let failed = |reason: String| WavError::Resample {
        sample_rate,
        reason,
    };
    let mut resampler = Fft::<f32>::new(
        sample_rate as usize,
        SAMPLE_RATE as usize,
        1024,
        1,
        FixedSync::Input,
    )
    .map_err(|e| failed(e.to_string()))?;
    let input = InterleavedSlice::new(mono, 1, mono.len()).map_err(|e| failed(e.to_string()))?;
    let output = resampler
        .process_all(&input, mono.len(), None)
        .map_err(|e| failed(e.to_string()))?;
    Ok(output.take_data())
}

/// What is wrong with a WAV file; [`PromptError`] adds the file's name.
#[derive(Debug, thiserror::Error)]
pub enum WavError {
    #[error("cannot read it: {0}")]
    Read(std::io::Error),
    #[error("not a RIFF/WAVE file")]
    NotWave,
    #[error("the {0} chunk is cut short by the end of the file")]
    Truncated(&'static str),
    #[error("no `fmt ` chunk before the `data` chunk")]
    NoFormat,
    #[error("no `data` chunk")]
    NoData,
    #[error(
        "WAV format {format_tag:#06x} with {bits} bits per sample is not supported \
         (16-bit linear PCM, 8-bit µ-law or A-law only)"
    )]
    Unsupported { format_tag: u16, bits: u16 },
    #[error("{channels} channels at {sample_rate} Hz is not audio")]
    BadLayout { channels: u16, sample_rate: u32 },
    #[error("the `data` chunk holds no sample")]
    Empty,
    #[error("resampling from {sample_rate} Hz to 8000 Hz failed: {reason}")]
    Resample { sample_rate: u32, reason: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Pcm16,
    Ulaw,
    Alaw,
}

/// The parts of a WAV file a prompt needs, borrowed from its bytes.
struct Wav<'a> {
    encoding: Encoding,
    channels: u16,
    sample_rate: u32,
    data: &'a [u8],
}

impl<'a> Wav<'a> {
    /// Walks the RIFF chunks (`RIFF` size `WAVE`, then id + little-endian size + body, padded
    /// to even length) for `fmt ` and `data`; others (`LIST`, `fact`, `cue `…) are skipped.
    /// A `data` chunk whose size runs past the end of the file — what programs writing WAV
    /// to a pipe leave — is taken to end at the end of the file.
    fn parse(bytes: &'a [u8]) -> Result<Wav<'a>, WavError> {
        if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
            return Err(WavError::NotWave);
        }
        let mut format: Option<(Encoding, u16, u32)> = None;
        let mut rest = &bytes[12..];
        while rest.len() >= 8 {
            let id = &rest[0..4];
            let size = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
            let body_start: usize = 8;
            if id == b"data" {
                let (encoding, channels, sample_rate) = format.ok_or(WavError::NoFormat)?;
                let end = body_start.saturating_add(size).min(rest.len());
                return Ok(Wav {
                    encoding,
                    channels,
                    sample_rate,
                    data: &rest[body_start..end],
                });
            }
            let Some(body) = rest.get(body_start..body_start.saturating_add(size)) else {
                return Err(WavError::Truncated(if id == b"fmt " {
                    "`fmt `"
                } else {
                    "RIFF"
                }));
            };
            if id == b"fmt " {
                format = Some(parse_format(body)?);
            }
            let next = (body_start + size).saturating_add(size & 1).min(rest.len());
            rest = &rest[next..];
        }
        Err(WavError::NoData)
    }
}

/// Reads a `fmt ` chunk: the format tag (or, for `WAVE_FORMAT_EXTENSIBLE`, the first two
/// octets of the sub-format GUID, which are the tag), channels, sample rate and bits.
fn parse_format(body: &[u8]) -> Result<(Encoding, u16, u32), WavError> {
    if body.len() < 16 {
        return Err(WavError::Truncated("`fmt `"));
    }
    let u16_at = |at: usize| u16::from_le_bytes([body[at], body[at + 1]]);
    let mut format_tag = u16_at(0);
    let channels = u16_at(2);
    let sample_rate = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
    let bits = u16_at(14);
    if format_tag == WAVE_FORMAT_EXTENSIBLE {
        // cbSize, valid bits, channel mask, then the GUID (WAVEFORMATEXTENSIBLE).
        if body.len() < 26 {
            return Err(WavError::Truncated("`fmt `"));
        }
        format_tag = u16_at(24);
    }
    let encoding = match (format_tag, bits) {
        (WAVE_FORMAT_PCM, 16) => Encoding::Pcm16,
        (WAVE_FORMAT_MULAW, 8) => Encoding::Ulaw,
        (WAVE_FORMAT_ALAW, 8) => Encoding::Alaw,
        _ => return Err(WavError::Unsupported { format_tag, bits }),
    };
    Ok((encoding, channels, sample_rate))
}

#[cfg(test)]
mod tests;
