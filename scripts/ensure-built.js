'use strict'
// Builds the native addon when it is missing or older than any Rust source,
// so that `npm test` and `npm run demo` work on a fresh clone.
const { execSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const { newestRustSource } = require('./rust-sources.js')

const root = path.join(__dirname, '..')
const addon = fs.readdirSync(root).find((f) => f.endsWith('.node'))

const sources = newestRustSource(root)
if (!addon || fs.statSync(path.join(root, addon)).mtimeMs < sources) {
  console.error('[baileys-auth-native] building the native addon (cargo, release)…')
  execSync('npm run build', { cwd: root, stdio: 'inherit' })
}
