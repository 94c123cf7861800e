// A clock a test moves forward by hand, for what the code remembers for a while (the server's
// cache rows): the test advances it instead of sleeping.
export interface TestClock {
  now(): number;
  advance(ms: number): void;
}

export function testClock(): TestClock {
  let skew = 0;
  return {
    now: () => Date.now() + skew,
    advance: (ms) => {
      skew += ms;
    },
  };
}
