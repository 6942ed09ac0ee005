// Kubernetes' own validation of the names `credentials` writes (k8s.io/apimachinery/pkg/util/validation):
// checked before the first request, so a bad name is exit 2 with its field rather than an API error.

const DNS_1123_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS_1123_SUBDOMAIN = new RegExp(`^${DNS_1123_LABEL}(\\.${DNS_1123_LABEL})*$`);
const SUBDOMAIN_MAX = 253;
/** IsConfigMapKey, which Secret keys follow too. */
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
/** The name part of a label key, and a label value. */
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const QUALIFIED_NAME_MAX = 63;

/** A Secret's name: a DNS-1123 subdomain. */
export function secretNameRule(name: unknown): string | undefined {
  return typeof name === 'string' && name.length <= SUBDOMAIN_MAX && DNS_1123_SUBDOMAIN.test(name)
    ? undefined
    : `a Secret name: at most ${SUBDOMAIN_MAX} characters from a-z 0-9 - . starting and ending with a letter or digit (a DNS-1123 subdomain)`;
}

/** A key of a Secret's data. */
export function secretKeyRule(key: string): string | undefined {
  return key.length <= SUBDOMAIN_MAX && SECRET_KEY.test(key) && key !== '.' && !key.startsWith('..')
    ? undefined
    : `a Secret key: 1 to ${SUBDOMAIN_MAX} characters from A-Z a-z 0-9 - _ . (not "." nor starting with "..")`;
}

/** A label key: `name` or `prefix/name`, the prefix a DNS-1123 subdomain. */
export function labelKeyRule(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = key.slice(slash + 1);
  const prefixOk = prefix === undefined || (prefix.length <= SUBDOMAIN_MAX && DNS_1123_SUBDOMAIN.test(prefix));
  return prefixOk && name.length <= QUALIFIED_NAME_MAX && QUALIFIED_NAME.test(name)
    ? undefined
    : `a label key: a name of at most ${QUALIFIED_NAME_MAX} characters from A-Z a-z 0-9 - _ . starting and ending with a letter or digit, optionally after a DNS-1123 subdomain and "/"`;
}

/** A label value: empty, or like the name part of a label key. */
export function labelValueRule(value: string): string | undefined {
  return value === '' || (value.length <= QUALIFIED_NAME_MAX && QUALIFIED_NAME.test(value))
    ? undefined
    : `a label value: empty, or at most ${QUALIFIED_NAME_MAX} characters from A-Z a-z 0-9 - _ . starting and ending with a letter or digit`;
}
