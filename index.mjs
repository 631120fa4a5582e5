// ESM entry: the same objects as the CommonJS entry.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const native = require('./index.js')

export const {
  useMultiFileAuthState,
  useSqliteAuthState,
  usePostgresAuthState,
  initAuthCreds,
  encodeAuthValue,
  decodeAuthValue,
  AuthFileCorruptError,
  AuthFolderLockedError,
  inspectFolder,
  defaultAuthFolder,
  loadCredentials,
  saveCredentials,
  loadKeys,
  saveKeys,
  deleteKeys,
  KEY_TYPES,
  withListing,
  migrateAuthState,
  migrateAuthFolders,
  migrateAuthStores,
  inspectSqlite,
  inspectPostgres,
  reencryptAuthStore,
} = native
export default native
