/** The kit's shared test helpers: see docker.ts (containers) and observe.ts (Prometheus, nginx, k6). */
export * from './docker.js';
export * from './observe.js';
