/** Read the Duo secret key from Secret Manager. Loaded only when DUO_SKEY_SECRET is used. */
import { StorageError } from './errors.js';

export async function readSecret(name: string): Promise<string> {
  const version = /\/versions\/[^/]+$/.test(name) ? name : `${name}/versions/latest`;
  const { SecretManagerServiceClient } = await import('@google-cloud/secret-manager');
  const client = new SecretManagerServiceClient();
  try {
    const [res] = await client.accessSecretVersion({ name: version });
    const data = res.payload?.data;
    const text = typeof data === 'string' ? data : data ? Buffer.from(data).toString('utf8') : '';
    if (!text.trim()) throw new StorageError('STORAGE_NOT_FOUND', `Secret Manager version ${version} is empty: add the Duo secret key as its value`);
    return text.trim();
  } catch (err) {
    if (err instanceof StorageError) throw err;
    const code = (err as { code?: number }).code;
    // gRPC codes: 5 NOT_FOUND, 7 PERMISSION_DENIED, 16 UNAUTHENTICATED.
    if (code === 5) throw new StorageError('STORAGE_NOT_FOUND', `Secret Manager version ${version} does not exist: check DUO_SKEY_SECRET`);
    if (code === 7 || code === 16) {
      throw new StorageError('STORAGE_DENIED', `no access to Secret Manager version ${version}: grant the collector's service account roles/secretmanager.secretAccessor on that secret`);
    }
    throw new StorageError('STORAGE_UNAVAILABLE', `could not read Secret Manager version ${version}: ${(err as Error).message}`, { retryable: true });
  } finally {
    await client.close().catch(() => {});
  }
}
