import { ExitCode } from './contract';

/** An error the CLI reports as its message alone (no stack) and exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Bad variables, arguments or items: one `describeProblem` line per problem; nothing was touched. */
export function badInput(problems: string[]): CliError {
  return new CliError(problems.join('\n'), ExitCode.badInput);
}
