// Nanoseconds (bag and ROS time, int64) <-> seconds (the pipeline's clock). Split
// before converting: a Number of ~1.7e18 ns keeps only ~256 ns, but seconds plus the
// remainder keep the nanoseconds.

export function nsToSeconds(ns: bigint): number {
  const sec = ns / 1_000_000_000n;
  return Number(sec) + Number(ns - sec * 1_000_000_000n) / 1e9;
}

export function secondsToNs(s: number): bigint {
  const whole = Math.floor(s);
  return BigInt(whole) * 1_000_000_000n + BigInt(Math.round((s - whole) * 1e9));
}
