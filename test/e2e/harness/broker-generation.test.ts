import { brokerGeneration, GENERATION_ENV, suiteGeneration, tutorialGenerations } from './broker-generation';

describe('brokerGeneration', () => {
  test("deployed: RabbitMQ 4.0 and Valkey 8.1 of the Debian 13 root, whose rabbitmqctl runs inside it; the brokers' container ports lead to their ports", () => {
    const deployed = brokerGeneration('deployed');
    expect(deployed).toMatchObject({
      name: 'deployed',
      amqpAdminUrl: 'amqp://guest:guest@127.0.0.1:5682',
      redisUrl: 'redis://127.0.0.1:6389',
    });
    expect(deployed.description).toContain('RabbitMQ 4.0');
    expect(deployed.rabbitmqctl).toEqual([expect.stringMatching(/\/\.ci\/in-trixie$/), 'rabbitmqctl']);
    expect([5672, 6379, 15672].map((port) => deployed.backendPort(port))).toEqual([5682, 6389, undefined]);
  });

  test("machine: the machine's RabbitMQ 3.10 and Redis 7.0 on their own ports, its rabbitmqctl", () => {
    const machine = brokerGeneration('machine');
    expect(machine).toMatchObject({
      amqpAdminUrl: 'amqp://guest:guest@127.0.0.1:5672',
      redisUrl: 'redis://127.0.0.1:6379',
      rabbitmqctl: ['rabbitmqctl'],
    });
    expect([5672, 6379, 26379].map((port) => machine.backendPort(port))).toEqual([5672, 6379, undefined]);
  });

  test('fails for a name that is no generation, naming the known ones', () => {
    expect(() => brokerGeneration('rabbit5')).toThrow(
      'broker generation "rabbit5" is unknown: expected one of machine, deployed, redis8',
    );
    expect(() => brokerGeneration('toString')).toThrow('is unknown');
  });
});

describe(`the suite's generation (${GENERATION_ENV})`, () => {
  const before = process.env[GENERATION_ENV];
  afterEach(() => {
    if (before === undefined) delete process.env[GENERATION_ENV];
    else process.env[GENERATION_ENV] = before;
  });

  test('is deployed by default; the tutorial files also run on machine', () => {
    delete process.env[GENERATION_ENV];
    expect(suiteGeneration().name).toBe('deployed');
    expect(tutorialGenerations().map((generation) => generation.name)).toEqual(['deployed', 'machine']);
  });

  test('is the one E2E_BROKERS names; machine runs the tutorial files once', () => {
    process.env[GENERATION_ENV] = 'machine';
    expect(suiteGeneration().name).toBe('machine');
    expect(tutorialGenerations().map((generation) => generation.name)).toEqual(['machine']);
    process.env[GENERATION_ENV] = 'redis8';
    expect(tutorialGenerations().map((generation) => generation.name)).toEqual(['redis8', 'machine']);
  });

  test('fails for an unknown E2E_BROKERS, naming the variable and the known generations', () => {
    process.env[GENERATION_ENV] = 'staging';
    expect(() => suiteGeneration()).toThrow(
      'E2E_BROKERS: broker generation "staging" is unknown: expected one of machine, deployed, redis8',
    );
  });
});
