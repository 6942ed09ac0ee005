import { createHash } from 'node:crypto';
import type { RedisClientType } from 'redis';

/** Runs a Lua script by its SHA1 (EVALSHA), loading it once when the server does not know it yet. */
export class ScriptRunner {
  private readonly sha = new Map<string, string>();

  constructor(private readonly client: RedisClientType) {}

  async run(script: string, keys: string[], args: (string | number)[]): Promise<unknown> {
    let sha = this.sha.get(script);
    if (sha === undefined) {
      sha = createHash('sha1').update(script).digest('hex');
      this.sha.set(script, sha);
    }
    const options = { keys, arguments: args.map(String) };
    try {
      return await this.client.evalSha(sha, options);
    } catch (error) {
      if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
      return this.client.eval(script, options);
    }
  }
}
