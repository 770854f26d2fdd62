//! Hugging Face safetensors (in progress).
