//! Checkpoint and restore: the kernel state's encoding and the image that
//! holds it.
//!
//! Everything the kernel knows derives serde's traits; this module turns it
//! into bytes (bincode 2) and back. [`image`] is the file format around it
//! (header, JSON metadata, state, memory pages, checksums), [`meta`] its
//! metadata and [`crc`] its checksum. [`save`] and [`load`] join the two for
//! a whole kernel.

pub mod crc;
pub mod image;
pub mod meta;

pub use image::{ImageError, ImageStats};
pub use meta::{KernelSummary, Meta};

use crate::kernel::Kernel;
use crate::memory::MemoryFile;
use std::path::Path;

/// Version of the kernel state's encoding, recorded in every image. Bincode
/// writes no field names or types, so state written by other versions of
/// the kernel's types would be misread: bump this whenever a serialized
/// type changes (a field or enum variant added, removed, reordered or
/// retyped), and images of other versions are refused with a message that
/// says so.
pub const STATE_VERSION: u32 = 12;

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

/// Why a kernel could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error("the kernel has no memory file attached")]
    NoMemoryFile,
}

/// Saves `k` (state and memory) as the image of container `container_id`
/// in directory `dir`. Its tasks must be stopped.
pub fn save(k: &Kernel, container_id: &str, dir: &Path) -> Result<ImageStats, SaveError> {
    let host = k.host.as_ref().ok_or(SaveError::NoMemoryFile)?;
    let state = encode(k)?;
    let meta = Meta::new(container_id, KernelSummary::of(k));
    Ok(image::write(dir, &meta, &state, &host.mf, k.frames.top())?)
}

/// Checks the image in `path` (a directory or the image file) completely,
/// then loads its pages into `mf`, a fresh memory file, and returns its
/// metadata and its kernel, whose host resources the caller attaches.
pub fn load(path: &Path, mf: &MemoryFile) -> Result<(Meta, Kernel), ImageError> {
    image::read::read_kernel(path, mf)
}

/// [`load`] from an image already open as `file` (a descriptor handed to
/// a sandbox), in `mode`; `path` names it in errors. On an error `mf` may hold some
/// pages: it must be a fresh memory file that the caller then drops.
pub fn load_file(
    file: std::fs::File,
    path: &Path,
    mf: &mut MemoryFile,
    mode: image::LoadMode,
) -> Result<(Meta, Kernel), ImageError> {
    let image = image::Image::from_file(file, path.to_path_buf())?;
    image::read::load_kernel_with(image, mf, mode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn booted_kernel_round_trips() {
        let _one_platform = crate::sandbox::TEST_BOOT_LOCK
            .lock()
            .unwrap_or_else(|e| e.into_inner());
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

    #[test]
    fn booted_kernel_round_trips_through_an_image() {
        let _one_platform = crate::sandbox::TEST_BOOT_LOCK
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let cfg = Config {
            argv: vec!["/bin/true".into()],
            env: vec!["PATH=/bin".into()],
            ..Config::default()
        };
        let k = crate::sandbox::boot(&cfg).expect("boot /bin/true");
        let dir = std::env::temp_dir().join(format!("runsc-state-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let stats = save(&k, "booted", &dir).unwrap();
        assert!(stats.pages_saved > 0);

        let meta = image::verify(&dir).unwrap();
        assert_eq!(meta.container_id, "booted");
        assert_eq!(meta.kernel.tasks, 1);
        assert_eq!(meta.kernel.processes, 1);
        assert_eq!(meta.kernel.memory_bytes, k.frames.used());

        // Through the format's own entry point, then decoded.
        let mf = MemoryFile::new().unwrap();
        let (_, state) = image::read(&dir, &mf).unwrap();
        let back = decode(&state).unwrap();
        let original = encode(&k).unwrap();
        assert_eq!(encode(&back).unwrap(), original);

        // And through `load`: the same kernel, the same memory.
        let fresh = MemoryFile::new().unwrap();
        let (_, loaded) = load(&dir, &fresh).unwrap();
        assert_eq!(encode(&loaded).unwrap(), original);
        let old = &k.host.as_ref().unwrap().mf;
        let (mut a, mut b) = (vec![0u8; 4096], vec![0u8; 4096]);
        for (start, end) in old.data_ranges(k.frames.top()) {
            for off in (start..end).step_by(4096) {
                old.read(off, &mut a);
                fresh.read(off, &mut b);
                assert!(a == b, "page at {off:#x} differs");
                mf.read(off, &mut b);
                assert!(a == b, "page at {off:#x} differs");
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
