import { spawn } from 'child_process';
import { constants } from 'os';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Stream the child's output to ours as well (long builds). */
  echo?: boolean;
}

/** Runs a program without a shell; resolves with its exit code and output, never rejects on a non-zero exit. */
export function runProgram(program: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      if (options.echo) process.stdout.write(chunk);
    });
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      if (options.echo) process.stderr.write(chunk);
    });
    child.on('error', (error) => reject(new Error(`cannot start ${program}: ${error.message}`)));
    child.on('close', (code, signal) =>
      resolve({ code: code ?? 128 + (signal ? constants.signals[signal] : 0), stdout, stderr }),
    );
  });
}

/** Like runProgram, but a non-zero exit is an error that names the command and shows its output. */
export async function mustRun(program: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const result = await runProgram(program, args, options);
  if (result.code !== 0) {
    const output = `${result.stderr}\n${result.stdout}`.trim().split('\n').slice(-30).join('\n');
    throw new Error(`${program} ${args.join(' ')} exited with ${result.code}:\n${output}`);
  }
  return result;
}
