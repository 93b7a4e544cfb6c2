/**
 * Turn Node file-system errors into StorageErrors that say what failed, where, and what to check.
 * The local folder is a user's configuration (OUTPUT_DIR), so most failures are theirs to fix (exit 2);
 * running out of space or file handles may pass, so those are STORAGE_UNAVAILABLE (exit 4).
 */
import { CollectorError, StorageError } from '../errors.js';

export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

export interface FsErrorContext {
  /** What we were doing, as a verb phrase: `write to`, `read`, `create the folder`. */
  action: string;
  path: string;
  /** What the user should check, e.g. `check OUTPUT_DIR (--out)`. */
  hint: string;
}

/** A StorageError for `err`; CollectorErrors pass through unchanged. */
export function storageErrorFrom(err: unknown, ctx: FsErrorContext): CollectorError {
  if (err instanceof CollectorError) return err;
  const code = errnoCode(err);
  const where = `cannot ${ctx.action} ${ctx.path}`;
  const opts = { cause: err, hint: ctx.hint };
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return new StorageError('STORAGE_DENIED', `${where}: permission denied; ${ctx.hint}`, opts);
    case 'EROFS':
      return new StorageError('STORAGE_DENIED', `${where}: the file system is read-only; ${ctx.hint}`, opts);
    case 'ENOSPC':
    case 'EDQUOT':
      return new StorageError('STORAGE_UNAVAILABLE', `${where}: no space left on the device (or disk quota exceeded); free some space or ${ctx.hint}`, opts);
    // mkdir -p answers EEXIST when the folder to create is already a file.
    case 'ENOTDIR':
    case 'EEXIST':
      return new StorageError('STORAGE_NOT_FOUND', `${where}: part of that path is a file, not a folder; ${ctx.hint}`, opts);
    case 'EISDIR':
      return new StorageError('STORAGE_NOT_FOUND', `${where}: it is a folder, not a file; ${ctx.hint}`, opts);
    case 'ENOENT':
      return new StorageError('STORAGE_NOT_FOUND', `${where}: a folder on that path does not exist (was it removed while running?); ${ctx.hint}`, opts);
    case 'ENAMETOOLONG':
    case 'ELOOP':
      return new StorageError('STORAGE_NOT_FOUND', `${where}: the path is too long or loops through symbolic links (${code}); ${ctx.hint}`, opts);
    case 'EMFILE':
    case 'ENFILE':
    case 'EIO':
    case 'EAGAIN':
    case 'EBUSY':
    case 'ETIMEDOUT':
    case 'ESTALE':
      return new StorageError('STORAGE_UNAVAILABLE', `${where}: ${code} (${messageOf(err)}); this may pass, try again`, { ...opts, retryable: true });
    default:
      return new StorageError('STORAGE_UNAVAILABLE', `${where}: ${code ?? 'error'} (${messageOf(err)}); ${ctx.hint}`, opts);
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
