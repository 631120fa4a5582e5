'use strict'
// Which I/O layer the loaded binary's folder store uses, and that the loader
// took the binary it was pointed at. `npm run test:portable` runs the folder
// suites with NAPI_RS_NATIVE_LIBRARY_PATH at the `portable-io` build and
// BAN_EXPECT_IO_LAYER=portable: without this check, a loader that ignored the
// override would let those suites pass over the Unix layer instead.
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const binding = require('../binding.js')
const { useMultiFileAuthState } = require('..')

const expected = process.env.BAN_EXPECT_IO_LAYER || (process.platform === 'win32' ? 'portable' : 'unix')

test(`the folder store runs over the ${expected} layer`, () => {
  expect(binding.ioLayer()).toBe(expected)
})

test('a child process loads the same binary (it inherits the override)', () => {
  const { execFileSync } = require('node:child_process')
  const out = execFileSync(process.execPath, ['-e', `process.stdout.write(require(${JSON.stringify(path.join(__dirname, '..', 'binding.js'))}).ioLayer())`], {
    encoding: 'utf8',
  })
  expect(out).toBe(expected)
})

test('a round trip through this layer: private files, the lock, the values back', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ban-io-layer-'))
  try {
    const folder = path.join(dir, 'auth', 'nested')
    const { state, saveCreds } = await useMultiFileAuthState(folder)
    await saveCreds()
    await state.keys.set({ 'pre-key': { 1: { public: Buffer.from([1, 2]), private: Buffer.from([3, 4]) } }, session: { 'a:1': Buffer.from('x') } })
    const got = await state.keys.get('pre-key', ['1', '2'])
    expect(Buffer.from(got['1'].private)).toEqual(Buffer.from([3, 4]))
    expect(got['2']).toBeNull()
    const names = fs.readdirSync(folder).sort()
    expect(names).toEqual(['.baileys-auth.lock', 'creds.json', 'pre-key-1.json', 'session-a-1.json'])
    if (process.platform !== 'win32') {
      for (const n of names) expect((fs.statSync(path.join(folder, n)).mode & 0o777).toString(8)).toBe('600')
      expect((fs.statSync(folder).mode & 0o777).toString(8)).toBe('700')
      expect((fs.statSync(path.join(dir, 'auth')).mode & 0o777).toString(8)).toBe('700')
    }
    await state.keys.set({ session: { 'a:1': null } })
    expect(fs.existsSync(path.join(folder, 'session-a-1.json'))).toBe(false)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
