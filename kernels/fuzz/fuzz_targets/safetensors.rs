//! Any bytes: `Safetensors::from_bytes` and every accessor must return, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_kernels::io::safetensors::Safetensors;

fuzz_target!(|data: &[u8]| {
    let Ok(st) = Safetensors::from_bytes(data.to_vec()) else { return };
    for name in st.names() {
        let _ = (st.to_f32(name), st.ternary(name), st.bytes(name));
    }
});
