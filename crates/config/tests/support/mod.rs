//! What the tests of inbound calls, the reference and the example file share: a directory of
//! their own, and WAV prompt files written into it.

// Each test file uses a part of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// `WAVE_FORMAT_PCM`, `WAVE_FORMAT_ALAW` and `WAVE_FORMAT_MULAW` (RFC 2361 Appendix A).
pub const PCM: u16 = 1;
pub const ALAW: u16 = 6;
pub const MULAW: u16 = 7;

/// A directory of its own for one test, removed when dropped.
pub struct Dir(PathBuf);

impl Dir {
    pub fn new(test: &str) -> Dir {
        let dir =
            std::env::temp_dir().join(format!("crossbar-config-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temporary directory");
        Dir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `bytes` at `relative` (creating its directories) and returns its path.
    pub fn write(&self, relative: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(relative);
        std::fs::create_dir_all(path.parent().expect("a file in the directory"))
            .expect("create the file's directory");
        std::fs::write(&path, bytes).expect("write a test file");
        path
    }

    /// Writes `prompts/{language}/{name}.wav` for each name: 16-bit PCM, 8 kHz, mono.
    pub fn prompts(&self, language: &str, names: &[&str]) {
        for name in names {
            self.write(&format!("prompts/{language}/{name}.wav"), &pcm16(8000));
        }
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A WAV file: a `fmt ` chunk with these fields (and `cbSize` 0 for G.711), then `data` with
/// 160 frames of silence.
pub fn wav(format: u16, channels: u16, sample_rate: u32, bits_per_sample: u16) -> Vec<u8> {
    let block_align = channels * bits_per_sample / 8;
    let mut fmt = Vec::new();
    fmt.extend_from_slice(&format.to_le_bytes());
    fmt.extend_from_slice(&channels.to_le_bytes());
    fmt.extend_from_slice(&sample_rate.to_le_bytes());
    fmt.extend_from_slice(&(sample_rate * u32::from(block_align)).to_le_bytes());
    fmt.extend_from_slice(&block_align.to_le_bytes());
    fmt.extend_from_slice(&bits_per_sample.to_le_bytes());
    if format != PCM {
        fmt.extend_from_slice(&0u16.to_le_bytes());
    }
    let silence = if format == MULAW {
        0xFF
    } else if format == ALAW {
        0xD5
    } else {
        0
    };
    let data = vec![silence; 160 * usize::from(block_align)];
    let mut body = b"WAVE".to_vec();
    for (id, chunk) in [(b"fmt ", &fmt), (b"data", &data)] {
        body.extend_from_slice(id);
        body.extend_from_slice(&u32::try_from(chunk.len()).unwrap().to_le_bytes());
        body.extend_from_slice(chunk);
    }
    let mut file = b"RIFF".to_vec();
    file.extend_from_slice(&u32::try_from(body.len()).unwrap().to_le_bytes());
    file.extend_from_slice(&body);
    file
}

/// 16-bit PCM, mono, at `sample_rate`.
pub fn pcm16(sample_rate: u32) -> Vec<u8> {
    wav(PCM, 1, sample_rate, 16)
}

/// The repository's root.
pub fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The English prompts setup generates into `prompts/en/` at the repository root
/// (`scripts/prompts.sh`, espeak-ng), which `examples/crossbar.toml` plays.
pub const EXAMPLE_PROMPTS: [&str; 5] = ["greeting", "invalid", "timeout", "goodbye", "closed"];

/// What a placeholder prompt says about itself, in its `LIST`/`INFO` `ISFT` chunk, so setup can
/// tell it from a generated prompt and replace it.
pub const PLACEHOLDER_MARK: &str =
    "crossbar-config test placeholder; scripts/prompts.sh replaces it";

/// Makes sure every prompt of [`EXAMPLE_PROMPTS`] exists in `prompts/en/` at the repository
/// root, so `examples/crossbar.toml` loads where setup has not generated them (a fresh
/// checkout, CI before setup). Each missing file gets a placeholder: 20 ms of silence, 16-bit
/// PCM at 8 kHz, marked with [`PLACEHOLDER_MARK`]. A file already there is never touched, and
/// a placeholder is linked into place only if the name is still free, so tests running at the
/// same time (or setup) never see a half-written file. Returns the placeholders written.
pub fn example_prompts() -> Vec<PathBuf> {
    let dir = repository().join("prompts/en");
    std::fs::create_dir_all(&dir).expect("create prompts/en at the repository root");
    let mut written = Vec::new();
    for name in EXAMPLE_PROMPTS {
        let path = dir.join(format!("{name}.wav"));
        if path.exists() {
            continue;
        }
        let staging = dir.join(format!(
            ".{name}.wav.{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::write(&staging, placeholder()).expect("write a placeholder prompt");
        // Fails if the name was taken meanwhile: whoever took it wrote a whole file.
        if std::fs::hard_link(&staging, &path).is_ok() {
            written.push(path);
        }
        std::fs::remove_file(&staging).expect("remove the staging file");
    }
    written
}

/// A placeholder prompt: [`PLACEHOLDER_MARK`] in a `LIST`/`INFO` chunk, then 20 ms of
/// silence, 16-bit PCM, 8 kHz, mono.
fn placeholder() -> Vec<u8> {
    let silent = pcm16(8000);
    let mut mark = PLACEHOLDER_MARK.as_bytes().to_vec();
    mark.push(0);
    if mark.len() % 2 == 1 {
        mark.push(0);
    }
    let mut list = b"INFOISFT".to_vec();
    list.extend_from_slice(&u32::try_from(mark.len()).unwrap().to_le_bytes());
    list.extend_from_slice(&mark);
    // RIFF header, then LIST, then the `fmt ` and `data` chunks of `silent`.
    let mut body = b"WAVE".to_vec();
    body.extend_from_slice(b"LIST");
    body.extend_from_slice(&u32::try_from(list.len()).unwrap().to_le_bytes());
    body.extend_from_slice(&list);
    body.extend_from_slice(&silent[12..]);
    let mut file = b"RIFF".to_vec();
    file.extend_from_slice(&u32::try_from(body.len()).unwrap().to_le_bytes());
    file.extend_from_slice(&body);
    file
}
