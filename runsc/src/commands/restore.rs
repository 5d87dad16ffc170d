//! `restore`: bring a container back from an image.

use super::{check_new_id, NotImplemented};
use crate::cli::restore::Restore;
use crate::cli::GlobalOpts;
use specutils::Bundle;

pub fn restore(global: &GlobalOpts, args: Restore) -> anyhow::Result<i32> {
    check_new_id(global, &args.container_id)?;
    Bundle::load(&args.bundle)?;
    if let Some(image) = &args.image_path {
        if !image.is_dir() {
            anyhow::bail!("image directory {} does not exist", image.display());
        }
    }
    Err(NotImplemented("restore").into())
}
