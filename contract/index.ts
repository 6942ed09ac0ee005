/**
 * The contract: what the constructs write into pod specs and the worker reads back, and the rules
 * and error format both sides check with. It is the ground floor: constructs, stacks and worker
 * import it, it imports none of them (eslint.config.mjs enforces the floors), and it stays
 * dependency-free (Node.js built-ins only), so that the worker bundle carries no cdk8s.
 */
export * from './env';
export * from './broker-url';
export * from './retry-budget';
export * from './items';
export * from './credentials';
export * from './keys';
export * from './dead-letters';
export * from './status';
export * from './problem';
export * from './rules';
export * from './kubernetes-rules';
