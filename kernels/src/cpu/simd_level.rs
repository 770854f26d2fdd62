//! [`SimdLevel`]: which instruction set the kernels use, detected at run time.

use std::fmt;

/// The instruction set a [`super::Cpu`] runs its kernels with. All levels give identical results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SimdLevel {
    /// Portable Rust (which the compiler may still vectorize for the build target).
    Scalar,
    /// x86-64 AVX2: `vpmaddubsw` + `vpmaddwd` on 256-bit registers.
    Avx2,
    /// x86-64 AVX-512 F + BW + VNNI: `vpdpbusd` on 512-bit registers.
    Avx512Vnni,
}

impl SimdLevel {
    /// Every level, lowest first.
    pub const ALL: [SimdLevel; 3] = [SimdLevel::Scalar, SimdLevel::Avx2, SimdLevel::Avx512Vnni];

    /// The best level this CPU supports.
    pub fn detect() -> Self {
        Self::available()
            .into_iter()
            .max()
            .unwrap_or(SimdLevel::Scalar)
    }

    /// Whether this CPU supports the level.
    pub fn is_available(self) -> bool {
        match self {
            SimdLevel::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2 => super::x86::Avx2::detect().is_some(),
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx512Vnni => super::x86::Avx512Vnni::detect().is_some(),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The levels this CPU supports, lowest first.
    pub fn available() -> Vec<SimdLevel> {
        Self::ALL
            .into_iter()
            .filter(|level| level.is_available())
            .collect()
    }
}

impl fmt::Display for SimdLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SimdLevel::Scalar => "scalar",
            SimdLevel::Avx2 => "AVX2",
            SimdLevel::Avx512Vnni => "AVX-512 VNNI",
        })
    }
}
