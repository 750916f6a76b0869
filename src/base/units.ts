/** How shadergrad writes sizes for people: mebibytes, with `digits` decimals. Imports nothing. */
export function mib(bytes: number, digits = 1): string {
  return `${(bytes / 2 ** 20).toFixed(digits)} MiB`;
}
