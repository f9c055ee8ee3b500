import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
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

/**
 * A request to the local server on the loopback (`PORT`), as the CLI makes it: `https://` when the
 * server serves TLS (`TLS_CERT_FILE`), trusting exactly the certificate the server serves (its
 * fingerprint, whatever names it holds: the request goes to 127.0.0.1), else `http://`. The TLS
 * handshake is checked before anything (an operator token) is sent. Rejects when nothing answers.
 */
export async function requestLocalServer(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; body: string }> {
  const port = setting('PORT');
  const certFile = setting('TLS_CERT_FILE');
  if (!certFile) {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers, body });
    return { status: response.status, body: await response.text() };
  }
  const served = new X509Certificate(readFileSync(certFile));
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method,
        headers,
        // Public roots for a certificate a CA signed; the file itself for a self-signed one.
        ca: [...rootCertificates, served.toString()],
        checkServerIdentity: (_host, peer) =>
          peer.fingerprint256 === served.fingerprint256
            ? undefined
            : new Error(`the server at 127.0.0.1:${port} does not serve TLS_CERT_FILE's certificate`),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}
