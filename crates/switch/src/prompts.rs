//! The prompts calls may hear, loaded once: every prompt a menu names, in every language a
//! call can speak (`[prompts] default_language` and each route's `language`), plus the
//! ringback tone callers hear while crossbar rings a phone for them after a menu.
//!
//! The switch never reads files: the binary loads each file [`PromptLibrary::files`] lists
//! (`crossbar_media::Prompt::from_wav`) and hands the prompts in; tests give synthesised ones.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crossbar_config::{Config, PromptRef, Prompts};
use crossbar_media::Prompt;

#[derive(Debug)]
pub struct PromptLibrary {
    config: Prompts,
    loaded: HashMap<PathBuf, Arc<Prompt>>,
    ringback: Option<Arc<Prompt>>,
}

impl PromptLibrary {
    /// The files `config`'s menus play, each once, in the order met.
    pub fn files(config: &Config) -> Vec<PathBuf> {
        let mut languages = vec![config.prompts.default_language.clone()];
        for route in &config.inbound_routes {
            if let Some(language) = &route.language
                && !languages.contains(language)
            {
                languages.push(language.clone());
            }
        }
        let mut files: Vec<PathBuf> = Vec::new();
        for ivr in &config.ivrs {
            let prompts = std::iter::once(&ivr.prompt)
                .chain(&ivr.invalid_prompt)
                .chain(&ivr.timeout_prompt);
            for prompt in prompts {
                for language in &languages {
                    let file = config.prompts.file(language, prompt).into_owned();
                    if !files.contains(&file) {
                        files.push(file);
                    }
                }
            }
        }
        files
    }

    /// A library for `config`'s prompts, each of [`PromptLibrary::files`] loaded by `load`.
    pub fn load<E>(
        config: &Config,
        mut load: impl FnMut(&Path) -> Result<Prompt, E>,
    ) -> Result<PromptLibrary, (PathBuf, E)> {
        let mut library = PromptLibrary {
            config: config.prompts.clone(),
            loaded: HashMap::new(),
            ringback: None,
        };
        for file in PromptLibrary::files(config) {
            match load(&file) {
                Ok(prompt) => {
                    library.loaded.insert(file, Arc::new(prompt));
                }
                Err(error) => return Err((file, error)),
            }
        }
        Ok(library)
    }

    /// The tone callers hear while a phone rings for them after crossbar answered them.
    pub fn set_ringback(&mut self, ringback: Prompt) {
        self.ringback = Some(Arc::new(ringback));
    }

    /// `prompt` in `language`, else in the default language.
    pub(crate) fn get(&self, language: &str, prompt: &PromptRef) -> Option<Arc<Prompt>> {
        [language, self.config.default_language.as_str()]
            .into_iter()
            .find_map(|language| self.loaded.get(self.config.file(language, prompt).as_ref()))
            .cloned()
    }

    pub(crate) fn ringback(&self) -> Option<Arc<Prompt>> {
        self.ringback.clone()
    }
}
