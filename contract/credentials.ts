/** One Secret that `work-queue credentials` creates when it is missing (`CREDENTIALS` is a JSON array of them). */
export interface GeneratedSecret {
  /** The Secret's name in the pod's namespace. */
  readonly name: string;
  /** Keys with fixed values, such as a user name. */
  readonly values?: Readonly<Record<string, string>>;
  /** Keys given `GENERATED_SECRET_BYTES` random bytes each, base64url-encoded (URL-unreserved). */
  readonly generate: readonly string[];
  /** Labels of the created Secret. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** Random bytes of a generated credential: 256 bits. */
export const GENERATED_SECRET_BYTES = 32;
