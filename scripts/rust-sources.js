'use strict'
// When the addon's Rust sources last changed: the newest .rs or .toml under
// src/ and core/src/, and the two Cargo.toml files. ensure-built.js and
// test-portable.js rebuild a binary older than this.
const fs = require('node:fs')
const path = require('node:path')

function newestIn(dir) {
  let newest = 0
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name)
    if (entry.isDirectory()) newest = Math.max(newest, newestIn(p))
    else if (/\.(rs|toml)$/.test(entry.name)) newest = Math.max(newest, fs.statSync(p).mtimeMs)
  }
  return newest
}

function newestRustSource(root) {
  return Math.max(
    newestIn(path.join(root, 'src')),
    newestIn(path.join(root, 'core', 'src')),
    fs.statSync(path.join(root, 'Cargo.toml')).mtimeMs,
    fs.statSync(path.join(root, 'core', 'Cargo.toml')).mtimeMs,
    fs.statSync(path.join(root, 'core', 'build.rs')).mtimeMs,
  )
}

module.exports = { newestRustSource }
