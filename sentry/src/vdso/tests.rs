//! Tests of the built vDSO image: its ELF structure as a dynamic loader
//! sees it, the data page's layout, and its code run in this process.

use super::*;
use std::collections::BTreeMap;

fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes(b[off..off + 2].try_into().unwrap())
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
}

fn cstr(b: &[u8], off: usize) -> String {
    let end = b[off..].iter().position(|&c| c == 0).unwrap() + off;
    String::from_utf8(b[off..end].to_vec()).unwrap()
}

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const DT_NEEDED: u64 = 1;
const DT_HASH: u64 = 4;
const DT_STRTAB: u64 = 5;
const DT_SYMTAB: u64 = 6;
const DT_RELA: u64 = 7;
const DT_SONAME: u64 = 14;
const DT_REL: u64 = 17;
const DT_TEXTREL: u64 = 22;
const DT_JMPREL: u64 = 23;
const DT_RELR: u64 = 36;
const DT_GNU_HASH: u64 = 0x6fff_fef5;
const DT_VERSYM: u64 = 0x6fff_fff0;
const DT_VERDEF: u64 = 0x6fff_fffc;

/// What a dynamic loader reads of the image.
struct Parsed {
    loads: Vec<(u32, u64, u64, u64, u64)>, // flags, offset, vaddr, filesz, memsz
    dynamic: BTreeMap<u64, u64>,
    /// name -> (version, value, info, section)
    symbols: BTreeMap<String, (String, u64, u8, u16)>,
}

fn parse(img: &[u8]) -> Parsed {
    assert_eq!(&img[..4], b"\x7fELF", "ELF magic");
    assert_eq!(img[4], 2, "64-bit");
    assert_eq!(img[5], 1, "little endian");
    assert_eq!(u16_at(img, 16), 3, "ET_DYN");
    assert_eq!(u16_at(img, 18), 62, "x86-64");
    let phoff = u64_at(img, 32) as usize;
    let phentsize = u16_at(img, 54) as usize;
    let phnum = u16_at(img, 56) as usize;
    let mut loads = Vec::new();
    let mut dynamic_at = None;
    for i in 0..phnum {
        let p = phoff + i * phentsize;
        let (ty, flags) = (u32_at(img, p), u32_at(img, p + 4));
        let (off, vaddr) = (u64_at(img, p + 8), u64_at(img, p + 16));
        let (filesz, memsz) = (u64_at(img, p + 32), u64_at(img, p + 40));
        match ty {
            PT_LOAD => loads.push((flags, off, vaddr, filesz, memsz)),
            PT_DYNAMIC => dynamic_at = Some((off as usize, filesz as usize)),
            _ => {}
        }
    }
    let (doff, dlen) = dynamic_at.expect("a PT_DYNAMIC segment");
    let mut dynamic = BTreeMap::new();
    for e in (doff..doff + dlen).step_by(16) {
        let (tag, val) = (u64_at(img, e), u64_at(img, e + 8));
        if tag == 0 {
            break;
        }
        assert!(
            dynamic.insert(tag, val).is_none(),
            "dynamic tag {tag:#x} twice"
        );
    }
    // Addresses equal file offsets: the one segment starts at 0 in both.
    let strtab = dynamic[&DT_STRTAB] as usize;
    let symtab = dynamic[&DT_SYMTAB] as usize;
    let versym = dynamic[&DT_VERSYM] as usize;
    let nsyms = u32_at(img, dynamic[&DT_HASH] as usize + 4) as usize;
    // Version definitions: index -> name.
    let mut versions = BTreeMap::new();
    let mut vd = dynamic[&DT_VERDEF] as usize;
    loop {
        let ndx = u16_at(img, vd + 4);
        let aux = vd + u32_at(img, vd + 12) as usize;
        versions.insert(ndx, cstr(img, strtab + u32_at(img, aux) as usize));
        let next = u32_at(img, vd + 16) as usize;
        if next == 0 {
            break;
        }
        vd += next;
    }
    let mut symbols = BTreeMap::new();
    for i in 1..nsyms {
        let s = symtab + i * 24;
        let name = cstr(img, strtab + u32_at(img, s) as usize);
        let info = img[s + 4];
        let shndx = u16_at(img, s + 6);
        let value = u64_at(img, s + 8);
        let ver = versions
            .get(&(u16_at(img, versym + 2 * i) & 0x7fff))
            .cloned()
            .unwrap_or_default();
        symbols.insert(name, (ver, value, info, shndx));
    }
    Parsed {
        loads,
        dynamic,
        symbols,
    }
}

#[test]
fn image_is_a_loadable_vdso() {
    let p = parse(IMAGE);
    // One read+execute segment from the start of the file, nothing
    // writable, nothing past the file.
    assert_eq!(p.loads.len(), 1, "one PT_LOAD: {:?}", p.loads);
    let (flags, off, vaddr, filesz, memsz) = p.loads[0];
    assert_eq!(flags, 5, "PF_R|PF_X");
    assert_eq!((off, vaddr), (0, 0));
    assert_eq!(filesz, memsz, "no bss");
    assert!(filesz <= IMAGE.len() as u64);
    // No loader work: no relocations, no libraries.
    for tag in [DT_RELA, DT_REL, DT_JMPREL, DT_TEXTREL, DT_RELR, DT_NEEDED] {
        assert!(!p.dynamic.contains_key(&tag), "dynamic tag {tag:#x}");
    }
    assert!(p.dynamic.contains_key(&DT_GNU_HASH), "both hash styles");
    let soname = cstr(
        IMAGE,
        (p.dynamic[&DT_STRTAB] + p.dynamic[&DT_SONAME]) as usize,
    );
    assert_eq!(soname, "linux-vdso.so.1");
    for name in [
        "__vdso_clock_gettime",
        "__vdso_gettimeofday",
        "__vdso_time",
        "__vdso_getcpu",
        "clock_gettime",
        "gettimeofday",
        "time",
        "getcpu",
    ] {
        let (ver, value, info, shndx) = p.symbols.get(name).unwrap_or_else(|| panic!("{name}"));
        assert_eq!(ver, "LINUX_2.6", "{name}'s version");
        assert_eq!(info & 0xf, 2, "{name} is a function");
        assert_ne!(*shndx, 0, "{name} is defined");
        assert!(*value > 0 && *value < filesz, "{name} inside the image");
        let bind = info >> 4;
        if name.starts_with("__vdso_") {
            assert_eq!(bind, 1, "{name} is global");
        } else {
            assert_eq!(bind, 2, "{name} is weak");
            let target = &p.symbols[&format!("__vdso_{name}")];
            assert_eq!(target.1, *value, "{name} aliases __vdso_{name}");
        }
    }
    // Nothing else is exported.
    let exported: Vec<&String> = p
        .symbols
        .iter()
        .filter(|(_, (ver, _, _, shndx))| ver == "LINUX_2.6" && *shndx != 0xfff1)
        .map(|(n, _)| n)
        .collect();
    assert_eq!(exported.len(), 8, "{exported:?}");
}

#[test]
fn objects_hold_image_and_data_page() {
    let mf = MemoryFile::new().expect("memory file");
    let mut frames = FrameAllocator::default();
    let mut objects = MemObjects::default();
    let v = create_objects(&mut objects, &mut frames, &mf).expect("objects");
    assert!(holds_this_image(&objects, v.image, &mf));
    assert!(!holds_this_image(&objects, v.data, &mf));
    assert_eq!(objects.get(v.data).map(|o| o.size), Some(PAGE_SIZE));
    let frame = objects.lookup(v.data, 0).expect("data page");
    let page = DataPage { mf: &mf, frame };
    assert_eq!(page.read_u32(field::SEQ), 0);
    assert_eq!(page.read_u32(field::MODE), MODE_SYSCALL);
    let p = Params {
        tsc_base: 1,
        mono_base: 2,
        wall_offset: 3,
        mult: 4,
    };
    let seq = page.begin();
    assert_eq!(seq % 2, 1);
    page.finish(seq, Some(&p));
    let mut b = [0u8; 48];
    mf.read(frame, &mut b);
    assert_eq!(u32_at(&b, field::SEQ as usize), 2);
    assert_eq!(u32_at(&b, field::MODE as usize), MODE_TSC);
    assert_eq!(u64_at(&b, field::TSC_BASE as usize), 1);
    assert_eq!(u64_at(&b, field::MONO_BASE as usize), 2);
    assert_eq!(u64_at(&b, field::WALL_OFFSET as usize), 3);
    assert_eq!(u64_at(&b, field::MULT as usize), 4);
    assert_eq!(u32_at(&b, field::SHIFT as usize), tsc::SHIFT);
    // A counter left odd (a writer stopped in the middle) stays a change.
    page.write_u32(field::SEQ, 7);
    let seq = page.begin();
    assert_eq!(seq, 9);
    page.finish(seq, None);
    assert_eq!(page.read_u32(field::SEQ), 10);
    assert_eq!(page.read_u32(field::MODE), MODE_SYSCALL);
    // Another build's image is noticed.
    objects.write(v.image, 100, b"x", &mut frames, &mf);
    assert!(!holds_this_image(&objects, v.image, &mf));
}

/// The image and a data page mapped into this process, as the loader
/// lays them out.
struct Mapped {
    base: *mut u8,
    len: usize,
}

impl Mapped {
    fn new() -> Mapped {
        let len = ((VVAR_PAGES + image_pages()) * PAGE_SIZE) as usize;
        // SAFETY: a fresh anonymous mapping placed by the host.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(base, libc::MAP_FAILED);
        let base = base as *mut u8;
        let image = (VVAR_PAGES * PAGE_SIZE) as usize;
        // SAFETY: the image fits in the mapping after the data page; then
        // the image's pages become read+execute, like in the sandbox.
        unsafe {
            std::ptr::copy_nonoverlapping(IMAGE.as_ptr(), base.add(image), IMAGE.len());
            assert_eq!(
                libc::mprotect(
                    base.add(image) as *mut libc::c_void,
                    len - image,
                    libc::PROT_READ | libc::PROT_EXEC,
                ),
                0
            );
        }
        Mapped { base, len }
    }

    fn publish(&self, params: Option<&Params>) {
        let mut b = [0u8; 48];
        if let Some(p) = params {
            b[field::TSC_BASE as usize..][..8].copy_from_slice(&p.tsc_base.to_le_bytes());
            b[field::MONO_BASE as usize..][..8].copy_from_slice(&p.mono_base.to_le_bytes());
            b[field::WALL_OFFSET as usize..][..8].copy_from_slice(&p.wall_offset.to_le_bytes());
            b[field::MULT as usize..][..8].copy_from_slice(&p.mult.to_le_bytes());
            b[field::SHIFT as usize..][..4].copy_from_slice(&tsc::SHIFT.to_le_bytes());
            b[field::MODE as usize..][..4].copy_from_slice(&MODE_TSC.to_le_bytes());
        }
        // SAFETY: the data page is ours and writable; nothing reads it
        // concurrently in this test.
        unsafe { std::ptr::copy_nonoverlapping(b.as_ptr(), self.base, b.len()) };
    }

    /// The address of exported function `name`.
    fn symbol(&self, name: &str) -> usize {
        let value = parse(IMAGE).symbols[name].1;
        self.base as usize + (VVAR_PAGES * PAGE_SIZE + value) as usize
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        // SAFETY: unmapping our own mapping; no reference into it remains.
        unsafe { libc::munmap(self.base as *mut libc::c_void, self.len) };
    }
}

type ClockGettime = unsafe extern "C" fn(libc::clockid_t, *mut libc::timespec) -> libc::c_int;
type Gettimeofday = unsafe extern "C" fn(*mut libc::timeval, *mut libc::c_void) -> libc::c_int;
type Time = unsafe extern "C" fn(*mut libc::time_t) -> libc::time_t;
type Getcpu = unsafe extern "C" fn(*mut u32, *mut u32, *mut libc::c_void) -> libc::c_long;

fn ns(ts: &libc::timespec) -> u64 {
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn host(id: libc::clockid_t) -> u64 {
    crate::kernel::time::host_clock(id)
}

/// The vDSO's code, run here: with the page in system call mode it gives
/// the host's time (through the real system call); with this machine's
/// TSC parameters it gives the same time without one, and never goes back.
#[test]
fn code_runs_and_agrees_with_the_host() {
    let m = Mapped::new();
    // SAFETY: the addresses are those of the exported functions in the
    // mapped image, with the C signatures they are declared with.
    let (clock_gettime, gettimeofday, time, getcpu) = unsafe {
        (
            std::mem::transmute::<usize, ClockGettime>(m.symbol("__vdso_clock_gettime")),
            std::mem::transmute::<usize, Gettimeofday>(m.symbol("__vdso_gettimeofday")),
            std::mem::transmute::<usize, Time>(m.symbol("__vdso_time")),
            std::mem::transmute::<usize, Getcpu>(m.symbol("__vdso_getcpu")),
        )
    };
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let check = |ts: &mut libc::timespec| {
        for (id, tolerance) in [
            (libc::CLOCK_MONOTONIC, 5_000_000),
            (libc::CLOCK_REALTIME, 5_000_000),
            (libc::CLOCK_BOOTTIME, u64::MAX),
        ] {
            let before = host(libc::CLOCK_MONOTONIC);
            // SAFETY: a valid timespec pointer.
            assert_eq!(unsafe { clock_gettime(id, ts) }, 0);
            let want = if id == libc::CLOCK_REALTIME {
                host(libc::CLOCK_REALTIME)
            } else {
                before
            };
            if tolerance != u64::MAX {
                assert!(ns(ts).abs_diff(want) < tolerance, "clock {id}");
            }
        }
        // An unknown clock is the system call's business: EINVAL.
        // SAFETY: as above.
        assert_eq!(unsafe { clock_gettime(12345, ts) }, -libc::EINVAL);
        let mut tv = libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        };
        // SAFETY: valid pointers (or null where allowed).
        unsafe {
            assert_eq!(gettimeofday(&mut tv, std::ptr::null_mut()), 0);
            let now = host(libc::CLOCK_REALTIME) / 1000;
            let got = tv.tv_sec as u64 * 1_000_000 + tv.tv_usec as u64;
            assert!(got.abs_diff(now) < 5_000);
            let mut t: libc::time_t = 0;
            let r = time(&mut t);
            assert_eq!(r, t);
            assert!((r as u64).abs_diff(host(libc::CLOCK_REALTIME) / 1_000_000_000) <= 1);
            let (mut cpu, mut node) = (7u32, 7u32);
            assert_eq!(getcpu(&mut cpu, &mut node, std::ptr::null_mut()), 0);
            assert_eq!((cpu, node), (0, 0));
        }
    };
    m.publish(None);
    check(&mut ts);

    let mut tk = Timekeeper::start();
    let mut offset = 0;
    std::thread::sleep(std::time::Duration::from_nanos(tsc::CALIBRATION));
    tk.update(&mut offset);
    let Some(p) = tk.params().copied() else {
        eprintln!("no usable TSC here; the TSC path is not tested");
        return;
    };
    m.publish(Some(&p));
    check(&mut ts);
    let mut last = 0;
    for _ in 0..100_000 {
        // SAFETY: as above.
        assert_eq!(unsafe { clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) }, 0);
        assert!(ns(&ts) >= last);
        last = ns(&ts);
    }
    // The vDSO computes exactly what the sentry's clock does.
    let tsc_before = tsc::rdtsc();
    // SAFETY: as above.
    unsafe { clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    let tsc_after = tsc::rdtsc();
    assert!(p.mono_at(tsc_before) <= ns(&ts) && ns(&ts) <= p.mono_at(tsc_after));
}

/// A program that reads `CLOCK_MONOTONIC` for 600 ms of its own time,
/// alternately through the vDSO and the system call, and exits 7 if it
/// never went back (1 if it did).
const MIXED_CLOCK_PROGRAM: &str = r#"
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
static long long ns(struct timespec *t) { return t->tv_sec * 1000000000LL + t->tv_nsec; }
int main(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	long long prev = ns(&t), end = prev + 600000000LL;
	for (long i = 0; prev < end; i++) {
		if (i & 1)
			syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &t);
		else
			clock_gettime(CLOCK_MONOTONIC, &t);
		if (ns(&t) < prev)
			return 1;
		prev = ns(&t);
	}
	return 7;
}
"#;

fn compile(dir: &std::path::Path, src: &str) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let c = dir.join("prog.c");
    std::fs::write(&c, src).unwrap();
    let bin = dir.join("prog");
    let st = std::process::Command::new("gcc")
        .arg("-O1")
        .arg("-o")
        .arg(&bin)
        .arg(&c)
        .status()
        .expect("gcc");
    assert!(st.success());
    bin.display().to_string()
}

fn data_mode(k: &Kernel, object: MemObjectId) -> u32 {
    let frame = k.objects.lookup(object, 0).expect("data page");
    let page = DataPage {
        mf: &k.host.as_ref().expect("host").mf,
        frame,
    };
    page.read_u32(field::MODE)
}

/// Checkpoint and restore in the middle of a program that mixes vDSO and
/// system call reads of monotonic time: time goes on from where it was,
/// and the vDSO uses the TSC again after the restore. With `foreign`, the
/// saved vDSO object is made to look like another build's: the restored
/// program's vDSO then makes system calls, and new programs get a new one.
fn checkpoint_in_the_middle(foreign: bool) {
    let _one_platform = crate::sandbox::TEST_BOOT_LOCK
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    // Beside the test binary: the sandbox's /tmp is its own.
    let exe = std::env::current_exe().expect("test binary");
    let dir = exe
        .parent()
        .expect("a directory")
        .join(format!("vdso-ckpt-{}-{foreign}", std::process::id()));
    let prog = compile(&dir, MIXED_CLOCK_PROGRAM);
    let cfg = crate::config::Config {
        argv: vec![prog],
        env: vec!["PATH=/usr/bin:/bin".into()],
        ..crate::config::Config::default()
    };
    let mut k = crate::sandbox::boot(&cfg).expect("boot");
    let stop = std::time::Instant::now() + std::time::Duration::from_millis(250);
    let done = k.run_until(Some(stop)).expect("run");
    assert!(done.is_none(), "the program ended before the checkpoint");
    k.quiesce().expect("quiesce");
    let old = k.clock.vdso.expect("a vDSO");
    if k.clock.tsc.params().is_some() {
        assert_eq!(data_mode(&k, old.data), MODE_TSC);
    }
    let before = k.clock.monotonic();
    if foreign {
        // A byte of the ELF header's padding: harmless to run, but not
        // this build's image.
        let mf = &k.host.as_ref().unwrap().mf;
        k.objects.write(old.image, 12, b"x", &mut k.frames, mf);
    }
    let image_dir = dir.join("image");
    std::fs::create_dir_all(&image_dir).unwrap();
    crate::state::save(&k, "test", &image_dir).expect("save");
    drop(k);
    std::thread::sleep(std::time::Duration::from_millis(100));
    let mut k =
        crate::sandbox::restore(&image_dir, crate::PlatformKind::default()).expect("restore");
    let after = k.clock.monotonic();
    assert!(after >= before, "monotonic went back over the restore");
    assert!(
        after - before < 50_000_000,
        "monotonic jumped by {} ns over the restore",
        after - before
    );
    let v = k.clock.vdso.expect("a vDSO");
    assert_eq!((v.data, v.image), (old.data, old.image));
    assert_eq!(v.current, !foreign);
    if foreign {
        assert_eq!(data_mode(&k, old.data), MODE_SYSCALL);
        let new = k.vdso_object().expect("new vDSO objects");
        assert!(new.data != old.data && new.image != old.image);
        assert!(
            k.objects.get(old.data).is_some() && k.objects.get(old.image).is_some(),
            "still mapped by the program"
        );
        assert_eq!(data_mode(&k, old.data), MODE_SYSCALL);
        if k.clock.tsc.params().is_some() {
            assert_eq!(data_mode(&k, new.data), MODE_TSC);
        }
    } else if tsc::tsc_usable() {
        assert!(k.clock.tsc.params().is_some(), "calibrated again");
        assert_eq!(data_mode(&k, old.data), MODE_TSC);
    }
    let status = k.run().expect("run after restore");
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(status, crate::kernel::task::ExitStatus::Exited(7));
}

#[test]
fn monotonic_time_continues_across_checkpoint_and_restore() {
    checkpoint_in_the_middle(false);
}

#[test]
fn another_builds_vdso_makes_system_calls_after_restore() {
    checkpoint_in_the_middle(true);
}
