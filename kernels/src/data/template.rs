//! Chat templates: the Jinja string a model file carries (`tokenizer.chat_template`), rendered with `minijinja`.

use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, Error as JinjaError, ErrorKind, Value};

use super::{DataError, Message};

/// ChatML, the turn format of SmolLM2 and many other models, without a default system prompt.
pub const CHATML_TEMPLATE: &str = r#"{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"#;

const NAME: &str = "chat_template";

/// A compiled chat template.
///
/// Rendering follows what Hugging Face `transformers` does with the same string: Jinja with `trim_blocks` and
/// `lstrip_blocks` on, the context variables `messages` (a list of `{role, content}` maps) and
/// `add_generation_prompt`, the function `raise_exception(message)` (which fails the render with that message), and,
/// when set with [`ChatTemplate::with_token_strings`], `bos_token` and `eos_token`.
#[derive(Debug)]
pub struct ChatTemplate {
    env: Environment<'static>,
}

impl ChatTemplate {
    /// Compiles `source`.
    pub fn new(source: &str) -> Result<Self, DataError> {
        let mut env = Environment::new();
        let syntax = SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .map_err(|e| DataError::TemplateSyntax(e.to_string()))?;
        env.set_syntax(syntax);
        env.add_function(
            "raise_exception",
            |message: String| -> Result<Value, JinjaError> {
                Err(JinjaError::new(ErrorKind::InvalidOperation, message))
            },
        );
        env.add_template_owned(NAME, source.to_owned())
            .map_err(|e| DataError::TemplateSyntax(e.to_string()))?;
        Ok(Self { env })
    }

    /// The [`CHATML_TEMPLATE`].
    pub fn chatml() -> Self {
        Self::new(CHATML_TEMPLATE).expect("the ChatML template parses")
    }

    /// Makes the strings of the model's BOS and EOS tokens available to the template as `bos_token` and
    /// `eos_token` (many templates write them).
    pub fn with_token_strings(mut self, bos_token: &str, eos_token: &str) -> Self {
        self.env.add_global("bos_token", bos_token.to_owned());
        self.env.add_global("eos_token", eos_token.to_owned());
        self
    }

    /// Renders `messages`, followed by the header of an assistant turn when `add_generation_prompt` is true.
    ///
    /// The error is the template engine's message (the caller knows the line it belongs to).
    pub fn render(
        &self,
        messages: &[Message],
        add_generation_prompt: bool,
    ) -> Result<String, String> {
        let messages: Value = messages
            .iter()
            .map(|m| {
                Value::from_pairs([("role", m.role.as_str()), ("content", m.content.as_str())])
            })
            .collect();
        let context = Value::from_pairs([
            ("messages", messages),
            ("add_generation_prompt", Value::from(add_generation_prompt)),
        ]);
        let template = self.env.get_template(NAME).map_err(|e| e.to_string())?;
        template.render(context).map_err(|e| match e.kind() {
            // `raise_exception`'s message is the useful part; the engine's wrapper text is noise.
            ErrorKind::InvalidOperation => e.detail().unwrap_or("raise_exception").to_owned(),
            _ => e.to_string(),
        })
    }
}
