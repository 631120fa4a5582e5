#!/usr/bin/env node
'use strict'
// Part of `npm test`: the PostgreSQL suites start throw-away servers of their
// own (__test__/support/pg-server.js), which need the server's binaries
// (initdb, pg_ctl) and openssl (their TLS certificates). Where they are
// missing and this runs as root on a Debian-like system, they are installed
// with apt-get, as `.ci/run` does, so that the README's test command works on
// a fresh machine; elsewhere it says what to install and fails.
const { spawnSync } = require('node:child_process')

const { binDir } = require('../__test__/support/pg-server.js')

const has = (cmd) =>
  process.platform === 'win32'
    ? spawnSync('where', [cmd], { stdio: 'ignore' }).status === 0
    : spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0
const haveServer = () => {
  try {
    binDir()
    return true
  } catch {
    return false
  }
}

const missing = []
if (!haveServer()) missing.push('postgresql')
if (!has('openssl')) missing.push('openssl')
if (missing.length === 0) process.exit(0)

const apt = (...args) => spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0
if (process.getuid?.() === 0 && has('apt-get')) {
  console.error(`[ensure-postgres] installing ${missing.join(' and ')} for the PostgreSQL tests (apt-get)…`)
  if (apt('install', '-y', ...missing) || (apt('update') && apt('install', '-y', ...missing))) process.exit(0)
}
console.error(
  `[ensure-postgres] the PostgreSQL tests need ${missing.join(' and ')}: install ${missing.length > 1 ? 'them' : 'it'} ` +
    '(Debian/Ubuntu: apt-get install -y postgresql openssl; Alpine: apk add postgresql openssl; ' +
    'macOS: brew install postgresql@16 openssl@3 and put their bin folders on PATH; Windows: the PostgreSQL ' +
    'installer, with PGBIN set to its bin folder), or point BAN_PG_BINDIR at a PostgreSQL bin folder',
)
process.exit(1)
