//! Any bytes: `Gguf::from_bytes` and everything a loader does with the result must return, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_kernels::io::gguf::Gguf;

fuzz_target!(|data: &[u8]| {
    let Ok(gguf) = Gguf::from_bytes(data.to_vec()) else { return };
    for (key, _) in gguf.meta().iter() {
        let _ = (gguf.get_u32(key), gguf.get_str(key), gguf.get_f32(key), gguf.get_str_array(key));
    }
    for info in gguf.tensors() {
        let values = gguf.dequantize(&info.name).expect("a tensor listed by the file dequantizes");
        assert_eq!(values.len() as u64, info.n_elements());
        let _ = (gguf.q8_0_blocks(&info.name), gguf.ternary_blocks(&info.name));
    }
});
