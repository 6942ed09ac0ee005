import { randomBytes } from 'node:crypto';
import { GENERATED_SECRET_BYTES, type GeneratedSecret } from '../../contract';

/** A fresh credential: GENERATED_SECRET_BYTES random bytes, base64url (43 URL-unreserved characters for 32 bytes). */
export function generatedValue(): string {
  return randomBytes(GENERATED_SECRET_BYTES).toString('base64url');
}

/** The Secret that POST creates: the given values, a fresh value for each generated key, the labels, type Opaque. */
export function newSecret(secret: GeneratedSecret, namespace: string): Record<string, unknown> {
  const data: Record<string, string> = {};
  for (const [key, value] of Object.entries(secret.values ?? {})) data[key] = base64(value);
  for (const key of secret.generate) data[key] = base64(generatedValue());
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: secret.name,
      namespace,
      ...(secret.labels && Object.keys(secret.labels).length > 0 && { labels: secret.labels }),
    },
    type: 'Opaque',
    data,
  };
}

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}
