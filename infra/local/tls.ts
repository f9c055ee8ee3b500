import { readFileSync } from 'node:fs';
import { setting } from '#shared/kernel/config.ts';

/**
 * The certificate and key the local server serves `https://` and `wss://` with (`TLS_CERT_FILE`,
 * `TLS_KEY_FILE`, PEM), as OAM serves one HTTPS port; `undefined` for plain HTTP.
 */
export function localTls(): { cert: Buffer; key: Buffer } | undefined {
  const certFile = setting('TLS_CERT_FILE');
  const keyFile = setting('TLS_KEY_FILE');
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile)
    throw new Error('TLS_CERT_FILE and TLS_KEY_FILE go together: set both, or neither');
  try {
    return { cert: readFileSync(certFile), key: readFileSync(keyFile) };
  } catch (error) {
    throw new Error(`cannot read the TLS certificate or key: ${(error as Error).message}`);
  }
}
