'use strict'
// better-sqlite3 in a process of its own, for the SQLite suites' direct look
// at a database file (see `remoteDatabase` in sqlite-tools.js).
//
// Why: two copies of SQLite in one process (better-sqlite3's and the one in
// our addon) do not see each other's POSIX locks, which belong to the
// process. A connection of the other copy then believes it is alone, and
// re-initialises (truncates) the `-shm` file our open store has mapped: the
// test process dies of SIGBUS. In a process of its own, the locks work.
//
// Protocol: one request per line on the request FIFO (argv[2]), one answer
// per line on the answer FIFO (argv[3]); both are v8-serialized, base64.

const fs = require('node:fs')
const v8 = require('node:v8')

const Database = require('better-sqlite3')

const [, , reqPath, resPath] = process.argv
const req = fs.openSync(reqPath, 'r')
const res = fs.openSync(resPath, 'w')

const dbs = new Map()
const statements = new Map()
let next = 1

function handle(m) {
  switch (m.op) {
    case 'open': {
      const id = next++
      dbs.set(id, new Database(m.path, m.options))
      return id
    }
    case 'close':
      dbs.get(m.db).close()
      dbs.delete(m.db)
      return null
    case 'exec':
      dbs.get(m.db).exec(m.sql)
      return null
    case 'pragma':
      return dbs.get(m.db).pragma(m.source, m.options)
    case 'prepare': {
      const id = next++
      statements.set(id, dbs.get(m.db).prepare(m.sql))
      return id
    }
    case 'run':
      return statements.get(m.stmt).run(...m.params)
    case 'get':
    case 'all': {
      const st = statements.get(m.stmt)
      if (st.reader) st.pluck(Boolean(m.pluck))
      return st[m.op](...m.params)
    }
    default:
      throw new Error(`unknown op ${m.op}`)
  }
}

let pending = ''
const buf = Buffer.alloc(1 << 16)
for (;;) {
  const n = fs.readSync(req, buf, 0, buf.length, null)
  if (n === 0) break
  pending += buf.toString('latin1', 0, n)
  let nl
  while ((nl = pending.indexOf('\n')) >= 0) {
    const line = pending.slice(0, nl)
    pending = pending.slice(nl + 1)
    const m = v8.deserialize(Buffer.from(line, 'base64'))
    let answer
    try {
      answer = { ok: handle(m) }
    } catch (e) {
      answer = { error: { name: e.name, message: e.message, code: e.code } }
    }
    fs.writeSync(res, `${v8.serialize(answer).toString('base64')}\n`)
  }
}
