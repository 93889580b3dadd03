/** IntOrString values that are either a count or a percentage of a total (maxSurge, maxUnavailable). */

export class IntOrPercentError extends Error {}

/**
 * The count an int-or-percent stands for out of `total`: `25%` of 10 is 3 rounded up, 2
 * rounded down; a number is itself. As Kubernetes' GetScaledValueFromIntOrPercent.
 */
export function scaledValueFromIntOrPercent(value: number | string, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  const match = /^(\d+)%$/.exec(value);
  if (!match)
    throw new IntOrPercentError(
      `invalid value for IntOrString: invalid value ${JSON.stringify(value)}: must be an integer or a percentage`,
    );
  const scaled = (Number(match[1]) * total) / 100;
  return roundUp ? Math.ceil(scaled) : Math.floor(scaled);
}
