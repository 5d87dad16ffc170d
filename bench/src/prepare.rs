//! Everything made before the first run: the C workloads compiled with the
//! host's gcc, their data (a small file, a generated C project), and the
//! rootfs that containers run on.

use anyhow::{bail, Context as _};
use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::{Hash, Hasher};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

/// The workloads' shared header.
const HEADER: &str = include_str!("../workloads/bench.h");

/// Every C program of `bench/workloads/`, by the name of its binary.
pub const PROGRAMS: &[(&str, &str)] = &[
    ("probe", include_str!("../workloads/probe.c")),
    ("syscall", include_str!("../workloads/syscall.c")),
    ("getpid_libc", include_str!("../workloads/getpid_libc.c")),
    (
        "clock_gettime",
        include_str!("../workloads/clock_gettime.c"),
    ),
    ("open_read", include_str!("../workloads/open_read.c")),
    ("stat", include_str!("../workloads/stat.c")),
    ("getdents", include_str!("../workloads/getdents.c")),
    ("fork", include_str!("../workloads/fork.c")),
    ("fork_exec", include_str!("../workloads/fork_exec.c")),
    ("thread", include_str!("../workloads/thread.c")),
    (
        "pipe_throughput",
        include_str!("../workloads/pipe_throughput.c"),
    ),
    (
        "pipe_pingpong",
        include_str!("../workloads/pipe_pingpong.c"),
    ),
    (
        "tcp_throughput",
        include_str!("../workloads/tcp_throughput.c"),
    ),
    ("tcp_pingpong", include_str!("../workloads/tcp_pingpong.c")),
    ("page_fault", include_str!("../workloads/page_fault.c")),
    ("mmap_churn", include_str!("../workloads/mmap_churn.c")),
    ("checkpoint", include_str!("../workloads/checkpoint.c")),
];

const CFLAGS: &[&str] = &["-O2", "-Wall", "-static", "-pthread"];

/// Compiles every workload into `work/bin`, static, unless the binary of
/// the same source and flags is already there.
pub fn compile_workloads(work: &Path) -> anyhow::Result<()> {
    let src = work.join("src");
    let bin = work.join("bin");
    fs::create_dir_all(&src)?;
    fs::create_dir_all(&bin)?;
    fs::write(src.join("bench.h"), HEADER)?;
    let results: Vec<anyhow::Result<()>> = std::thread::scope(|scope| {
        let jobs: Vec<_> = PROGRAMS
            .iter()
            .map(|(name, text)| {
                let (src, bin) = (&src, &bin);
                scope.spawn(move || compile(src, bin, name, text))
            })
            .collect();
        jobs.into_iter()
            .map(|job| job.join().expect("a compile thread panicked"))
            .collect()
    });
    results.into_iter().collect()
}

fn compile(src: &Path, bin: &Path, name: &str, text: &str) -> anyhow::Result<()> {
    let mut hasher = DefaultHasher::new();
    (HEADER, text, CFLAGS).hash(&mut hasher);
    let stamp = format!("{:016x}", hasher.finish());
    let output = bin.join(name);
    let stamp_path = bin.join(format!(".{name}.stamp"));
    if output.exists() && fs::read_to_string(&stamp_path).is_ok_and(|s| s == stamp) {
        return Ok(());
    }
    let source = src.join(format!("{name}.c"));
    fs::write(&source, text)?;
    let done = Command::new("gcc")
        .args(CFLAGS)
        .arg("-o")
        .arg(&output)
        .arg(&source)
        .output()
        .context("cannot run gcc (apt-get install gcc libc6-dev)")?;
    if !done.status.success() {
        bail!(
            "gcc could not compile {name}.c:\n{}",
            String::from_utf8_lossy(&done.stderr)
        );
    }
    fs::write(&stamp_path, stamp)?;
    Ok(())
}

/// The small file of the open/read and stat workloads.
pub const SMALL_FILE: &str = "small.txt";
pub const SMALL_FILE_SIZE: usize = 1000;
/// The C project that `make -j2` builds.
pub const PROJECT: &str = "project";
/// How many C files the project has.
pub const PROJECT_FILES: usize = 20;

/// Byte `i` of the small file is `'a' + i % 26`, as `open_read.c` expects.
pub fn small_file_bytes() -> Vec<u8> {
    (0..SMALL_FILE_SIZE)
        .map(|i| b'a' + (i % 26) as u8)
        .collect()
}

/// Writes the workloads' data into `work/data`.
pub fn write_data(work: &Path) -> anyhow::Result<()> {
    let data = work.join("data");
    fs::create_dir_all(&data)?;
    fs::write(data.join(SMALL_FILE), small_file_bytes())?;
    let project = data.join(PROJECT);
    let _ = fs::remove_dir_all(&project);
    fs::create_dir_all(&project)?;
    for (name, text) in project_files() {
        fs::write(project.join(name), text)?;
    }
    Ok(())
}

/// The generated C project: `main.c` and files `f01.c`.. each with one
/// function, and a Makefile; the program prints [`project_answer`].
pub fn project_files() -> Vec<(String, String)> {
    let count = PROJECT_FILES - 1;
    let mut files = Vec::new();
    let mut main = String::from("#include <stdio.h>\n\n");
    for n in 1..=count {
        main.push_str(&format!("long f{n:02}(long limit);\n"));
        files.push((
            format!("f{n:02}.c"),
            format!(
                "long f{n:02}(long limit)\n{{\n\tlong sum = 0;\n\tfor (long k = 0; k <= limit; k++)\n\t\tsum += k * {n} % 7;\n\treturn sum;\n}}\n"
            ),
        ));
    }
    main.push_str("\nint main(void)\n{\n\tlong sum = 0;\n");
    for n in 1..=count {
        main.push_str(&format!("\tsum += f{n:02}(1000);\n"));
    }
    main.push_str("\tprintf(\"%ld\\n\", sum);\n\treturn 0;\n}\n");
    files.push(("main.c".to_string(), main));
    let objects: Vec<String> = files
        .iter()
        .map(|(name, _)| name.replace(".c", ".o"))
        .collect();
    let makefile = format!(
        "CC = gcc\nCFLAGS = -O2\nOBJS = {}\n\nprog: $(OBJS)\n\t$(CC) -o $@ $(OBJS)\n\n%.o: %.c\n\t$(CC) $(CFLAGS) -c -o $@ $<\n",
        objects.join(" ")
    );
    files.push(("Makefile".to_string(), makefile));
    files
}

/// What the project's program prints.
pub fn project_answer() -> i64 {
    let count = PROJECT_FILES as i64 - 1;
    (1..=count)
        .map(|n| (0..=1000i64).map(|k| k * n % 7).sum::<i64>())
        .sum()
}

/// The top-level host directories that containers need for dynamic
/// programs.
const HOST_DIRS: &[&str] = &["bin", "lib", "lib64", "sbin", "usr"];
/// Host files copied into the rootfs's /etc.
const ETC_FILES: &[&str] = &["ld.so.cache", "passwd", "group", "nsswitch.conf"];

/// Builds the container rootfs at `rootfs`: the compiled workloads and
/// their data under /bench, mount points, the host's top-level links
/// (/bin -> usr/bin on a merged-/usr system), a few files of /etc. Returns
/// the host directories to bind-mount read-only at the same place.
pub fn build_rootfs(work: &Path, rootfs: &Path) -> anyhow::Result<Vec<String>> {
    let _ = fs::remove_dir_all(rootfs);
    for dir in ["proc", "dev", "sys", "tmp", "etc", "root", "bench"] {
        fs::create_dir_all(rootfs.join(dir))?;
    }
    fs::set_permissions(rootfs.join("tmp"), fs::Permissions::from_mode(0o1777))?;
    copy_tree(&work.join("bin"), &rootfs.join("bench/bin"))?;
    copy_tree(&work.join("data"), &rootfs.join("bench/data"))?;
    for name in ETC_FILES {
        let host = Path::new("/etc").join(name);
        if host.is_file() {
            fs::copy(&host, rootfs.join("etc").join(name))?;
        }
    }
    let mut binds = Vec::new();
    for dir in HOST_DIRS {
        let host = Path::new("/").join(dir);
        let Ok(meta) = fs::symlink_metadata(&host) else {
            continue;
        };
        if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&host)?, rootfs.join(dir))?;
        } else if meta.is_dir() {
            fs::create_dir_all(rootfs.join(dir))?;
            binds.push(host.display().to_string());
        }
    }
    Ok(binds)
}

/// Copies the regular files and directories under `from` to `to`, with
/// their permissions; dot files (the compile stamps) are left out.
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        } else if kind.is_file() {
            fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_project_has_twenty_c_files_and_a_makefile() {
        let files = project_files();
        let c_files = files
            .iter()
            .filter(|(name, _)| name.ends_with(".c"))
            .count();
        assert_eq!(c_files, PROJECT_FILES);
        let (_, makefile) = files.iter().find(|(name, _)| name == "Makefile").unwrap();
        assert!(makefile.contains("main.o") && makefile.contains("f19.o"));
        assert!(makefile.contains("\n\t$(CC)"), "recipes start with a tab");
    }

    #[test]
    fn the_small_file_follows_its_pattern() {
        let bytes = small_file_bytes();
        assert_eq!(bytes.len(), SMALL_FILE_SIZE);
        assert_eq!(&bytes[..3], b"abc");
        assert_eq!(bytes[26], b'a');
    }
}
