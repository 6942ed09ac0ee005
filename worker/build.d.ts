import type { BuildOptions, Plugin } from 'esbuild';

// The types of worker/build.js, a CommonJS script that npm scripts and the Dockerfile run as it is.

export declare const outdir: string;
export declare const outfile: string;
/** How every bundle of the worker is built: one minified CommonJS file for Node.js 20. */
export declare const BUNDLE_SETTINGS: BuildOptions;
/** node:tls loaded on first use inside amqplib and node-redis. */
export declare const lazyTls: Plugin;
/** Bundles into `into` (lib/worker-bundle by default); returns the entry's path. */
export declare function buildWorker(into?: string): Promise<string>;
