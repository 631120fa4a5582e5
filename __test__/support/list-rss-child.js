'use strict'
// Child of key-ops.test.js (run with --expose-gc):
//
//   node --expose-gc list-rss-child.js <folder> <count> <valueBytes>
//
// Writes <count> session files of about <valueBytes> each with plain fs (in
// Promise batches), then iterates `keys.list('session')` of this package and
// samples the resident set size (after a gc) twenty times along the way.
// Prints one JSON line: { count, seen, sumI, written, samples: [{ at, rss, heap }] }.

const fs = require('node:fs')
const path = require('node:path')

const pkg = require(path.join(__dirname, '..', '..', 'index.js'))

async function main() {
  const [folder, countArg, sizeArg] = process.argv.slice(2)
  const count = Number(countArg)
  const size = Number(sizeArg)
  fs.mkdirSync(folder, { recursive: true })
  // Every value distinct (its index and some bytes), as a real folder's.
  const base = Buffer.alloc(size, 7)
  const BATCH = 500
  for (let i = 0; i < count; i += BATCH) {
    const writes = []
    for (let j = i; j < Math.min(count, i + BATCH); j++) {
      base.writeUInt32LE(j, 0)
      const text = `{"i":${j},"record":{"type":"Buffer","data":"${base.toString('base64')}"}}`
      writes.push(fs.promises.writeFile(path.join(folder, `session-${j}.json`), text))
    }
    await Promise.all(writes)
  }
  const { state } = await pkg.useMultiFileAuthState(folder, { lock: false })
  const samples = []
  const sample = (at) => {
    global.gc()
    const m = process.memoryUsage()
    samples.push({ at, rss: m.rss, heap: m.heapUsed + m.external + m.arrayBuffers })
  }
  sample(0)
  const every = Math.max(1, Math.floor(count / 20))
  let seen = 0
  let sumI = 0
  let bytesOk = true
  for await (const [id, value] of state.keys.list('session')) {
    seen++
    sumI += value.i
    if (String(value.i) !== id || value.record.length !== size || value.record.readUInt32LE(0) !== value.i) bytesOk = false
    if (seen % every === 0) sample(seen)
  }
  sample(seen)
  process.stdout.write(`${JSON.stringify({ count, seen, sumI, bytesOk, samples })}\n`)
}

main().catch((e) => {
  process.stderr.write(`${e.stack}\n`)
  process.exit(1)
})
