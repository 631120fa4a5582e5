#!/usr/bin/env node
'use strict'
// Runs the folder store's suites over the portable I/O layer (`std::fs` on
// paths: what Windows uses), on this machine:
//
//   npm run test:portable [-- <more jest args>]
//
// It builds the addon a second time with the `portable-io` cargo feature into
// target/portable/ (when missing or older than any Rust source), then runs
// jest on the suites below with NAPI_RS_NATIVE_LIBRARY_PATH pointing the
// generated loader at that binary: the suites themselves, and the child
// processes they spawn, load it through the very same `require`.
// __test__/io-layer.test.js checks that they really got it.
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const { newestRustSource } = require('./rust-sources.js')

const root = path.join(__dirname, '..')
const binary = path.join(root, 'target', 'portable', 'baileys-auth-native.node')

// The parity, ordering, crash-kill, hardening and key-ops suites of the folder
// store, and the layer check.
const SUITES = [
  'io-layer',
  'parity-v6',
  'parity-v7',
  'differential',
  'ordering',
  'crash-kill',
  'crash-hostile',
  'crash-malformed',
  'key-ops',
  'hardened-coexist',
  'creds',
]

function run(cmd, args, env = process.env, { shell = false } = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env, shell })
  if (r.error) throw r.error
  return r.status ?? 128 + 1
}

const sources = newestRustSource(root)
if (!fs.existsSync(binary) || fs.statSync(binary).mtimeMs < sources) {
  console.error('[test:portable] building the addon with the portable-io feature (cargo, release)…')
  // Through the npm that runs us (npm_execpath, its JS entry) with node itself:
  // on Windows npm is npm.cmd, which Node no longer spawns without a shell
  // (EINVAL since the fix for CVE-2024-27980). Else npm from PATH.
  const cli = /\.[cm]?js$/.test(process.env.npm_execpath || '') ? process.env.npm_execpath : null
  const [npm, ...pre] = cli ? [process.execPath, cli] : [process.platform === 'win32' ? 'npm.cmd' : 'npm']
  const code = run(npm, [...pre, 'run', 'build:portable'], process.env, { shell: !cli && process.platform === 'win32' })
  if (code !== 0) process.exit(code)
}

const jest = path.join(root, 'node_modules', 'jest', 'bin', 'jest.js')
const pattern = `__test__/(${SUITES.join('|')})\\.test\\.m?js$`
const env = { ...process.env, NAPI_RS_NATIVE_LIBRARY_PATH: binary, BAN_EXPECT_IO_LAYER: 'portable' }
process.exit(run(process.execPath, ['--experimental-vm-modules', jest, '--testPathPattern', pattern, ...process.argv.slice(2)], env))
