import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface TestCert {
  dir: string;
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

/** A self-signed certificate for localhost, 127.0.0.1 and ::1, written to a temp directory. */
export async function makeCert(cn = 'localhost', dir = mkdtempSync(join(tmpdir(), 'sipway-tls-'))): Promise<TestCert> {
  const pems = await generate([{ name: 'commonName', value: cn }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: cn },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  const certFile = join(dir, `${cn}.crt`);
  const keyFile = join(dir, `${cn}.key`);
  writeFileSync(certFile, pems.cert);
  writeFileSync(keyFile, pems.private);
  return { dir, certFile, keyFile, cert: pems.cert, key: pems.private };
}
