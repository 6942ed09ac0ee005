import { Rules, describeProblem, parseNumber } from '../contract';
import { badInput } from './errors';

/** Items `list` shows when no --limit is given. */
export const DEFAULT_LIST_LIMIT = 100;
/** Items printed one by one by `redrive` (and its dry run); the rest are counted. */
export const PRINTED_ITEMS = 100;

export const DEAD_ACTIONS = ['list', 'redrive', 'purge'] as const;
export type DeadAction = (typeof DEAD_ACTIONS)[number];

/** What `work-queue dead ...` was asked to do. */
export interface DeadRequest {
  readonly action: DeadAction;
  /**
   * list: items shown; redrive: items moved.
   * @default list: 100; redrive: every item dead when it starts
   */
  readonly limit?: number;
  /** list: one JSON document instead of lines. */
  readonly json: boolean;
  /**
   * redrive: items moved per second at most.
   * @default - as fast as the broker takes them
   */
  readonly rate?: number;
  /** redrive: print what would be moved, move nothing. */
  readonly dryRun: boolean;
  /** purge: confirmed. */
  readonly yes: boolean;
}

/** The flags each action takes; `true` marks those that take a value. */
const FLAGS: Record<DeadAction, Record<string, boolean>> = {
  list: { '--limit': true, '--json': false },
  redrive: { '--limit': true, '--rate': true, '--dry-run': false },
  purge: { '--yes': false },
};

/** Parses `dead <action> [flags]`; every problem is one `describeProblem` line (exit code 2). */
export function parseDeadArgs(args: readonly string[]): DeadRequest {
  const [action, ...rest] = args;
  if (!(DEAD_ACTIONS as readonly string[]).includes(action)) {
    throw badInput([describeProblem('dead', action, `one of ${DEAD_ACTIONS.join(', ')} (work-queue dead --help)`)]);
  }
  const known = FLAGS[action as DeadAction];
  const values = new Map<string, string | undefined>();
  const problems: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const [flag, inline] =
      rest[i].startsWith('--') && rest[i].includes('=')
        ? [rest[i].slice(0, rest[i].indexOf('=')), rest[i].slice(rest[i].indexOf('=') + 1)]
        : [rest[i], undefined];
    if (!(flag in known)) {
      // What follows an unknown flag may be its value: one line for it is enough.
      problems.push(describeProblem(`dead ${action} argument`, rest[i], `one of ${Object.keys(known).join(', ')}`));
      break;
    }
    if (!known[flag]) {
      if (inline !== undefined) problems.push(describeProblem(flag, inline, 'no value'));
      values.set(flag, undefined);
      continue;
    }
    const value = inline ?? rest.at(++i);
    values.set(flag, value);
    if (value === undefined) problems.push(describeProblem(flag, value, expectedValue(flag)));
  }
  const limit = values.get('--limit');
  const limitNumber = parseNumber(limit);
  if (limit !== undefined && Rules.positiveInteger(limitNumber))
    problems.push(describeProblem('--limit', limit, expectedValue('--limit')));
  const rate = values.get('--rate');
  const rateNumber = parseRate(rate);
  if (rate !== undefined && (rateNumber === undefined || !(rateNumber > 0) || !Number.isFinite(rateNumber))) {
    problems.push(describeProblem('--rate', rate, expectedValue('--rate')));
  }
  if (problems.length > 0) throw badInput(problems);
  return {
    action: action as DeadAction,
    ...(limit !== undefined && { limit: limitNumber }),
    ...(rate !== undefined && { rate: rateNumber }),
    json: values.has('--json'),
    dryRun: values.has('--dry-run'),
    yes: values.has('--yes'),
  };
}

function expectedValue(flag: string): string {
  return flag === '--limit'
    ? 'a whole number of items of at least 1'
    : 'items per second, a number above 0 such as 200 or 200/s';
}

/** `200`, `200/s` or `0.5/s`. */
function parseRate(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const number = parseNumber(text.replace(/\/s$/, ''));
  return number === undefined || Number.isNaN(number) ? undefined : number;
}
