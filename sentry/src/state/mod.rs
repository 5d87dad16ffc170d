//! Checkpoint and restore: the kernel state's encoding and the image that
//! holds it.
//!
//! Everything the kernel knows derives serde's traits; this module turns it
//! into bytes (bincode 2) and back. The image file format around it
//! (header, JSON metadata, state, memory pages, checksums) builds on
//! [`meta`], its metadata, and [`crc`], its checksum.

pub mod crc;
pub mod meta;

pub use meta::{KernelSummary, Meta};

use crate::kernel::Kernel;

/// Version of the kernel state's encoding, recorded in every image. Bincode
/// writes no field names or types, so state written by other versions of
/// the kernel's types would be misread: bump this whenever a serialized
/// type changes (a field or enum variant added, removed, reordered or
/// retyped), and images of other versions are refused with a message that
/// says so.
pub const STATE_VERSION: u32 = 1;

/// Failures encoding or decoding kernel state.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("encoding the kernel state failed: {0}")]
    Encode(#[from] bincode::error::EncodeError),
    #[error("decoding the kernel state failed: {0}")]
    Decode(#[from] bincode::error::DecodeError),
    #[error("the kernel state has {0} bytes left over after decoding")]
    Trailing(usize),
}

fn config() -> impl bincode::config::Config {
    bincode::config::standard()
        .with_little_endian()
        .with_variable_int_encoding()
}

/// Encodes the kernel state (without host resources).
pub fn encode(k: &Kernel) -> Result<Vec<u8>, StateError> {
    Ok(bincode::serde::encode_to_vec(k, config())?)
}

/// Decodes kernel state; host resources are attached by the caller.
pub fn decode(b: &[u8]) -> Result<Kernel, StateError> {
    let (k, n): (Kernel, usize) = bincode::serde::decode_from_slice(b, config())?;
    if n != b.len() {
        return Err(StateError::Trailing(b.len() - n));
    }
    Ok(k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn booted_kernel_round_trips() {
        let cfg = Config {
            argv: vec!["/bin/true".into()],
            env: vec!["PATH=/bin".into()],
            ..Config::default()
        };
        let k = crate::sandbox::boot(&cfg).expect("boot /bin/true");
        let a = encode(&k).unwrap();
        let back = decode(&a).unwrap();
        assert_eq!(encode(&back).unwrap(), a);
        assert_eq!(back.tasks.len(), 1);
        assert!(back.mms.values().next().unwrap().vmas.len() > 3);
        // Truncated state is refused, not misread.
        assert!(decode(&a[..a.len() / 2]).is_err());
    }
}
