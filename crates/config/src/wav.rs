//! The header of a WAV prompt file: is it one crossbar's media code can play?
//!
//! A WAV file is a RIFF file of form `WAVE` (Microsoft/IBM, *Multimedia Programming Interface
//! and Data Specifications 1.0*, 1991): `RIFF`, a 32-bit little-endian size, `WAVE`, then
//! chunks — a four-byte id, a 32-bit little-endian size, the body, and a pad byte when the
//! size is odd. The `fmt ` chunk (before `data`) says how the samples are encoded; its format
//! codes are listed in RFC 2361 Appendix A (`WAVE_FORMAT_PCM` 0x0001, `WAVE_FORMAT_ALAW`
//! 0x0006, `WAVE_FORMAT_MULAW` 0x0007); `WAVE_FORMAT_EXTENSIBLE` (0xFFFE) carries the code in
//! the first two bytes of its sub-format GUID.
//!
//! Accepted: 16-bit PCM at any rate, G.711 µ-law or A-law (8-bit) at 8000 Hz; mono or
//! stereo. The media code converts them to 8 kHz G.711 when it loads them; only the header is
//! read here (`hound` reads only PCM, not G.711 WAV files, so the few fields needed are read by
//! hand).

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

const PCM: u16 = 0x0001;
const ALAW: u16 = 0x0006;
const MULAW: u16 = 0x0007;
const EXTENSIBLE: u16 = 0xFFFE;

/// The encoding of a playable WAV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WavFormat {
    pub format: u16,
    pub channels: u16,
    pub sample_rate: u32,
    pub bits_per_sample: u16,
}

/// What the prompts must be, for messages.
pub(crate) const PLAYABLE: &str =
    "16-bit PCM at any rate, or G.711 µ-law or A-law at 8000 Hz, mono or stereo";

/// Reads the header of the WAV file at `path`: its format if crossbar can play it, else what
/// is wrong (without the file's name).
pub(crate) fn check_file(path: &Path) -> Result<WavFormat, String> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err("does not exist".to_owned()),
        Err(e) => return Err(format!("cannot be read: {e}")),
    };
    match file.metadata() {
        Ok(metadata) if metadata.is_dir() => return Err("is a directory, not a file".to_owned()),
        Ok(_) => {}
        Err(e) => return Err(format!("cannot be read: {e}")),
    }
    read_format(&mut BufReader::new(file))
}

/// The format of the WAV data `reader` starts with, if crossbar can play it.
pub(crate) fn read_format(reader: &mut (impl Read + Seek)) -> Result<WavFormat, String> {
    let not_wav = || "is not a WAV file (it does not start with a RIFF/WAVE header)".to_owned();
    let mut riff = [0u8; 12];
    match read_full(reader, &mut riff) {
        Ok(true) => {}
        Ok(false) => return Err(not_wav()),
        Err(e) => return Err(format!("cannot be read: {e}")),
    }
    if &riff[0..4] != b"RIFF" || &riff[8..12] != b"WAVE" {
        return Err(not_wav());
    }
    let mut format: Option<WavFormat> = None;
    loop {
        let mut header = [0u8; 8];
        match read_full(reader, &mut header) {
            Ok(true) => {}
            Ok(false) if format.is_none() => {
                return Err("is not a complete WAV file: it has no `fmt ` chunk".to_owned());
            }
            Ok(false) => {
                return Err("is not a complete WAV file: it has no `data` chunk".to_owned());
            }
            Err(e) => return Err(format!("cannot be read: {e}")),
        }
        let id = &header[0..4];
        let size = u32::from_le_bytes(header[4..8].try_into().expect("four bytes"));
        let padded = u64::from(size) + u64::from(size % 2);
        match id {
            b"fmt " => {
                let mut body = [0u8; 40];
                let wanted = usize::try_from(size).map_or(body.len(), |s| s.min(body.len()));
                if wanted < 16 {
                    return Err(format!(
                        "has a `fmt ` chunk of {size} bytes, too short to describe the audio"
                    ));
                }
                match read_full(reader, &mut body[..wanted]) {
                    Ok(true) => {}
                    Ok(false) => {
                        return Err("is cut short in its `fmt ` chunk".to_owned());
                    }
                    Err(e) => return Err(format!("cannot be read: {e}")),
                }
                skip(reader, padded - wanted as u64)?;
                format = Some(playable(&body[..wanted])?);
            }
            b"data" => {
                return format.ok_or_else(|| {
                    "is not a valid WAV file: its `data` chunk comes before `fmt `".to_owned()
                });
            }
            _ => skip(reader, padded)?,
        }
    }
}

/// The format a `fmt ` chunk body describes, if crossbar can play it.
fn playable(body: &[u8]) -> Result<WavFormat, String> {
    let u16_at = |at: usize| u16::from_le_bytes([body[at], body[at + 1]]);
    let u32_at = |at: usize| u32::from_le_bytes(body[at..at + 4].try_into().expect("four bytes"));
    let mut format = WavFormat {
        format: u16_at(0),
        channels: u16_at(2),
        sample_rate: u32_at(4),
        bits_per_sample: u16_at(14),
    };
    let block_align = u16_at(12);
    if format.format == EXTENSIBLE {
        // cbSize (2), valid bits (2), channel mask (4), then the sub-format GUID.
        if body.len() < 40 {
            return Err("has a WAVE_FORMAT_EXTENSIBLE `fmt ` chunk that is cut short".to_owned());
        }
        format.format = u16_at(24);
    }
    let encoding = match format.format {
        PCM => format!("{}-bit PCM", format.bits_per_sample),
        MULAW => "G.711 µ-law".to_owned(),
        ALAW => "G.711 A-law".to_owned(),
        0x0002 => "Microsoft ADPCM".to_owned(),
        0x0003 => "IEEE floating point".to_owned(),
        0x0011 => "IMA ADPCM".to_owned(),
        0x0031 => "GSM 6.10".to_owned(),
        0x0055 => "MPEG layer 3".to_owned(),
        other => format!("audio format 0x{other:04x}"),
    };
    let unsupported = |what: String| {
        Err(format!(
            "is {what}, which crossbar does not play: use {PLAYABLE}"
        ))
    };
    match format.format {
        PCM if format.bits_per_sample != 16 => return unsupported(encoding),
        MULAW | ALAW if format.bits_per_sample != 8 => {
            return unsupported(format!(
                "{encoding} with {} bits a sample",
                format.bits_per_sample
            ));
        }
        MULAW | ALAW if format.sample_rate != 8000 => {
            return unsupported(format!("{encoding} at {} Hz", format.sample_rate));
        }
        PCM | MULAW | ALAW => {}
        _ => return unsupported(encoding),
    }
    if !matches!(format.channels, 1 | 2) {
        return unsupported(format!("{encoding} with {} channels", format.channels));
    }
    if format.sample_rate == 0 {
        return Err("has a sample rate of 0 in its `fmt ` chunk".to_owned());
    }
    let expected_align = format.channels * format.bits_per_sample / 8;
    if block_align != expected_align {
        return Err(format!(
            "has an inconsistent `fmt ` chunk: {} channel(s) of {} bits make frames of \
             {expected_align} bytes, but it says {block_align}",
            format.channels, format.bits_per_sample
        ));
    }
    Ok(format)
}

/// Fills `buffer`; `false` if the data ends first.
fn read_full(reader: &mut impl Read, buffer: &mut [u8]) -> io::Result<bool> {
    match reader.read_exact(buffer) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}

fn skip(reader: &mut impl Seek, bytes: u64) -> Result<(), String> {
    let bytes = i64::try_from(bytes).expect("a chunk size is at most 2^32");
    reader
        .seek(SeekFrom::Current(bytes))
        .map(drop)
        .map_err(|e| format!("cannot be read: {e}"))
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    /// A WAV file: `fmt ` with these fields (and `extra` after them), then `chunks`, then
    /// `data` with `data_len` zero bytes.
    fn wav(fmt: &[u8], chunks: &[(&[u8; 4], &[u8])], data_len: usize) -> Vec<u8> {
        let mut body = b"WAVE".to_vec();
        let mut chunk = |id: &[u8; 4], bytes: &[u8]| {
            body.extend_from_slice(id);
            body.extend_from_slice(&u32::try_from(bytes.len()).unwrap().to_le_bytes());
            body.extend_from_slice(bytes);
            if bytes.len() % 2 == 1 {
                body.push(0);
            }
        };
        for (id, bytes) in chunks {
            chunk(id, bytes);
        }
        chunk(b"fmt ", fmt);
        chunk(b"data", &vec![0; data_len]);
        let mut file = b"RIFF".to_vec();
        file.extend_from_slice(&u32::try_from(body.len()).unwrap().to_le_bytes());
        file.extend_from_slice(&body);
        file
    }

    fn fmt(format: u16, channels: u16, rate: u32, bits: u16) -> Vec<u8> {
        let align = channels * bits / 8;
        let mut body = Vec::new();
        body.extend_from_slice(&format.to_le_bytes());
        body.extend_from_slice(&channels.to_le_bytes());
        body.extend_from_slice(&rate.to_le_bytes());
        body.extend_from_slice(&(rate * u32::from(align)).to_le_bytes());
        body.extend_from_slice(&align.to_le_bytes());
        body.extend_from_slice(&bits.to_le_bytes());
        body
    }

    fn read(bytes: Vec<u8>) -> Result<WavFormat, String> {
        read_format(&mut Cursor::new(bytes))
    }

    #[test]
    fn pcm_16_at_any_rate_and_g711_at_8_khz_are_playable() {
        for (format, channels, rate, bits) in [
            (PCM, 1, 22_050, 16),
            (PCM, 2, 44_100, 16),
            (PCM, 1, 8000, 16),
            (MULAW, 1, 8000, 8),
            (ALAW, 2, 8000, 8),
        ] {
            let mut body = fmt(format, channels, rate, bits);
            if format != PCM {
                body.extend_from_slice(&0u16.to_le_bytes()); // cbSize
            }
            let got = read(wav(&body, &[], 160)).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                (
                    got.format,
                    got.channels,
                    got.sample_rate,
                    got.bits_per_sample
                ),
                (format, channels, rate, bits)
            );
        }
    }

    #[test]
    fn chunks_before_fmt_are_skipped_with_their_padding() {
        let list: &[u8] = b"INFOISFT\x05\x00\x00\x00sox\x00\x00";
        let odd: &[u8] = b"abc";
        let got = read(wav(
            &fmt(PCM, 1, 8000, 16),
            &[(b"LIST", list), (b"junk", odd)],
            3,
        ));
        assert_eq!(got.map(|f| f.format), Ok(PCM));
    }

    #[test]
    fn extensible_headers_carry_the_format_in_the_sub_format() {
        let mut body = fmt(EXTENSIBLE, 1, 16_000, 16);
        body.extend_from_slice(&22u16.to_le_bytes()); // cbSize
        body.extend_from_slice(&16u16.to_le_bytes()); // valid bits
        body.extend_from_slice(&4u32.to_le_bytes()); // channel mask
        body.extend_from_slice(&[
            0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38,
            0x9B, 0x71,
        ]);
        assert_eq!(read(wav(&body, &[], 2)).map(|f| f.format), Ok(PCM));
    }

    #[test]
    fn what_cannot_be_played_is_named() {
        let with_cb = |mut body: Vec<u8>| {
            body.extend_from_slice(&0u16.to_le_bytes());
            body
        };
        for (bytes, problem) in [
            (b"ID3\x03 an mp3".to_vec(), "is not a WAV file"),
            (b"RIFF".to_vec(), "is not a WAV file"),
            (b"RIFF\x04\x00\x00\x00AVI ".to_vec(), "is not a WAV file"),
            (wav(&fmt(PCM, 1, 8000, 8), &[], 2), "is 8-bit PCM"),
            (wav(&fmt(PCM, 1, 44_100, 24), &[], 6), "is 24-bit PCM"),
            (
                wav(&with_cb(fmt(MULAW, 1, 16_000, 8)), &[], 2),
                "is G.711 µ-law at 16000 Hz",
            ),
            (
                wav(&with_cb(fmt(3, 1, 8000, 32)), &[], 4),
                "is IEEE floating point",
            ),
            (
                wav(&fmt(PCM, 3, 8000, 16), &[], 6),
                "16-bit PCM with 3 channels",
            ),
            (wav(&fmt(PCM, 1, 8000, 16)[..14], &[], 2), "too short"),
        ] {
            let error = read(bytes).expect_err(problem);
            assert!(error.contains(problem), "{problem}: {error}");
        }
        let mut inconsistent = fmt(PCM, 1, 8000, 16);
        inconsistent[12] = 4;
        let error = read(wav(&inconsistent, &[], 2)).unwrap_err();
        assert!(error.contains("inconsistent"), "{error}");
        // `data` first, or no `data` at all.
        let mut no_data = wav(&fmt(PCM, 1, 8000, 16), &[], 0);
        no_data.truncate(no_data.len() - 8);
        assert!(read(no_data).unwrap_err().contains("no `data` chunk"));
        let mut data_first = b"RIFF\x00\x00\x00\x00WAVEdata\x00\x00\x00\x00".to_vec();
        data_first.extend_from_slice(b"fmt \x10\x00\x00\x00");
        data_first.extend_from_slice(&fmt(PCM, 1, 8000, 16));
        assert!(
            read(data_first)
                .unwrap_err()
                .contains("comes before `fmt `")
        );
    }
}
