//! Conversion of recorded or designed traffic into pummel scenario files: HAR 1.2 recordings
//! (what browsers' DevTools save) and Postman v2.1 collections.
//!
//! A library concern with no engine in it: text in, scenario YAML out, plus what the user must
//! know (the environment variables to set, the values that were correlated). The binary's
//! `pummel convert` only parses flags, calls [`convert`] and prints.
//!
//! Module map: `har` and `postman` read their formats into the scenario `model`; `correlate`
//! turns values a response produced and a later request sent into captures and templates;
//! `secrets` moves recorded secrets to `env.` variables; `text` is template text under
//! construction; `emit` writes the YAML.

mod correlate;
mod emit;
mod har;
mod model;
mod postman;
mod secrets;
mod text;

pub use correlate::Correlation;
pub use secrets::EnvVar;

/// The largest input read: a HAR with response bodies embedded runs to tens of megabytes; more
/// than this is not a journey anyone would replay step by step.
pub const MAX_INPUT_BYTES: u64 = 256 * 1024 * 1024;

/// What a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// An HTTP Archive.
    Har,
    /// A Postman collection.
    Postman,
}

/// How to convert.
#[derive(Clone, Debug)]
pub struct Options {
    /// The input's format; `None`: recognised from the content.
    pub format: Option<Format>,
    /// HAR: keep images, fonts, style sheets and scripts as steps.
    pub keep_assets: bool,
    /// HAR: multiplies the recorded pauses (0 drops them).
    pub think_scale: f64,
    /// HAR: only requests to these hosts (`host`, `host:port` or `*.domain`); empty: all.
    pub include_hosts: Vec<String>,
    /// HAR: never requests to these hosts.
    pub exclude_hosts: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            format: None,
            keep_assets: false,
            think_scale: 1.0,
            include_hosts: Vec::new(),
            exclude_hosts: Vec::new(),
        }
    }
}

/// Entries of a recording left out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Skipped {
    /// Static assets (without `keep_assets`).
    pub assets: usize,
    /// Requests to hosts not included, or excluded.
    pub hosts: usize,
    /// Not HTTP(S), or never answered.
    pub other: usize,
    /// The browser's own doing, which a replay must not repeat: CORS preflights (the replay
    /// is no browser, and sends none) and responses served from the browser's cache.
    pub browser: usize,
}

/// A converted file and what the user needs to know about it.
#[derive(Clone, Debug)]
pub struct Conversion {
    /// The scenario file.
    pub yaml: String,
    /// Request steps written.
    pub steps: usize,
    /// What a recording had that the file leaves out.
    pub skipped: Skipped,
    /// Values captured from a response and sent by later requests.
    pub correlations: Vec<Correlation>,
    /// Environment variables the file reads (recorded secrets, undefined Postman variables).
    pub env: Vec<EnvVar>,
}

/// Why a file cannot be converted.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// Neither a HAR nor a Postman collection.
    #[error("not a HAR file nor a Postman collection: {0}")]
    Unrecognised(String),
    /// The format was recognised (or given) but the content does not follow it.
    #[error("not a valid {format} file: {message}")]
    Invalid {
        /// `HAR` or `Postman collection`.
        format: &'static str,
        /// What is wrong, and where.
        message: String,
    },
    /// A version this converter does not read.
    #[error("{format} version {found:?} is not supported (supported: {supported})")]
    Version {
        /// `HAR` or `Postman collection`.
        format: &'static str,
        /// The version the file declares.
        found: String,
        /// The versions that are.
        supported: &'static str,
    },
    /// Nothing left to convert.
    #[error("{0}")]
    Empty(String),
}

/// What `text` holds: a JSON object with `log.entries` is a HAR, one with `info` and `item` a
/// Postman collection (one with `requests`, an old v1 collection, which the converter names).
pub fn detect(text: &str) -> Result<Format, ConvertError> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| ConvertError::Unrecognised(format!("not JSON ({e})")))?;
    if value.get("log").is_some_and(serde_json::Value::is_object) {
        return Ok(Format::Har);
    }
    if (value.get("info").is_some() && value.get("item").is_some()) || postman::is_version_1(&value)
    {
        return Ok(Format::Postman);
    }
    Err(ConvertError::Unrecognised(
        "a HAR file has a top-level \"log\" object, a Postman collection \"info\" and \"item\""
            .to_owned(),
    ))
}

/// Converts a HAR file or a Postman collection into a scenario file.
pub fn convert(text: &str, options: &Options) -> Result<Conversion, ConvertError> {
    // Some Windows tools save JSON with a byte-order mark, which JSON itself does not allow.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let format = match options.format {
        Some(f) => f,
        None => detect(text)?,
    };
    match format {
        Format::Har => har::convert(text, options),
        Format::Postman => postman::convert(text),
    }
}
