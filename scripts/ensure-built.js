'use strict'
// Builds the native addon when it is missing or older than any Rust source,
// so that `npm test` and `npm run demo` work on a fresh clone.
const { execSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..')
const addon = fs.readdirSync(root).find((f) => f.endsWith('.node'))

function newestSource(dir) {
  let newest = 0
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name)
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(p))
    else if (/\.(rs|toml)$/.test(entry.name)) newest = Math.max(newest, fs.statSync(p).mtimeMs)
  }
  return newest
}

const sources = Math.max(
  newestSource(path.join(root, 'src')),
  newestSource(path.join(root, 'core', 'src')),
  fs.statSync(path.join(root, 'Cargo.toml')).mtimeMs,
  fs.statSync(path.join(root, 'core', 'Cargo.toml')).mtimeMs,
)
if (!addon || fs.statSync(path.join(root, addon)).mtimeMs < sources) {
  console.error('[baileys-auth-native] building the native addon (cargo, release)…')
  execSync('npm run build', { cwd: root, stdio: 'inherit' })
}
