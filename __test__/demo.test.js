'use strict'
// The demo (`npm run demo`) as a test: run twice in a fresh folder, each run
// must exit 0 with no ✗. Its parts use Baileys' own Signal code end to end,
// including the migration of both devices from their folders to SQLite files
// in the middle of the conversation, restarts, and Baileys' own helper
// reading the folders (demo/demo.mjs).

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const DEMO = path.join(__dirname, '..', 'demo', 'demo.mjs')

test('npm run demo: a first run and a second one both pass every check', () => {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'ban-demo-'))
  try {
    for (const run of ['first', 'second']) {
      const r = spawnSync(process.execPath, [DEMO], { cwd, encoding: 'utf8', timeout: 180000 })
      expect([run, r.status, r.signal]).toEqual([run, 0, null])
      expect(r.stdout).not.toContain('✗')
      expect(r.stdout).toMatch(/The conversation of part 2 carries on over SQLite/)
    }
    expect(fs.existsSync(path.join(cwd, 'auth.db'))).toBe(true)
  } finally {
    fs.rmSync(cwd, { recursive: true, force: true })
  }
})
