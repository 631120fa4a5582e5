//! The I/O floor of `npm run bench`.
//!
//! The same file work as baileys-auth-native's store on the bench's workloads,
//! with no JavaScript, no codec and no promise plumbing: the bytes to write
//! are given ready (the exact bytes our addon writes, from `--templates`), and
//! a read only reads the bytes (no parsing). What is left is the system calls
//! of our protocol and, in the threaded mode, handing the work to a pool:
//!
//! - read: `openat(O_RDONLY)`, `fstat`, `read` until 0, `close`; `ENOENT` is "missing";
//! - write: new temporary dot-file `.baileys-auth-tmp-<pid>-<n>` opened
//!   `O_CREAT|O_EXCL|O_NOFOLLOW` 0600, `fchmod` 0600, `write`, [`fsync`],
//!   `close`, `renameat` over the target; with fsync, one folder `fsync` per batch.
//!
//! Modes: `1` thread (everything on the main thread, no pool at all) and `N`
//! threads (a pool of N workers; each file goes to the worker picked by a hash
//! of its name, as in our scheduler; the main thread waits for the batch).
//! N defaults to our pool's size: `BAILEYS_AUTH_NATIVE_WORKERS`, else
//! `min(max(2 × cores, 4), 16)`.
//!
//! Usage: floor --base DIR --templates DIR [--workloads 1,2,3,4,5,6,9]
//!              [--fsync-workloads 1,3,6] [--threads N] [--modes 1,N]
//!              [--repeat R] [--w9-batches 100] [--w9-batch 1000] [--protocol atomic|inplace|exchange]
//!              [--keep-folders]
//! Prints one JSON object: {"threads":N,"cores":C,"results":[{"mode":"1t","fsync":false,"workload":1,"ms":..},..]}

mod sys;

use std::cell::RefCell;
use std::collections::hash_map::DefaultHasher;
use std::ffi::CString;
use std::hash::{Hash, Hasher};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Instant;

use sys::RawFd;

// The bench's data set; the JavaScript harness uses the same names (bench/workloads.mjs).
const PRE_KEYS: usize = 812;
const SESSIONS: usize = 500;
const MISSING: usize = 1000;
const SAVES: usize = 200;

fn pre_key_name(id: usize) -> String {
  format!("pre-key-{id}.json")
}
fn session_name(i: usize) -> String {
  format!("session-{}.0.json", 4915100000000u64 + i as u64)
}
fn missing_name(i: usize) -> String {
  format!("session-{}_1.0.json", 100000000000000u64 + i as u64)
}

fn cstrings(names: impl Iterator<Item = String>) -> Arc<Vec<CString>> {
  Arc::new(names.map(|n| CString::new(n).unwrap()).collect())
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);
static BYTES_READ: AtomicU64 = AtomicU64::new(0);

fn temp_name(pid: u32) -> CString {
  let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
  CString::new(format!(".baileys-auth-tmp-{pid}-{n}")).unwrap()
}

/// `--protocol inplace`: Baileys' protocol (Node's `writeFile`: truncate and
/// write in place, never fsynced) instead of ours, to tell the cost of the
/// protocol from the cost of the code. Not used by `npm run bench`.
static IN_PLACE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `--protocol exchange`: a proposal, not what our store does (not used by
/// `npm run bench`). Each thread keeps one temporary file and recycles it:
/// truncate and write it, then swap it with the target (`RENAME_EXCHANGE`),
/// so the temporary name now holds the old inode, which the next write
/// reuses. The target is old-or-new at every instant as with a rename, but an
/// overwrite allocates and frees no inode. A target that does not exist yet is
/// renamed onto as usual (the thread then makes a new temporary file).
static EXCHANGE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

thread_local! {
  static SPARE: RefCell<Option<CString>> = const { RefCell::new(None) };
}

fn write_exchange(dir: RawFd, pid: u32, target: &CString, bytes: &[u8], fsync: bool) {
  let spare = SPARE.with(|s| s.borrow_mut().take());
  let (tmp, fd) = match spare.and_then(|t| sys::open_rewrite(dir, &t).expect("open spare").map(|fd| (t, fd))) {
    Some(x) => x,
    None => {
      let t = temp_name(pid);
      let fd = sys::create_new(dir, &t).expect("create temp");
      (t, fd)
    }
  };
  sys::write_all(fd, bytes).expect("write");
  if fsync {
    sys::fsync_fd(fd).expect("fsync");
  }
  sys::close_fd(fd).expect("close");
  match sys::exchange_in(dir, &tmp, target) {
    Ok(()) => SPARE.with(|s| *s.borrow_mut() = Some(tmp)),
    Err(e) if e.raw_os_error() == Some(sys::ENOENT) => sys::rename_in(dir, &tmp, target).expect("rename"),
    Err(e) => panic!("exchange: {e}"),
  }
}

/// Our write protocol, one file.
fn write_atomic(dir: RawFd, pid: u32, target: &CString, bytes: &[u8], fsync: bool) {
  if EXCHANGE.load(Ordering::Relaxed) {
    return write_exchange(dir, pid, target, bytes, fsync);
  }
  if IN_PLACE.load(Ordering::Relaxed) {
    let fd = sys::open_trunc(dir, target).expect("open");
    sys::write_all(fd, bytes).expect("write");
    sys::close_fd(fd).expect("close");
    return;
  }
  let tmp = temp_name(pid);
  let fd = sys::create_new(dir, &tmp).expect("create temp");
  sys::write_all(fd, bytes).expect("write");
  if fsync {
    sys::fsync_fd(fd).expect("fsync");
  }
  sys::close_fd(fd).expect("close");
  sys::rename_in(dir, &tmp, target).expect("rename");
}

thread_local! {
  static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Our read, one file; returns the bytes read (0 for a missing file).
fn read_file(dir: RawFd, name: &CString) -> u64 {
  match sys::open_read(dir, name).expect("open") {
    None => 0,
    Some(fd) => BUF.with(|b| {
      let mut b = b.borrow_mut();
      sys::read_to_end(fd, &mut b).expect("read");
      sys::close_fd(fd).expect("close");
      b.len() as u64
    }),
  }
}

#[derive(Clone)]
enum Kind {
  Read,
  Write(Arc<Vec<u8>>),
}

fn run_one(dir: RawFd, pid: u32, kind: &Kind, name: &CString, fsync: bool) {
  match kind {
    Kind::Read => {
      let n = read_file(dir, name);
      BYTES_READ.fetch_add(n, Ordering::Relaxed);
    }
    Kind::Write(bytes) => write_atomic(dir, pid, name, bytes, fsync),
  }
}

type Job = Box<dyn FnOnce() + Send + 'static>;

/// N workers, each with its own queue, run in order (our scheduler's shape).
struct Pool {
  queues: Vec<mpsc::Sender<Job>>,
}

impl Pool {
  fn new(n: usize) -> Pool {
    let queues = (0..n)
      .map(|i| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
          .name(format!("floor-io-{i}"))
          .spawn(move || {
            while let Ok(job) = rx.recv() {
              job();
            }
          })
          .unwrap();
        tx
      })
      .collect();
    Pool { queues }
  }

  fn worker_for(&self, folder: &Path, name: &CString) -> usize {
    let mut h = DefaultHasher::new();
    folder.hash(&mut h);
    name.as_bytes().hash(&mut h);
    (h.finish() % self.queues.len() as u64) as usize
  }
}

/// Where a batch runs.
enum Exec<'a> {
  Inline,
  Pool(&'a Pool),
}

struct Folder {
  path: PathBuf,
  fd: RawFd,
}

impl Folder {
  fn fresh(base: &Path, seq: &mut u32) -> Folder {
    *seq += 1;
    let path = base.join(format!("floor-{}-{}", sys::pid(), seq));
    let _ = std::fs::remove_dir_all(&path);
    std::fs::create_dir_all(&path).expect("mkdir");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).unwrap();
    let c = CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    let fd = sys::open_dir(&c).expect("open folder");
    Folder { path, fd }
  }
}

impl Drop for Folder {
  fn drop(&mut self) {
    let _ = sys::close_fd(self.fd);
    // Removed at exit (unless --keep-folders), not now: on ext4 without a
    // journal, inode allocation skips inodes deleted in the last minutes, so
    // deleting here would slow down the next mode's writes (see bench/README.md).
    REMOVE_AT_EXIT.lock().unwrap().push(self.path.clone());
  }
}

static REMOVE_AT_EXIT: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// One batch (one `get` or one `set` call): every name, then, with fsync,
/// one folder fsync. Returns when all is done.
fn batch(exec: &Exec, folder: &Folder, names: &Arc<Vec<CString>>, range: std::ops::Range<usize>, kind: &Kind, fsync: bool) {
  let pid = sys::pid();
  let dir = folder.fd;
  match exec {
    Exec::Inline => {
      for name in &names[range] {
        run_one(dir, pid, kind, name, fsync);
      }
    }
    Exec::Pool(pool) => {
      let n = pool.queues.len();
      let mut parts: Vec<Vec<usize>> = vec![Vec::new(); n];
      for i in range {
        parts[pool.worker_for(&folder.path, &names[i])].push(i);
      }
      let (done_tx, done_rx) = mpsc::channel::<()>();
      let mut busy = 0;
      for (w, part) in parts.into_iter().enumerate() {
        if part.is_empty() {
          continue;
        }
        busy += 1;
        let names = names.clone();
        let kind = kind.clone();
        let done = done_tx.clone();
        pool.queues[w]
          .send(Box::new(move || {
            for i in part {
              run_one(dir, pid, &kind, &names[i], fsync);
            }
            let _ = done.send(());
          }))
          .unwrap();
      }
      for _ in 0..busy {
        done_rx.recv().unwrap();
      }
    }
  }
  if fsync && matches!(kind, Kind::Write(_)) {
    sys::fsync_fd(dir).expect("fsync folder");
  }
}

fn ms(t: Instant) -> f64 {
  t.elapsed().as_secs_f64() * 1000.0
}

struct Templates {
  pre_key: Kind,
  session: Kind,
  creds: Kind,
  w9: Kind,
}

fn load_templates(dir: &Path) -> Templates {
  let read = |name: &str| Kind::Write(Arc::new(std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("template {name}: {e}"))));
  Templates { pre_key: read("pre-key.json"), session: read("session.json"), creds: read("creds.json"), w9: read("w9.json") }
}

struct Args {
  base: PathBuf,
  templates: PathBuf,
  workloads: Vec<u32>,
  fsync_workloads: Vec<u32>,
  threads: usize,
  modes: Vec<String>,
  repeat: usize,
  w9_batches: usize,
  w9_batch: usize,
  keep_folders: bool,
}

fn default_threads() -> usize {
  if let Some(n) = std::env::var("BAILEYS_AUTH_NATIVE_WORKERS").ok().and_then(|v| v.parse::<usize>().ok()) {
    return n.clamp(1, 256);
  }
  let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
  (cores * 2).clamp(4, 16)
}

fn list(s: &str) -> Vec<u32> {
  s.split(',').filter(|x| !x.is_empty()).map(|x| x.trim().parse().expect("a number list")).collect()
}

fn parse_args() -> Args {
  let mut a = Args {
    base: std::env::temp_dir(),
    templates: PathBuf::new(),
    workloads: vec![1, 2, 3, 4, 5, 6, 9],
    fsync_workloads: vec![1, 3, 6],
    threads: default_threads(),
    modes: vec!["1".into(), "N".into()],
    repeat: 1,
    w9_batches: 100,
    w9_batch: 1000,
    keep_folders: false,
  };
  let mut it = std::env::args().skip(1);
  while let Some(flag) = it.next() {
    let mut val = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
    match flag.as_str() {
      "--base" => a.base = PathBuf::from(val()),
      "--templates" => a.templates = PathBuf::from(val()),
      "--workloads" => a.workloads = list(&val()),
      "--fsync-workloads" => a.fsync_workloads = list(&val()),
      "--threads" => a.threads = val().parse().expect("--threads N"),
      "--modes" => a.modes = val().split(',').map(str::to_owned).collect(),
      "--repeat" => a.repeat = val().parse().expect("--repeat R"),
      "--w9-batches" => a.w9_batches = val().parse().unwrap(),
      "--w9-batch" => a.w9_batch = val().parse().unwrap(),
      "--keep-folders" => a.keep_folders = true,
      "--protocol" => match val().as_str() {
        "atomic" => {}
        "inplace" => IN_PLACE.store(true, Ordering::Relaxed),
        "exchange" => EXCHANGE.store(true, Ordering::Relaxed),
        other => panic!("--protocol atomic|inplace|exchange, not {other}"),
      },
      other => panic!("unknown option {other}"),
    }
  }
  a
}

struct Result1 {
  mode: String,
  fsync: bool,
  workload: u32,
  ms: f64,
}

fn run_mode(args: &Args, t: &Templates, exec: &Exec, mode: &str, fsync: bool, out: &mut Vec<Result1>, seq: &mut u32) {
  // As the harness does between implementations (not timed): start with nothing
  // dirty, so that a mode does not pay for the writeback (and, with `discard`,
  // the trims) of the folders the previous one wrote and removed.
  sys::sync_all();
  let wl: &[u32] = if fsync { &args.fsync_workloads } else { &args.workloads };
  let has = |w: u32| wl.contains(&w);
  let mut push = |workload: u32, ms: f64| out.push(Result1 { mode: mode.to_owned(), fsync, workload, ms });
  let pre_keys = cstrings((1..=PRE_KEYS).map(pre_key_name));
  let sessions = cstrings((0..SESSIONS).map(session_name));
  let missing = cstrings((0..MISSING).map(missing_name));
  let creds = cstrings(std::iter::once("creds.json".to_owned()));

  if [1, 2, 3, 4, 5, 6].iter().any(|&w| has(w)) {
    let folder = Folder::fresh(&args.base, seq);
    if has(1) || has(2) {
      let t0 = Instant::now();
      batch(exec, &folder, &pre_keys, 0..PRE_KEYS, &t.pre_key, fsync);
      if has(1) {
        push(1, ms(t0));
      }
    }
    if has(2) {
      let before = BYTES_READ.load(Ordering::Relaxed);
      let t0 = Instant::now();
      batch(exec, &folder, &pre_keys, 0..PRE_KEYS, &Kind::Read, false);
      push(2, ms(t0));
      assert!(BYTES_READ.load(Ordering::Relaxed) > before, "pre-keys were not read");
    }
    if has(3) || has(4) {
      // The sessions exist before the timed overwrite (prepared without fsync).
      batch(exec, &folder, &sessions, 0..SESSIONS, &t.session, false);
      if has(3) {
        let t0 = Instant::now();
        batch(exec, &folder, &sessions, 0..SESSIONS, &t.session, fsync);
        push(3, ms(t0));
      }
    }
    if has(4) {
      let t0 = Instant::now();
      batch(exec, &folder, &sessions, 0..SESSIONS, &Kind::Read, false);
      push(4, ms(t0));
    }
    if has(5) {
      let t0 = Instant::now();
      batch(exec, &folder, &missing, 0..MISSING, &Kind::Read, false);
      push(5, ms(t0));
    }
    if has(6) {
      let t0 = Instant::now();
      for _ in 0..SAVES {
        batch(exec, &folder, &creds, 0..1, &t.creds, fsync);
      }
      push(6, ms(t0));
    }
  }
  if has(9) {
    let folder = Folder::fresh(&args.base, seq);
    sys::sync_all();
    let total = args.w9_batches * args.w9_batch;
    let names = cstrings((1..=total).map(pre_key_name));
    let t0 = Instant::now();
    for b in 0..args.w9_batches {
      batch(exec, &folder, &names, b * args.w9_batch..(b + 1) * args.w9_batch, &t.w9, fsync);
    }
    push(9, ms(t0));
    // Removed at once, before anything syncs it: deleting files whose data
    // was never written back costs no discard (see bench/README.md).
    let path = folder.path.clone();
    drop(folder);
    REMOVE_AT_EXIT.lock().unwrap().retain(|p| p != &path);
    let _ = std::fs::remove_dir_all(&path);
  }
}

fn peak_rss_kib() -> u64 {
  std::fs::read_to_string("/proc/self/status")
    .ok()
    .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()))
    .unwrap_or(0)
}

fn main() {
  let args = parse_args();
  let t = load_templates(&args.templates);
  let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
  let pool = Pool::new(args.threads.max(1));
  let mut out = Vec::new();
  let mut seq = 0;
  for _ in 0..args.repeat {
    for mode in &args.modes {
      let (exec, label) = match mode.as_str() {
        "1" => (Exec::Inline, "1t".to_owned()),
        "N" => (Exec::Pool(&pool), format!("{}t", args.threads)),
        other => panic!("unknown mode {other} (1 or N)"),
      };
      run_mode(&args, &t, &exec, &label, false, &mut out, &mut seq);
      if !args.fsync_workloads.is_empty() {
        run_mode(&args, &t, &exec, &label, true, &mut out, &mut seq);
      }
    }
  }
  for p in REMOVE_AT_EXIT.lock().unwrap().drain(..) {
    if !args.keep_folders {
      let _ = std::fs::remove_dir_all(p);
    }
  }
  let results: Vec<String> = out
    .iter()
    .map(|r| format!("{{\"mode\":\"{}\",\"fsync\":{},\"workload\":{},\"ms\":{:.4}}}", r.mode, r.fsync, r.workload, r.ms))
    .collect();
  println!("{{\"threads\":{},\"cores\":{},\"peakRssKiB\":{},\"results\":[{}]}}", args.threads, cores, peak_rss_kib(), results.join(","));
}
