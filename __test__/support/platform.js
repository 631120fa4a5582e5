'use strict'
// What the suites need to know about the platform they run on, in one place.
// Everything was first written on Linux; `npm test` also runs on macOS and
// Windows (see README "Platforms"). On Linux every helper here answers so
// that the suites assert exactly what they always did: the other platforms
// get their own correct expectation, or a skip that says why.
//
//   LINUX, DARWIN, WINDOWS, POSIX
//   onlyIf(cond)              test or test.skip; onlyIf(cond, describe) likewise
//   holderPid(pid)            the pid a refused second owner of a folder is told:
//                             null on Windows (LockFileEx is mandatory, the
//                             lock file cannot be read there)
//   keyNameError(name)        the error `keys.set` gives for a key file name
//                             (after fixFileName), or null: NUL and > 255 bytes
//                             everywhere, and on Windows what it cannot store
//   caseInsensitiveFs()       whether the temporary folder's file system folds
//                             case (macOS and Windows by default; never
//                             assumed on Linux): two ids that differ only by
//                             case are one file there, in Baileys' helper too
//   distinctOnDisk(names)     false when two names would be one file here
//   canSymlink()              whether this process may create symbolic links
//                             (always assumed on Unix; Windows needs a privilege
//                             or developer mode)
//   ERRNO(name)               Node's err.errno for an errno name on this platform
//   psTable()                 the processes by `ps` (macOS; Linux suites read /proc):
//                             [{ pid, ppid, state, command }], state 'T' when stopped
//   leaseHost()               the host a PostgreSQL lease names (the core's:
//                             gethostname on Unix, like os.hostname(); on
//                             Windows %COMPUTERNAME%, the NetBIOS name, which
//                             need not be spelled as os.hostname() spells it)
//   moveCommand(from, to)     the rename command of the store's restore advice:
//                             mv 'from' 'to' (POSIX shell), move "from" "to" on Windows
//   storePath(p)              a folder's path as the folder store reports it
//                             (err.path, err.folder, the CLI's "folder"): its
//                             real path (on Windows the long name, never RUNNER~1,
//                             without std's \\?\ prefix: core/src/paths.rs)

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const LINUX = process.platform === 'linux'
const DARWIN = process.platform === 'darwin'
const WINDOWS = process.platform === 'win32'
const POSIX = !WINDOWS

/** jest's `test` (or `describe`) when `cond`, else its `.skip`. */
function onlyIf(cond, fn = globalThis.test) {
  return cond ? fn : fn.skip
}

function holderPid(pid) {
  return WINDOWS ? null : pid
}

/**
 * The characters and names Windows refuses in a file name (the store's
 * core/src/naming.rs `windows_rule`, for names fixFileName made: no `/`, no `:`).
 */
function windowsRefuses(name) {
  if (/[\\/:*?"<>|\x00-\x1f]/.test(name)) return true
  if (name.endsWith('.') || name.endsWith(' ')) return true
  const stem = name.split('.')[0].replace(/ +$/, '').toUpperCase()
  return ['CON', 'PRN', 'AUX', 'NUL'].includes(stem) || /^(COM|LPT)[0-9\u00b9\u00b2\u00b3]$/.test(stem)
}

/**
 * `{ code, typeError }` of the error `keys.set` rejects with for a key whose
 * file name (fixFileName applied) is `name`, or null when it can be written.
 */
function keyNameError(name) {
  if (name.includes('\0')) return { code: 'ERR_INVALID_ARG_VALUE', typeError: true }
  if (Buffer.byteLength(name) > 255) return { code: 'ENAMETOOLONG', typeError: false }
  if (WINDOWS && windowsRefuses(name)) return { code: 'EINVAL', typeError: false }
  return null
}

let folds
function caseInsensitiveFs() {
  if (folds !== undefined) return folds
  // Linux: assumed case-sensitive, so that no Linux run ever narrows a case.
  if (LINUX) return (folds = false)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ban-case-'))
  try {
    fs.writeFileSync(path.join(dir, 'probe-a'), '')
    folds = fs.existsSync(path.join(dir, 'PROBE-A'))
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
  return folds
}

/** Whether `names` (file names) are still distinct files on this platform's file system. */
function distinctOnDisk(names) {
  if (!caseInsensitiveFs()) return true
  const seen = new Set()
  for (const n of names) {
    const k = n.toLowerCase()
    if (seen.has(k)) return false
    seen.add(k)
  }
  return true
}

let symlinks
function canSymlink() {
  if (symlinks !== undefined) return symlinks
  if (POSIX) return (symlinks = true)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ban-link-'))
  try {
    fs.writeFileSync(path.join(dir, 'target'), '')
    fs.symlinkSync(path.join(dir, 'target'), path.join(dir, 'link'), 'file')
    symlinks = true
  } catch {
    symlinks = false
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
  return symlinks
}

/** Node's `err.errno` for the code `name` here (libuv's: -13 for EACCES on Linux and macOS, -4092 on Windows). */
function ERRNO(name) {
  for (const [errno, [n]] of require('node:util').getSystemErrorMap()) if (n === name) return errno
  throw new Error(`no errno named ${name}`)
}

function psTable() {
  const r = require('node:child_process').spawnSync('ps', ['-A', '-o', 'pid=', '-o', 'ppid=', '-o', 'stat=', '-o', 'command='], { encoding: 'utf8', maxBuffer: 1 << 26 })
  if (r.status !== 0) throw new Error(`ps failed: ${r.error || r.stderr}`)
  return r.stdout
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(\S+)\s?(.*)$/.exec(line))
    .filter(Boolean)
    .map(([, pid, ppid, stat, command]) => ({ pid: Number(pid), ppid: Number(ppid), state: stat[0], command: command.trim() }))
}

function leaseHost() {
  return WINDOWS ? (process.env.COMPUTERNAME ?? process.env.HOSTNAME ?? 'unknown-host') : os.hostname()
}

function moveCommand(from, to) {
  return WINDOWS ? `move "${from}" "${to}"` : `mv '${from}' '${to}'`
}

function storePath(p) {
  return WINDOWS ? fs.realpathSync.native(p) : fs.realpathSync(p)
}

module.exports = { LINUX, DARWIN, WINDOWS, POSIX, onlyIf, holderPid, windowsRefuses, keyNameError, caseInsensitiveFs, distinctOnDisk, canSymlink, ERRNO, psTable, leaseHost, moveCommand, storePath }
