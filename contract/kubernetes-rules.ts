import { type Rule } from './problem';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A Kubernetes object name that must be a DNS-1123 label (Services, and Jobs whose name becomes a pod label). */
const dnsLabelRule: Rule = (value) =>
  typeof value === 'string' && value.length <= 63 && DNS_LABEL.test(value)
    ? undefined
    : 'a DNS-1123 label: at most 63 characters of a-z, 0-9 and "-", starting and ending with a letter or digit';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A Kubernetes object name that must be a DNS-1123 subdomain (Secrets, ConfigMaps). */
const dnsSubdomainRule: Rule = (value) =>
  typeof value === 'string' && value.length <= 253 && DNS_SUBDOMAIN.test(value)
    ? undefined
    : 'a DNS-1123 subdomain: at most 253 characters of a-z, 0-9, "-" and ".", each dot-separated part starting and ending with a letter or digit';

const IPV4 = /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** A host clients connect to: a DNS name (any case) or an IPv4 address. */
const hostRule: Rule = (value) =>
  typeof value === 'string' && (IPV4.test(value) || (value.length <= 253 && DNS_SUBDOMAIN.test(value.toLowerCase())))
    ? undefined
    : 'a DNS name such as "rabbitmq.messaging.svc.cluster.local" or an IPv4 address, without scheme, port or path';

const portRule: Rule = (value) =>
  typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535
    ? undefined
    : 'a port number from 1 to 65535';

const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

/** A key of a Secret's data. */
const secretKeyRule: Rule = (value) =>
  typeof value === 'string' && value.length <= 253 && SECRET_KEY.test(value)
    ? undefined
    : 'a Secret key of A-Z a-z 0-9 - _ .';

const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)(([KMGTPE]i)|[numkMGTPE]|[eE][+-]?\d+)?$/;

/** A Kubernetes resource quantity that is a positive size, such as `1Gi` or `500M`. */
const storageQuantityRule: Rule = (value) =>
  typeof value === 'string' && QUANTITY.test(value) && !value.startsWith('-') && parseFloat(value) > 0
    ? undefined
    : 'a positive Kubernetes quantity such as "1Gi", "512Mi" or "10G"';

const URL_SAFE = /^[A-Za-z0-9._~-]+$/;

/**
 * Broker credentials are expanded into `BROKER_URL` by Kubernetes as they are, without URL-encoding,
 * so they must consist of URL-unreserved characters.
 */
const credentialRule: Rule = (value) =>
  typeof value === 'string' && URL_SAFE.test(value)
    ? undefined
    : 'a non-empty string of A-Z a-z 0-9 . _ ~ - (it is placed into BROKER_URL without encoding)';

/** A container image reference: a tag or a digest reference, no whitespace. */
const imageRule: Rule = (value) =>
  typeof value === 'string' && value !== '' && !/\s/.test(value)
    ? undefined
    : 'a container image reference such as "registry.example.com/job-wq@sha256:..." or "job-wq:latest"';

/**
 * The members of a replicated broker (RabbitMQ nodes, Redis data nodes with their Sentinels): one,
 * or a cluster that goes on while a majority of its members is up.
 */
const clusterSizeRule: Rule = (value) =>
  value === 1 || (typeof value === 'number' && Number.isInteger(value) && value >= 3 && value % 2 === 1)
    ? undefined
    : '1, or an odd number of at least 3: a cluster goes on while a majority of its members is up, ' +
      'so 2 members stop when one is lost and an even count survives no more losses than the odd count below it';

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/** A label key: a name of at most 63 characters, optionally after a DNS subdomain prefix and "/". */
function isLabelKey(key: string): boolean {
  const slash = key.lastIndexOf('/');
  const prefix = slash === -1 ? undefined : key.slice(0, slash);
  const name = key.slice(slash + 1);
  return LABEL_NAME.test(name) && (prefix === undefined || (prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix)));
}

/** A non-empty map of Kubernetes labels, as a selector matches them. */
const labelSelectorRule: Rule = (value) =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  Object.keys(value).length > 0 &&
  Object.entries(value).every(
    ([key, label]) => isLabelKey(key) && typeof label === 'string' && (label === '' || LABEL_NAME.test(label)),
  )
    ? undefined
    : 'a non-empty map of Kubernetes labels such as { "kubernetes.io/metadata.name": "monitoring" }: keys of an optional DNS prefix and "/" and a name, ' +
      'names and values of at most 63 characters of A-Z a-z 0-9 - _ . starting and ending with a letter or digit';

/** A Prometheus duration such as `30s` or `1m30s`, as a scrape interval. */
const prometheusDurationRule: Rule = (value) =>
  typeof value === 'string' &&
  /^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$/.test(value) &&
  /[1-9]/.test(value)
    ? undefined
    : 'a positive Prometheus duration such as "30s", "1m" or "1m30s"';

/** The rules only construct props and stack config have, beside the `Rules` the worker shares. */
export const PropRules = {
  dnsLabel: dnsLabelRule,
  dnsSubdomain: dnsSubdomainRule,
  host: hostRule,
  port: portRule,
  secretKey: secretKeyRule,
  storageQuantity: storageQuantityRule,
  credential: credentialRule,
  image: imageRule,
  clusterSize: clusterSizeRule,
  labelSelector: labelSelectorRule,
  prometheusDuration: prometheusDurationRule,
} as const satisfies Record<string, Rule>;
