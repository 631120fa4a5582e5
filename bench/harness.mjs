// What the bench's runners share (bench/run.mjs: the folder store;
// bench/sqlite.mjs: the SQLite backend): statistics and formatting, the
// floor's build, the scratch folder's housekeeping, and what the machine was
// doing during the run.
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const here = path.dirname(fileURLToPath(import.meta.url))
export const root = path.join(here, '..')
export const log = (...a) => console.error(...a)

// ---------------------------------------------------------------- the floor binaries
export const floorDir = path.join(here, 'floor')

function newest(dir) {
  let t = 0
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    t = Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs)
  }
  return t
}

/**
 * Builds a binary of bench/floor when it is missing or older than its
 * sources, and returns its path. `features`: cargo features it needs (the
 * SQLite floor: `['sqlite']`, which compiles the bundled SQLite, about a
 * minute the first time).
 */
export function ensureFloor(bin = 'floor', features = []) {
  const binPath = path.join(floorDir, 'target', 'release', bin)
  const sources = Math.max(newest(path.join(floorDir, 'src')), fs.statSync(path.join(floorDir, 'Cargo.toml')).mtimeMs)
  if (!fs.existsSync(binPath) || fs.statSync(binPath).mtimeMs < sources) {
    const args = ['build', '--release', '--manifest-path', path.join(floorDir, 'Cargo.toml'), '--bin', bin]
    if (features.length) args.push('--features', features.join(','))
    log(`[bench] building the Rust floor (cargo ${args.join(' ')})…`)
    execFileSync('cargo', args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] })
  }
  return binPath
}

// ---------------------------------------------------------------- stats and formatting
export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
export const stats = (xs) => (xs && xs.length ? { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length } : null)

export function fmtMs(ms) {
  if (ms == null) return '—'
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`
  if (ms >= 100) return `${ms.toFixed(0)} ms`
  if (ms >= 10) return `${ms.toFixed(1)} ms`
  return `${ms.toFixed(2)} ms`
}
export const fmtNum = (ms) => (ms >= 10_000 ? (ms / 1000).toFixed(1) : ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2))
export function fmtRange(s) {
  if (!s) return '—'
  return `${fmtMs(s.median)} [${fmtNum(s.min)}–${fmtNum(s.max)}]`
}
export const fmtMiB = (kib) => (kib == null ? '—' : `${(kib / 1024).toFixed(0)} MiB`)
export function fmtRatio(r) {
  if (r == null || !Number.isFinite(r)) return '—'
  return `${r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(2) : r.toFixed(2)}×`
}
/** Ratio of two medians (`stats` objects). */
export const ratio = (a, b) => (a && b ? a.median / b.median : null)

export function table(headers, rows, align) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)))
  const line = (cells) =>
    cells.map((c, i) => (align[i] === 'l' ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ')
  return [line(headers), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

// ---------------------------------------------------------------- the scratch folder
/**
 * A fresh scratch folder under os.tmpdir(). On ext4, marked a "top directory"
 * (chattr +T): the Orlov allocator then puts each fresh folder in block groups
 * of its own, so that one implementation's created and deleted inodes do not
 * slow another's inode allocation (ext4 without a journal skips recently
 * deleted inodes when it allocates). See bench/README.md.
 */
export function scratch(prefix) {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  spawnSync('chattr', ['+T', base], { stdio: 'ignore' })
  return base
}
/** `rm -rf` (much faster than fs.rmSync on folders of 50,000 files). */
export const rm = (p) => {
  if (spawnSync('rm', ['-rf', '--', p], { stdio: 'ignore' }).status !== 0) fs.rmSync(p, { recursive: true, force: true })
}
/**
 * Before each implementation's turn (not timed): write back what the previous one
 * left dirty, so that nobody pays for somebody else's writeback.
 */
export const settle = () => spawnSync('sync', { stdio: 'ignore' })

// ---------------------------------------------------------------- the machine
/** Time (µs) some runnable task waited for a CPU (`cpu`) or for I/O (`io`), since boot. */
export function pressure(kind) {
  try {
    const line = fs.readFileSync(`/proc/pressure/${kind}`, 'utf8').split('\n').find((l) => l.startsWith('some'))
    return Number(/total=(\d+)/.exec(line)[1]) // µs
  } catch {
    return null
  }
}
export function mountOf(dir) {
  try {
    const real = fs.realpathSync(dir)
    let best = null
    for (const l of fs.readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [dev, mnt, type, options] = l.split(' ')
      if (!mnt) continue
      if ((real === mnt || real.startsWith(mnt.endsWith('/') ? mnt : `${mnt}/`)) && (!best || mnt.length >= best.mnt.length)) {
        best = { dev, mnt, type, options }
      }
    }
    return best
  } catch {
    return null
  }
}
/** ext4 without a journal (no /proc/fs/jbd2/<dev>-* entry): see bench/README.md. */
export function ext4WithoutJournal(m) {
  try {
    if (!m || m.type !== 'ext4' || !fs.existsSync('/proc/fs/jbd2')) return false
    const dev = path.basename(fs.realpathSync.native?.(m.dev) ?? m.dev)
    return !fs.readdirSync('/proc/fs/jbd2').some((e) => e.startsWith(`${dev}-`))
  } catch {
    return false
  }
}

/**
 * Watches the machine over a run: `start()` first, `end()` after, which gives
 * `{ elapsed, load0, load1, cpuStall, ioStall, mount, noJournal }`.
 */
export function machineWatch() {
  const load0 = os.loadavg()[0]
  const cpu0 = pressure('cpu')
  const io0 = pressure('io')
  const started = performance.now()
  return {
    started,
    end() {
      const elapsed = (performance.now() - started) / 1000
      const pct = (a, b) => (a != null && b != null ? `${((100 * (b - a)) / 1e6 / elapsed).toFixed(0)}%` : '?')
      const mount = mountOf(os.tmpdir())
      return {
        elapsed,
        load0,
        load1: os.loadavg()[0],
        cpuStall: pct(cpu0, pressure('cpu')),
        ioStall: pct(io0, pressure('io')),
        mount,
        noJournal: ext4WithoutJournal(mount),
      }
    },
  }
}
