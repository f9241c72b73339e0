/**
 * The kit's shared test helpers: docker.ts (containers, Redis, the step images), eventually.ts
 * (waiting; tooling/deploy.ts uses it too), observe.ts (Prometheus, nginx, k6) and cluster.ts
 * (Kubernetes).
 */
export * from './docker.js';
export * from './eventually.js';
export * from './observe.js';
export * from './cluster.js';
