// Small helpers for part 3 of `npm run demo` (the SQLite file): a device
// implementation that opens database files and can close them again (a
// restart of a SQLite store is close() + open), a one-line account of what a
// migration copied, and a byte-for-byte comparison of two auth folders.
import fs from 'node:fs'
import path from 'node:path'

/**
 * A `{ openName, open }` pair for `SignalDevice.boot` that opens `dbPath`
 * with `useSqliteAuthState` and remembers the store, so that `close(dbPath)`
 * can release the file before the device opens it again.
 */
export function sqliteDevices(useSqliteAuthState) {
  const stores = new Map()
  const open = async (dbPath) => {
    if (stores.has(dbPath)) throw new Error(`${dbPath} is still open here: close it before opening it again`)
    const opened = await useSqliteAuthState({ dbPath })
    stores.set(dbPath, opened)
    return opened
  }
  /** Closes the store of `dbPath` (waits for its pending writes); returns it, closed. */
  const close = async (dbPath) => {
    const opened = stores.get(dbPath)
    if (!opened) throw new Error(`${dbPath} is not open`)
    stores.delete(dbPath)
    await opened.close()
    return opened
  }
  const closeAll = () => Promise.all([...stores.keys()].map(close))
  return { impl: { openName: "this package's useSqliteAuthState", open }, close, closeAll }
}

/** `creds + 1112 keys (812 pre-key, 300 session)` from a migration summary. */
export function copied(summary) {
  const types = Object.entries(summary.keys)
    .filter(([, n]) => n > 0)
    .map(([type, n]) => `${n} ${type}`)
  return `creds + ${summary.total} keys (${types.join(', ')})`
}

/** Whether a migration verified clean: `[ok, text]`. */
export function verification(summary) {
  if (!summary.verified) return [false, 'not verified']
  if (summary.differenceCount === 0) return [true, 'verified ✓']
  const first = summary.differences
    .slice(0, 3)
    .map((d) => [d.type, d.id, d.problem].filter((x) => x !== null).join(' ') + (d.path ? ` at ${d.path}` : ''))
  return [false, `${summary.differenceCount} differences ✗ (${first.join('; ')})`]
}

/** The auth files of a folder (its lock file and other dot files left out), sorted. */
function authFiles(folder) {
  return fs
    .readdirSync(folder, { withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort()
}

/**
 * Compares two auth folders file by file: `{ files, same, differing }`, where
 * `differing` names the files that are missing on one side or hold other bytes.
 */
export function compareFolders(a, b) {
  const inA = authFiles(a)
  const inB = new Set(authFiles(b))
  const differing = []
  for (const name of inA) {
    if (!inB.delete(name)) differing.push(`${name} (missing)`)
    else if (!fs.readFileSync(path.join(a, name)).equals(fs.readFileSync(path.join(b, name)))) differing.push(name)
  }
  for (const name of inB) differing.push(`${name} (extra)`)
  return { files: inA.length, same: differing.length === 0, differing }
}

/** `1.4 MiB` */
export function size(bytes) {
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MiB` : `${Math.round(bytes / 1024)} KiB`
}
