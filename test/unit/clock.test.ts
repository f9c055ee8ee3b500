/**
 * The clock of hook handling (`shared/kernel/clock.ts`): the real time, except within
 * `atSimulatedTime`, which only the local runtime calls, and only with `SIMULATED_CLOCK=allow`.
 */
import { describe, expect, it } from '@jest/globals';
import { atSimulatedTime, now } from '../../shared/kernel/clock.ts';

describe('the clock', () => {
  it('is the real time outside a simulated hook', () => {
    // Arrange
    const before = Date.now();

    // Act
    const at = now().getTime();

    // Assert
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(Date.now());
  });

  it('is the simulated instant in everything a simulated hook awaits, and only there', async () => {
    // Arrange
    const simulated = new Date('2026-11-02T10:15:00.000Z');
    const seen: string[] = [];

    // Act: two hooks at once, one simulated, one not.
    await Promise.all([
      atSimulatedTime(simulated, async () => {
        await new Promise((r) => setTimeout(r, 5));
        seen.push(`simulated ${now().toISOString()}`);
      }),
      (async () => {
        await new Promise((r) => setTimeout(r, 1));
        seen.push(`real ${now().getFullYear() >= 2026}`);
      })(),
    ]);

    // Assert
    expect(seen.sort()).toEqual(['real true', 'simulated 2026-11-02T10:15:00.000Z']);
    expect(now().getTime()).not.toBe(simulated.getTime());
  });
});
