import { execFile } from 'child_process';
import { existsSync, promises as fs } from 'fs';
import { join } from 'path';
import { promisify } from 'util';

export interface CertificateFiles {
  cert: string;
  key: string;
}

/**
 * A self-signed certificate for the cluster's API address (127.0.0.1, localhost), made once
 * per cluster with openssl. kubectl and the official clients send bearer tokens only over TLS,
 * so the API front speaks TLS and the kubeconfig trusts this certificate.
 */
export async function ensureSelfSignedCertificate(dir: string): Promise<CertificateFiles> {
  const cert = join(dir, 'api.crt');
  const key = join(dir, 'api.key');
  if (existsSync(cert) && existsSync(key)) return { cert, key };
  await fs.mkdir(dir, { recursive: true });
  try {
    await promisify(execFile)('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '3650',
      '-subj',
      '/CN=bosun-api',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,digitalSignature,keyCertSign,keyEncipherment',
      '-addext',
      'extendedKeyUsage=serverAuth',
    ]);
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(
      missing
        ? 'bosun needs openssl to make the API certificate; install it (Debian: apt-get install openssl)'
        : `openssl failed: ${(error as Error).message}`,
      { cause: error },
    );
  }
  await fs.chmod(key, 0o600);
  return { cert, key };
}
