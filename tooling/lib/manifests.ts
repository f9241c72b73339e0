/**
 * Facts the kit reads from the manifests they live in, never copies: the image a step deploys,
 * the operator's image, and the latency threshold of the shipped LatencyScaler. One helper each;
 * the shell twin of imageIn() is `manifest_image` in tooling/lib.sh. Imports nothing from npm,
 * so tooling/deploy.ts runs it under plain node.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const KIT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

const read = (path: string) => readFileSync(`${KIT_ROOT}/${path}`, 'utf8');

/** The images a (rendered) manifest names (`image: NAME`), each once. */
export function imagesIn(manifest: string): string[] {
  return [
    ...new Set(
      [...manifest.matchAll(/^\s+(?:- )?image: ["']?([^\s"']+)["']?$/gm)].map((m) => m[1]!),
    ),
  ];
}

/** The image named REPOSITORY:TAG in the manifest at PATH (from the kit's root). */
export function imageIn(path: string, repository: string): string {
  const image = imagesIn(read(path)).find((name) => name.startsWith(`${repository}:`));
  if (!image) throw new Error(`${path} names no ${repository} image`);
  return image;
}

/** The app image a step deploys (`hits:X.Y.Z`, the step's package.json version). */
export const stepImage = (step: string): string => imageIn(`steps/${step}/deploy/app.yaml`, 'hits');

/** The operator's image, as its Deployment names it. */
export const operatorImage = (): string =>
  imageIn('steps/04-operator/operator/deploy/operator.yaml', 'latency-operator');

/**
 * The talk's latency threshold in ms: spec.thresholdMs of the LatencyScaler that step 04 ships.
 * The graphs, the demo and the bench draw and judge against it.
 */
export function thresholdMs(): number {
  const path = 'steps/04-operator/deploy/latencyscaler.yaml';
  const value = Number(/^\s+thresholdMs:\s*(\d+)\s*$/m.exec(read(path))?.[1]);
  if (!(value > 0)) throw new Error(`${path} has no spec.thresholdMs`);
  return value;
}
