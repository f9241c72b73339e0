/**
 * The kit's shared test helpers: docker.ts (containers, Redis, the step images), the run-time
 * library's eventually (tooling/lib/eventually.ts: the one way to wait), observe.ts (Prometheus, nginx, k6), cluster.ts
 * (Kubernetes), lock.ts (what the cluster suite's two lanes share) and readme-blocks.ts (the
 * READMEs' command blocks).
 */
export * from './docker.js';
export * from '../lib/eventually.js';
export * from './observe.js';
export * from './cluster.js';
export * from './lock.js';
export * from './readme-blocks.js';
