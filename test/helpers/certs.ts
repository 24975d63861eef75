/**
 * Test certificates made with `openssl`: a CA, a server certificate for 127.0.0.1/localhost signed by it, a
 * client certificate signed by it, and a second CA nothing trusts (for "untrusted" tests). PEM files in a
 * fresh temporary directory; `keystore` files hold key + chain as Kafka's ssl.keystore.location (PEM) wants.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCerts {
  readonly dir: string;
  /** The CA's certificate (the truststore of both sides). */
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** key + certificate in one PEM file (ssl.keystore.location). */
  readonly serverKeystore: string;
  readonly clientCert: string;
  readonly clientKey: string;
  readonly clientKeystore: string;
  /** A server keystore signed by a CA nobody trusts. */
  readonly untrustedKeystore: string;
  readonly untrustedClientCert: string;
  readonly untrustedClientKey: string;
  read(path: string): string;
  /** Signs a fresh server certificate for 127.0.0.1 with the CA, subject CN=`cn`; returns key + cert PEM. */
  newServerKeystore(cn: string): string;
  /** Signs a fresh client certificate with the CA, subject CN=`cn`,OU=Clients; returns the PEM paths. */
  newClientCert(cn: string): { cert: string; key: string; keystore: string };
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function makeTestCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-certs-'));
  const ca = (name: string): void => {
    openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/O=Tributary Test/CN=${name}`]);
  };
  let serial = 1;
  const sign = (name: string, caName: string, subj: string, ext: string): void => {
    openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subj]);
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.crt`, '-CAkey', `${caName}.key`, '-set_serial', String(serial++), '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`]);
    writeFileSync(join(dir, `${name}.keystore.pem`), readFileSync(join(dir, `${name}.key`), 'utf8') + readFileSync(join(dir, `${name}.crt`), 'utf8'));
  };
  const serverExt = 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n';
  const clientExt = 'extendedKeyUsage=clientAuth\n';
  ca('ca');
  ca('other-ca');
  sign('server', 'ca', '/C=US/O=Tributary/OU=Brokers/CN=broker', serverExt);
  sign('client', 'ca', '/C=US/O=Tributary/OU=Clients/CN=alice', clientExt);
  sign('untrusted', 'other-ca', '/CN=impostor', serverExt);
  sign('untrusted-client', 'other-ca', '/CN=mallory', clientExt);
  const p = (f: string): string => join(dir, f);
  return {
    dir,
    caCert: p('ca.crt'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    serverKeystore: p('server.keystore.pem'),
    clientCert: p('client.crt'),
    clientKey: p('client.key'),
    clientKeystore: p('client.keystore.pem'),
    untrustedKeystore: p('untrusted.keystore.pem'),
    untrustedClientCert: p('untrusted-client.crt'),
    untrustedClientKey: p('untrusted-client.key'),
    read: (path) => readFileSync(path, 'utf8'),
    newServerKeystore(cn) {
      const name = `server-${serial}`;
      sign(name, 'ca', `/CN=${cn}`, serverExt);
      return readFileSync(join(dir, `${name}.keystore.pem`), 'utf8');
    },
    newClientCert(cn) {
      const name = `client-${serial}`;
      sign(name, 'ca', `/C=US/O=Tributary/OU=Clients/CN=${cn}`, clientExt);
      return { cert: p(`${name}.crt`), key: p(`${name}.key`), keystore: p(`${name}.keystore.pem`) };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
