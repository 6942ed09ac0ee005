const NAME_SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789'; // what Kubernetes' generateName uses
const MAX_GENERATED_NAME_PREFIX = 58; // names.MaxGeneratedNameLength: 63 less the 5 random characters

/** `<base>-<5 characters>`, as Kubernetes' generateName names a Job's pods (and KEDA a ScaledJob's Jobs); a long prefix is cut as the API server cuts it. */
export function generatedName(base: string): string {
  return withRandomSuffix(`${base}-`.slice(0, MAX_GENERATED_NAME_PREFIX));
}

/** podGenerateNameWithIndex: `<job>-<index>-` and 5 random characters, the Job's name cut so that the index stays. */
export function indexedPodName(jobName: string, index: number): string {
  const tail = `-${index}-`;
  return withRandomSuffix(
    `${jobName}${tail}`.length > MAX_GENERATED_NAME_PREFIX
      ? `${jobName.slice(0, MAX_GENERATED_NAME_PREFIX - tail.length)}${tail}`
      : `${jobName}${tail}`,
  );
}

function withRandomSuffix(prefix: string): string {
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += NAME_SUFFIX_ALPHABET[Math.floor(Math.random() * NAME_SUFFIX_ALPHABET.length)];
  return prefix + suffix;
}
