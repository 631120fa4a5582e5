'use strict'
// `node --require` preload for __test__/loader.test.js: makes this process
// look like another platform to binding.js (the loader `napi build`
// generates) and records what it asks for.
//
// BAN_FAKE_PLATFORM (JSON):
//   platform, arch     what process.platform / process.arch say
//   libc               'glibc' | 'musl' (Linux): what each of binding.js' three
//                      probes finds
//   muslVia            which probe answers: 'ldd' (/usr/bin/ldd's text),
//                      'report' (/usr/bin/ldd missing; process.report), or
//                      'child' (neither; `ldd --version`)
//   present            ids binding.js may load: './<binary>.<platform>.node'
//                      or a package name; each gives a stub object
//   broken             ids that exist but fail to load (as a bad dlopen)
//   version            the version of a present package's package.json
//   binding            the absolute path of binding.js
//
// Every other `.node` file or `baileys-auth-native-*` package binding.js asks
// for is not found (MODULE_NOT_FOUND), so the real binary on this machine
// never loads. What it asked for, in order, is `globalThis.__banLoader`.

const childProcess = require('node:child_process')
const fs = require('node:fs')
const Module = require('node:module')

const fake = JSON.parse(process.env.BAN_FAKE_PLATFORM)
const record = { requested: [], probes: [], stubs: {} }
globalThis.__banLoader = record

Object.defineProperty(process, 'platform', { value: fake.platform, enumerable: true, configurable: true })
Object.defineProperty(process, 'arch', { value: fake.arch, enumerable: true, configurable: true })
// Windows: binding.js tells the GNU build of Node from MSVC's by these.
if (fake.platform === 'win32') {
  const real = process.config
  const variables = { ...(real && real.variables), shlib_suffix: 'dll', node_target_type: 'executable' }
  Object.defineProperty(process, 'config', { value: { ...real, variables }, enumerable: true, configurable: true })
}

const musl = fake.libc === 'musl'
const via = fake.muslVia || 'ldd'

const readFileSync = fs.readFileSync
fs.readFileSync = function (file, ...rest) {
  if (file === '/usr/bin/ldd') {
    record.probes.push('ldd-file')
    if (via !== 'ldd') throw Object.assign(new Error(`ENOENT: no such file or directory, open '${file}'`), { code: 'ENOENT' })
    return musl ? '#!/bin/sh\nexec /lib/ld-musl-x86_64.so.1 --list "$@"\n' : "#! /bin/bash\n# This is the `ldd' command of the GNU C Library.\n"
  }
  return readFileSync.call(this, file, ...rest)
}

if (process.report) {
  process.report.getReport = () => {
    record.probes.push('report')
    if (via !== 'report') return null
    return musl
      ? { header: {}, sharedObjects: ['/lib/ld-musl-x86_64.so.1', '/usr/lib/libstdc++.so.6'] }
      : { header: { glibcVersionRuntime: '2.36' }, sharedObjects: ['/lib/x86_64-linux-gnu/libc.so.6'] }
  }
}

const execSync = childProcess.execSync
childProcess.execSync = function (command, ...rest) {
  if (command === 'ldd --version') {
    record.probes.push('ldd-version')
    return musl ? 'musl libc (x86_64)\nVersion 1.2.5\n' : 'ldd (GNU libc) 2.36\n'
  }
  return execSync.call(this, command, ...rest)
}

const present = new Set(fake.present || [])
const broken = new Set(fake.broken || [])
const isNative = (id) => /\.node$/.test(id) || /^baileys-auth-native-/.test(id)

const load = Module._load
Module._load = function (request, parent, isMain) {
  if (parent && parent.filename === fake.binding && isNative(request)) {
    record.requested.push(request)
    const pkgJson = /^(baileys-auth-native-[^/]+)\/package\.json$/.exec(request)
    if (pkgJson && present.has(pkgJson[1])) return { name: pkgJson[1], version: fake.version }
    if (present.has(request)) {
      record.stubs[request] ||= { __stub: request, setErrorClasses() {} }
      return record.stubs[request]
    }
    if (broken.has(request)) {
      throw Object.assign(new Error(`${request}: invalid ELF header`), { code: 'ERR_DLOPEN_FAILED' })
    }
    throw Object.assign(new Error(`Cannot find module '${request}'\nRequire stack:\n- ${parent.filename}`), {
      code: 'MODULE_NOT_FOUND',
      requireStack: [parent.filename],
    })
  }
  return load.call(this, request, parent, isMain)
}
