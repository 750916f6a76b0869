/**
 * Shaded table cells whose numbers stay readable: a cell's background goes from white to a base
 * colour with its share, and its text is dark or white, whichever contrasts more with that
 * background by WCAG 2's contrast ratio (relative luminance of sRGB). The better of the two is
 * always at least 4.5:1, the WCAG AA level for normal text.
 */

export type Rgb = readonly [number, number, number];

/**
 * The text colours a cell may take. The dark one is pure black: with any lighter dark ink (even
 * #111) some mid shade reads below 4.5:1 against both inks; with black the worst shade gives 4.58.
 */
export const DARK_INK: Rgb = [0, 0, 0];
export const LIGHT_INK: Rgb = [255, 255, 255];

/** White mixed with `base` by `share` in [0, 1] (0: white, 1: the base colour). */
export function shade(base: Rgb, share: number): Rgb {
  const t = Math.min(1, Math.max(0, share));
  const mix = (v: number): number => Math.round(255 + (v - 255) * t);
  return [mix(base[0]), mix(base[1]), mix(base[2])];
}

/** WCAG 2 relative luminance of an sRGB colour (0..255 channels). */
function luminance([r, g, b]: Rgb): number {
  const linear = (v: number): number => {
    const c = v / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
}

/** WCAG 2 contrast ratio of two colours, 1 (none) to 21 (black on white). */
export function contrast(a: Rgb, b: Rgb): number {
  const [la, lb] = [luminance(a), luminance(b)];
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

/** The text colour for a `background`: dark or white, whichever contrasts more. */
export function inkOn(background: Rgb): Rgb {
  return contrast(DARK_INK, background) >= contrast(LIGHT_INK, background) ? DARK_INK : LIGHT_INK;
}

/** CSS text for a colour. */
export function css([r, g, b]: Rgb): string {
  return `rgb(${r} ${g} ${b})`;
}
