//! `[prompts]`: where the recorded prompts menus play are, one directory per language, and
//! the check that every prompt a menu names exists, in every language calls may speak, as a
//! WAV file crossbar can play.

use std::path::{Path, PathBuf};

use crate::inbound::{PromptRef, Prompts};
use crate::load::{At, Loader, Section, Span, check_name};
use crate::wav;

pub(crate) const KEYS: &[&str] = &["dir", "default_language"];

/// `[prompts] dir` when not set, relative to the configuration file's directory.
const DEFAULT_DIR: &str = "prompts";
/// `[prompts] default_language` when not set.
const DEFAULT_LANGUAGE: &str = "en";

/// Where the keys of `[prompts]` were written (`None`: not written).
pub(crate) struct PromptsRefs {
    dir: Option<Span>,
    default_language: Option<Span>,
    /// Whether `default_language` is a valid language (if not, it is reported already and
    /// its prompts are not looked for).
    default_language_valid: bool,
}

pub(crate) fn parse(ld: &mut Loader<'_>, section: &Section<'_, '_>) -> (Prompts, PromptsRefs) {
    section.reject_unknown_keys(ld, KEYS);
    let mut refs = PromptsRefs {
        dir: None,
        default_language: None,
        default_language_valid: true,
    };
    let dir = match section.string(ld, "dir") {
        Some(dir) if dir.value.trim().is_empty() => {
            ld.error(
                &dir.span,
                &section.key("dir"),
                format!("must not be empty (leave the key out for \"{DEFAULT_DIR}\")"),
            );
            DEFAULT_DIR
        }
        Some(dir) => {
            refs.dir = Some(dir.span);
            dir.value
        }
        None => DEFAULT_DIR,
    };
    let default_language = match section.string(ld, "default_language") {
        Some(language) => {
            if let Err(message) = check_language(language.value) {
                ld.error(&language.span, &section.key("default_language"), message);
                refs.default_language_valid = false;
            }
            refs.default_language = Some(language.span);
            language.value
        }
        None => DEFAULT_LANGUAGE,
    };
    let prompts = Prompts {
        dir: ld.resolve(Path::new(dir)),
        default_language: default_language.to_owned(),
    };
    (prompts, refs)
}

/// A language: the name of a directory of `[prompts] dir` (`en`, `en-GB`, `fr`): a letter,
/// then letters, digits, `-` and `_`, at most 35 (the longest BCP 47 tag in common use).
pub(crate) fn check_language(language: &str) -> Result<(), String> {
    let valid = language.len() <= 35
        && language.starts_with(|c: char| c.is_ascii_alphabetic())
        && language
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{language}` is not a language: a letter, then letters, digits, `-` and `_` (e.g. \
             en, en-GB, fr); it names a directory of [prompts] dir"
        ))
    }
}

/// The prompt at `key` of `section` (a menu): a file if it has a `/` or ends in `.wav`
/// (resolved against the configuration file's directory), else a name. `None` if absent or
/// invalid (reported).
pub(crate) fn prompt_ref(
    ld: &mut Loader<'_>,
    section: &Section<'_, '_>,
    key: &str,
) -> Option<At<PromptRef>> {
    let text = section.string(ld, key)?;
    let value = text.value;
    let is_file = value.contains(['/', '\\']) || value.to_ascii_lowercase().ends_with(".wav");
    let prompt = if is_file {
        if !value.to_ascii_lowercase().ends_with(".wav") {
            ld.error(
                &text.span,
                &section.key(key),
                format!(
                    "`{value}` is a path but not a .wav file: write a prompt's name (e.g. \
                     greeting, played from [prompts] dir/LANGUAGE/greeting.wav) or the path of \
                     a .wav file"
                ),
            );
            return None;
        }
        PromptRef::File(ld.resolve(Path::new(value)))
    } else {
        if let Err(problem) = check_name(value) {
            ld.error(
                &text.span,
                &section.key(key),
                format!(
                    "`{value}` is not a prompt name ({problem}); or write the path of a .wav \
                     file"
                ),
            );
            return None;
        }
        PromptRef::Named(value.to_owned())
    };
    Some(At {
        value: prompt,
        span: text.span,
    })
}

/// A prompt a menu names, with where.
pub(crate) struct PromptUse {
    pub prompt: PromptRef,
    pub span: Span,
    pub key: String,
}

/// A language a route names, with where.
pub(crate) struct LanguageUse {
    pub language: String,
    pub span: Span,
    pub key: String,
}

/// Checks every prompt the menus and queues name (`uses`, in file order): files exist and are
/// playable WAV files; named prompts exist as `{dir}/{language}/{name}.wav` for the default
/// language and every language a route names. Each file is reported once, at the first key
/// naming it.
pub(crate) fn check(
    ld: &mut Loader<'_>,
    prompts: &Prompts,
    refs: &PromptsRefs,
    uses: &[&PromptUse],
    languages: &[LanguageUse],
) {
    let mut checked: Vec<PathBuf> = Vec::new();
    let mut check_file = |ld: &mut Loader<'_>, path: &Path, at: &PromptUse, what: &str| {
        if checked.iter().any(|p| p == path) {
            return;
        }
        checked.push(path.to_path_buf());
        if let Err(problem) = wav::check_file(path) {
            ld.error(
                &at.span,
                &at.key,
                format!("{what}`{}` {problem}", path.display()),
            );
        }
    };
    for at in uses {
        if let PromptRef::File(path) = &at.prompt {
            check_file(ld, path, at, "prompt file ");
        }
    }

    let named: Vec<(&str, &PromptUse)> = uses
        .iter()
        .filter_map(|at| match &at.prompt {
            PromptRef::Named(name) => Some((name.as_str(), *at)),
            PromptRef::File(_) => None,
        })
        .collect();
    let Some((first_name, first_use)) = named.first() else {
        return;
    };
    let dir = &prompts.dir;
    if !dir.is_dir() {
        let (span, key) = match &refs.dir {
            Some(span) => (span.clone(), "prompts.dir".to_owned()),
            None => (first_use.span.clone(), first_use.key.clone()),
        };
        let what = if dir.exists() {
            "is not a directory"
        } else {
            "does not exist"
        };
        ld.error(
            &span,
            &key,
            format!(
                "the prompts directory `{}` {what} ([prompts] dir, default \"{DEFAULT_DIR}\" \
                 beside the configuration file): menus and queues name prompts \
                 (`{first_name}`...), played from {}/LANGUAGE/NAME.wav",
                dir.display(),
                dir.display()
            ),
        );
        return;
    }

    // The default language first, then those of the routes, each once.
    let default_at = match (&refs.default_language, &refs.dir) {
        (Some(span), _) => (span.clone(), "prompts.default_language".to_owned()),
        (None, Some(span)) => (span.clone(), "prompts.dir".to_owned()),
        (None, None) => (first_use.span.clone(), first_use.key.clone()),
    };
    let mut all: Vec<(&str, Span, String)> = Vec::new();
    if refs.default_language_valid {
        all.push((
            prompts.default_language.as_str(),
            default_at.0,
            default_at.1,
        ));
    }
    for used in languages {
        if !all
            .iter()
            .any(|(language, _, _)| *language == used.language)
        {
            all.push((&used.language, used.span.clone(), used.key.clone()));
        }
    }
    for (language, span, key) in all {
        let language_dir = dir.join(language);
        if !language_dir.is_dir() {
            ld.error(
                &span,
                &key,
                format!(
                    "no prompts in language `{language}`: the directory `{}` does not exist \
                     (menus and queues name prompts, played from it as NAME.wav)",
                    language_dir.display()
                ),
            );
            continue;
        }
        for (name, at) in &named {
            let what = format!("prompt `{name}` in language `{language}`: ");
            check_file(ld, &prompts.path(language, name), at, &what);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_directory_names_like_language_tags() {
        for ok in ["en", "en-GB", "fr", "pt_BR", "x1"] {
            assert_eq!(check_language(ok), Ok(()), "{ok}");
        }
        for bad in ["", "1en", "en/GB", "..", "en GB", &"a".repeat(36)] {
            assert!(check_language(bad).is_err(), "{bad}");
        }
    }
}
