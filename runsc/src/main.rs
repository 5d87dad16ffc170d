//! `runsc`: the OCI runtime that runs containers on a user-space kernel.

fn main() {
    std::process::exit(runsc::runsc(std::env::args_os().collect()));
}
