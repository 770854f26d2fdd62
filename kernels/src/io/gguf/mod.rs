//! GGUF, the llama.cpp model format: a reader (versions 2 and 3) and a writer (version 3).
//!
//! A file is a header (magic `GGUF`, version, tensor and metadata counts), metadata key/value pairs, a tensor table
//! (name, shape in ggml order, type, offset), padding to `general.alignment` (default 32), and the data section.
//! Everything is little-endian.
//!
//! ```no_run
//! use tern_kernels::io::gguf::Gguf;
//! let gguf = Gguf::read("SmolLM2-135M-Instruct.Q4_1.gguf")?;
//! let layers = gguf.get_u32("llama.block_count")?;
//! let wq = gguf.dequantize("blk.0.attn_q.weight")?;
//! # Ok::<(), tern_kernels::io::gguf::GgufError>(())
//! ```

mod data;
mod error;
mod metadata;
pub mod quant;
mod reader;
mod types;
mod writer;

pub use data::{BlockQ8_0, TernaryBlock};
pub use error::{GgufError, Result};
pub use metadata::{MetaArray, MetaType, MetaValue, Metadata};
pub use reader::{DEFAULT_ALIGNMENT, Gguf, MAGIC, MAX_DIMS, TensorInfo};
pub use types::{GgmlType, QK_K, id_name};
pub use writer::GgufWriter;
