//! The error shape of job-spec parsing and validation: every invalid field, each with its path.

use std::fmt;

use serde::Serialize;

/// One invalid field of a job spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field's path in the spec JSON, dot-separated, with list indices in brackets
    /// (`training.steps`, `lora.targets[2]`); empty for the document as a whole.
    pub field: String,
    /// What is wrong and what to do about it.
    pub message: String,
}

impl FieldError {
    /// An error at `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.field, self.message)
        }
    }
}

/// Every invalid field of a job spec (never empty). Serializes as `{"errors": [{"field", "message"}, ...]}`, the
/// shape a web API can return as is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct SpecErrors {
    /// The invalid fields, in the order of the spec's fields.
    pub errors: Vec<FieldError>,
}

impl SpecErrors {
    /// One error.
    pub fn single(error: FieldError) -> Self {
        Self {
            errors: vec![error],
        }
    }

    /// The error at `field`, if there is one.
    pub fn get(&self, field: &str) -> Option<&FieldError> {
        self.errors.iter().find(|e| e.field == field)
    }

    /// The paths of the invalid fields, in order.
    pub fn fields(&self) -> Vec<&str> {
        self.errors.iter().map(|e| e.field.as_str()).collect()
    }
}

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        write!(
            f,
            "invalid job spec ({n} error{})",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.errors {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

/// Turns a deserialization error into a [`FieldError`] at the path where it happened.
///
/// serde reports a missing or duplicate field at the object that holds it; its name is taken from the message and
/// appended to the path, so a missing `steps` is reported at `training.steps`.
pub(crate) fn from_serde(err: serde_path_to_error::Error<serde_json::Error>) -> FieldError {
    let mut path = err.path().to_string();
    if path == "." || path == "?" {
        path.clear();
    }
    let inner = err.into_inner();
    let text = inner.to_string();
    // serde_json appends " at line L column C"; keep the position as a hint at the end of the message.
    let (message, position) = match text.rfind(" at line ") {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text.as_str(), None),
    };
    let mut message = message.to_string();
    for (prefix, what) in [
        ("unknown field `", "unknown"),
        ("missing field `", "missing"),
        ("duplicate field `", "duplicate"),
    ] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some(end) = rest.find('`')
        {
            let name = &rest[..end];
            // serde_path_to_error already ends the path with an unknown field's name, not a missing one's.
            if !(path == name || path.ends_with(&format!(".{name}"))) {
                path = if path.is_empty() {
                    name.to_string()
                } else {
                    format!("{path}.{name}")
                };
            }
            message = match what {
                "unknown" => {
                    let expected = rest[end + 1..].trim_start_matches(", ");
                    format!("unknown field: remove it or fix its name ({expected})")
                }
                "missing" => {
                    "missing field: add it (every field of a job spec is required)".to_string()
                }
                _ => "field given twice: keep one".to_string(),
            };
            break;
        }
    }
    if inner.is_syntax() || inner.is_eof() {
        message = format!("not valid JSON: {message}");
    }
    if let Some(position) = position {
        message = format!("{message} ({position})");
    }
    FieldError::new(path, message)
}
