/**
 * Confusion-matrix cells stay readable: for every shade from white to full strength, of both
 * base colours, the chosen text colour contrasts at least 4.5:1 (WCAG AA) with its background,
 * and the darkest cells get white text.
 */
import { describe, expect, it } from 'vitest';
import { DARK_INK, LIGHT_INK, contrast, inkOn, shade, type Rgb } from '../../demo/contrast';

const BASES: Rgb[] = [
  [34, 130, 66],
  [192, 48, 36],
];

describe('contrast', () => {
  it('matches WCAG 2 at its ends: black on white is 21:1, a colour on itself 1:1', () => {
    expect(contrast([0, 0, 0], [255, 255, 255])).toBeCloseTo(21, 6);
    expect(contrast([192, 48, 36], [192, 48, 36])).toBeCloseTo(1, 6);
    // #767676 on white is the classic lightest gray that passes AA: 4.54:1.
    expect(contrast([118, 118, 118], [255, 255, 255])).toBeCloseTo(4.54, 2);
  });

  it('shades from white (share 0) to the base colour (share 1), clamped', () => {
    expect(shade([192, 48, 36], 0)).toEqual([255, 255, 255]);
    expect(shade([192, 48, 36], 1)).toEqual([192, 48, 36]);
    expect(shade([192, 48, 36], 2)).toEqual([192, 48, 36]);
    expect(shade([192, 48, 36], 0.5)).toEqual([224, 152, 146]);
  });

  it.each(BASES)('picks text of at least 4.5:1 on every shade of rgb(%i %i %i)', (...base) => {
    for (let share = 0; share <= 1.0001; share += 0.02) {
      const background = shade(base, share);
      expect(contrast(inkOn(background), background), `share ${share}`).toBeGreaterThanOrEqual(4.5);
    }
    expect(inkOn(shade(base, 0))).toEqual(DARK_INK);
    expect(inkOn(shade(base, 1))).toEqual(LIGHT_INK);
  });
});
