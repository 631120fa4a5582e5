//! The worker pool that does all file I/O, off the JavaScript thread.
//!
//! Every file is owned by one worker, chosen by a hash of its folder and name,
//! and each worker runs its queue in order. Work is queued at the moment the
//! JavaScript call is made, so operations on one file run in the order they
//! were issued, across calls and across every store open on that folder in the
//! process, without a lock per file: that is Baileys' per-path mutex, by
//! construction. A call's operations are split by worker and run in parallel;
//! at most one file per worker is open at a time, so a `get` of 10,000 ids
//! never runs out of file descriptors.

use std::collections::hash_map::DefaultHasher;
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::{Condvar, Mutex};

type Task = Box<dyn FnOnce() + Send + 'static>;

struct Queue {
  tasks: Mutex<VecDeque<Task>>,
  ready: Condvar,
}

pub struct Scheduler {
  queues: Vec<Arc<Queue>>,
}

/// Default number of workers. File I/O on a local disk is short system calls
/// and, for writes, waits on the disk: a few more workers than cores keep the
/// cores busy without a crowd. `BAILEYS_AUTH_NATIVE_WORKERS` overrides it.
fn default_workers() -> usize {
  if let Some(n) = std::env::var("BAILEYS_AUTH_NATIVE_WORKERS").ok().and_then(|v| v.parse::<usize>().ok()) {
    return n.clamp(1, 256);
  }
  let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
  (cores * 2).clamp(4, 16)
}

/// The process's pool, started on first use.
///
/// A pool that could start only some of its threads keeps those (fewer
/// lanes, same guarantees); one that could start none is an error, cached
/// nowhere, so a later call tries again. Never a panic, and never a second
/// pool beside threads already running: a start that fails has started no
/// thread (see [`Scheduler::start`]).
pub fn global() -> std::io::Result<&'static Scheduler> {
  static GLOBAL: OnceLock<Scheduler> = OnceLock::new();
  static STARTING: Mutex<()> = Mutex::new(());
  if let Some(s) = GLOBAL.get() {
    return Ok(s);
  }
  let _one_at_a_time = STARTING.lock();
  if let Some(s) = GLOBAL.get() {
    return Ok(s);
  }
  let started = Scheduler::start(default_workers())?;
  Ok(GLOBAL.get_or_init(|| started))
}

impl Scheduler {
  /// Starts up to `workers` threads. When a spawn fails after some threads
  /// started, the pool keeps the lanes it has; when the very first one fails,
  /// the error is returned.
  pub fn start(workers: usize) -> std::io::Result<Scheduler> {
    Self::start_with(workers, |name, body| std::thread::Builder::new().name(name).spawn(body).map(drop))
  }

  fn start_with(
    workers: usize,
    mut spawn: impl FnMut(String, Box<dyn FnOnce() + Send>) -> std::io::Result<()>,
  ) -> std::io::Result<Scheduler> {
    let mut queues: Vec<Arc<Queue>> = Vec::with_capacity(workers.max(1));
    for i in 0..workers.max(1) {
      let q = Arc::new(Queue { tasks: Mutex::new(VecDeque::new()), ready: Condvar::new() });
      let worker_queue = q.clone();
      match spawn(format!("baileys-auth-io-{i}"), Box::new(move || worker_loop(worker_queue))) {
        Ok(()) => queues.push(q),
        Err(e) if queues.is_empty() => return Err(e),
        Err(_) => break,
      }
    }
    Ok(Scheduler { queues })
  }

  pub fn workers(&self) -> usize {
    self.queues.len()
  }

  /// The worker that owns `name` in the folder whose canonical path is `folder`.
  pub fn worker_for(&self, folder: &Path, name: &str) -> usize {
    let mut h = DefaultHasher::new();
    folder.hash(&mut h);
    name.hash(&mut h);
    (h.finish() % self.queues.len() as u64) as usize
  }

  /// Queues a task on one worker, behind everything already queued there.
  pub fn submit(&self, worker: usize, task: impl FnOnce() + Send + 'static) {
    let q = &self.queues[worker];
    q.tasks.lock().push_back(Box::new(task));
    q.ready.notify_one();
  }

  /// Runs `ops` (each tagged with its worker) and calls `finish` once with
  /// every result, in the order of `ops`. Ops of one worker run in order on
  /// it; different workers run in parallel. A panic in `work` becomes
  /// `on_panic()` for that op, so `finish` is always called exactly once.
  pub fn run_batch<O, R>(
    &self,
    ops: Vec<(usize, O)>,
    work: impl Fn(O) -> R + Send + Sync + 'static,
    on_panic: impl Fn() -> R + Send + Sync + 'static,
    finish: impl FnOnce(Vec<R>) + Send + 'static,
  ) where
    O: Send + 'static,
    R: Send + 'static,
  {
    if ops.is_empty() {
      // Still asynchronous: the caller's promise settles from a worker.
      self.submit(0, move || finish(Vec::new()));
      return;
    }
    let total = ops.len();
    let mut by_worker: Vec<Vec<(usize, O)>> = (0..self.queues.len()).map(|_| Vec::new()).collect();
    for (index, (worker, op)) in ops.into_iter().enumerate() {
      by_worker[worker].push((index, op));
    }
    let busy = by_worker.iter().filter(|v| !v.is_empty()).count();
    let batch = Arc::new(Batch {
      results: Mutex::new((0..total).map(|_| None).collect()),
      remaining: AtomicUsize::new(busy),
      finish: Mutex::new(Some(Box::new(finish))),
      work: Box::new(work),
      on_panic: Box::new(on_panic),
    });
    for (worker, ops) in by_worker.into_iter().enumerate() {
      if ops.is_empty() {
        continue;
      }
      let batch = batch.clone();
      self.submit(worker, move || batch.run_part(ops));
    }
  }
}

struct Batch<O, R> {
  results: Mutex<Vec<Option<R>>>,
  remaining: AtomicUsize,
  #[allow(clippy::type_complexity)]
  finish: Mutex<Option<Box<dyn FnOnce(Vec<R>) + Send>>>,
  work: Box<dyn Fn(O) -> R + Send + Sync>,
  on_panic: Box<dyn Fn() -> R + Send + Sync>,
}

impl<O, R> Batch<O, R> {
  fn run_part(&self, ops: Vec<(usize, O)>) {
    let mut done = Vec::with_capacity(ops.len());
    for (index, op) in ops {
      let r = catch_unwind(AssertUnwindSafe(|| (self.work)(op))).unwrap_or_else(|_| (self.on_panic)());
      done.push((index, r));
    }
    {
      let mut results = self.results.lock();
      for (index, r) in done {
        results[index] = Some(r);
      }
    }
    if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
      let results: Vec<R> = std::mem::take(&mut *self.results.lock()).into_iter().map(|r| r.unwrap_or_else(|| (self.on_panic)())).collect();
      if let Some(finish) = self.finish.lock().take() {
        // A panic in `finish` must not take the worker down with it.
        let _ = catch_unwind(AssertUnwindSafe(|| finish(results)));
      }
    }
  }
}

fn worker_loop(q: Arc<Queue>) {
  loop {
    let task = {
      let mut tasks = q.tasks.lock();
      loop {
        if let Some(t) = tasks.pop_front() {
          break t;
        }
        q.ready.wait(&mut tasks);
      }
    };
    // Tasks catch their own panics; this is the last line of defence so
    // that a worker never dies and strands the files it owns.
    let _ = catch_unwind(AssertUnwindSafe(task));
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::sync::mpsc;

  /// A spawner that starts real threads until the `fail_at`-th.
  fn failing_at(fail_at: usize) -> impl FnMut(String, Box<dyn FnOnce() + Send>) -> std::io::Result<()> {
    let mut n = 0;
    move |name, body| {
      n += 1;
      if n == fail_at {
        return Err(std::io::Error::new(std::io::ErrorKind::WouldBlock, "no more threads"));
      }
      std::thread::Builder::new().name(name).spawn(body).map(drop)
    }
  }

  #[test]
  fn a_pool_that_starts_some_threads_keeps_them_and_works() {
    let s = Scheduler::start_with(4, failing_at(3)).unwrap();
    assert_eq!(s.workers(), 2);
    let (tx, rx) = mpsc::channel();
    let ops: Vec<(usize, u32)> = (0..10).map(|i| (s.worker_for(Path::new("/f"), &i.to_string()), i)).collect();
    s.run_batch(ops, |x| x + 1, || 0, move |r| tx.send(r).unwrap());
    assert_eq!(rx.recv().unwrap(), (1..11).collect::<Vec<_>>());
  }

  #[test]
  fn a_pool_that_starts_no_thread_is_an_error_not_a_panic() {
    let e = Scheduler::start_with(4, failing_at(1)).err().expect("no pool");
    assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
  }

  #[test]
  fn results_come_back_in_op_order() {
    let s = Scheduler::start(4).unwrap();
    let (tx, rx) = mpsc::channel();
    let ops: Vec<(usize, u32)> = (0..1000).map(|i| ((i * 7 % 4) as usize, i)).collect();
    s.run_batch(ops, |x| x * 2, || u32::MAX, move |r| tx.send(r).unwrap());
    let r = rx.recv().unwrap();
    assert_eq!(r, (0..1000).map(|i| i * 2).collect::<Vec<_>>());
  }

  #[test]
  fn a_panicking_op_fails_alone() {
    let s = Scheduler::start(2).unwrap();
    let (tx, rx) = mpsc::channel();
    let ops = vec![(0, 1), (1, 0), (0, 3)];
    s.run_batch(ops, |x: i32| 10 / x, || -1, move |r| tx.send(r).unwrap());
    assert_eq!(rx.recv().unwrap(), vec![10, -1, 3]);
  }

  #[test]
  fn ops_on_one_worker_keep_their_order_across_batches() {
    let s = Scheduler::start(3).unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel();
    for i in 0..100 {
      let log = log.clone();
      let tx = tx.clone();
      s.run_batch(vec![(1usize, i)], move |x| log.lock().push(x), || (), move |_| tx.send(()).unwrap());
    }
    for _ in 0..100 {
      rx.recv().unwrap();
    }
    assert_eq!(*log.lock(), (0..100).collect::<Vec<_>>());
  }
}
