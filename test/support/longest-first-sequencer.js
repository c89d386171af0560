// Jest orders test files by the durations it cached on earlier runs, longest first, so that no
// worker is left with a long file at the end; a fresh clone (CI) has no such cache and jest falls
// back to file size. These files are long for what they do, not for their size (seconds in full
// runs on a 2-core machine shared with other jobs): they go first, the rest in jest's own order.
// The chaos test, busy with thousands of messages, starts after the recovery test's kills.
const Sequencer = require('@jest/test-sequencer').default;
const path = require('node:path');

const LONGEST = [
  'test/worker/recovery.test.ts', // 105-135, mostly waiting out visibility timeouts
  'test/package.test.ts', // 70-115: npm pack builds, a fresh project type-checks and synthesizes
  'test/security/cfn-lint.test.ts', // 45-75: seven synths, then the Python linter
  'test/reference-app.test.ts', // 35-55
  'test/worker/chaos.test.ts', // 30-75
];

class LongestFirstSequencer extends Sequencer {
  sort(tests) {
    const rank = (test) => {
      const i = LONGEST.indexOf(path.relative(test.context.config.rootDir, test.path).split(path.sep).join('/'));
      return i === -1 ? LONGEST.length : i;
    };
    // Array.prototype.sort is stable: the rest keeps jest's order.
    return super.sort(tests).sort((a, b) => rank(a) - rank(b));
  }
}

module.exports = LongestFirstSequencer;
