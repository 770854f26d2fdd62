//! Chat JSONL: one conversation per line, `{"messages": [{"role": ..., "content": ...}, ...]}` (the OpenAI format).

use serde_json::Value as Json;

use super::DataError;

/// Who speaks a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Instructions before the conversation.
    System,
    /// The person.
    User,
    /// The model: its messages are what training learns.
    Assistant,
}

impl Role {
    /// The name chat templates and the JSONL format use.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        match name {
            "system" => Some(Role::System),
            "user" => Some(Role::User),
            "assistant" => Some(Role::Assistant),
            _ => None,
        }
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Who speaks.
    pub role: Role,
    /// What is said.
    pub content: String,
}

/// One line of a chat JSONL file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    /// 1-based line number in the file, for error messages.
    pub line: usize,
    /// The messages, in order; at least one is the assistant's.
    pub messages: Vec<Message>,
}

/// Parses a chat JSONL file.
///
/// Lines are separated by `\n` (a trailing `\r` is ignored); blank lines are skipped. Each other line must be a
/// JSON object whose `messages` is a non-empty array of `{"role", "content"}` objects with string values (other
/// keys are ignored). Roles are `system`, `user` and `assistant`; user and assistant content must not be empty or
/// all whitespace (system content may be empty); every conversation needs an assistant message. The first problem
/// found is returned, with its line number.
pub fn parse_chat_jsonl(jsonl: &[u8]) -> Result<Vec<Conversation>, DataError> {
    let mut conversations = Vec::new();
    for (index, raw) in jsonl.split(|&b| b == b'\n').enumerate() {
        let line = index + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let text = std::str::from_utf8(raw).map_err(|e| DataError::NotUtf8 {
            line,
            byte: e.valid_up_to(),
        })?;
        if text.trim().is_empty() {
            continue;
        }
        conversations.push(parse_line(line, text)?);
    }
    if conversations.is_empty() {
        return Err(DataError::Empty {
            what: "the chat JSONL has no conversation".to_owned(),
        });
    }
    Ok(conversations)
}

fn parse_line(line: usize, text: &str) -> Result<Conversation, DataError> {
    let json: Json = serde_json::from_str(text).map_err(|e| DataError::InvalidJson {
        line,
        reason: e.to_string(),
    })?;
    let missing = |problem: &str| DataError::MissingMessages {
        line,
        problem: problem.to_owned(),
    };
    let Json::Object(object) = json else {
        return Err(missing("the line is JSON but not an object"));
    };
    let items = match object.get("messages") {
        None => return Err(missing("no \"messages\" key")),
        Some(Json::Array(items)) if items.is_empty() => {
            return Err(missing("\"messages\" is empty"));
        }
        Some(Json::Array(items)) => items,
        Some(_) => return Err(missing("\"messages\" is not an array")),
    };
    let mut messages = Vec::with_capacity(items.len());
    for (message, item) in items.iter().enumerate() {
        let invalid = |problem: &str| DataError::InvalidMessage {
            line,
            message,
            problem: problem.to_owned(),
        };
        let Json::Object(fields) = item else {
            return Err(invalid("the message is not an object"));
        };
        let role = match fields.get("role") {
            Some(Json::String(role)) => role,
            Some(_) => return Err(invalid("\"role\" is not a string")),
            None => return Err(invalid("no \"role\"")),
        };
        let role = Role::parse(role).ok_or_else(|| DataError::UnknownRole {
            line,
            message,
            role: role.clone(),
        })?;
        let content = match fields.get("content") {
            Some(Json::String(content)) => content,
            Some(_) => return Err(invalid("\"content\" is not a string")),
            None => return Err(invalid("no \"content\"")),
        };
        if role != Role::System && content.trim().is_empty() {
            return Err(DataError::EmptyContent {
                line,
                message,
                role: role.as_str(),
            });
        }
        messages.push(Message {
            role,
            content: content.clone(),
        });
    }
    if !messages.iter().any(|m| m.role == Role::Assistant) {
        return Err(DataError::NoAssistantTurn { line });
    }
    Ok(Conversation { line, messages })
}
