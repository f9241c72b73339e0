import type { Random } from './random.js';

// Marketing's idea: once the app is warmed up, 1 visitor in 100 wins a prize.
export const LUCKY_AFTER = 50;
export const LUCKY_CHANCE = 0.01;

/** Is the visitor that made this replica's `served`-th request a lucky one? */
export function isLuckyVisitor(served: number, random: Random): boolean {
  return served > LUCKY_AFTER && random() < LUCKY_CHANCE;
}

// #region drawPrize
/** Picks a prize from the list marketing keeps in Redis. */
export function drawPrize(prizes: string[], random: Random): string {
  // "There are always prizes", so the compiler's warning was silenced with `!`.
  return prizes[Math.floor(random() * prizes.length)]!.toUpperCase();
}
// #endregion drawPrize
