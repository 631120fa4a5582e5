'use strict'
// Plain functions over an auth folder, for scripts and tools that do not run
// a socket: read or write credentials and single keys without building the
// whole `useMultiFileAuthState` object. Thin: this file only sorts out the
// arguments; the native binding (src/plain_exports.rs) opens the folder,
// names the files, encodes, decodes and locks.
//
// Every function takes the folder first, or leaves it out for the default
// folder. The two forms are told apart by the number of arguments, as the
// Elixir port's FilePersistence does: `loadKeys(type, id)` vs
// `loadKeys(folder, type, id)`. The folder form also takes an options object
// as an extra last argument (`loadKeys(folder, type, id, options)`), which
// keeps that rule unambiguous.

const binding = require('../load-binding.js')

/** The folder used when none is given: `$BAILEYS_AUTH_DIR`, else `./auth_info_baileys` (read at each call). */
function defaultAuthFolder() {
  const dir = process.env.BAILEYS_AUTH_DIR
  return dir ? dir : './auth_info_baileys'
}

/**
 * Splits `args` into `[folder, ...rest, options]` for a function whose
 * folder-less form has `n` arguments.
 */
function split(name, args, n) {
  const usage = `${name} takes ${n} arguments without a folder, ${n + 1} with one, or ${n + 2} with a folder and options`
  if (args.length === n) return { folder: defaultAuthFolder(), rest: args, options: undefined }
  if (args.length !== n + 1 && args.length !== n + 2) throw new TypeError(`${usage}; got ${args.length}`)
  let folder = args[0]
  if (folder === undefined || folder === null) folder = defaultAuthFolder()
  if (typeof folder !== 'string') throw new TypeError(`${name}: the folder must be a string (${usage})`)
  const options = args.length === n + 2 ? args[n + 1] : undefined
  if (options !== undefined && options !== null && typeof options !== 'object') {
    throw new TypeError(`${name}: options must be an object`)
  }
  return { folder, rest: args.slice(1, n + 1), options: options ?? undefined }
}

/** Rejects instead of throwing, as every function here is async. */
function promised(fn) {
  return function (...args) {
    try {
      return Promise.resolve(fn(...args))
    } catch (err) {
      return Promise.reject(err)
    }
  }
}

const loadCredentials = promised(function loadCredentials(...args) {
  const { folder, options } = split('loadCredentials', args, 0)
  return binding.plainLoadCreds(folder, options).then((r) => r.creds)
})

const saveCredentials = promised(function saveCredentials(...args) {
  const { folder, rest, options } = split('saveCredentials', args, 1)
  const [creds] = rest
  if (creds === null || typeof creds !== 'object') {
    throw new TypeError('saveCredentials: creds must be an object (as loadCredentials or initAuthCreds give)')
  }
  return binding.plainSaveCreds(folder, creds, options)
})

const loadKeys = promised(function loadKeys(...args) {
  const { folder, rest, options } = split('loadKeys', args, 2)
  const [type, id] = rest
  const appStateClass = options?.proto?.Message?.AppStateSyncKeyData
  return binding.plainLoadKey(folder, type, id, appStateClass, options?.logger, options)
})

const saveKeys = promised(function saveKeys(...args) {
  const { folder, rest, options } = split('saveKeys', args, 3)
  const [type, id, value] = rest
  return binding.plainSaveKey(folder, type, id, value, options)
})

const deleteKeys = promised(function deleteKeys(...args) {
  const { folder, rest, options } = split('deleteKeys', args, 2)
  const [type, id] = rest
  return binding.plainSaveKey(folder, type, id, null, options)
})

module.exports = {
  defaultAuthFolder,
  loadCredentials,
  saveCredentials,
  loadKeys,
  saveKeys,
  deleteKeys,
}
