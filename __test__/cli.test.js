'use strict'
// The command line, run as a real process (`node bin/baileys-auth-native.js
// …`) on folders written by Baileys' own helper: exit codes, text output and
// --json, help, and the lock (stats and verify beside a running owner).

const fs = require('node:fs')
const path = require('node:path')
const { execFile, execFileSync } = require('node:child_process')

const ours = require('..')
const { LINUX, WINDOWS, holderPid, storePath } = require('./support/platform.js')
const { ROOT, tmpDirs, baileysLines, sampleData, writeWithBaileys, jsonFiles, holdFolder, keyPair } = require('./support/tools-fixtures.js')

const BIN = path.join(ROOT, 'bin', 'baileys-auth-native.js')
const dir = tmpDirs('cli')
afterAll(() => dir.cleanup())

/** Runs the CLI: `{ code, stdout, stderr }` (stdin closed, stderr not a TTY). */
function cli(...args) {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      resolve({ code: err ? err.code : 0, stdout, stderr })
    })
    child.stdin.end()
  })
}

let lib
let good
beforeAll(async () => {
  lib = (await baileysLines()).v7
  good = path.join(dir('good'), 'auth')
  await writeWithBaileys(lib, good, sampleData(lib.proto))
  const preKeys = {}
  for (let i = 3; i <= 40; i++) preKeys[i] = keyPair()
  const b = await lib.useMultiFileAuthState(good)
  await b.state.keys.set({ 'pre-key': preKeys })
})

describe('help and usage', () => {
  test('--help, <command> --help and help <command> print readable help and exit 0', async () => {
    const main = await cli('--help')
    expect(main.code).toBe(0)
    for (const word of ['Usage: baileys-auth-native <command>', 'stats <folder>', 'verify <folder>', 'migrate <from> <to>', '--json', 'Exit status']) {
      expect(main.stdout).toContain(word)
    }
    for (const [command, words] of [
      ['stats', ['Usage: baileys-auth-native stats', '--flavor']],
      ['verify', ['Usage: baileys-auth-native verify', '--fix', 'torn', 'misnamed', 'never deletes']],
      ['migrate', ['Usage: baileys-auth-native migrate', '--force', '--progress', '--no-verify', '--batch-size']],
    ]) {
      const a = await cli(command, '--help')
      const b = await cli('help', command)
      expect([command, a.code, b.code]).toEqual([command, 0, 0])
      expect(a.stdout).toBe(b.stdout)
      for (const w of words) expect(a.stdout).toContain(w)
    }
    expect((await cli('-h')).stdout).toBe(main.stdout)
  })

  test('bad usage exits 2 with the help on stderr', async () => {
    const cases = [
      [],
      ['frobnicate', good],
      ['stats', '--bogus', good],
      ['stats', '--fix', good],
      ['stats'],
      ['stats', good, good],
      ['migrate', good],
      ['verify', '--flavor', 'v9', good],
      ['migrate', '--batch-size', '0', good, path.join(good, 'x')],
      ['migrate', good, good],
    ]
    for (const args of cases) {
      const r = await cli(...args)
      expect([args, r.code]).toEqual([args, 2])
      expect(r.stderr).toContain('Usage: baileys-auth-native')
      expect(r.stdout).toBe('')
    }
    expect((await cli('stats', '--fix', good)).stderr).toContain('stats does not take --fix')
  })
})

describe('stats', () => {
  test('text: registration, account, counts and bytes by type (sender-key-memory apart), oldest/newest, stale temps', async () => {
    fs.writeFileSync(path.join(good, '.baileys-auth-tmp-999999999-7'), '{"half')
    try {
      const r = await cli('stats', good)
      expect(r.code).toBe(0)
      expect(r.stderr).toBe('')
      expect(r.stdout).toContain(`folder        ${storePath(good)}`)
      expect(r.stdout).toContain('credentials   registered as 4915112345678:12@s.whatsapp.net')
      expect(r.stdout).toMatch(/^\s+pre-key\s+41\s+[\d.]+ KiB$/m)
      expect(r.stdout).toMatch(/^\s+sender-key\s+2\s+\d+ B$/m)
      expect(r.stdout).toMatch(/^\s+sender-key-memory\s+1\s+\d+ B$/m)
      expect(r.stdout).toMatch(/^\s+app-state-sync-key\s+2\s/m)
      expect(r.stdout).toMatch(/^\s+app-state-sync-version\s+2\s/m)
      expect(r.stdout).toMatch(/^oldest\s+\S+\.json \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)$/m)
      expect(r.stdout).toMatch(/^newest\s+\S+\.json \(/m)
      expect(r.stdout).toMatch(/^stale temps\s+1 .*\.baileys-auth-tmp-999999999-7/m)
    } finally {
      fs.rmSync(path.join(good, '.baileys-auth-tmp-999999999-7'))
    }
  })

  test('--json: the report', async () => {
    const r = await cli('stats', '--json', good)
    expect(r.code).toBe(0)
    const j = JSON.parse(r.stdout)
    expect(j).toMatchObject({
      folder: storePath(good),
      hasCreds: true,
      registered: true,
      accountId: '4915112345678:12@s.whatsapp.net',
      staleTemps: [],
      movedAside: [],
      findings: [],
    })
    expect(j.byType['pre-key'].files).toBe(41)
    expect(j.byType['sender-key']).toMatchObject({ files: 2 })
    expect(j.byType['sender-key-memory']).toMatchObject({ files: 1 })
    expect(j.byType.session.files).toBe(3)
    const keyFiles = Object.values(j.byType).reduce((n, s) => n + s.files, 0)
    expect(j.totalFiles).toBe(keyFiles + 1)
    expect(j.totalBytes).toBe(Object.values(jsonFiles(good)).reduce((n, b) => n + b.length, 0))
    expect(typeof j.oldest.mtimeMs).toBe('number')
  })

  test('a folder without creds.json, a missing folder (exit 3), and a folder in use (works)', async () => {
    const empty = dir('empty')
    const r = await cli('stats', empty)
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('credentials   none')
    const tornCreds = dir('torn-creds')
    fs.writeFileSync(path.join(tornCreds, 'creds.json'), '{"noiseKey":')
    const t = await cli('stats', tornCreds)
    expect(t.code).toBe(0)
    expect(t.stdout).toContain('credentials   present but unreadable (torn: Unexpected end of JSON input')
    const v = await cli('verify', tornCreds)
    expect(v.code).toBe(1)
    expect(v.stdout).toMatch(/^\s+torn\s+creds\.json\s/m)
    const missing = await cli('stats', path.join(empty, 'nope'))
    expect(missing.code).toBe(3)
    expect(missing.stderr).toMatch(/ENOENT/)
    const j = await cli('stats', '--json', path.join(empty, 'nope'))
    expect(j.code).toBe(3)
    expect(JSON.parse(j.stdout).error).toMatchObject({ code: 'ENOENT' })
    const holder = await holdFolder(good)
    try {
      const busy = await cli('stats', '--json', good)
      expect(busy.code).toBe(0)
      expect(JSON.parse(busy.stdout).registered).toBe(true)
    } finally {
      await holder.release()
    }
  })
})

describe('verify', () => {
  test('a healthy folder: exit 0', async () => {
    const r = await cli('verify', good)
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^checked \d+ files in /)
    expect(r.stdout).toContain('no problems found')
    const j = JSON.parse((await cli('verify', '--json', good)).stdout)
    expect(j.findings).toEqual([])
    expect(j.verified).toBe(j.totalFiles)
  })

  test('torn, corrupt, unknown and mis-named files: listed, exit 1; --fix moves the unreadable ones aside, never deletes', async () => {
    const bad = path.join(dir('bad'), 'auth')
    await writeWithBaileys(lib, bad, { 'pre-key': { 1: keyPair(), 2: keyPair() } })
    const torn = '{"private":{"type":"Buffer","data":"AAAA'
    fs.writeFileSync(path.join(bad, 'pre-key-2.json'), torn)
    fs.writeFileSync(path.join(bad, 'session-x.json'), 'garbage')
    fs.writeFileSync(path.join(bad, 'notes.json'), '{}')
    // Windows cannot have a ':' in a file name (it would name a stream of `session-1`): no mis-named file there.
    const misnamed = !WINDOWS
    if (misnamed) fs.writeFileSync(path.join(bad, 'session-1:2@s.whatsapp.net.json'), '{"a":1}')

    const r = await cli('verify', bad)
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/^\s+torn\s+pre-key-2\.json\s+Unexpected end of JSON input/m)
    expect(r.stdout).toMatch(/^\s+corrupt\s+session-x\.json\s/m)
    expect(r.stdout).toMatch(/^\s+unknown\s+notes\.json\s/m)
    if (misnamed) expect(r.stdout).toMatch(/^\s+misnamed\s+session-1:2@s\.whatsapp\.net\.json\s/m)
    expect(r.stdout).toContain(`${misnamed ? 4 : 3} problems found (run with --fix to move the 2 unreadable key files aside)`)

    const j = await cli('verify', '--json', bad)
    expect(j.code).toBe(1)
    const problems = JSON.parse(j.stdout).findings.map((f) => [f.name, f.problem]).sort()
    expect(problems).toEqual([
      ['notes.json', 'unknown'],
      ['pre-key-2.json', 'torn'],
      ...(misnamed ? [['session-1:2@s.whatsapp.net.json', 'misnamed']] : []),
      ['session-x.json', 'corrupt'],
    ])

    const fixed = await cli('verify', '--fix', '--json', bad)
    expect(fixed.code).toBe(1)
    const moved = JSON.parse(fixed.stdout).findings.filter((f) => f.movedTo)
    expect(moved.map((f) => f.name).sort()).toEqual(['pre-key-2.json', 'session-x.json'])
    for (const f of moved) {
      expect(f.movedTo).toMatch(new RegExp(`^${f.name.replace('.', '\\.')}\\.corrupt-\\d+$`))
      expect(fs.existsSync(path.join(bad, f.name))).toBe(false)
    }
    const tornAside = moved.find((f) => f.name === 'pre-key-2.json').movedTo
    expect(fs.readFileSync(path.join(bad, tornAside), 'utf8')).toBe(torn)

    const again = await cli('verify', bad)
    expect(again.code).toBe(1)
    expect(again.stdout).not.toContain('torn')
    expect(again.stdout).toContain('note: 2 file(s) moved aside earlier as corrupt')
    fs.rmSync(path.join(bad, 'notes.json'))
    if (misnamed) fs.rmSync(path.join(bad, 'session-1:2@s.whatsapp.net.json'))
    expect((await cli('verify', bad)).code).toBe(0)
  })

  test('beside a running owner: verify reads (exit 0); --fix is refused (exit 3, AuthFolderLockedError)', async () => {
    const busy = path.join(dir('busy'), 'auth')
    await writeWithBaileys(lib, busy, { 'pre-key': { 1: keyPair() } })
    const holder = await holdFolder(busy)
    try {
      expect((await cli('verify', busy)).code).toBe(0)
      const r = await cli('verify', '--fix', busy)
      expect(r.code).toBe(3)
      // (Windows: the holder's pid cannot be read from its locked file)
      if (!WINDOWS) expect(r.stderr).toMatch(new RegExp(`${holder.pid}`))
      expect(r.stderr).toContain('stop the process that uses the folder first')
      const j = await cli('verify', '--fix', '--json', busy)
      expect(j.code).toBe(3)
      expect(JSON.parse(j.stdout).error).toMatchObject({ name: 'AuthFolderLockedError', code: 'EBAILEYSLOCKED', pid: holderPid(holder.pid) })
    } finally {
      await holder.release()
    }
  })
})

describe('migrate', () => {
  test('copies to a new folder byte for byte, checks it, prints a summary (no progress bar off a terminal)', async () => {
    const to = path.join(dir('m1'), 'new', 'auth')
    const r = await cli('migrate', good, to)
    expect(r.code).toBe(0)
    expect(r.stderr).toBe('')
    expect(r.stdout).toContain(`migrated ${storePath(good)} → ${to}`)
    expect(r.stdout).toMatch(/^keys\s+\d+ \(pre-key 41, session 3, sender-key 2, sender-key-memory 1, app-state-sync-key 2, /m)
    expect(r.stdout).toContain('every key and the credentials read back equal')
    const a = jsonFiles(good)
    const b = jsonFiles(to)
    expect(Object.keys(b)).toEqual(Object.keys(a))
    for (const name of Object.keys(a)) expect([name, b[name].equals(a[name])]).toEqual([name, true])
    // Baileys reads the copy.
    const back = await lib.useMultiFileAuthState(to)
    expect(back.state.creds.me.id).toBe('4915112345678:12@s.whatsapp.net')
  })

  test('--json summary; --no-verify; --progress draws on stderr', async () => {
    const to = path.join(dir('m2'), 'auth')
    const r = await cli('migrate', '--json', '--progress', '--batch-size', '8', good, to)
    expect(r.code).toBe(0)
    const s = JSON.parse(r.stdout)
    expect(s).toMatchObject({ creds: true, verified: true, differences: [], differenceCount: 0, to })
    expect(s.keys).toMatchObject({ 'pre-key': 41, session: 3, 'sender-key-memory': 1, 'identity-key': 1 })
    expect(s.total).toBe(Object.values(s.keys).reduce((a, b) => a + b, 0))
    expect(r.stderr).toContain('copying')
    expect(r.stderr).toContain('verifying')
    expect(r.stderr).toContain(`100%  ${s.total}/${s.total} keys`)
    const quick = await cli('migrate', '--json', '--no-verify', good, path.join(dir('m3'), 'auth'))
    expect(quick.code).toBe(0)
    expect(JSON.parse(quick.stdout)).toMatchObject({ verified: false, total: s.total })
    expect((await cli('migrate', '--no-verify', good, path.join(dir('m4'), 'auth'))).stdout).toContain('verified      no')
  })

  test('a destination holding auth data is refused (exit 3) unless --force, which replaces it', async () => {
    const to = dir('m5')
    // Written with plain fs: this process must not own the folder.
    fs.writeFileSync(path.join(to, 'creds.json'), ours.encodeAuthValue(ours.initAuthCreds()))
    fs.writeFileSync(path.join(to, 'session-stale.json'), '{"s":1}')
    const r = await cli('migrate', good, to)
    expect(r.code).toBe(3)
    expect(r.stderr).toContain('already holds auth data')
    expect(fs.existsSync(path.join(to, 'session-stale.json'))).toBe(true)
    const forced = await cli('migrate', '--force', '--json', good, to)
    expect(forced.code).toBe(0)
    expect(JSON.parse(forced.stdout).differences).toEqual([])
    expect(fs.existsSync(path.join(to, 'session-stale.json'))).toBe(false)
    expect(fs.readFileSync(path.join(to, 'creds.json')).equals(fs.readFileSync(path.join(good, 'creds.json')))).toBe(true)
  })

  test('works from a folder in use; refuses a destination in use, and a source without creds.json', async () => {
    const holder = await holdFolder(good)
    try {
      const r = await cli('migrate', good, path.join(dir('m6'), 'auth'))
      expect(r.code).toBe(0)
    } finally {
      await holder.release()
    }
    const busy = dir('m7')
    const h2 = await holdFolder(busy)
    try {
      const r = await cli('migrate', good, busy)
      expect(r.code).toBe(3)
      expect(r.stderr).toMatch(/stop the process that uses the folder first/)
    } finally {
      await h2.release()
    }
    const none = await cli('migrate', '--json', dir('m8'), path.join(dir('m8'), 'to'))
    expect(none.code).toBe(3)
    expect(JSON.parse(none.stdout).error).toMatchObject({ code: 'ENOCREDS' })
  })

  // A terminal needs a pseudo-terminal: util-linux `script` gives one (skipped where it is missing,
  // and off Linux: macOS' BSD `script` takes other options).
  const hasScript = LINUX && fs.existsSync('/usr/bin/script')
  ;(hasScript ? test : test.skip)('on a terminal, the bar appears for folders over 2,000 keys only', () => {
    const onTty = (from, to) =>
      execFileSync('/usr/bin/script', ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} migrate ${JSON.stringify(from)} ${JSON.stringify(to)}`, '/dev/null'], {
        encoding: 'utf8',
        maxBuffer: 1 << 24,
      })
    const big = dir('tty-big')
    const creds = ours.encodeAuthValue(ours.initAuthCreds())
    fs.writeFileSync(path.join(big, 'creds.json'), creds)
    const value = ours.encodeAuthValue(keyPair())
    for (let i = 1; i <= 2100; i++) fs.writeFileSync(path.join(big, `pre-key-${i}.json`), value)
    const out = onTty(big, path.join(dir('tty-big-to'), 'auth'))
    expect(out).toContain('\rcopying')
    expect(out).toContain('100%  2,100/2,100 keys')
    expect(out).toContain('every key and the credentials read back equal')
    const small = dir('tty-small')
    fs.writeFileSync(path.join(small, 'creds.json'), creds)
    fs.writeFileSync(path.join(small, 'pre-key-1.json'), value)
    const quiet = onTty(small, path.join(dir('tty-small-to'), 'auth'))
    expect(quiet).not.toContain('copying')
    expect(quiet).toContain('keys          1 (pre-key 1)')
  })
})
