'use strict'
// What each Rust target triple of `napi.targets` means for npm and for the
// loader: the napi-rs platform name (the suffix of `npm/<name>`, of the
// platform package `baileys-auth-native-<name>` and of the binary
// `baileys-auth-native.<name>.node`), and the `os` / `cpu` / `libc` fields its
// package must carry (the values of Node's `process.platform`, `process.arch`
// and npm's libc names; `libc` only on Linux).
//
// Written out by hand on purpose: the tests compare it with what napi's own
// tools produce (`parseTriple`, `create-npm-dirs`, the generated binding.js),
// so a mislabelled package shows up as a disagreement.

const ARCH = { x86_64: 'x64', aarch64: 'arm64' }

/** @returns {{ triple: string, name: string, os: string, cpu: string, libc: 'glibc' | 'musl' | undefined }} */
function describeTarget(triple) {
  const m = /^(x86_64|aarch64)-(.+)$/.exec(triple)
  const cpu = m && ARCH[m[1]]
  const rest = m && m[2]
  let linux
  if (!cpu) {
    // falls through to the error below
  } else if (rest === 'apple-darwin') {
    return { triple, name: `darwin-${cpu}`, os: 'darwin', cpu, libc: undefined }
  } else if (rest === 'pc-windows-msvc') {
    return { triple, name: `win32-${cpu}-msvc`, os: 'win32', cpu, libc: undefined }
  } else if (rest === 'linux-android') {
    return { triple, name: `android-${cpu}`, os: 'android', cpu, libc: undefined }
  } else if ((linux = /^unknown-linux-(gnu|musl)$/.exec(rest))) {
    const abi = linux[1]
    return { triple, name: `linux-${cpu}-${abi}`, os: 'linux', cpu, libc: abi === 'gnu' ? 'glibc' : 'musl' }
  }
  throw new Error(`unexpected target ${triple}: teach __test__/support/targets.js its platform name`)
}

module.exports = { describeTarget }
