import { expand } from './expansion';

const vars: Record<string, string> = { USER: 'work-queue', PASS: 'p@ss', EMPTY: '' };
const lookup = (name: string) => vars[name];

describe('expand, as Kubernetes expands $(VAR)', () => {
  test.each([
    ['amqp://$(USER):$(PASS)@rabbitmq:5672', 'amqp://work-queue:p@ss@rabbitmq:5672'],
    ['$(USER)$(USER)', 'work-queuework-queue'],
    ['[$(EMPTY)]', '[]'],
    ['$(MISSING) stays', '$(MISSING) stays'],
    ['$$(USER) is escaped', '$(USER) is escaped'],
    ['$$$(USER)', '$work-queue'],
    ['$$$$', '$$'],
    ['cost: $5', 'cost: $5'],
    ['ends with $', 'ends with $'],
    ['$(USER', '$(USER'],
    ['$()', '$()'],
    ['$(US)ER)', '$(US)ER)'],
    ['no references', 'no references'],
    ['', ''],
  ])('%j becomes %j', (input, output) => {
    expect(expand(input, lookup)).toBe(output);
  });

  test('does not expand a value twice', () => {
    expect(expand('$(A)', (name) => (name === 'A' ? '$(B)' : 'b'))).toBe('$(B)');
  });
});
