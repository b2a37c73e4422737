use super::*;

/// A RIFF/WAVE file: `fmt ` (format tag, channels, rate, bits) then `data`.
fn wav(format_tag: u16, channels: u16, sample_rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
    let block_align = channels * bits / 8;
    let mut fmt = Vec::new();
    fmt.extend_from_slice(&format_tag.to_le_bytes());
    fmt.extend_from_slice(&channels.to_le_bytes());
    fmt.extend_from_slice(&sample_rate.to_le_bytes());
    fmt.extend_from_slice(&(sample_rate * u32::from(block_align)).to_le_bytes());
    fmt.extend_from_slice(&block_align.to_le_bytes());
    fmt.extend_from_slice(&bits.to_le_bytes());
    riff(&[(b"fmt ", &fmt), (b"data", data)])
}

fn riff(chunks: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
    let mut body = b"WAVE".to_vec();
    for (id, data) in chunks {
        body.extend_from_slice(*id);
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(data);
        if data.len() % 2 == 1 {
            body.push(0);
        }
    }
    let mut file = b"RIFF".to_vec();
    file.extend_from_slice(&(body.len() as u32).to_le_bytes());
    file.extend_from_slice(&body);
    file
}

fn pcm16(samples: &[i16]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

fn sine(freq: f32, rate: u32, len: usize, amplitude: f32) -> Vec<i16> {
    (0..len)
        .map(|i| {
            let t = i as f32 / rate as f32;
            (amplitude * (std::f32::consts::TAU * freq * t).sin()) as i16
        })
        .collect()
}

fn rms(samples: &[i16]) -> f64 {
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (sum / samples.len() as f64).sqrt()
}

/// Sign changes, i.e. twice the frequency of a pure tone per second of samples.
fn zero_crossings(samples: &[i16]) -> usize {
    samples
        .windows(2)
        .filter(|w| (w[0] < 0) != (w[1] < 0))
        .count()
}

/// Transcoded from one law to the other: quantised twice.
fn transcoded_close_to(decoded: i16, original: i16) -> bool {
    let error = (i32::from(decoded) - i32::from(original)).abs();
    error <= i32::from(original).abs() / 16 + 32
}

/// G.711 keeps about 12 bits of a 16-bit sample: the error is within 1/32 of the magnitude
/// plus the smallest step.
fn close_to(decoded: i16, original: i16) -> bool {
    let error = (i32::from(decoded) - i32::from(original)).abs();
    error <= i32::from(original).abs() / 32 + 16
}

#[test]
fn pcm_at_8_khz_mono_becomes_both_laws_sample_for_sample_padded_to_whole_frames() {
    let samples = sine(440.0, 8000, 1000, 12000.0);
    let prompt = Prompt::from_wav_bytes("en/test", &wav(1, 1, 8000, 16, &pcm16(&samples))).unwrap();
    assert_eq!(prompt.name, "en/test");
    // 1000 samples: 7 frames (1120 samples), the last 120 silence.
    assert_eq!(prompt.frames(), 7);
    assert_eq!(prompt.ulaw.len(), 1120);
    assert_eq!(prompt.alaw.len(), 1120);
    for (i, &original) in samples.iter().enumerate() {
        assert_eq!(prompt.ulaw[i], encode_ulaw(original));
        assert_eq!(prompt.alaw[i], encode_alaw(original));
        assert!(close_to(decode_alaw(prompt.alaw[i]), original));
    }
    assert!(prompt.ulaw[1000..].iter().all(|&c| c == ULAW_SILENCE));
    assert!(prompt.alaw[1000..].iter().all(|&c| c == ALAW_SILENCE));
    // A-law has no zero: its silence is the smallest positive step.
    assert_eq!(encode_ulaw(0), ULAW_SILENCE);
    assert_eq!(encode_alaw(0), ALAW_SILENCE);
    assert_eq!(prompt.encoded(0), &prompt.ulaw[..]);
    assert_eq!(prompt.encoded(8), &prompt.alaw[..]);
}

#[test]
fn pcm_at_16_khz_stereo_is_mixed_to_mono_and_resampled_to_8_khz() {
    // One second: a 1 kHz tone on the left, the same tone at half level on the right; the
    // mean of the two is 0.75 of the left.
    let left = sine(1000.0, 16000, 16000, 16000.0);
    let right = sine(1000.0, 16000, 16000, 8000.0);
    let interleaved: Vec<i16> = left
        .iter()
        .zip(&right)
        .flat_map(|(&l, &r)| [l, r])
        .collect();
    let prompt =
        Prompt::from_wav_bytes("stereo", &wav(1, 2, 16000, 16, &pcm16(&interleaved))).unwrap();
    // 8000 samples: 50 frames, give or take the one the resampler's edges may add.
    assert!((50..=51).contains(&prompt.frames()), "{}", prompt.frames());
    let samples = prompt.samples();
    let middle = &samples[400..7600];
    // Still a 1 kHz tone: 2000 zero crossings a second.
    let crossings = zero_crossings(middle) as f64 * 8000.0 / middle.len() as f64;
    assert!((crossings - 2000.0).abs() < 10.0, "{crossings}");
    // At the level of the mix: 12000 peak, RMS 12000/√2.
    let level = rms(middle);
    assert!((level - 12000.0 / 2f64.sqrt()).abs() < 300.0, "{level}");
}

#[test]
fn resampling_filters_out_what_8_khz_cannot_carry() {
    // 6 kHz at 16 kHz would alias to 2 kHz if it were merely decimated.
    let tone = sine(6000.0, 16000, 16000, 16000.0);
    let prompt = Prompt::from_wav_bytes("high", &wav(1, 1, 16000, 16, &pcm16(&tone))).unwrap();
    let samples = prompt.samples();
    assert!(
        rms(&samples[400..7600]) < 200.0,
        "{}",
        rms(&samples[400..7600])
    );
}

#[test]
fn ulaw_and_alaw_wavs_keep_their_bytes_and_are_transcoded_to_the_other_law() {
    let samples = sine(300.0, 8000, 480, 20000.0);
    let ulaw: Vec<u8> = samples.iter().map(|&s| encode_ulaw(s)).collect();
    let alaw: Vec<u8> = samples.iter().map(|&s| encode_alaw(s)).collect();

    let from_ulaw = Prompt::from_wav_bytes("u", &wav(7, 1, 8000, 8, &ulaw)).unwrap();
    assert_eq!(from_ulaw.frames(), 3);
    assert_eq!(from_ulaw.ulaw, ulaw);
    for (&a, &original) in from_ulaw.alaw.iter().zip(&samples) {
        assert!(transcoded_close_to(decode_alaw(a), original));
    }

    let from_alaw = Prompt::from_wav_bytes("a", &wav(6, 1, 8000, 8, &alaw)).unwrap();
    assert_eq!(from_alaw.alaw, alaw);
    for (&u, &original) in from_alaw.ulaw.iter().zip(&samples) {
        assert!(transcoded_close_to(decode_ulaw(u), original));
    }
}

#[test]
fn other_chunks_and_the_extensible_format_are_understood() {
    let samples = sine(440.0, 8000, 160, 8000.0);
    // WAVE_FORMAT_EXTENSIBLE: cbSize 22, valid bits, channel mask, sub-format GUID whose
    // first two octets are the PCM tag.
    let mut fmt = Vec::new();
    fmt.extend_from_slice(&0xfffeu16.to_le_bytes());
    fmt.extend_from_slice(&1u16.to_le_bytes());
    fmt.extend_from_slice(&8000u32.to_le_bytes());
    fmt.extend_from_slice(&16000u32.to_le_bytes());
    fmt.extend_from_slice(&2u16.to_le_bytes());
    fmt.extend_from_slice(&16u16.to_le_bytes());
    fmt.extend_from_slice(&22u16.to_le_bytes());
    fmt.extend_from_slice(&16u16.to_le_bytes());
    fmt.extend_from_slice(&4u32.to_le_bytes());
    fmt.extend_from_slice(&[
        1, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71,
    ]);
    let data = pcm16(&samples);
    let file = riff(&[(b"LIST", b"odd"), (b"fmt ", &fmt), (b"data", &data)]);
    let prompt = Prompt::from_wav_bytes("ext", &file).unwrap();
    assert_eq!(
        prompt.ulaw,
        samples.iter().map(|&s| encode_ulaw(s)).collect::<Vec<_>>()
    );
}

#[test]
fn a_data_chunk_longer_than_the_file_ends_at_the_end_of_the_file() {
    // What a program writing to a pipe leaves: the sizes are placeholders.
    let samples = sine(440.0, 8000, 320, 8000.0);
    let mut file = wav(1, 1, 8000, 16, &pcm16(&samples));
    let data_size_at = file.len() - 640 - 4;
    file[data_size_at..data_size_at + 4].copy_from_slice(&0x7fff_f000u32.to_le_bytes());
    let prompt = Prompt::from_wav_bytes("piped", &file).unwrap();
    assert_eq!(prompt.frames(), 2);
}

#[test]
fn bad_files_are_refused_with_the_problem() {
    let one_frame = pcm16(&[0; 160]);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"RIFX\0\0\0\0WAVE".to_vec(), "not a RIFF/WAVE file"),
        (b"ID3\x04".to_vec(), "not a RIFF/WAVE file"),
        (riff(&[(b"data", &one_frame)]), "no `fmt ` chunk"),
        (
            riff(&[(b"fmt ", &[1, 0, 1, 0])]),
            "`fmt ` chunk is cut short",
        ),
        (wav(1, 1, 8000, 16, &[])[..36].to_vec(), "no `data` chunk"),
        (
            wav(1, 1, 8000, 24, &one_frame),
            "format 0x0001 with 24 bits",
        ),
        (
            wav(3, 1, 8000, 32, &one_frame),
            "format 0x0003 with 32 bits",
        ),
        (
            wav(7, 1, 8000, 16, &one_frame),
            "format 0x0007 with 16 bits",
        ),
        (wav(1, 0, 8000, 16, &one_frame), "0 channels at 8000 Hz"),
        (wav(1, 1, 0, 16, &one_frame), "1 channels at 0 Hz"),
        (wav(1, 1, 8000, 16, &[]), "holds no sample"),
        (wav(1, 2, 8000, 16, &[1, 2]), "holds no sample"),
    ];
    for (bytes, problem) in cases {
        let error = Prompt::from_wav_bytes("bad", &bytes)
            .unwrap_err()
            .to_string();
        assert!(error.contains(problem), "{error:?} should say {problem:?}");
    }
    // A chunk before `data` that claims more than the file holds.
    let mut cut = riff(&[(b"LIST", &[0; 8]), (b"data", &one_frame)]);
    cut.truncate(20);
    let error = Prompt::from_wav_bytes("bad", &cut).unwrap_err();
    assert!(matches!(error, WavError::Truncated("RIFF")), "{error:?}");
}

#[test]
fn errors_from_a_file_name_the_file() {
    let dir = std::env::temp_dir().join(format!("crossbar-prompt-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing.wav");
    let error = Prompt::from_wav(&missing).unwrap_err();
    assert!(matches!(error.problem, WavError::Read(_)));
    assert!(
        error
            .to_string()
            .starts_with(&format!("{}: cannot read it", missing.display()))
    );

    let text = dir.join("notes.wav");
    std::fs::write(&text, "hello").unwrap();
    let error = Prompt::from_wav(&text).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("{}: not a RIFF/WAVE file", text.display())
    );

    let good = dir.join("greeting.wav");
    std::fs::write(&good, wav(1, 1, 8000, 16, &pcm16(&[100; 160]))).unwrap();
    let prompt = Prompt::from_wav(&good).unwrap();
    assert_eq!(prompt.name, dir.join("greeting").display().to_string());
    assert_eq!(prompt.frames(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Whether each 20 ms frame of a prompt has sound in it.
fn frames_on(prompt: &Prompt) -> Vec<bool> {
    prompt
        .samples()
        .chunks(FRAME_SAMPLES)
        .map(|frame| rms(frame) > 1000.0)
        .collect()
}

#[test]
fn uk_ringback_is_400_and_450_hz_on_400_off_200_on_400_off_2000() {
    let prompt = Prompt::ringback_gb();
    assert_eq!(prompt.name, "ringback/gb");
    assert_eq!(prompt.frames(), 150);
    let on = frames_on(&prompt);
    let expected: Vec<bool> = (0..150)
        .map(|frame| frame < 20 || (30..50).contains(&frame))
        .collect();
    assert_eq!(on, expected);
    // Two tones 50 Hz apart beat 50 times a second; their sum never clips.
    let samples = prompt.samples();
    let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap();
    assert!((15000..=16500).contains(&peak), "{peak}");
    // Off is true silence.
    assert!(
        prompt.ulaw[20 * 160..30 * 160]
            .iter()
            .all(|&c| c == ULAW_SILENCE)
    );
}

#[test]
fn a_tone_repeats_its_cadence_up_to_the_total_length() {
    // US ringback: 2 s on, 4 s off.
    let us = Prompt::tone("ringback/us", &[440.0, 480.0], 2000, 4000, 6000);
    assert_eq!(us.frames(), 300);
    let on = frames_on(&us);
    assert!(on[..100].iter().all(|&x| x));
    assert!(on[100..].iter().all(|&x| !x));
    // 100 ms on, 100 ms off, cut at 450 ms (rounded up to 460).
    let beeps = Prompt::tone("beeps", &[1000.0], 100, 100, 450);
    assert_eq!(beeps.frames(), 23);
    let on = frames_on(&beeps);
    let expected: Vec<bool> = (0..23).map(|frame| (frame / 5) % 2 == 0).collect();
    assert_eq!(on, expected);
    // A steady tone, and a tone that is never on.
    assert!(
        frames_on(&Prompt::tone("steady", &[425.0], 1000, 0, 1000))
            .iter()
            .all(|&x| x)
    );
    let never = Prompt::tone("never", &[425.0], 0, 0, 100);
    assert_eq!(never.frames(), 5);
    assert!(never.ulaw.iter().all(|&c| c == ULAW_SILENCE));
}

#[test]
fn silence_is_rounded_up_to_whole_frames() {
    let pause = Prompt::silence(30);
    assert_eq!(pause.name, "silence/30");
    assert_eq!(pause.frames(), 2);
    assert!(pause.ulaw.iter().all(|&c| c == ULAW_SILENCE));
    assert!(pause.alaw.iter().all(|&c| c == ALAW_SILENCE));
    assert_eq!(Prompt::silence(0).frames(), 0);
    assert_eq!(Prompt::silence(1000).frames(), 50);
}

#[test]
fn music_recorded_at_44_1_khz_stereo_becomes_whole_frames_that_loop_without_a_gap() {
    use std::sync::Arc;
    use std::time::Instant;

    use crate::player::{FRAME, Player};
    use crate::rtp::RTP_HEADER_LEN;

    // One second of a 440 Hz tone in both channels, as music from a CD comes: resampled to
    // exactly 8000 samples, 50 frames, the last of them music and not silence padding.
    let tone = sine(440.0, 44_100, 44_100, 12_000.0);
    let stereo: Vec<i16> = tone.iter().flat_map(|&s| [s, s]).collect();
    let track = Prompt::from_wav_bytes("moh", &wav(1, 2, 44_100, 16, &pcm16(&stereo))).unwrap();
    assert_eq!(track.frames(), 50);
    let samples = track.samples();
    assert!(
        rms(&samples[49 * FRAME_SAMPLES..]) > 6000.0,
        "the last frame is music"
    );

    // As music it loops: frame 49, then frame 0 again, on the same 20 ms grid.
    let track = Arc::new(track);
    let mut player = Player::new(1, 0, 0);
    let t0 = Instant::now();
    player.set_music(Some(track.clone()), 0, t0);
    let mut heard = Vec::new();
    for n in 0..51 {
        let packet = player
            .poll_transmit(t0 + FRAME * n)
            .expect("a frame every 20 ms");
        heard.extend_from_slice(&packet[RTP_HEADER_LEN..]);
    }
    assert_eq!(heard[..50 * FRAME_SAMPLES], track.ulaw[..]);
    assert_eq!(heard[50 * FRAME_SAMPLES..], track.ulaw[..FRAME_SAMPLES]);
}
