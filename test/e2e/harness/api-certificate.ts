import { execFileSync } from 'child_process';
import { readFileSync, writeFileSync } from 'fs';
import { join } from 'path';

/** The fake API server's certificate chain: a cluster CA (the pods' `ca.crt`) and the serving certificate it signed. */
export interface ApiCertificate {
  /** PEM of the CA: what a pod finds in /var/run/secrets/kubernetes.io/serviceaccount/ca.crt. */
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/**
 * Makes, with openssl, a CA and a serving certificate for 127.0.0.1 and the names the API server's
 * certificate carries in a cluster (`kubernetes`, `kubernetes.default.svc.cluster.local`, ...).
 */
export function makeApiCertificate(directory: string): ApiCertificate {
  const file = (name: string) => join(directory, name);
  const names = [
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    'kubernetes.default.svc.cluster.local',
    'localhost',
  ];
  const openssl = (args: string[]) => {
    try {
      execFileSync('openssl', args, { stdio: 'pipe' });
    } catch (error) {
      throw new Error(
        `openssl ${args[0]} could not make the fake API server's certificates (${String(error)}): install openssl`,
        { cause: error },
      );
    }
  };
  openssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=kubernetes-ca',
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.crt'),
  ]);
  openssl([
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-subj',
    '/CN=kube-apiserver',
    '-keyout',
    file('apiserver.key'),
    '-out',
    file('apiserver.csr'),
  ]);
  const san = `subjectAltName=IP:127.0.0.1,${names.map((name) => `DNS:${name}`).join(',')}`;
  openssl([
    'x509',
    '-req',
    '-in',
    file('apiserver.csr'),
    '-CA',
    file('ca.crt'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    extFile(directory, san),
    '-out',
    file('apiserver.crt'),
  ]);
  return {
    ca: readFileSync(file('ca.crt'), 'utf8'),
    cert: readFileSync(file('apiserver.crt'), 'utf8'),
    key: readFileSync(file('apiserver.key'), 'utf8'),
  };
}

function extFile(directory: string, san: string): string {
  const path = join(directory, 'apiserver.ext');
  writeFileSync(path, `${san}\nextendedKeyUsage=serverAuth\n`);
  return path;
}
