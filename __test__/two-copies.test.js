'use strict'
// Two copies of this package in one process (two versions installed in
// different node_modules, say) do not share their registry of open stores,
// so the second copy cannot join the first one's open store as a second
// `useMultiFileAuthState` of the same copy does. The owner lock still
// refuses it, the lock being per open file: AuthFolderLockedError, with a
// message that says the owner has this process's own pid. Nothing is
// written by the refused copy.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const ROOT = path.join(__dirname, '..')
const ours = require('..')

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ban-two-copies-'))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

/** A second copy of the package (its JS and its binary) in a folder of its own. */
function secondCopy() {
  const dir = path.join(tmp, 'copy')
  const binaries = fs.readdirSync(ROOT).filter((n) => n.endsWith('.node'))
  if (binaries.length === 0) return null
  fs.mkdirSync(path.join(dir, 'lib'), { recursive: true })
  for (const f of ['index.js', 'load-binding.js', 'binding.js', 'package.json', ...binaries]) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f))
  for (const f of fs.readdirSync(path.join(ROOT, 'lib'))) fs.copyFileSync(path.join(ROOT, 'lib', f), path.join(dir, 'lib', f))
  return require(dir)
}

const other = secondCopy()
const maybe = other ? test : test.skip

maybe('a second copy in the process is refused a folder and a file the first holds, and gets them once released', async () => {
  const folder = path.join(tmp, 'auth')
  const db = path.join(tmp, 'auth.db')
  const first = await ours.useMultiFileAuthState(folder)
  await first.saveCreds()
  const file = await ours.useSqliteAuthState(db)
  for (const [what, open] of [
    ['folder', () => other.useMultiFileAuthState(folder)],
    ['file', () => other.useSqliteAuthState(db)],
  ]) {
    const before = fs.readdirSync(what === 'folder' ? folder : tmp).sort()
    const err = await open().then(() => null, (e) => e)
    expect([what, err && err.name, err && err.code]).toEqual([what, 'AuthFolderLockedError', 'EBAILEYSLOCKED'])
    expect(err.pid).toBe(process.pid)
    expect(err.message).toContain(`pid ${process.pid}, which is this process's own pid`)
    expect(fs.readdirSync(what === 'folder' ? folder : tmp).sort()).toEqual(before)
  }
  // Released by the first copy: the second one opens the file.
  await file.close()
  const again = await other.useSqliteAuthState(db)
  expect(again.state.creds.registered).toBe(false)
  await again.close()
})
