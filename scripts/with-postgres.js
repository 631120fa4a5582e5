#!/usr/bin/env node
'use strict'
// Runs a command beside a throw-away PostgreSQL server (__test__/support/pg-server.js):
//
//   node scripts/with-postgres.js [--ssl | --ssl=required] -- cargo test -p baileys_auth_core
//
// The command gets BAN_PG_URL and PGHOST, PGPORT, PGUSER, PGPASSWORD and
// PGDATABASE for it (with --ssl also BAN_PG_CA and PGSSLROOTCERT, the CA's
// PEM file), and none of the caller's other PG* variables, which were meant
// for some other server. The server is stopped and its folder removed however
// the command ends, also on SIGINT, SIGTERM or SIGHUP to this script, which
// exits with the command's code (128 + n when signal n ended it).
const { spawn } = require('node:child_process')
const os = require('node:os')

const { startPostgres } = require('../__test__/support/pg-server.js')

const sep = process.argv.indexOf('--')
const flags = sep < 0 ? [] : process.argv.slice(2, sep)
const command = sep < 0 ? [] : process.argv.slice(sep + 1)
const SSL = { '--ssl': true, '--ssl=required': 'required' }
if (!command.length || flags.some((f) => !(f in SSL))) {
  console.error('usage: node scripts/with-postgres.js [--ssl | --ssl=required] -- <command> [args...]')
  process.exit(2)
}

let pg
let child
let signalled = null
let finishing = false

async function finish(code) {
  if (finishing) return
  finishing = true
  try {
    await pg?.stop()
  } catch (e) {
    console.error(`[with-postgres] stopping the server: ${e.message}`)
  }
  process.exit(code)
}

// A signal goes on to the command, whose end then stops the server; one that
// arrives before the command runs ends it all at once.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    signalled ||= sig
    if (child) child.kill(sig)
    else if (pg) finish(128 + os.constants.signals[sig])
  })
}

;(async () => {
  try {
    pg = await startPostgres({ ssl: flags.length ? SSL[flags[flags.length - 1]] : false })
  } catch (e) {
    console.error(`[with-postgres] could not start PostgreSQL: ${e.message}`)
    process.exit(1)
  }
  if (signalled) return finish(128 + os.constants.signals[signalled])

  const env = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v
  Object.assign(env, {
    BAN_PG_URL: pg.url,
    PGHOST: pg.host,
    PGPORT: String(pg.port),
    PGUSER: pg.user,
    PGPASSWORD: pg.password,
    PGDATABASE: pg.database,
  })
  if (pg.certs) Object.assign(env, { BAN_PG_CA: pg.certs.ca, PGSSLROOTCERT: pg.certs.ca })

  child = spawn(command[0], command.slice(1), { stdio: 'inherit', env })
  child.on('error', (e) => {
    console.error(`[with-postgres] could not run ${command[0]}: ${e.message}`)
    finish(127)
  })
  child.on('exit', (code, sig) => finish(sig ? 128 + os.constants.signals[sig] : code))
})()
