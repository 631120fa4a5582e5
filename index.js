'use strict'
// A thin wrapper: it builds the object Baileys expects and forwards every call
// to the native binding. Codec, file naming, I/O, locking and credentials are
// all in Rust (see src/ and core/).

const binding = require('./binding.js')

/** `creds.json` exists but cannot be read: it was left exactly as it was. */
class AuthFileCorruptError extends Error {
  constructor(message) {
    super(message)
    this.name = 'AuthFileCorruptError'
  }
}

/** Another process owns this auth folder. */
class AuthFolderLockedError extends Error {
  constructor(message) {
    super(message)
    this.name = 'AuthFolderLockedError'
  }
}

binding.setErrorClasses(AuthFileCorruptError, AuthFolderLockedError)

/**
 * Drop-in replacement for Baileys' `useMultiFileAuthState(folder)`.
 * @param {string} folder
 * @param {import('./index').AuthStateOptions} [options]
 */
async function useMultiFileAuthState(folder, options) {
  const { store, creds } = await binding.openAuthState(folder, options)
  const appStateClass = options?.proto?.Message?.AppStateSyncKeyData
  const logger = options?.logger
  return {
    state: {
      creds,
      keys: {
        get: (type, ids) => store.get(type, ids, appStateClass, logger),
        set: (data) => store.set(data),
      },
    },
    saveCreds: () => store.saveCreds(creds),
  }
}

module.exports = {
  useMultiFileAuthState,
  initAuthCreds: binding.initAuthCreds,
  encodeAuthValue: binding.encodeAuthValue,
  decodeAuthValue: binding.decodeAuthValue,
  AuthFileCorruptError,
  AuthFolderLockedError,
}
