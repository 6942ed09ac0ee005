import { execFileSync, spawnSync } from 'child_process';

const TOOLS = {
  'amqp-publish': 'amqp-tools',
  'amqp-consume': 'amqp-tools',
  'redis-cli': 'redis-tools',
  'redis-benchmark': 'redis-tools',
  'redis-server': 'redis-server',
};

/** Installs the baselines' tools (Debian amqp-tools, redis-tools) and redis-server when missing. */
export function ensureTools(): void {
  const missing = Object.entries(TOOLS).filter(([tool]) => spawnSync('which', [tool]).status !== 0);
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map(([, pkg]) => pkg))];
  console.error(`bench: installing ${packages.join(', ')} for ${missing.map(([tool]) => tool).join(', ')}`);
  const install = () => execFileSync('apt-get', ['install', '-y', '-qq', ...packages], { stdio: 'inherit' });
  try {
    install();
  } catch {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    install();
  }
}
